//! The simulated machine config operator: rendering and rolling out configs.
//!
//! * Render: a pool's sources are the MachineConfigs (not `rendered-*`) whose
//!   `machineconfiguration.openshift.io/role` label matches the pool's
//!   `spec.machineConfigSelector` (default: the pool's name). The first time a
//!   pool is seen its sources are taken as already rendered (a seeded cluster
//!   starts Updated); when they change later, a new
//!   `rendered-<pool>-<hash>` MachineConfig (the sources' units and files
//!   merged) is created and `spec.configuration.name` points at it.
//! * Roll out: a pool whose `spec.configuration.name` differs from
//!   `status.configuration.name` goes Updated=False/Updating=True, every node
//!   of the pool gets the `desiredConfig` annotation, then one node at a time
//!   goes `state=Working`, reboots (new bootID), and gets
//!   `currentConfig=desired`, `state=Done`. Then the pool reads Updated=True,
//!   Updating=False, Degraded=False with its machine counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Busy, ControllerConfig, ms, next_pass, reboot_node, s, set_condition};
use crate::k8s::{ApiError, Store};

const POOLS: &str = "machineconfigpools.machineconfiguration.openshift.io";
const MCS: &str = "machineconfigs.machineconfiguration.openshift.io";
const ROLE: &str = "machineconfiguration.openshift.io/role";
const CURRENT: &str = "machineconfiguration.openshift.io/currentConfig";
const DESIRED: &str = "machineconfiguration.openshift.io/desiredConfig";
const STATE: &str = "machineconfiguration.openshift.io/state";

/// Runs the machine config operator until aborted.
pub(super) async fn run(store: Store, cfg: ControllerConfig) {
    let mut changes = store.changes();
    let busy = Busy::default();
    let baselines: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    loop {
        if let Err(e) = reconcile(&store, &cfg, &busy, &baselines) {
            tracing::warn!(error = %e, "machine config operator pass failed");
        }
        next_pass(&mut changes, ms(cfg.resync_ms)).await;
    }
}

/// FNV-1a, for stable rendered names.
fn fnv(data: &[u8], seed: u64) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn pool_role(pool: &Value) -> String {
    let sel = pool
        .pointer("/spec/machineConfigSelector/matchLabels")
        .and_then(|m| m.get(ROLE));
    sel.and_then(Value::as_str)
        .or(s(pool, "/metadata/name"))
        .unwrap_or_default()
        .to_string()
}

/// Returns the pool's source MachineConfigs, by name.
fn sources(all: &[Value], role: &str) -> Vec<Value> {
    let mut v: Vec<Value> = all
        .iter()
        .filter(|mc| {
            !s(mc, "/metadata/name")
                .unwrap_or("")
                .starts_with("rendered-")
        })
        .filter(|mc| {
            mc.pointer("/metadata/labels")
                .and_then(|l| l.get(ROLE))
                .and_then(Value::as_str)
                == Some(role)
        })
        .cloned()
        .collect();
    v.sort_by(|a, b| s(a, "/metadata/name").cmp(&s(b, "/metadata/name")));
    v
}

fn fingerprint(sources: &[Value]) -> u64 {
    let text: String = sources
        .iter()
        .map(|mc| {
            format!(
                "{}={}\n",
                s(mc, "/metadata/name").unwrap_or(""),
                mc.get("spec").unwrap_or(&Value::Null)
            )
        })
        .collect();
    fnv(text.as_bytes(), 0)
}

/// Returns the rendered MachineConfig of a pool: its sources' units and files merged.
fn render(pool: &Value, sources: &[Value], fp: u64) -> Value {
    let pool_name = s(pool, "/metadata/name").unwrap_or_default();
    let name = format!(
        "rendered-{pool_name}-{fp:016x}{:016x}",
        fnv(pool_name.as_bytes(), fp)
    );
    let collect = |pointer: &str| -> Vec<Value> {
        sources
            .iter()
            .filter_map(|mc| mc.pointer(pointer)?.as_array().cloned())
            .flatten()
            .collect()
    };
    let mut owner = vec![];
    if let Some(uid) = s(pool, "/metadata/uid") {
        owner.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool",
                          "name": pool_name, "uid": uid, "controller": true, "blockOwnerDeletion": true}));
    }
    json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {
            "name": name,
            "ownerReferences": owner,
            "annotations": {"machineconfiguration.openshift.io/generated-by-controller-version": "lab"},
        },
        "spec": {
            "config": {
                "ignition": {"version": "3.2.0"},
                "systemd": {"units": collect("/spec/config/systemd/units")},
                "storage": {"files": collect("/spec/config/storage/files")},
            },
        },
    })
}

