//! M8: wait for the multus DaemonSet to roll out the switched plugin. A
//! DaemonSet that was rolled out before the switch must not count: the wait
//! needs a newer generation than at discovery, or the operator reporting
//! `status.networkType: OVNKubernetes`, and then a complete rollout.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::multus::{DaemonSetRollout, daemonset_rollout};
use crate::kuryr::names::{CLUSTER, MULTUS_DAEMONSET, MULTUS_NAMESPACE, NETWORK_TYPE_OVNK};

/// Reads the DaemonSet and the config network.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let ds = kube::get(
        &cx.kube,
        &ObjectRef::namespaced(Kind::DaemonSet, MULTUS_NAMESPACE, MULTUS_DAEMONSET),
    )
    .await
    .map_err(kube_err)?;
    let cfg = kube::get(&cx.kube, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER))
        .await
        .map_err(kube_err)?;
    Ok(
        json!({"daemonset": ds, "config": cfg, "generation_before": cx.discovered.multus_generation()}),
    )
}

/// Met when the switch reached multus and its rollout is complete.
pub fn condition(live: &Value) -> WaitState {
    let ds = live.get("daemonset").filter(|v| !v.is_null());
    let generation = ds
        .and_then(|d| d.pointer("/metadata/generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let before = live["generation_before"].as_i64().unwrap_or(0);
    let switched = live
        .pointer("/config/status/networkType")
        .and_then(Value::as_str)
        == Some(NETWORK_TYPE_OVNK);
    if generation <= before && !switched {
        return WaitState::Pending(format!(
            "multus generation {generation}: the operator has not rolled out the switch yet"
        ));
    }
    match daemonset_rollout(ds) {
        DaemonSetRollout::Done => {
            WaitState::Met(format!("multus generation {generation} rolled out"))
        }
        DaemonSetRollout::Missing => WaitState::Pending("multus DaemonSet not found".into()),
        other => WaitState::Pending(format!("{other:?}")),
    }
}
