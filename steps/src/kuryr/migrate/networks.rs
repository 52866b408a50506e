//! What M3, M4, M7 and M11 share: they read the operator and config
//! networks, and they send a merge patch to one of them. The Kubernetes
//! client does not report the status of a successful patch, so none is
//! recorded (only statuses actually seen are).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{Applied, StepError};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::CLUSTER;

/// The operator and config networks, as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworksObservation {
    /// `networks.operator.openshift.io/cluster`.
    pub operator: Option<Value>,
    /// `networks.config.openshift.io/cluster`.
    pub config: Option<Value>,
}

/// Reads both networks.
pub async fn observe(cx: &MigrationCx) -> Result<NetworksObservation, StepError> {
    let operator = kube::get(
        &cx.kube,
        &ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER),
    )
    .await
    .map_err(kube_err)?;
    let config = kube::get(&cx.kube, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER))
        .await
        .map_err(kube_err)?;
    Ok(NetworksObservation { operator, config })
}

/// Sends a merge patch to the network of `kind`; the answer is journaled whole.
pub async fn patch(cx: &MigrationCx, kind: Kind, patch: &Value) -> Result<Applied, StepError> {
    let r = ObjectRef::cluster(kind, CLUSTER);
    let after = kube::merge_patch(&cx.kube, &r, patch)
        .await
        .map_err(kube_err)?;
    Ok(Applied {
        http_status: None,
        observed: json!({"spec": after.get("spec")}),
    })
}
