//! M5: wait for the machine config rollout, tracked by rendered config names
//! (each pool's name before M3 is the baseline), not only by conditions.

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind};
use crate::kuryr::rollout::{PoolState, Rollout, rollout};

/// Reads every pool, next to the baseline.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let pools = kube::list_all(&cx.kube, Kind::MachineConfigPool, None, None)
        .await
        .map_err(kube_err)?;
    Ok(json!({"pools": pools, "before": cx.pools_before}))
}

/// Met when every pool runs a new rendered config; failed when one is degraded or gone.
pub fn condition(live: &Value) -> WaitState {
    let before = serde_json::from_value(live["before"].clone()).unwrap_or_default();
    let pools = live["pools"].as_array().cloned().unwrap_or_default();
    match rollout(&before, &pools) {
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
        Rollout::Stuck { pool, state } => WaitState::Failed(format!("pool {pool} is {state:?}")),
    }
}
