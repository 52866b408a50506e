//! P4, first: the Galera cluster is healthy enough to desync one member.
//!
//! A check (never awaited): the StatefulSet and every member as
//! [`super::galera::read_cluster`] reads them, judged by
//! [`super::galera::problems`]; any problem fails the run before anything
//! is desynced, naming each member and value.

use super::PrepareCx;
use super::galera::{Cluster, problems, read_cluster};
use crate::engine::{Step, StepError, WaitState, Watch};
use journal::OperationSpec;

/// The step.
pub struct GaleraHealthy {
    pub spec: OperationSpec,
    /// Replicas when planned.
    pub replicas: u32,
}

impl Step for GaleraHealthy {
    type Cx = PrepareCx;
    type Observation = Cluster;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Cluster, StepError> {
        read_cluster(cx).await
    }
}

impl Watch for GaleraHealthy {
    fn condition(&self, c: &Cluster) -> WaitState {
        let p = problems(c, self.replicas);
        if p.is_empty() {
            WaitState::Met(format!(
                "{} members Ready, Primary, Synced, connected, cluster size {}",
                c.members.len(),
                c.replicas
            ))
        } else {
            WaitState::Failed(format!(
                "the Galera cluster openstack/mariadb-server is not safe to desync for a backup: {}; nothing was desynced: fix it, then run again",
                p.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::galera::tests::healthy;
    use super::*;

    #[test]
    fn a_healthy_cluster_passes_and_a_sick_one_names_the_member() {
        let s = GaleraHealthy {
            spec: super::super::test_spec("p4-galera-check"),
            replicas: 3,
        };
        assert!(matches!(s.condition(&healthy(3)), WaitState::Met(_)));
        let mut c = healthy(3);
        c.members[1].ready = false;
        match s.condition(&c) {
            WaitState::Failed(m) => assert!(m.contains("mariadb-server-1: not Ready"), "{m}"),
            w => panic!("{w:?}"),
        }
    }
}
