//! M5: wait for the machine config rollout, tracked by rendered config names
//! (each pool's name before M3 is the baseline), not only by conditions.

use std::collections::BTreeMap;

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MigrationCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind};
use crate::kuryr::rollout::{PoolState, Rollout, rollout};

/// M5.
pub struct Rollouts {
    pub spec: OperationSpec,
}

/// Every pool, next to the baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutObservation {
    pub pools: Vec<Value>,
    /// Each pool's rendered config before M3.
    pub before: BTreeMap<String, String>,
}

impl Step for Rollouts {
    type Cx = MigrationCx;
    type Observation = RolloutObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<RolloutObservation, StepError> {
        let pools = kube::list_all(&cx.kube, Kind::MachineConfigPool, None, None)
            .await
            .map_err(kube_err)?;
        Ok(RolloutObservation {
            pools,
            before: cx.pools_before.clone(),
        })
    }
}

impl Watch for Rollouts {
    /// Met when every pool runs a new rendered config; failed when one is degraded or gone.
    fn condition(&self, o: &RolloutObservation) -> WaitState {
        match rollout(&o.before, &o.pools) {
            Rollout::Done => WaitState::Met("every pool runs its new rendered config".into()),
            Rollout::InProgress(states) => WaitState::Pending(
                states
                    .iter()
                    .map(|(pool, s)| match s {
                        PoolState::WaitingForRender => {
                            format!("{pool}: waiting for a new rendered config")
                        }
                        PoolState::Updating { updated, machines } => {
                            format!("{pool}: {updated}/{machines} updated")
                        }
                        other => format!("{pool}: {other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Rollout::Stuck { pool, state } => {
                WaitState::Failed(format!("pool {pool} is {state:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(rendered: &str) -> Value {
        json!({"metadata": {"name": "worker"},
               "spec": {"configuration": {"name": rendered}},
               "status": {"configuration": {"name": rendered}, "machineCount": 1,
                          "updatedMachineCount": 1, "readyMachineCount": 1,
                          "conditions": [{"type": "Updated", "status": "True"},
                                         {"type": "Updating", "status": "False"},
                                         {"type": "Degraded", "status": "False"}]}})
    }

    #[test]
    fn the_baseline_config_is_not_a_rollout() {
        let s = Rollouts {
            spec: super::super::test_spec("M5"),
        };
        let before: BTreeMap<String, String> = [("worker".into(), "rendered-a".into())].into();
        let o = |r: &str| RolloutObservation {
            pools: vec![pool(r)],
            before: before.clone(),
        };
        assert!(matches!(
            s.condition(&o("rendered-a")),
            WaitState::Pending(_)
        ));
        assert!(matches!(s.condition(&o("rendered-b")), WaitState::Met(_)));
    }
}
