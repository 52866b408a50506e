//! [`RunState`]: what a run's journal says of it after each record, rebuilt
//! record by record by the replay (and following epochs: a reset's `redo/`
//! records send operations back to not started).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use journal::Seq;
use serde::Serialize;
use serde_json::Value;

/// Where one operation stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Nothing journaled yet (or redone by a reset).
    #[default]
    NotStarted,
    /// Observed, not decided yet.
    Observed,
    /// Waiting for its condition.
    Waiting,
    /// An intent without an outcome.
    InDoubt,
    /// Its last attempt failed.
    Failed,
    /// Done (acted on, or a read-only step whose condition was met).
    Done,
    /// Found done before any intent; nothing was sent.
    Skipped,
}

/// One operation as the replay knows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpReplay {
    pub status: OpStatus,
    /// Intents so far (a reset does not start the count again).
    pub attempts: u32,
    /// The parameters of the last intent of this epoch.
    pub intent: Option<Rc<Value>>,
    pub intent_seq: Option<Seq>,
    /// Seq of the last success or skip.
    pub done_seq: Option<Seq>,
    /// What the last success observed (the input of an expansion).
    pub outcome: Option<Rc<Value>>,
    /// The last observation a decision was (or will be) made on.
    pub live: Option<Rc<Value>>,
    /// Whether `live` was journaled since the last decision on it.
    pub undecided: bool,
    /// The last condition re-derived for its wait: met, failed or pending.
    pub condition: Option<&'static str>,
    /// Judged without its intent (a compensation owed runs afresh).
    pub forced: bool,
}

impl OpReplay {
    /// Returns the intent its next decision is judged against.
    pub fn judging(&self) -> Option<&Value> {
        if self.forced {
            None
        } else {
            self.intent.as_deref()
        }
    }
}

/// One operation in a replay's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpLine {
    pub op: String,
    pub step: String,
    pub status: OpStatus,
    pub attempts: u32,
}

/// The run as its journal says it stands after a record.
#[derive(Clone, Debug, Default)]
pub struct RunState {
    /// The current epoch (0 until the first reset).
    pub epoch: u32,
    /// The step the last reset went back to.
    pub reset_to: Option<String>,
    /// Whether the run was sealed.
    pub sealed: bool,
    /// The last pause, described, until the run resumes.
    pub paused: Option<String>,
    /// Resumes so far.
    pub resumes: u32,
    pub(crate) ops: BTreeMap<String, OpReplay>,
    /// Waits met in this epoch.
    pub waits_met: BTreeSet<String>,
}

impl RunState {
    pub(crate) fn op(&mut self, op: &str) -> &mut OpReplay {
        // Looked up first: most records are about an operation seen already.
        if !self.ops.contains_key(op) {
            self.ops.insert(op.to_string(), OpReplay::default());
        }
        self.ops.get_mut(op).expect("just inserted")
    }

    /// Sends `op` back to not started (a reset's `redo/<op>`).
    pub(crate) fn redo(&mut self, op: &str) {
        let o = self.op(op);
        *o = OpReplay {
            attempts: o.attempts,
            ..OpReplay::default()
        };
        self.waits_met.remove(op);
    }

    /// Returns the status of `op`.
    pub fn status(&self, op: &str) -> OpStatus {
        self.ops.get(op).map(|o| o.status).unwrap_or_default()
    }

    /// Returns every operation of `order` (op, step) with its status.
    pub fn lines(&self, order: &[(String, String)]) -> Vec<OpLine> {
        order
            .iter()
            .map(|(op, step)| {
                let o = self.ops.get(op);
                OpLine {
                    op: op.clone(),
                    step: step.clone(),
                    status: o.map(|o| o.status).unwrap_or_default(),
                    attempts: o.map(|o| o.attempts).unwrap_or(0),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redo_forgets_all_but_the_attempts() {
        let mut s = RunState::default();
        let o = s.op("a");
        o.status = OpStatus::Done;
        o.attempts = 2;
        o.intent = Some(Rc::new(Value::Bool(true)));
        o.done_seq = Some(7);
        s.waits_met.insert("a".into());
        s.redo("a");
        assert_eq!(s.status("a"), OpStatus::NotStarted);
        assert_eq!(s.ops["a"].attempts, 2);
        assert!(s.ops["a"].intent.is_none());
        assert!(!s.waits_met.contains("a"));
        let lines = s.lines(&[("a".into(), "M3".into()), ("b".into(), "M4".into())]);
        assert_eq!(lines[1].status, OpStatus::NotStarted);
        assert_eq!(lines[0].attempts, 2);
    }
}
