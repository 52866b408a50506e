//! P4: `SET GLOBAL wsrep_desync = ON` on the highest-index member, then
//! wait for `Donor/Desynced`.
//!
//! Its compensation is the resync ([`super::p4_resync`], via
//! `compensated_by`): once this intent is journaled, a run that stops for
//! any reason (an error, Ctrl-C) resyncs before it exits, and a resume of a
//! run that died runs the resync first, then this again. The health of the
//! whole cluster is read with the member and recorded in the intent: the
//! effect refuses to desync a cluster that is not healthy (e.g. when a
//! resume desyncs again after its compensation).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PrepareCx;
use super::exec::{CONTAINER, sql};
use super::galera::{Cluster, DESYNCED, NAMESPACE, problems, read_cluster};
use super::plan::RESYNC_OP;
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use journal::OperationSpec;

/// The step.
pub struct Desync {
    pub spec: OperationSpec,
    pub pod: String,
    pub replicas: u32,
}

/// What the intent records: the problems that forbid desyncing (empty: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub pod: String,
    pub problems: Vec<String>,
}

impl Desync {
    fn member<'a>(&self, c: &'a Cluster) -> Option<&'a super::galera::Member> {
        c.members.iter().find(|m| m.pod == self.pod)
    }
}

impl Step for Desync {
    type Cx = PrepareCx;
    type Observation = Cluster;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Cluster, StepError> {
        read_cluster(cx).await
    }
}

impl Effect for Desync {
    type Params = Params;

    fn params(&self, c: &Cluster) -> Params {
        Params {
            pod: self.pod.clone(),
            problems: problems(c, self.replicas),
        }
    }

    fn classify(&self, c: &Cluster, _intent: Option<&Params>) -> Verdict {
        match self.member(c) {
            Some(m) if m.desynced() => {
                Verdict::Done(format!("{} has wsrep_desync=ON ({})", self.pod, m.state()))
            }
            Some(_) => Verdict::NotDone(format!("{} has wsrep_desync=OFF", self.pod)),
            None => Verdict::NotDone(format!("{} was not found", self.pod)),
        }
    }

    async fn act(&self, cx: &PrepareCx, p: &Params) -> Result<Applied, StepError> {
        if !p.problems.is_empty() {
            return Err(StepError::fatal(format!(
                "desync {}: the Galera cluster is not healthy ({}); nothing was desynced: fix it, then resume",
                p.pod,
                p.problems.join("; ")
            )));
        }
        let argv = sql(cx.mysql_defaults.as_deref(), "SET GLOBAL wsrep_desync = ON");
        cx.exec
            .run(NAMESPACE, &p.pod, CONTAINER, &argv)
            .await?
            .ok(&format!("set wsrep_desync = ON on {}", p.pod))?;
        Ok(Applied {
            http_status: None,
            observed: json!({"pod": p.pod, "wsrep_desync": "ON"}),
        })
    }

    fn settle(&self, c: &Cluster, _intent: Option<&Params>) -> Option<WaitState> {
        Some(match self.member(c) {
            Some(m) if m.desynced() && m.state() == DESYNCED => {
                WaitState::Met(format!("{} is {DESYNCED}", self.pod))
            }
            Some(m) if m.desynced() => {
                WaitState::Pending(format!("{} is {} (want {DESYNCED})", self.pod, m.state()))
            }
            Some(_) => WaitState::Failed(format!(
                "{} has wsrep_desync=OFF again: something else resynced it; resume to desync it again",
                self.pod
            )),
            None => WaitState::Failed(format!("{} is gone", self.pod)),
        })
    }

    fn compensated_by(&self) -> Option<String> {
        Some(RESYNC_OP.into())
    }

    fn compensate_on_stop(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::galera::tests::healthy;
    use super::*;

    fn step() -> Desync {
        Desync {
            spec: super::super::test_spec("p4-desync"),
            pod: "mariadb-server-2".into(),
            replicas: 3,
        }
    }

    fn set(c: &mut Cluster, desync: &str, state: &str) {
        let m = &mut c.members[2];
        m.status.insert("wsrep_desync".into(), desync.into());
        m.status
            .insert("wsrep_local_state_comment".into(), state.into());
    }

    #[test]
    fn desynced_is_done_and_settles_at_donor_desynced() {
        let s = step();
        let mut c = healthy(3);
        assert!(matches!(s.classify(&c, None), Verdict::NotDone(_)));
        assert!(s.params(&c).problems.is_empty());
        set(&mut c, "ON", "Synced");
        assert!(matches!(s.classify(&c, None), Verdict::Done(_)));
        assert!(matches!(s.settle(&c, None), Some(WaitState::Pending(_))));
        set(&mut c, "ON", DESYNCED);
        assert!(matches!(s.settle(&c, None), Some(WaitState::Met(_))));
        set(&mut c, "OFF", "Synced");
        assert!(matches!(s.settle(&c, None), Some(WaitState::Failed(_))));
        assert_eq!(s.compensated_by().as_deref(), Some("p4-resync"));
        assert!(s.compensate_on_stop());
    }

    #[test]
    fn an_unhealthy_cluster_is_recorded_in_the_intent() {
        let mut c = healthy(3);
        c.members[0].ready = false;
        let p = step().params(&c);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].contains("mariadb-server-0"));
    }
}
