//! `journal reset --to-step S`: which operations a reset redoes, and the
//! records that say so ([`journal::epoch`]).
//!
//! A reset redoes step `S` and every operation after its first one in plan
//! order (expansions in place), as far as the journal has anything of them:
//! an intent, an outcome or a wait met. Its records are one group, appended
//! by the caller with the journal's lock held: the `EpochStarted` pointing
//! at the head before it, one `redo/<op>` per operation, and the operator's
//! `DecisionRecorded { reset }`.

use journal::epoch::{RESET_DECISION, redo_key};
use journal::{Event, Journal, OpId};

/// What a reset will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetPlan {
    /// The step reset to.
    pub step: String,
    /// The new epoch's number.
    pub epoch: u32,
    /// The operations that run again, in plan order.
    pub redo: Vec<String>,
}

/// Why a reset cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Journal(#[from] journal::Error),
    /// The plan has no such step.
    #[error("reset the run to step {step}: its plan has no such step (its steps: {steps})")]
    NoSuchStep { step: String, steps: String },
    /// Operations to redo are in doubt: resume re-observes them first.
    #[error(
        "reset the run to step {step}: {} is in doubt (an intent without an outcome); a reset \
         would forget that it may have acted",
        ops.join(", ")
    )]
    InDoubt { step: String, ops: Vec<String> },
    /// Nothing from that step on has run.
    #[error(
        "reset the run to step {0}: nothing from that step on has run yet, so there is nothing to redo"
    )]
    Nothing(String),
}

/// Returns the steps of `order` in plan order, each once.
pub fn steps_of(order: &[(String, String)]) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    for (_, s) in order {
        if !steps.contains(s) {
            steps.push(s.clone());
        }
    }
    steps
}

/// Returns the current epoch of a journal (0 when it was never reset).
pub fn current_epoch(journal: &Journal) -> Result<u32, journal::Error> {
    let mut epoch = 0;
    for r in journal.iter(1) {
        if let Event::EpochStarted { epoch: e, .. } = r?.event {
            epoch = epoch.max(e);
        }
    }
    Ok(epoch)
}

/// Plans a reset of `journal` (whose operations in plan order are `order`) to `step`.
pub fn plan_reset(
    journal: &Journal,
    order: &[(String, String)],
    step: &str,
) -> Result<ResetPlan, ResetError> {
    let Some(first) = order.iter().position(|(_, s)| s == step) else {
        return Err(ResetError::NoSuchStep {
            step: step.into(),
            steps: steps_of(order).join(", "),
        });
    };
    let mut redo = Vec::new();
    let mut in_doubt = Vec::new();
    for (op, _) in &order[first..] {
        let state = journal.op_state(&OpId(op.clone()))?;
        if state.is_some_and(|s| s.in_doubt()) {
            in_doubt.push(op.clone());
        }
        let ran = state.is_some_and(|s| s.intent.is_some() || s.outcome.is_some());
        if ran || journal.wait_met(op)?.is_some() {
            redo.push(op.clone());
        }
    }
    if !in_doubt.is_empty() {
        return Err(ResetError::InDoubt {
            step: step.into(),
            ops: in_doubt,
        });
    }
    if redo.is_empty() {
        return Err(ResetError::Nothing(step.into()));
    }
    Ok(ResetPlan {
        step: step.into(),
        epoch: current_epoch(journal)? + 1,
        redo,
    })
}

