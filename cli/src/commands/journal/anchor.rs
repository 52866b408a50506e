//! The external anchor, CLI side: recording a sealed run's head in the
//! cluster after the driver seals it, and comparing a journal with it for
//! `journal verify --against-cluster` ([`steps::kube::anchor`]).
//!
//! The cluster is reached as every command reaches it (`--kubeconfig`,
//! `KUBECONFIG`, `--context`). A journal whose seal is not the one the
//! cluster anchors (another head or seq, or no anchor at all) is refused
//! with exit 9, naming both sides.

use std::time::Duration;

use journal::{Event, Journal};
use serde::Serialize;
use steps::kube::anchor::{self, ANCHORS, Anchor, AnchorError, NAMESPACE};
use steps::kube::{ClientOptions, KubeClient};

use crate::commands::kuryr::errors::kube_error;
use crate::context::Context;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Returns the anchor a sealed journal calls for (`None` when not sealed).
pub fn anchor_of(journal: &Journal) -> Result<Option<Anchor>> {
    let Some(seal_seq) = journal.sealed() else {
        return Ok(None);
    };
    let workflow = match journal.read(1)?.map(|r| r.event) {
        Some(Event::RunStarted { workflow, .. }) => workflow,
        _ => String::new(),
    };
    let head = journal
        .read(seal_seq)?
        .map(|r| r.hash.to_string())
        .unwrap_or_default();
    Ok(Some(Anchor {
        run_id: journal.run_id().to_string(),
        workflow,
        cluster_id: journal.target().cluster_id.clone(),
        seal_seq,
        head,
    }))
}

fn client(ctx: &Context) -> Result<KubeClient> {
    let options = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(TIMEOUT),
    };
    ctx.block_on(steps::kube::connect(&options))?
        .map_err(|e| kube_error(&e))
}

fn anchor_error(e: AnchorError) -> CliError {
    match e {
        AnchorError::Kube(k) => kube_error(&k),
        AnchorError::Conflict { .. } => {
            CliError::new(ErrorKind::Cluster, ExitCode::JOURNAL_CORRUPT, e.to_string()).with_hint(
                "the journal's seal is not the one the cluster recorded: keep a copy of the \
                 journal and compare it with `ovn-migrate journal verify --against-cluster`",
            )
        }
        AnchorError::Unreadable { .. } => {
            CliError::new(ErrorKind::Cluster, ExitCode::JOURNAL_CORRUPT, e.to_string())
        }
    }
}

/// Records the head of the sealed run in `journal` in the cluster `kc`
/// reaches (the run's own: the driver calls it right after the seal);
/// returns the anchor written.
pub fn record_after_seal(
    ctx: &Context,
    kc: &KubeClient,
    journal: &Journal,
) -> Result<Option<Anchor>> {
    let Some(a) = anchor_of(journal)? else {
        return Ok(None);
    };
    ctx.block_on(anchor::record(kc, &a))?
        .map_err(anchor_error)?;
    Ok(Some(a))
}

/// How a journal compares with the cluster's anchor.
#[derive(Debug, Serialize)]
pub struct AnchorCheck {
    /// `matches`, `differs` or `missing`.
    pub result: &'static str,
    /// Where the anchor lives.
    pub configmap: String,
    pub annotation: String,
    pub journal: Anchor,
    pub cluster: Option<Anchor>,
}

impl AnchorCheck {
    /// Returns the comparison as text for people.
    pub fn human(&self) -> String {
        let j = &self.journal;
        match (&self.cluster, self.result) {
            (Some(_), "matches") => format!(
                "anchor:  matches the cluster's ({} {}): sealed at record {}, head {}",
                self.configmap, self.annotation, j.seal_seq, j.head
            ),
            (Some(c), _) => format!(
                "anchor:  DIFFERS from the cluster's ({} {}):\n  journal: sealed at record {}, head {}\n  \
                 cluster: sealed at record {}, head {}\n  the journal was changed after the cluster recorded its seal",
                self.configmap, self.annotation, j.seal_seq, j.head, c.seal_seq, c.head
            ),
            (None, _) => format!(
                "anchor:  MISSING: the cluster has no anchor for run {} ({} {}); the journal's seal \
                 (record {}, head {}) cannot be confirmed",
                j.run_id, self.configmap, self.annotation, j.seal_seq, j.head
            ),
        }
    }

    /// Returns the exit code the comparison calls for.
    pub fn exit_code(&self) -> i32 {
        if self.result == "matches" {
            ExitCode::OK
        } else {
            ExitCode::JOURNAL_CORRUPT
        }
    }
}

/// Compares the sealed journal with the cluster's anchor of its run.
pub fn check(ctx: &Context, journal: &Journal) -> Result<AnchorCheck> {
    let Some(mine) = anchor_of(journal)? else {
        return Err(CliError::usage(format!(
            "compare the journal at {} with the cluster: the run is not sealed, so the cluster \
             anchors nothing of it yet",
            journal.dir().display()
        ))
        .with_hint("`journal verify` without --against-cluster checks its chain"));
    };
    let kc = client(ctx)?;
    let theirs = ctx
        .block_on(anchor::read(&kc, &mine.run_id))?
        .map_err(anchor_error)?;
    let result = match &theirs {
        None => "missing",
        Some(t) if t.seal_seq == mine.seal_seq && t.head == mine.head => "matches",
        Some(_) => "differs",
    };
    Ok(AnchorCheck {
        result,
        configmap: format!("{NAMESPACE}/configmaps/{ANCHORS}"),
        annotation: anchor::key(&mine.run_id),
        journal: mine,
        cluster: theirs,
    })
}
