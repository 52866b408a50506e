//! M4: the optional OVN-Kubernetes settings (validated when the plan was
//! made), patched only when the operator config does not have them yet.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, Verdict};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::CLUSTER;

/// Reads the operator network.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let op = kube::get(
        &cx.kube,
        &ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER),
    )
    .await
    .map_err(kube_err)?;
    Ok(json!({"operator": op}))
}

/// Done when every key of the patch already has its value.
pub fn classify(patch: &Value, live: &Value) -> Verdict {
    let want = patch
        .pointer("/spec/defaultNetwork/ovnKubernetesConfig")
        .and_then(Value::as_object);
    let have = live.pointer("/operator/spec/defaultNetwork/ovnKubernetesConfig");
    let Some(want) = want else {
        return Verdict::Done("nothing to set".into());
    };
    let missing: Vec<&String> = want
        .iter()
        .filter(|(k, v)| have.and_then(|h| h.get(k.as_str())) != Some(v))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() {
        Verdict::Done("every setting is in place".into())
    } else {
        Verdict::NotDone(format!("not yet set: {missing:?}"))
    }
}
