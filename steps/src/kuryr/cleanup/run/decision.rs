//! A foreign port the operator named with `--delete-foreign-port ID`,
//! journaled as an operator decision (`DecisionRecorded`
//! `delete-foreign-port`, its detail the port's ID and what it is) before C0,
//! so the journal says who chose to delete a port the cleanup would
//! otherwise keep. The selection already planned with it (the option is
//! journaled with the plan); this step only records the choice, once.

use journal::{Event, OperationSpec};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::CleanupCx;
use crate::engine::{Applied, Effect, Step, StepError, Verdict};

/// The decision's name in the journal.
pub const DECISION: &str = "delete-foreign-port";

/// The decision step.
pub struct ForeignPort {
    pub spec: OperationSpec,
    pub port: String,
}

/// What the step sees: the port as the snapshot holds it, and whether the
/// journal already records the decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionObservation {
    /// `<id> (name "<name>", device_owner "<owner>", network <net>)`.
    pub detail: String,
    pub journaled: bool,
}

/// Returns the decision's detail for a port of the snapshot.
pub fn detail(cx: &CleanupCx, port: &str) -> String {
    match cx.discovery.snapshot.port(port) {
        Some(p) => format!(
            "{port} (name {:?}, device_owner {:?}, network {}): named by the operator, deleted although Kuryr did not make it",
            p.name, p.device_owner, p.network_id
        ),
        None => format!("{port}: named by the operator"),
    }
}

impl Step for ForeignPort {
    type Cx = CleanupCx;
    type Observation = DecisionObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &CleanupCx) -> Result<DecisionObservation, StepError> {
        let detail = detail(cx, &self.port);
        let j = cx.recorder.journal();
        let mut journaled = false;
        for r in j.iter(1) {
            let r = r.map_err(|e| StepError::fatal(format!("read the journal: {e}")))?;
            if let Event::DecisionRecorded {
                decision,
                detail: d,
                ..
            } = r.event
                && decision == DECISION
                && j.full_text(&d)
                    .map_err(|e| StepError::fatal(format!("read the journal: {e}")))?
                    == detail
            {
                journaled = true;
            }
        }
        Ok(DecisionObservation { detail, journaled })
    }
}

impl Effect for ForeignPort {
    type Params = DecisionObservation;

    fn params(&self, o: &DecisionObservation) -> DecisionObservation {
        o.clone()
    }

    fn classify(&self, o: &DecisionObservation, _intent: Option<&DecisionObservation>) -> Verdict {
        if o.journaled {
            Verdict::Done("the decision is journaled".into())
        } else {
            Verdict::NotDone("not journaled yet".into())
        }
    }

    async fn act(&self, cx: &CleanupCx, p: &DecisionObservation) -> Result<Applied, StepError> {
        let jerr = |e: journal::Error| StepError::fatal(format!("journal the decision: {e}"));
        let detail = cx.recorder.text(&p.detail).map_err(jerr)?;
        cx.recorder
            .append(Event::DecisionRecorded {
                decision: DECISION.into(),
                detail,
                by: cx.by.clone(),
            })
            .await
            .map_err(jerr)?;
        Ok(Applied {
            http_status: None,
            observed: json!({"decision": DECISION, "port": self.port}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_once_journaled() {
        let s = ForeignPort {
            spec: super::super::test_spec("decision/delete-foreign-port/p"),
            port: "p".into(),
        };
        let mut o = DecisionObservation {
            detail: "p: named by the operator".into(),
            journaled: false,
        };
        assert!(matches!(s.classify(&o, None), Verdict::NotDone(_)));
        o.journaled = true;
        assert!(matches!(s.classify(&o, None), Verdict::Done(_)));
    }
}
