//! M3: set the migration field on the operator network and wait until the
//! config network reports it; also the merge patch M4 and M11 send to the
//! same object.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{Effect, StepError, Verdict, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::{CLUSTER, NETWORK_TYPE_OVNK};

/// Reads the operator and config networks.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let op = kube::get(
        &cx.kube,
        &ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER),
    )
    .await
    .map_err(kube_err)?;
    let cfg = kube::get(&cx.kube, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER))
        .await
        .map_err(kube_err)?;
    Ok(json!({"operator": op, "config": cfg}))
}

/// Done when `spec.migration.networkType` is OVNKubernetes.
pub fn classify_set(live: &Value) -> Verdict {
    match live
        .pointer("/operator/spec/migration/networkType")
        .and_then(Value::as_str)
    {
        Some(NETWORK_TYPE_OVNK) => {
            Verdict::Done("spec.migration.networkType is OVNKubernetes".into())
        }
        Some(other) => Verdict::Ambiguous(format!(
            "spec.migration.networkType is {other}, not OVNKubernetes"
        )),
        None => Verdict::NotDone("spec.migration is unset".into()),
    }
}

/// Met when the config network's `status.migration.networkType` is OVNKubernetes.
pub fn condition_set(live: &Value) -> WaitState {
    match live
        .pointer("/config/status/migration/networkType")
        .and_then(Value::as_str)
    {
        Some(NETWORK_TYPE_OVNK) => {
            WaitState::Met("status.migration.networkType = OVNKubernetes".into())
        }
        Some(other) => WaitState::Pending(format!("status.migration.networkType = {other}")),
        None => WaitState::Pending("status.migration not reported yet".into()),
    }
}

/// Sends a merge patch to `networks.operator.openshift.io/cluster`.
pub async fn patch_operator(cx: &MigrationCx, patch: &Value) -> Result<Effect, StepError> {
    let r = ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER);
    let after = kube::merge_patch(&cx.kube, &r, patch)
        .await
        .map_err(kube_err)?;
    Ok(Effect {
        http_status: Some(200),
        observed: json!({"spec": after.pointer("/spec/migration")}),
    })
}