fn source_refs(sources: &[Value]) -> Value {
    sources
        .iter()
        .map(|mc| json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig", "name": s(mc, "/metadata/name")}))
        .collect()
}

fn reconcile(
    store: &Store,
    cfg: &ControllerConfig,
    busy: &Busy,
    baselines: &Mutex<HashMap<String, u64>>,
) -> Result<(), ApiError> {
    let pools = store.list_all(POOLS, None)?;
    let mcs = store.list_all(MCS, None)?;
    for pool in pools {
        let name = s(&pool, "/metadata/name").unwrap_or_default().to_string();
        let srcs = sources(&mcs, &pool_role(&pool));
        let fp = fingerprint(&srcs);
        let prev = baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .copied();
        let changed = match prev {
            None => {
                baselines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.clone(), fp);
                false
            }
            Some(p) if p != fp => {
                let rendered = render(&pool, &srcs, fp);
                let rname = s(&rendered, "/metadata/name")
                    .unwrap_or_default()
                    .to_string();
                match store.create(MCS, "", rendered) {
                    Ok(_) | Err(ApiError::AlreadyExists { .. }) => {}
                    Err(e) => return Err(e),
                }
                let refs = source_refs(&srcs);
                store.mutate(POOLS, "", &name, false, |p| {
                    p["spec"]["configuration"] = json!({"name": rname, "source": refs});
                })?;
                baselines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.clone(), fp);
                tracing::info!(
                    pool = name,
                    rendered = rname,
                    "machine config operator: new rendered config"
                );
                true
            }
            Some(_) => false,
        };
        let pool = if changed {
            store.get(POOLS, "", &name)?
        } else {
            pool
        };
        let spec_name = s(&pool, "/spec/configuration/name");
        if spec_name.is_some() && spec_name != s(&pool, "/status/configuration/name") {
            let (store, cfg, pool_name) = (store.clone(), cfg.clone(), name.clone());
            busy.spawn(format!("rollout/{name}"), async move {
                if let Err(e) = rollout(&store, &cfg, &pool_name).await {
                    tracing::warn!(pool = pool_name, error = %e, "machine config rollout failed");
                }
            });
        }
    }
    Ok(())
}

