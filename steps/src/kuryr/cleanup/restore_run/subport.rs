//! The step that puts a restored port back on its trunk with the same
//! segmentation: done when the trunk lists the port as a subport (the
//! idempotency key is the trunk and the port), else `add_subports`.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{RestoreCx, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::restore::{Create, RestoreStep};
use crate::openstack::neutron::SubPort;

/// Adds one subport to a trunk.
pub struct AddSubport {
    pub spec: OperationSpec,
    pub group: String,
    pub step: RestoreStep,
}

/// What the step reads: the trunk, the subport to add, and whether it is there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub trunk: String,
    pub subport: SubPort,
    /// The trunk's subport of that port, if there is one.
    pub present: Option<SubPort>,
}

impl Step for AddSubport {
    type Cx = RestoreCx;
    type Observation = Seen;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn observe(&self, cx: &RestoreCx) -> Result<Seen, StepError> {
        let Create::Subport { trunk, .. } = &self.step.create else {
            return Err(StepError::fatal("a subport step without its create"));
        };
        let subport: SubPort = serde_json::from_value(cx.map.body(&self.step.create)?)
            .map_err(|e| StepError::fatal(format!("build the subport: {e}")))?;
        let trunk = trunk.resolve(&cx.map.snapshot()).ok_or_else(|| {
            StepError::fatal(format!(
                "add {}: its trunk has not been restored",
                self.spec.target
            ))
        })?;
        let present = cx
            .openstack
            .get_subports(&trunk)
            .await
            .map_err(|e| os_err(&format!("read the subports of trunk {trunk}"), e))?
            .into_iter()
            .find(|s| s.port_id == subport.port_id);
        Ok(Seen {
            trunk,
            subport,
            present,
        })
    }
}

impl Effect for AddSubport {
    type Params = Seen;

    fn settles(&self) -> bool {
        // Nothing to wait for after the call: its outcome holds what it made.
        false
    }

    fn params(&self, seen: &Seen) -> Seen {
        seen.clone()
    }

    fn classify(&self, seen: &Seen, _intent: Option<&Seen>) -> Verdict {
        match &seen.present {
            Some(s) if *s == seen.subport => Verdict::Done("the subport is on the trunk".into()),
            // Someone else put it there with another segmentation: not ours to change.
            Some(s) => Verdict::Ambiguous(format!(
                "port {} is on trunk {} as {} {}, not {} {}",
                s.port_id,
                seen.trunk,
                s.segmentation_type,
                s.segmentation_id,
                seen.subport.segmentation_type,
                seen.subport.segmentation_id
            )),
            None => Verdict::NotDone("the port is not on the trunk".into()),
        }
    }

    async fn act(&self, cx: &RestoreCx, p: &Seen) -> Result<Applied, StepError> {
        let out = cx
            .openstack
            .add_subports(&p.trunk, std::slice::from_ref(&p.subport))
            .await
            .map_err(|e| {
                os_err(
                    &format!("add port {} to trunk {}", p.subport.port_id, p.trunk),
                    e,
                )
            })?;
        Ok(Applied {
            http_status: Some(out.status),
            observed: json!({"trunk": p.trunk, "port_id": p.subport.port_id}),
        })
    }
}