/// Returns the records of `plan`, to append as one group after the current head.
pub fn reset_events(
    journal: &Journal,
    plan: &ResetPlan,
    by: &str,
) -> Result<Vec<Event>, journal::Error> {
    let (_, head) = journal.head();
    let mut events = vec![Event::EpochStarted {
        epoch: plan.epoch,
        reset_to: plan.step.clone(),
        previous_head: head,
    }];
    for op in &plan.redo {
        events.push(Event::ObservationRecorded {
            key: redo_key(op),
            body: journal.doc(&serde_json::json!({"epoch": plan.epoch, "reset_to": plan.step}))?,
        });
    }
    events.push(Event::DecisionRecorded {
        decision: RESET_DECISION.into(),
        detail: journal.text(&format!(
            "epoch {}: reset to step {}; {} operations run again on the next resume: {}",
            plan.epoch,
            plan.step,
            plan.redo.len(),
            plan.redo.join(", ")
        ))?,
        by: by.into(),
    });
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::{OpenOptions, RunInfo, Target};

    fn journal(dir: &std::path::Path) -> Journal {
        let run = RunInfo {
            run_id: "r".into(),
            workflow: "w".into(),
            tool_version: "t".into(),
            target: Target {
                cluster_id: "c".into(),
                api_server: "a".into(),
                openstack_auth_url: "o".into(),
                openstack_project: "p".into(),
            },
        };
        Journal::create(dir, &run, &OpenOptions::default()).unwrap()
    }

    fn intend(j: &Journal, op: &str, step: &str) {
        j.append(Event::OperationIntended {
            op: OpId(op.into()),
            step: step.into(),
            action: "a".into(),
            target: "t".into(),
            idempotency_key: op.into(),
            attempt: 1,
            params: journal::Doc::null(),
        })
        .unwrap();
        j.append(Event::OperationSucceeded {
            op: OpId(op.into()),
            attempt: 1,
            http_status: Some(200),
            observed: journal::Doc::null(),
            duration_ms: 1,
        })
        .unwrap();
    }

    #[test]
    fn a_reset_redoes_what_ran_from_its_step_on_and_the_index_follows() {
        let tmp = tempfile::tempdir().unwrap();
        let j = journal(&tmp.path().join("j"));
        let order: Vec<(String, String)> = [("a", "M1"), ("b", "M2"), ("c", "M2"), ("d", "M3")]
            .iter()
            .map(|(o, s)| (o.to_string(), s.to_string()))
            .collect();
        intend(&j, "a", "M1");
        intend(&j, "b", "M2");
        intend(&j, "c", "M2");
        let plan = plan_reset(&j, &order, "M2").unwrap();
        assert_eq!(plan.redo, ["b", "c"], "d never ran");
        assert_eq!(plan.epoch, 1);
        let (head_seq, head) = j.head();
        let events = reset_events(&j, &plan, "me@here").unwrap();
        let range = j.append_group(&events).unwrap();
        assert_eq!(*range.start(), head_seq + 1);
        match j.read(head_seq + 1).unwrap().unwrap().event {
            Event::EpochStarted {
                epoch,
                previous_head,
                ..
            } => {
                assert_eq!(epoch, 1);
                assert_eq!(previous_head, head, "it points back at the old head");
            }
            other => panic!("{other:?}"),
        }
        let b = j.op_state(&OpId("b".into())).unwrap().unwrap();
        assert!(!b.done && b.intent.is_none() && b.outcome.is_none());
        assert_eq!(b.attempts, 1, "the attempt count goes on");
        assert!(j.op_state(&OpId("a".into())).unwrap().unwrap().done);
        assert_eq!(current_epoch(&j).unwrap(), 1);
        assert!(matches!(
            journal::verify_journal(&j).unwrap().status,
            journal::VerifyStatus::Unsealed { .. }
        ));
        // Nothing from M3 on ran; no such step M9.
        assert!(matches!(
            plan_reset(&j, &order, "M3"),
            Err(ResetError::Nothing(_))
        ));
        let e = plan_reset(&j, &order, "M9").unwrap_err().to_string();
        assert!(e.contains("M1, M2, M3"), "{e}");
        // An intent without an outcome: resume re-observes it before any reset.
        j.append(Event::OperationIntended {
            op: OpId("d".into()),
            step: "M3".into(),
            action: "a".into(),
            target: "t".into(),
            idempotency_key: "d".into(),
            attempt: 1,
            params: journal::Doc::null(),
        })
        .unwrap();
        assert!(matches!(
            plan_reset(&j, &order, "M2"),
            Err(ResetError::InDoubt { ref ops, .. }) if ops == &["d".to_string()]
        ));
    }
}