/// Returns the names of the nodes a pool selects.
fn pool_nodes(store: &Store, pool: &Value) -> Result<Vec<String>, ApiError> {
    let pool_name = s(pool, "/metadata/name").unwrap_or_default();
    let default = json!({format!("node-role.kubernetes.io/{pool_name}"): ""});
    let selector = pool
        .pointer("/spec/nodeSelector/matchLabels")
        .filter(|m| m.is_object())
        .unwrap_or(&default);
    let wanted = selector.as_object().expect("object");
    Ok(store
        .list_all("nodes", None)?
        .iter()
        .filter(|n| {
            wanted
                .iter()
                .all(|(k, v)| n.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        .filter_map(|n| s(n, "/metadata/name").map(String::from))
        .collect())
}

fn annotate(store: &Store, node: &str, pairs: &[(&str, &str)]) -> Result<(), ApiError> {
    store.mutate("nodes", "", node, false, |n| {
        for (k, v) in pairs {
            n["metadata"]["annotations"][*k] = json!(v);
        }
    })?;
    Ok(())
}

fn set_pool_status(store: &Store, pool: &str, f: impl FnOnce(&mut Value)) -> Result<(), ApiError> {
    store.mutate(POOLS, "", pool, true, f).map(drop)
}

fn counts(st: &mut Value, total: usize, updated: usize, unavailable: usize) {
    st["machineCount"] = json!(total);
    st["updatedMachineCount"] = json!(updated);
    st["readyMachineCount"] = json!(total - unavailable);
    st["unavailableMachineCount"] = json!(unavailable);
    st["degradedMachineCount"] = json!(0);
}

/// Rolls a pool's nodes to its `spec.configuration.name`, one node at a time.
async fn rollout(store: &Store, cfg: &ControllerConfig, pool_name: &str) -> Result<(), ApiError> {
    let pool = store.get(POOLS, "", pool_name)?;
    let target = s(&pool, "/spec/configuration/name")
        .unwrap_or_default()
        .to_string();
    let nodes = pool_nodes(store, &pool)?;
    let total = nodes.len();
    let current = |store: &Store, n: &str| {
        store.get("nodes", "", n).map(|v| {
            s(
                &v,
                &format!("/metadata/annotations/{}", CURRENT.replace('/', "~1")),
            )
            .map(String::from)
        })
    };
    let mut updated = 0;
    for n in &nodes {
        if current(store, n)?.as_deref() == Some(target.as_str()) {
            updated += 1;
        }
    }
    set_pool_status(store, pool_name, |p| {
        set_condition(p, "Updated", "False", "", "");
        set_condition(
            p,
            "Updating",
            "True",
            "",
            &format!("All nodes are updating to {target}"),
        );
        set_condition(p, "Degraded", "False", "", "");
        counts(&mut p["status"], total, updated, 0);
    })?;
    for n in &nodes {
        annotate(store, n, &[(DESIRED, &target)])?;
    }
    for n in &nodes {
        if current(store, n)?.as_deref() == Some(target.as_str()) {
            annotate(store, n, &[(STATE, "Done")])?;
            continue;
        }
        annotate(store, n, &[(STATE, "Working")])?;
        set_pool_status(store, pool_name, |p| {
            counts(&mut p["status"], total, updated, 1)
        })?;
        tokio::time::sleep(ms(cfg.mco_node_ms)).await;
        reboot_node(store, n, cfg.reboot_ms).await?;
        annotate(store, n, &[(CURRENT, &target), (STATE, "Done")])?;
        updated += 1;
        set_pool_status(store, pool_name, |p| {
            counts(&mut p["status"], total, updated, 0)
        })?;
        // A newer target makes this rollout stop; the next pass starts the new one.
        if s(
            &store.get(POOLS, "", pool_name)?,
            "/spec/configuration/name",
        ) != Some(target.as_str())
        {
            return Ok(());
        }
    }
    let generation = store
        .get(POOLS, "", pool_name)?
        .pointer("/metadata/generation")
        .cloned();
    let source = pool
        .pointer("/spec/configuration/source")
        .cloned()
        .unwrap_or(json!([]));
    set_pool_status(store, pool_name, |p| {
        p["status"]["configuration"] = json!({"name": target, "source": source});
        p["status"]["observedGeneration"] = generation.unwrap_or(json!(1));
        counts(&mut p["status"], total, total, 0);
        set_condition(
            p,
            "Updated",
            "True",
            "",
            &format!("All nodes are updated with {target}"),
        );
        set_condition(p, "Updating", "False", "", "");
        set_condition(p, "Degraded", "False", "", "");
    })?;
    tracing::info!(
        pool = pool_name,
        target,
        "machine config operator: pool updated"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_merges_sources_and_names_stably() {
        let pool = json!({"metadata": {"name": "worker", "uid": "u"}});
        let mc = |n: &str, unit: &str| {
            json!({"metadata": {"name": n, "labels": {ROLE: "worker"}},
            "spec": {"config": {"systemd": {"units": [{"name": unit, "contents": format!("ExecStart={unit}")}]}}}})
        };
        let all = vec![
            mc("01-b", "b"),
            mc("00-a", "a"),
            json!({"metadata": {"name": "rendered-worker-x", "labels": {ROLE: "worker"}}}),
        ];
        let srcs = sources(&all, "worker");
        assert_eq!(srcs.len(), 2);
        let fp = fingerprint(&srcs);
        let r1 = render(&pool, &srcs, fp);
        assert_eq!(r1, render(&pool, &srcs, fingerprint(&srcs)));
        assert!(
            r1["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("rendered-worker-")
        );
        assert_eq!(r1["spec"]["config"]["systemd"]["units"][0]["name"], "a");
        let other = sources(&all[..1], "worker");
        assert_ne!(fingerprint(&other), fp);
    }
}
