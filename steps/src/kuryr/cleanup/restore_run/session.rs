//! The restore as a [`Workflow`]: a [`RestoreSession`] holds the connected
//! cluster and cloud and the cleanup run's journal directory, and supplies
//! the driver's parts: discovery (the cleanup record plus what exists now),
//! its digest, the plan, each operation's step, the steps' context (the
//! old → new map read back from this run's journal) and the cluster lease,
//! so a restore never runs beside a cleanup or another restore.

use std::path::PathBuf;

use futures::future::BoxFuture;
use journal::Target;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::existing::{Existing, read_existing};
use super::idmap::{IdMap, read_id_map};
use super::plan::{RestorePlanned, plan_run};
use super::source::{CleanupSource, SourceError, read_source};
use super::{LbWait, Operation, RestoreCx, step_for};
use crate::engine::lease::{self, LeaseError, LeaseGuard, LeaseLost};
use crate::engine::{ErasedStep, Fence, Recorder};
use crate::kube::{KubeClient, KubeError};
use crate::kuryr::digest::digest;
use crate::kuryr::migrate::{MigrateError, Session};
use crate::openstack::OpenStack;
use crate::workflow::{Execution, Held, LoadedRun, RunError, Workflow};

/// The workflow name restore journals are recorded under.
pub const WORKFLOW: &str = "kuryr-restore";

/// The user's choices (journaled with the plan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreOptions {
    /// The cleanup run restored from.
    pub from_run: String,
}

/// What the plan is made from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RestoreDiscovery {
    /// The cleanup run's record.
    pub source: CleanupSource,
    /// What exists in the project now.
    pub existing: Existing,
}

/// What can stop a restore before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Connect(#[from] MigrateError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("read what exists in the cloud now: {0}")]
    OpenStack(#[from] crate::openstack::Error),
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Run(#[from] RunError),
    /// The cleanup run is of another cluster than the one connected to.
    #[error(
        "restore from cleanup run {run}: it cleaned up cluster {theirs}, but this is cluster {ours}; connect to that cluster (--kubeconfig/--context, --os-cloud) or name a cleanup run of this one"
    )]
    OtherCluster {
        run: String,
        theirs: String,
        ours: String,
    },
    /// The options name another cleanup run than the one read.
    #[error(
        "restore from cleanup run {given}: the journal given holds run {found}; name the run or its journal directory again"
    )]
    OtherRun { given: String, found: String },
}

/// A connection to one cluster and its cloud, and the cleanup run to restore from.
pub struct RestoreSession {
    pub kube: KubeClient,
    pub openstack: OpenStack,
    pub target: Target,
    pub cluster_id: String,
    /// The cleanup run's journal directory.
    pub source_dir: PathBuf,
    /// Load balancer provisioning waits.
    pub lb_wait: LbWait,
}

impl RestoreSession {
    /// Returns a restore session over a connected session.
    pub fn new(session: Session, source_dir: PathBuf) -> Self {
        Self {
            kube: session.kube,
            openstack: session.openstack,
            target: session.target,
            cluster_id: session.cluster_id,
            source_dir,
            lb_wait: LbWait::default(),
        }
    }

    /// Reads the cleanup run's record alone (the dry run shows its plan from it).
    pub async fn source(&self) -> Result<CleanupSource, RestoreError> {
        let dir = self.source_dir.clone();
        let source = tokio::task::spawn_blocking(move || read_source(&dir))
            .await
            .map_err(|e| SourceError::Read {
                dir: self.source_dir.clone(),
                reason: e.to_string(),
            })??;
        if source.cluster_id != self.cluster_id {
            return Err(RestoreError::OtherCluster {
                run: source.run_id,
                theirs: source.cluster_id,
                ours: self.cluster_id.clone(),
            });
        }
        Ok(source)
    }
}

impl Workflow for RestoreSession {
    const NAME: &'static str = WORKFLOW;
    type Options = RestoreOptions;
    type Discovery = RestoreDiscovery;
    type Operation = Operation;
    type Plan = RestorePlanned;
    type Cx = RestoreCx;
    type Error = RestoreError;

