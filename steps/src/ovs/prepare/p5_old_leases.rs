//! P5: the leases handed out before P3 have expired.
//!
//! A read-only step behind a [`Gate`]: it may run only `old_lease_s` after
//! P3's outcome was journaled (before that the run stops as gated, with the
//! time it opens). It then checks that the deployment still sets the long
//! lease (someone may have reverted it, and the clock would be wrong).
//! `--old-lease-s 0` opens the gate at once: only right when no instance
//! holds a lease of the old duration (a lab, a cloud without DHCP clients).

use std::time::Duration;

use super::PrepareCx;
use super::p3_lease::{Observed, read_lease};
use super::plan::LEASE_OP;
use crate::engine::{Gate, Step, StepError, WaitState, Watch};
use crate::ovs::settings::REQUIRED_LEASE_S;
use journal::OperationSpec;

/// The step.
pub struct OldLeasesExpired {
    pub spec: OperationSpec,
    pub old_lease_s: u64,
}

impl Step for OldLeasesExpired {
    type Cx = PrepareCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn gate(&self) -> Option<Gate> {
        Some(Gate {
            after: LEASE_OP.into(),
            wait: Duration::from_secs(self.old_lease_s),
        })
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Observed, StepError> {
        read_lease(cx).await
    }
}

impl Watch for OldLeasesExpired {
    fn condition(&self, o: &Observed) -> WaitState {
        match o.lease_duration {
            Some(v) if v >= REQUIRED_LEASE_S => WaitState::Met(format!(
                "{}s have passed since the lease duration was set; {} still sets {v}",
                self.old_lease_s, o.deployment
            )),
            other => WaitState::Failed(format!(
                "{} sets dhcp_lease_duration {} again, below {REQUIRED_LEASE_S}: set it back (ovn-migrate ovs prepare with a new plan) and wait a full old lease",
                o.deployment,
                other
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unset (86400)".into())
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_follows_p3_by_the_old_lease_and_a_reverted_lease_fails() {
        let s = OldLeasesExpired {
            spec: super::super::test_spec("p5"),
            old_lease_s: 86_400,
        };
        assert_eq!(
            s.gate(),
            Some(Gate {
                after: "p3-dhcp-lease".into(),
                wait: Duration::from_secs(86_400)
            })
        );
        let at = |v| {
            s.condition(&Observed {
                deployment: "openstack/osh".into(),
                lease_duration: v,
            })
        };
        assert!(matches!(at(Some(259_200)), WaitState::Met(_)));
        assert!(matches!(at(Some(86_400)), WaitState::Failed(_)));
        assert!(matches!(at(None), WaitState::Failed(_)));
    }
}
