//! One C4–C22 operation of the graph as an engine step: it observes what
//! the operation changes (`edge::observe`, journaled), is done when
//! `verdict::classify_observation` says so (404 is done), and otherwise sends
//! its one call (`edge::act`) with the operation as re-observed just before
//! (`edge::refresh`: a finalizer's current index, the subports still on the
//! trunk), which is what the intent records. The call's answer is classified
//! by `verdict::classify_call`: done, accepted (an Octavia cascade delete or
//! the namespace, then polled until it answers 404: the settle wait), retried
//! (409 in use, `PENDING_*`, 400 `SubnetPoolDeleteError`, 5xx, no answer;
//! the engine re-observes before every retry), kept after all (a router that
//! gained an interface: the outcome says `kept`, and `record.rs` does not
//! count it as deleted) or failed. C19's check is read-only ([`GoneCheck`]).

use journal::OperationSpec;

use super::{CleanupCx, GRAPH_GROUP};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState, Watch};
use crate::kuryr::cleanup::edge::{self, Clients};
use crate::kuryr::cleanup::graph::{Node, Op};
use crate::kuryr::cleanup::record::{KEPT, op_id};
use crate::kuryr::cleanup::verdict::{
    Answer, CallVerdict, Observed, Seen, classify_call, classify_observation,
};

/// One C4–C22 operation that changes something.
pub struct Cleanup {
    pub spec: OperationSpec,
    pub node: Node,
}

/// C19: every deleted Kuryr network is gone (read-only).
pub struct GoneCheck {
    pub spec: OperationSpec,
    pub node: Node,
}

fn clients(cx: &CleanupCx) -> Clients<'_> {
    Clients {
        kube: Some(&cx.kube),
        os: &cx.openstack,
    }
}

async fn observe(cx: &CleanupCx, op: &Op) -> Result<Observed, StepError> {
    edge::observe(clients(cx), op).await.map_err(|e| StepError {
        retryable: true,
        http_status: None,
        message: crate::redact::text(&e.to_string()).into_owned(),
    })
}

fn after(node: &Node) -> Vec<String> {
    node.after.iter().map(|a| op_id(a)).collect()
}

/// Returns the engine's verdict for what a re-observation says.
pub fn verdict_of(seen: Seen) -> Verdict {
    match seen {
        Seen::Done(s) => Verdict::Done(s),
        Seen::NotDone(s) => Verdict::NotDone(s),
        Seen::Pending(s) => Verdict::Pending(s),
        Seen::NeedsOperator(s) => Verdict::Ambiguous(s),
    }
}

/// Returns the outcome of a call's answer: what to journal, or the error to retry or stop on.
pub fn outcome_of(op: &Op, answer: &Answer) -> Result<Applied, StepError> {
    let status = match answer {
        Answer::Status { status, .. } => Some(*status),
        Answer::NoAnswer(_) => None,
    };
    let applied = |key: &str, why: String| Applied {
        http_status: status,
        observed: serde_json::json!({ key: why }),
    };
    match classify_call(op, answer) {
        CallVerdict::Done(why) => Ok(applied("done", why)),
        CallVerdict::Accepted(why) => Ok(applied("accepted", why)),
        CallVerdict::Keep(why) => Ok(applied(KEPT, why)),
        CallVerdict::Retry { why, .. } => Err(StepError {
            retryable: true,
            http_status: status,
            message: crate::redact::text(&why).into_owned(),
        }),
        CallVerdict::NeedsOperator(why) | CallVerdict::Failed(why) => Err(StepError {
            retryable: false,
            http_status: status,
            message: crate::redact::text(&why).into_owned(),
        }),
    }
}

impl Step for Cleanup {
    type Cx = CleanupCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(GRAPH_GROUP.into())
    }

    fn after(&self) -> Vec<String> {
        after(&self.node)
    }

    async fn observe(&self, cx: &CleanupCx) -> Result<Observed, StepError> {
        observe(cx, &self.node.op).await
    }
}

impl Effect for Cleanup {
    /// The call to send, as re-observed just before.
    type Params = Op;

    fn params(&self, o: &Observed) -> Op {
        edge::refresh(&self.node.op, o).unwrap_or_else(|| self.node.op.clone())
    }

    fn classify(&self, o: &Observed, _intent: Option<&Op>) -> Verdict {
        verdict_of(classify_observation(&self.node.op, o))
    }

    async fn act(&self, cx: &CleanupCx, op: &Op) -> Result<Applied, StepError> {
        let answer = edge::act(clients(cx), op).await;
        outcome_of(op, &answer)
    }

    fn settles(&self) -> bool {
        matches!(
            self.node.op,
            Op::DeleteLoadBalancer { .. } | Op::DeleteKuryrNamespace
        )
    }

