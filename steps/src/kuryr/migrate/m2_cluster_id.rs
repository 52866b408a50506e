//! M2: the cluster id. Read again and compared with the one the plan (and the
//! journal) were made for: a mismatch means the kubeconfig points elsewhere.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};

use super::{MigrationCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::identity::cluster_id;
use crate::kuryr::names::CLUSTER;

/// M2.
pub struct ClusterId {
    pub spec: OperationSpec,
}

/// The live infrastructure name next to the planned one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdObservation {
    pub live: Option<String>,
    pub planned: Option<String>,
}

impl Step for ClusterId {
    type Cx = MigrationCx;
    type Observation = ClusterIdObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<ClusterIdObservation, StepError> {
        let infra = kube::get(&cx.kube, &ObjectRef::cluster(Kind::Infrastructure, CLUSTER))
            .await
            .map_err(kube_err)?;
        Ok(ClusterIdObservation {
            live: infra.as_ref().and_then(|i| cluster_id(i).ok()),
            planned: cluster_id(&cx.discovered.infrastructure).ok(),
        })
    }
}

impl Watch for ClusterId {
    /// Met when they agree.
    fn condition(&self, o: &ClusterIdObservation) -> WaitState {
        match (&o.live, &o.planned) {
            (Some(a), Some(b)) if a == b => WaitState::Met(format!("cluster id {a}")),
            (a, b) => WaitState::Failed(format!(
                "the cluster id is {a:?}, the plan was made for {b:?}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_agree() {
        let s = ClusterId {
            spec: super::super::test_spec("M2"),
        };
        let o = |l: Option<&str>| ClusterIdObservation {
            live: l.map(String::from),
            planned: Some("c-1".into()),
        };
        assert!(matches!(s.condition(&o(Some("c-1"))), WaitState::Met(_)));
        assert!(matches!(s.condition(&o(Some("c-2"))), WaitState::Failed(_)));
        assert!(matches!(s.condition(&o(None)), WaitState::Failed(_)));
    }
}
