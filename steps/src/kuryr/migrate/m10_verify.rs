//! M10: verify: OVNKubernetes reported, every node Ready, every
//! ClusterOperator settled. Waits (operators settle after the reboots);
//! pods stuck Terminating on Kuryr finalizers are expected and only noted.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::CLUSTER;
use crate::kuryr::verify::{VerifyInput, verify};
use crate::kuryr::{Severity, any_blocks};

/// Reads the config network, nodes, ClusterOperators and pods.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let kc = &cx.kube;
    Ok(json!({
        "config": kube::get(kc, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER)).await.map_err(kube_err)?,
        "nodes": kube::list_all(kc, Kind::Node, None, None).await.map_err(kube_err)?,
        "cluster_operators": kube::list_all(kc, Kind::ClusterOperator, None, None).await.map_err(kube_err)?,
        "pods": kube::list_all(kc, Kind::Pod, None, None).await.map_err(kube_err)?,
    }))
}

/// Met when no finding blocks.
pub fn condition(live: &Value) -> WaitState {
    let arr = |k: &str| {
        live.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (nodes, cos, pods) = (arr("nodes"), arr("cluster_operators"), arr("pods"));
    let null = Value::Null;
    let findings = verify(&VerifyInput {
        config_network: live.get("config").unwrap_or(&null),
        nodes: &nodes,
        cluster_operators: &cos,
        pods: &pods,
    });
    let failing: Vec<String> = findings
        .iter()
        .filter(|f| !f.passed && f.severity != Severity::Info)
        .map(|f| format!("{}: {}", f.name, f.detail))
        .collect();
    if any_blocks(&findings) {
        WaitState::Pending(failing.join("; "))
    } else {
        let notes: Vec<&str> = findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .map(|f| f.detail.as_str())
            .collect();
        WaitState::Met(format!("verified; {}", notes.join("; ")))
    }
}