    fn target(&self) -> Target {
        self.target.clone()
    }

    async fn discover(&self) -> Result<RestoreDiscovery, RestoreError> {
        let source = self.source().await?;
        let existing = read_existing(&self.openstack).await?;
        Ok(RestoreDiscovery { source, existing })
    }

    fn digest(d: &RestoreDiscovery) -> String {
        // The record is fixed by the cleanup journal's head; what exists now by its IDs.
        digest(&json!({
            "source_run": d.source.run_id,
            "source_head": d.source.head,
            "snapshot": d.source.snapshot.digest(),
            "deleted": d.source.deleted,
            "existing": d.existing,
        }))
    }

    fn plan(d: &RestoreDiscovery, o: &RestoreOptions) -> Result<RestorePlanned, RestoreError> {
        if o.from_run != d.source.run_id {
            return Err(RestoreError::OtherRun {
                given: o.from_run.clone(),
                found: d.source.run_id.clone(),
            });
        }
        Ok(plan_run(
            &d.source.run_id,
            &d.source.snapshot,
            &d.source.deleted.iter().cloned().collect(),
            &d.existing,
            Self::digest(d),
        ))
    }

    fn planned_digest(plan: &RestorePlanned) -> &str {
        &plan.discovery_digest
    }

    fn operations(plan: &RestorePlanned) -> &[Operation] {
        &plan.operations
    }

    fn step(op: &Operation) -> Box<dyn ErasedStep<RestoreCx>> {
        step_for(op)
    }

    fn context(
        &self,
        run: &LoadedRun<Self>,
        _rec: &Recorder,
        _how: &Execution<'_>,
    ) -> Result<RestoreCx, RestoreError> {
        Ok(RestoreCx {
            openstack: self.openstack.clone(),
            map: IdMap::new(read_id_map(&run.journal)?),
            existing: run.discovery.existing.clone(),
            lb_wait: self.lb_wait,
        })
    }

    async fn exclude(
        &self,
        run_id: &str,
        how: &Execution<'_>,
    ) -> Result<Box<dyn Held>, RestoreError> {
        let guard = lease::acquire(
            &self.kube,
            &lease::identity(run_id),
            how.lease,
            how.cancel.clone(),
        )
        .await?;
        Ok(Box::new(RestoreLease(guard)))
    }
}

/// The cluster lease, as the driver holds it for a restore.
struct RestoreLease(LeaseGuard);

impl Fence for RestoreLease {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.0.ensure_held()
    }
}

impl Held for RestoreLease {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.release().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;
    use crate::kuryr::cleanup::select::ObjKind;

    fn discovery() -> RestoreDiscovery {
        RestoreDiscovery {
            source: CleanupSource {
                run_id: "clean-1".into(),
                cluster_id: "c1".into(),
                journal_dir: "/state/c1/clean-1".into(),
                head: "12:abcd".into(),
                snapshot: fixture::snapshot(),
                deleted: vec![(ObjKind::Network, "net-a".into())],
            },
            existing: Existing::default(),
        }
    }

    #[test]
    fn the_plan_is_of_the_run_named_and_its_digest_follows_what_exists() {
        let d = discovery();
        let other = RestoreOptions {
            from_run: "clean-2".into(),
        };
        assert!(matches!(
            RestoreSession::plan(&d, &other),
            Err(RestoreError::OtherRun { .. })
        ));
        let o = RestoreOptions {
            from_run: "clean-1".into(),
        };
        let p = RestoreSession::plan(&d, &o).unwrap();
        assert_eq!(p.discovery_digest, RestoreSession::digest(&d));
        assert_eq!(p.source_run, "clean-1");
        // Someone made a network since: the digest (the drift check) changes.
        let mut moved = d.clone();
        moved
            .existing
            .ids
            .entry("networks".into())
            .or_default()
            .insert("new-net".into());
        assert_ne!(RestoreSession::digest(&moved), RestoreSession::digest(&d));
        // So does a cleanup journal that grew.
        let mut grown = d.clone();
        grown.source.head = "13:ef01".into();
        assert_ne!(RestoreSession::digest(&grown), RestoreSession::digest(&d));
    }
}
