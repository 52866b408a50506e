//! M7: switch the plugin: merge-patch `networks.config.openshift.io/cluster`
//! `spec.networkType` (and the cluster network, if the user asked).

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{Effect, StepError, Verdict};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::{CLUSTER, NETWORK_TYPE_OVNK};

/// Reads the config network.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let cfg = kube::get(&cx.kube, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER))
        .await
        .map_err(kube_err)?;
    Ok(json!({"config": cfg}))
}

/// Done when `spec.networkType` is already OVNKubernetes.
pub fn classify(live: &Value) -> Verdict {
    match live
        .pointer("/config/spec/networkType")
        .and_then(Value::as_str)
    {
        Some(NETWORK_TYPE_OVNK) => Verdict::Done("spec.networkType is OVNKubernetes".into()),
        other => Verdict::NotDone(format!("spec.networkType is {other:?}")),
    }
}

/// Sends the patch.
pub async fn act(cx: &MigrationCx, patch: &Value) -> Result<Effect, StepError> {
    let r = ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER);
    let after = kube::merge_patch(&cx.kube, &r, patch)
        .await
        .map_err(kube_err)?;
    Ok(Effect {
        http_status: Some(200),
        observed: json!({"networkType": after.pointer("/spec/networkType")}),
    })
}
