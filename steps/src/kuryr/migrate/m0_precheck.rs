//! M0: precheck. Reads the cluster and the cloud and runs the pure checks of
//! `kuryr::precheck`; any blocking finding stops the run before the first
//! change, with every finding shown.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err, os_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::cidr::Cidr;
use crate::kuryr::geneve::SecurityGroup;
use crate::kuryr::identity::cluster_id;
use crate::kuryr::names::CLUSTER;
use crate::kuryr::precheck::{PrecheckInput, precheck};
use crate::kuryr::{Severity, any_blocks};
use crate::openstack::Query;

/// Reads everything M0 looks at, as one JSON document.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let kc = &cx.kube;
    let get = |kind, name: &str| {
        let r = ObjectRef::cluster(kind, name);
        async move { kube::get(kc, &r).await.map_err(kube_err) }
    };
    let id =
        cluster_id(&cx.discovered.infrastructure).map_err(|e| StepError::fatal(e.to_string()))?;
    let os = &cx.openstack;
    let octavia = os.octavia_max_version().await.map_err(os_err)?;
    let sg = |name: String| async move {
        let found = os
            .list_security_groups(&Query::new().eq("name", name))
            .await
            .map_err(os_err)?;
        Ok::<Value, StepError>(
            found
                .into_iter()
                .next()
                .map(|g| serde_json::to_value(g).unwrap_or_default())
                .unwrap_or(Value::Null),
        )
    };
    let machine_networks: Vec<String> = os
        .list_subnets(&Query::new().eq("name", format!("{id}-nodes")))
        .await
        .map_err(os_err)?
        .into_iter()
        .map(|s| s.cidr)
        .collect();
    Ok(json!({
        "config_network": get(Kind::ConfigNetwork, CLUSTER).await?,
        "operator_network": get(Kind::OperatorNetwork, CLUSTER).await?,
        "nodes": kube::list_all(kc, Kind::Node, None, None).await.map_err(kube_err)?,
        "cluster_operators": kube::list_all(kc, Kind::ClusterOperator, None, None).await.map_err(kube_err)?,
        "pools": kube::list_all(kc, Kind::MachineConfigPool, None, None).await.map_err(kube_err)?,
        "octavia_version": format!("v{}.{}", octavia.0, octavia.1),
        "master_sg": sg(format!("{id}-master")).await?,
        "worker_sg": sg(format!("{id}-worker")).await?,
        "machine_networks": machine_networks,
        "geneve_port": cx.geneve_port,
    }))
}

/// Returns met when no finding blocks; failed with the findings otherwise.
pub fn condition(live: &Value) -> WaitState {
    let arr = |k: &str| {
        live.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (nodes, cos, pools) = (arr("nodes"), arr("cluster_operators"), arr("pools"));
    let sg = |k: &str| {
        serde_json::from_value::<SecurityGroup>(live.get(k).cloned().unwrap_or_default()).ok()
    };
    let (master, worker) = (sg("master_sg"), sg("worker_sg"));
    let networks: Vec<Cidr> = arr("machine_networks")
        .iter()
        .filter_map(|v| v.as_str()?.parse().ok())
        .collect();
    let null = Value::Null;
    let input = PrecheckInput {
        config_network: live.get("config_network").unwrap_or(&null),
        operator_network: live.get("operator_network").unwrap_or(&null),
        nodes: &nodes,
        cluster_operators: &cos,
        pools: &pools,
        octavia_max_version: live.get("octavia_version").and_then(Value::as_str),
        master_sg: master.as_ref(),
        worker_sg: worker.as_ref(),
        machine_networks: &networks,
        geneve_port: live
            .get("geneve_port")
            .and_then(Value::as_u64)
            .unwrap_or(6081) as u16,
    };
    let findings = precheck(&input);
    let report = serde_json::to_string(&findings).unwrap_or_default();
    if any_blocks(&findings) {
        WaitState::Failed(report)
    } else {
        let warnings = findings
            .iter()
            .filter(|f| !f.passed && f.severity == Severity::Warning)
            .count();
        WaitState::Met(format!(
            "{} checks passed, {warnings} warnings: {report}",
            findings.len() - warnings
        ))
    }
}
