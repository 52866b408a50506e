//! M10: verify: OVNKubernetes reported, every node Ready, every
//! ClusterOperator settled. Waits (operators settle after the reboots);
//! pods stuck Terminating on Kuryr finalizers are expected and only noted.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MigrationCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::names::CLUSTER;
use crate::kuryr::verify::{VerifyInput, verify};
use crate::kuryr::{Severity, any_blocks};

/// M10.
pub struct Verify {
    pub spec: OperationSpec,
}

/// The config network, nodes, ClusterOperators and pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyObservation {
    pub config: Option<Value>,
    pub nodes: Vec<Value>,
    pub cluster_operators: Vec<Value>,
    pub pods: Vec<Value>,
}

impl Step for Verify {
    type Cx = MigrationCx;
    type Observation = VerifyObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<VerifyObservation, StepError> {
        let kc = &cx.kube;
        Ok(VerifyObservation {
            config: kube::get(kc, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER))
                .await
                .map_err(kube_err)?,
            nodes: kube::list_all(kc, Kind::Node, None, None)
                .await
                .map_err(kube_err)?,
            cluster_operators: kube::list_all(kc, Kind::ClusterOperator, None, None)
                .await
                .map_err(kube_err)?,
            pods: kube::list_all(kc, Kind::Pod, None, None)
                .await
                .map_err(kube_err)?,
        })
    }
}

impl Watch for Verify {
    /// Met when no finding blocks.
    fn condition(&self, o: &VerifyObservation) -> WaitState {
        let null = Value::Null;
        let findings = verify(&VerifyInput {
            config_network: o.config.as_ref().unwrap_or(&null),
            nodes: &o.nodes,
            cluster_operators: &o.cluster_operators,
            pods: &o.pods,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;
    use serde_json::json;

    #[test]
    fn kuryr_still_reported_is_not_verified() {
        let s = Verify {
            spec: super::super::test_spec("M10"),
        };
        let o = VerifyObservation {
            config: Some(json!({"status": {"networkType": "Kuryr"}})),
            nodes: vec![node("m-0", &["master"], true, "b")],
            ..Default::default()
        };
        assert!(matches!(s.condition(&o), WaitState::Pending(_)));
    }
}
