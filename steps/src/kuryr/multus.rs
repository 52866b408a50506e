//! M8: has the multus DaemonSet rolled out after the network type switch?
//!
//! Rolled out means the controller has seen the latest spec
//! (`observedGeneration ≥ generation`) and every scheduled pod is updated and
//! available (`updatedNumberScheduled == desiredNumberScheduled ==
//! numberAvailable`). The answer carries the counts so the engine journals
//! progress only when they change.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::readings::int_at;

/// Where the DaemonSet rollout is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DaemonSetRollout {
    /// Every pod is updated and available.
    Done,
    /// The controller has not observed the latest generation yet.
    NotObserved {
        /// `metadata.generation`.
        generation: i64,
        /// `status.observedGeneration`.
        observed: i64,
    },
    /// Pods still updating.
    Progressing {
        /// `status.desiredNumberScheduled`.
        desired: i64,
        /// `status.updatedNumberScheduled`.
        updated: i64,
        /// `status.numberAvailable`.
        available: i64,
    },
    /// The DaemonSet does not exist.
    Missing,
}

/// Returns the rollout state of a DaemonSet object (`None` when it was not found).
pub fn daemonset_rollout(daemonset: Option<&Value>) -> DaemonSetRollout {
    let Some(ds) = daemonset else {
        return DaemonSetRollout::Missing;
    };
    let generation = int_at(ds, "/metadata/generation").unwrap_or(0);
    let observed = int_at(ds, "/status/observedGeneration").unwrap_or(-1);
    if observed < generation {
        return DaemonSetRollout::NotObserved {
            generation,
            observed,
        };
    }
    let desired = int_at(ds, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int_at(ds, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int_at(ds, "/status/numberAvailable").unwrap_or(0);
    if updated == desired && available == desired {
        DaemonSetRollout::Done
    } else {
        DaemonSetRollout::Progressing {
            desired,
            updated,
            available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64, observed: i64, desired: i64, updated: i64, available: i64) -> Value {
        json!({
            "metadata": {"name": "multus", "generation": generation},
            "status": {"observedGeneration": observed, "desiredNumberScheduled": desired,
                       "updatedNumberScheduled": updated, "numberAvailable": available}
        })
    }

    #[test]
    fn done_when_observed_and_all_updated_and_available() {
        assert_eq!(
            daemonset_rollout(Some(&ds(3, 3, 6, 6, 6))),
            DaemonSetRollout::Done
        );
        assert_eq!(
            daemonset_rollout(Some(&ds(3, 4, 6, 6, 6))),
            DaemonSetRollout::Done
        );
    }

    #[test]
    fn unobserved_generation_is_not_done() {
        assert_eq!(
            daemonset_rollout(Some(&ds(4, 3, 6, 6, 6))),
            DaemonSetRollout::NotObserved {
                generation: 4,
                observed: 3
            }
        );
        let no_status = json!({"metadata": {"generation": 1}});
        assert!(matches!(
            daemonset_rollout(Some(&no_status)),
            DaemonSetRollout::NotObserved { .. }
        ));
    }

    #[test]
    fn updating_or_unavailable_pods_are_progress() {
        assert_eq!(
            daemonset_rollout(Some(&ds(4, 4, 6, 5, 6))),
            DaemonSetRollout::Progressing {
                desired: 6,
                updated: 5,
                available: 6
            }
        );
        assert_eq!(
            daemonset_rollout(Some(&ds(4, 4, 6, 6, 5))),
            DaemonSetRollout::Progressing {
                desired: 6,
                updated: 6,
                available: 5
            }
        );
    }

    #[test]
    fn absent_daemonset_is_missing() {
        assert_eq!(daemonset_rollout(None), DaemonSetRollout::Missing);
    }
}
