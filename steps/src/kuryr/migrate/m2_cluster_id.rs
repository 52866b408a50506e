//! M2: the cluster id. Read again and compared with the one the plan (and the
//! journal) were made for: a mismatch means the kubeconfig points elsewhere.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::identity::cluster_id;
use crate::kuryr::names::CLUSTER;

/// Reads the live infrastructure name next to the planned one.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let infra = kube::get(&cx.kube, &ObjectRef::cluster(Kind::Infrastructure, CLUSTER))
        .await
        .map_err(kube_err)?;
    let live = infra.as_ref().and_then(|i| cluster_id(i).ok());
    let planned = cluster_id(&cx.discovered.infrastructure).ok();
    Ok(json!({"live": live, "planned": planned}))
}

/// Met when they agree.
pub fn condition(live: &Value) -> WaitState {
    match (live["live"].as_str(), live["planned"].as_str()) {
        (Some(a), Some(b)) if a == b => WaitState::Met(format!("cluster id {a}")),
        (a, b) => WaitState::Failed(format!(
            "the cluster id is {a:?}, the plan was made for {b:?}"
        )),
    }
}
