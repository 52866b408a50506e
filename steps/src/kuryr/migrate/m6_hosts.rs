//! M6: wait until every node runs its desired config and that config is
//! OVN-Kubernetes' (its rendered MachineConfig calls `configure-ovs.sh OVNKubernetes`).

use std::collections::BTreeMap;

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MigrationCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::rollout::{HostsState, hosts};

/// M6.
pub struct Hosts {
    pub spec: OperationSpec,
}

/// The nodes and the rendered configs they want.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostsObservation {
    pub nodes: Vec<Value>,
    pub rendered: BTreeMap<String, Value>,
}

impl Step for Hosts {
    type Cx = MigrationCx;
    type Observation = HostsObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<HostsObservation, StepError> {
        let nodes = kube::list_all(&cx.kube, Kind::Node, None, None)
            .await
            .map_err(kube_err)?;
        let mut rendered = BTreeMap::new();
        // The decision says which rendered configs it needs; fetch until it needs none.
        for _ in 0..4 {
            match hosts(&nodes, &rendered) {
                HostsState::NeedConfigs(names) => {
                    for name in names {
                        let mc =
                            kube::get(&cx.kube, &ObjectRef::cluster(Kind::MachineConfig, &name))
                                .await
                                .map_err(kube_err)?;
                        rendered.insert(name, mc.unwrap_or(Value::Null));
                    }
                }
                _ => break,
            }
        }
        Ok(HostsObservation { nodes, rendered })
    }
}

impl Watch for Hosts {
    /// Met when every node converged on an OVN-K config.
    fn condition(&self, o: &HostsObservation) -> WaitState {
        match hosts(&o.nodes, &o.rendered) {
            HostsState::Done => WaitState::Met("every node runs the OVN-Kubernetes config".into()),
            HostsState::Converging(names) => {
                WaitState::Pending(format!("converging: {}", names.join(", ")))
            }
            HostsState::NotOvnk(pairs) => WaitState::Pending(format!("not OVN-K yet: {pairs:?}")),
            HostsState::NeedConfigs(names) => {
                WaitState::Pending(format!("rendered configs missing: {}", names.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;

    #[test]
    fn a_node_without_its_rendered_config_is_not_done() {
        let s = Hosts {
            spec: super::super::test_spec("M6"),
        };
        let mut n = node("w-0", &["worker"], true, "b");
        n["metadata"]["annotations"] = serde_json::json!({
            "machineconfiguration.openshift.io/currentConfig": "rendered-b",
            "machineconfiguration.openshift.io/desiredConfig": "rendered-b",
            "machineconfiguration.openshift.io/state": "Done"});
        let o = HostsObservation {
            nodes: vec![n],
            rendered: BTreeMap::new(),
        };
        assert!(matches!(s.condition(&o), WaitState::Pending(_)));
    }
}
