//! P4, last: `SET GLOBAL wsrep_desync = OFF` on the member, then wait until
//! it is Synced and the StatefulSet Ready again.
//!
//! It is also the desync's compensation: the engine runs it first on any
//! resume of a run that stopped after the desync's intent, and right after
//! a stop (an error, Ctrl-C) of the run itself. With no desync in effect it
//! is done at once (skipped), so running it is always safe.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PrepareCx;
use super::exec::{CONTAINER, sql};
use super::galera::{Cluster, NAMESPACE, SYNCED, read_cluster};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use journal::OperationSpec;

/// The step.
pub struct Resync {
    pub spec: OperationSpec,
    pub pod: String,
    pub replicas: u32,
}

/// What the intent records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub pod: String,
}

impl Step for Resync {
    type Cx = PrepareCx;
    type Observation = Cluster;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Cluster, StepError> {
        read_cluster(cx).await
    }
}

impl Effect for Resync {
    type Params = Params;

    fn params(&self, _c: &Cluster) -> Params {
        Params {
            pod: self.pod.clone(),
        }
    }

    fn classify(&self, c: &Cluster, _intent: Option<&Params>) -> Verdict {
        match c.members.iter().find(|m| m.pod == self.pod) {
            Some(m) if m.error.is_some() => Verdict::NotDone(format!(
                "the status of {} is unreadable: {}",
                self.pod,
                m.error.as_deref().unwrap_or_default()
            )),
            Some(m) if !m.desynced() => {
                Verdict::Done(format!("{} has wsrep_desync=OFF ({})", self.pod, m.state()))
            }
            Some(_) => Verdict::NotDone(format!("{} has wsrep_desync=ON", self.pod)),
            None => Verdict::NotDone(format!("{} was not found", self.pod)),
        }
    }

    async fn act(&self, cx: &PrepareCx, p: &Params) -> Result<Applied, StepError> {
        let argv = sql(
            cx.mysql_defaults.as_deref(),
            "SET GLOBAL wsrep_desync = OFF",
        );
        let out = cx.exec.run(NAMESPACE, &p.pod, CONTAINER, &argv).await?;
        if out.status != 0 {
            // Worth retrying: the member may be restarting; it must not stay desynced.
            return Err(StepError::retryable(format!(
                "set wsrep_desync = OFF on {}: exited with status {}: {}",
                p.pod,
                out.status,
                out.stderr.trim()
            )));
        }
        Ok(Applied {
            http_status: None,
            observed: json!({"pod": p.pod, "wsrep_desync": "OFF"}),
        })
    }

    fn settle(&self, c: &Cluster, _intent: Option<&Params>) -> Option<WaitState> {
        let Some(m) = c.members.iter().find(|m| m.pod == self.pod) else {
            return Some(WaitState::Pending(format!("{} is not there", self.pod)));
        };
        Some(if m.desynced() {
            WaitState::Pending(format!("{} has wsrep_desync=ON", self.pod))
        } else if m.state() != SYNCED {
            WaitState::Pending(format!("{} is {} (want {SYNCED})", self.pod, m.state()))
        } else if c.ready_replicas < self.replicas {
            WaitState::Pending(format!(
                "the StatefulSet has {}/{} replicas Ready",
                c.ready_replicas, self.replicas
            ))
        } else {
            WaitState::Met(format!(
                "{} is {SYNCED}; {}/{} replicas Ready",
                self.pod, c.ready_replicas, self.replicas
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::galera::DESYNCED;
    use super::super::galera::tests::healthy;
    use super::*;

    #[test]
    fn resynced_is_off_and_settles_at_synced_with_the_statefulset_ready() {
        let s = Resync {
            spec: super::super::test_spec("p4-resync"),
            pod: "mariadb-server-2".into(),
            replicas: 3,
        };
        let mut c = healthy(3);
        assert!(matches!(s.classify(&c, None), Verdict::Done(_)));
        assert!(matches!(s.settle(&c, None), Some(WaitState::Met(_))));
        c.members[2]
            .status
            .insert("wsrep_desync".into(), "ON".into());
        assert!(matches!(s.classify(&c, None), Verdict::NotDone(_)));
        c.members[2]
            .status
            .insert("wsrep_desync".into(), "OFF".into());
        c.members[2]
            .status
            .insert("wsrep_local_state_comment".into(), DESYNCED.into());
        assert!(matches!(s.classify(&c, None), Verdict::Done(_)));
        assert!(matches!(s.settle(&c, None), Some(WaitState::Pending(_))));
        c.members[2]
            .status
            .insert("wsrep_local_state_comment".into(), SYNCED.into());
        c.ready_replicas = 2;
        assert!(matches!(s.settle(&c, None), Some(WaitState::Pending(_))));
        c.members[2].error = Some("connection refused".into());
        assert!(matches!(s.classify(&c, None), Verdict::NotDone(_)));
    }
}
