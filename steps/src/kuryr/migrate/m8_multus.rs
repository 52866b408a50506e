//! M8: wait for the multus DaemonSet to roll out the switched plugin. A
//! DaemonSet that was rolled out before the switch must not count, even when
//! the operator already reports `status.networkType: OVNKubernetes`: the wait
//! needs a newer generation than at discovery, then a complete rollout.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MigrationCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::multus::{DaemonSetRollout, daemonset_rollout};
use crate::kuryr::names::{MULTUS_DAEMONSET, MULTUS_NAMESPACE};

/// M8.
pub struct Multus {
    pub spec: OperationSpec,
}

/// The DaemonSet and its generation at discovery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultusObservation {
    pub daemonset: Option<Value>,
    pub generation_before: i64,
}

impl Step for Multus {
    type Cx = MigrationCx;
    type Observation = MultusObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<MultusObservation, StepError> {
        let ds = kube::get(
            &cx.kube,
            &ObjectRef::namespaced(Kind::DaemonSet, MULTUS_NAMESPACE, MULTUS_DAEMONSET),
        )
        .await
        .map_err(kube_err)?;
        Ok(MultusObservation {
            daemonset: ds,
            generation_before: cx.discovered.multus_generation(),
        })
    }
}

impl Watch for Multus {
    /// Met when a generation newer than at discovery is completely rolled out.
    fn condition(&self, o: &MultusObservation) -> WaitState {
        let ds = o.daemonset.as_ref();
        let generation = ds
            .and_then(|d| d.pointer("/metadata/generation"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if ds.is_some() && generation <= o.generation_before {
            return WaitState::Pending(format!(
                "multus generation {generation} (at discovery {}): the switch has not reached it yet",
                o.generation_before
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64) -> Value {
        json!({"metadata": {"generation": generation},
               "status": {"observedGeneration": generation, "desiredNumberScheduled": 5,
                          "updatedNumberScheduled": 5, "numberAvailable": 5}})
    }

    fn step() -> Multus {
        Multus {
            spec: super::super::test_spec("M8"),
        }
    }

    #[test]
    fn an_unmoved_generation_is_not_done_even_when_the_type_reads_ovnk() {
        // The DaemonSet as discovered, fully rolled out, while the config
        // network already reports OVNKubernetes: the switch has not reached multus.
        let o = MultusObservation {
            daemonset: Some(ds(3)),
            generation_before: 3,
        };
        assert!(matches!(step().condition(&o), WaitState::Pending(_)));
    }

    #[test]
    fn a_newer_generation_rolled_out_is_done() {
        let o = MultusObservation {
            daemonset: Some(ds(4)),
            generation_before: 3,
        };
        assert!(matches!(step().condition(&o), WaitState::Met(_)));
        let mut half = ds(4);
        half["status"]["updatedNumberScheduled"] = json!(2);
        let o = MultusObservation {
            daemonset: Some(half),
            generation_before: 3,
        };
        assert!(matches!(step().condition(&o), WaitState::Pending(_)));
    }
}
