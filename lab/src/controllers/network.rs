//! The simulated cluster network operator (CNO), for the Kuryr → OVN-Kubernetes
//! migration.
//!
//! * `operator.openshift.io/v1 networks/cluster` `spec.migration.networkType`
//!   set → after `operator_delay_ms`, `config.openshift.io/v1 networks/cluster`
//!   `status.migration = {networkType}`, and one MachineConfig per pool
//!   (`00-<pool>-network-migration`, content `configure-ovs.sh <type>`) that the
//!   machine config operator renders and rolls out.
//! * `config…/networks/cluster` `spec.networkType` becomes the migration's type
//!   → the Kuryr pods in `openshift-kuryr` are deleted, the multus DaemonSet's
//!   template changes (new generation) and rolls out over `multus_rollout_ms`,
//!   then `status.networkType` is set.
//! * `spec.migration` back to null → `status.migration` removed.

use serde_json::{Value, json};

use super::{Busy, ControllerConfig, ms, next_pass, s};
use crate::k8s::{ApiError, Store};

const OPERATOR: &str = "networks.operator.openshift.io";
const CONFIG: &str = "networks.config.openshift.io";
const POOLS: &str = "machineconfigpools.machineconfiguration.openshift.io";
const MCS: &str = "machineconfigs.machineconfiguration.openshift.io";
const DAEMONSETS: &str = "daemonsets.apps";

/// Runs the network operator until aborted.
pub(super) async fn run(store: Store, cfg: ControllerConfig) {
    let mut changes = store.changes();
    let busy = Busy::default();
    loop {
        reconcile(&store, &cfg, &busy);
        next_pass(&mut changes, ms(cfg.resync_ms)).await;
    }
}

fn reconcile(store: &Store, cfg: &ControllerConfig, busy: &Busy) {
    let (Ok(op), Ok(config)) = (
        store.get(OPERATOR, "", "cluster"),
        store.get(CONFIG, "", "cluster"),
    ) else {
        return;
    };
    let wanted = s(&op, "/spec/migration/networkType").map(String::from);
    let observed = s(&config, "/status/migration/networkType").map(String::from);
    let delay = cfg.operator_delay_ms;
    match (&wanted, &observed) {
        (Some(w), o) if o.as_ref() != Some(w) => {
            let (store, w) = (store.clone(), w.clone());
            busy.spawn("migration".into(), async move {
                tokio::time::sleep(ms(delay)).await;
                if let Err(e) = start_migration(&store, &w) {
                    tracing::warn!(error = %e, "network operator: migration start failed");
                }
            });
        }
        (None, Some(_)) => {
            let store = store.clone();
            busy.spawn("migration-end".into(), async move {
                tokio::time::sleep(ms(delay)).await;
                let r = store.mutate(CONFIG, "", "cluster", true, |c| {
                    if let Some(st) = c.get_mut("status").and_then(Value::as_object_mut) {
                        st.remove("migration");
                    }
                });
                if let Err(e) = r {
                    tracing::warn!(error = %e, "network operator: clearing status.migration failed");
                }
            });
        }
        _ => {}
    }
    let target = s(&config, "/spec/networkType").unwrap_or("");
    let switching =
        observed.as_deref() == Some(target) && s(&config, "/status/networkType") != Some(target);
    if switching {
        let (store, target, rollout) = (store.clone(), target.to_string(), cfg.multus_rollout_ms);
        busy.spawn("switch".into(), async move {
            tokio::time::sleep(ms(delay)).await;
            if let Err(e) = switch_plugin(&store, &target, rollout).await {
                tracing::warn!(error = %e, "network operator: plugin switch failed");
            }
        });
    }
}

/// Sets `status.migration` and writes the per-pool migration MachineConfigs.
fn start_migration(store: &Store, network_type: &str) -> Result<(), ApiError> {
    for pool in store.list_all(POOLS, None)? {
        let name = s(&pool, "/metadata/name").unwrap_or_default();
        let role = s(
            &pool,
            "/spec/machineConfigSelector/matchLabels/machineconfiguration.openshift.io~1role",
        )
        .unwrap_or(name)
        .to_string();
        let mc_name = format!("00-{name}-network-migration");
        let unit = json!({
            "name": "network-migration.service",
            "enabled": true,
            "contents": format!(
                "[Unit]\nDescription=Configure OVS for the network migration\n[Service]\nType=oneshot\n\
                 ExecStart=/usr/local/bin/configure-ovs.sh {network_type}\n[Install]\nWantedBy=multi-user.target\n"
            ),
        });
        let mc = json!({
            "apiVersion": "machineconfiguration.openshift.io/v1",
            "kind": "MachineConfig",
            "metadata": {"name": mc_name, "labels": {"machineconfiguration.openshift.io/role": role}},
            "spec": {"config": {"ignition": {"version": "3.2.0"}, "systemd": {"units": [unit]}}},
        });
        match store.create(MCS, "", mc.clone()) {
            Err(ApiError::AlreadyExists { .. }) => {
                store.mutate(MCS, "", &mc_name, false, |m| m["spec"] = mc["spec"].clone())?;
            }
            r => drop(r?),
        }
    }
    store.mutate(CONFIG, "", "cluster", true, |c| {
        c["status"]["migration"] = json!({"networkType": network_type});
    })?;
    tracing::info!(network_type, "network operator: migration started");
    Ok(())
}

/// Deletes the Kuryr pods, rolls multus out and sets `status.networkType`.
async fn switch_plugin(store: &Store, network_type: &str, rollout_ms: u64) -> Result<(), ApiError> {
    for pod in store.list_all("pods", Some("openshift-kuryr"))? {
        if let Some(name) = s(&pod, "/metadata/name") {
            match store.delete("pods", "openshift-kuryr", name) {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
    }
    let multus = store.mutate(DAEMONSETS, "openshift-multus", "multus", false, |ds| {
        ds["spec"]["template"]["metadata"]["annotations"]["networkoperator.openshift.io/network-type"] =
            json!(network_type);
    });
    match multus {
        Ok(ds) => {
            let generation = ds
                .pointer("/metadata/generation")
                .cloned()
                .unwrap_or(json!(1));
            tokio::time::sleep(ms(rollout_ms)).await;
            let nodes = store.list_all("nodes", None)?.len();
            store.mutate(DAEMONSETS, "openshift-multus", "multus", true, |ds| {
                let st = &mut ds["status"];
                st["observedGeneration"] = generation.clone();
                for f in [
                    "desiredNumberScheduled",
                    "currentNumberScheduled",
                    "updatedNumberScheduled",
                    "numberAvailable",
                    "numberReady",
                ] {
                    st[f] = json!(nodes);
                }
                st["numberMisscheduled"] = json!(0);
                st["numberUnavailable"] = json!(0);
            })?;
        }
        Err(e) if e.is_not_found() => {
            tracing::warn!("network operator: no openshift-multus/multus DaemonSet")
        }
        Err(e) => return Err(e),
    }
    store.mutate(CONFIG, "", "cluster", true, |c| {
        c["status"]["networkType"] = json!(network_type);
        if let Some(cn) = c.pointer("/spec/clusterNetwork").cloned() {
            c["status"]["clusterNetwork"] = cn;
        }
    })?;
    tracing::info!(network_type, "network operator: plugin switched");
    Ok(())
}