    /// An asynchronous delete (an Octavia cascade, the namespace) is done at 404.
    fn settle(&self, o: &Observed, _intent: Option<&Op>) -> Option<WaitState> {
        if !self.settles() {
            return None;
        }
        Some(match classify_observation(&self.node.op, o) {
            Seen::Done(s) => WaitState::Met(s),
            Seen::NotDone(s) | Seen::Pending(s) => WaitState::Pending(s),
            Seen::NeedsOperator(s) => WaitState::Failed(s),
        })
    }
}

impl Step for GoneCheck {
    type Cx = CleanupCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(GRAPH_GROUP.into())
    }

    fn after(&self) -> Vec<String> {
        after(&self.node)
    }

    async fn observe(&self, cx: &CleanupCx) -> Result<Observed, StepError> {
        observe(cx, &self.node.op).await
    }
}

impl Watch for GoneCheck {
    fn condition(&self, o: &Observed) -> WaitState {
        match classify_observation(&self.node.op, o) {
            Seen::Done(s) => WaitState::Met(s),
            Seen::NotDone(s) | Seen::Pending(s) | Seen::NeedsOperator(s) => WaitState::Failed(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::graph::Step as CStep;

    fn node(op: Op) -> Node {
        Node {
            id: "n".into(),
            step: CStep::C6,
            op,
            calls: 2,
            after: vec![],
        }
    }

    #[test]
    fn answers_become_outcomes_retries_or_failures() {
        let lb = Op::DeleteLoadBalancer { id: "lb".into() };
        let ok = outcome_of(&lb, &Answer::ok(204)).unwrap();
        assert!(ok.observed["accepted"].as_str().is_some());
        let busy = outcome_of(&lb, &Answer::err(409, "", "PENDING_UPDATE")).unwrap_err();
        assert!(busy.retryable);
        let port = Op::DeletePort { id: "p".into() };
        let gone = outcome_of(&port, &Answer::err(404, "PortNotFound", "")).unwrap();
        assert!(gone.observed.get("done").is_some());
        let parent =
            outcome_of(&port, &Answer::err(409, "PortInUseAsTrunkParent", "")).unwrap_err();
        assert!(!parent.retryable);
        let pool = Op::DeleteSubnetPool { id: "sp".into() };
        assert!(
            outcome_of(&pool, &Answer::err(400, "SubnetPoolDeleteError", ""))
                .unwrap_err()
                .retryable
        );
        let router = Op::DeleteRouter { id: "r".into() };
        let kept = outcome_of(&router, &Answer::err(409, "RouterInUse", "")).unwrap();
        assert!(kept.observed.get(KEPT).is_some());
        let denied = outcome_of(&port, &Answer::err(403, "", "")).unwrap_err();
        assert!(!denied.retryable);
        assert!(
            outcome_of(&port, &Answer::NoAnswer("timeout".into()))
                .unwrap_err()
                .retryable
        );
    }

    #[test]
    fn a_cascade_delete_settles_only_at_404() {
        let s = Cleanup {
            spec: super::super::test_spec("c6/lb/lb"),
            node: node(Op::DeleteLoadBalancer { id: "lb".into() }),
        };
        let pending = Observed::Present {
            status: Some("PENDING_DELETE".into()),
        };
        assert!(matches!(
            s.settle(&pending, None),
            Some(WaitState::Pending(_))
        ));
        assert!(matches!(
            s.settle(&Observed::Gone, None),
            Some(WaitState::Met(_))
        ));
        assert!(matches!(s.classify(&pending, None), Verdict::Pending(_)));
        assert!(matches!(
            s.classify(&Observed::Gone, None),
            Verdict::Done(_)
        ));
        let p = Cleanup {
            spec: super::super::test_spec("c16/port/p"),
            node: node(Op::DeletePort { id: "p".into() }),
        };
        assert_eq!(p.settle(&Observed::Present { status: None }, None), None);
    }

    #[test]
    fn the_intent_sends_what_is_still_to_do() {
        let s = Cleanup {
            spec: super::super::test_spec("c15/trunk/t"),
            node: node(Op::RemoveSubports {
                trunk: "t".into(),
                ports: vec!["a".into(), "b".into()],
            }),
        };
        assert_eq!(
            s.params(&Observed::Subports(vec!["b".into(), "x".into()])),
            Op::RemoveSubports {
                trunk: "t".into(),
                ports: vec!["b".into()]
            }
        );
        assert!(matches!(
            s.classify(&Observed::Subports(vec!["x".into()]), None),
            Verdict::Done(_)
        ));
    }

    #[test]
    fn c19_fails_while_a_deleted_network_is_still_listed() {
        let c = GoneCheck {
            spec: super::super::test_spec("c19/check"),
            node: node(Op::CheckNetworksGone {
                tag: "t".into(),
                ids: vec!["n1".into()],
            }),
        };
        assert!(matches!(
            c.condition(&Observed::TaggedNetworks(vec!["n1".into()])),
            WaitState::Failed(_)
        ));
        assert!(matches!(
            c.condition(&Observed::TaggedNetworks(vec!["other".into()])),
            WaitState::Met(_)
        ));
    }
}
