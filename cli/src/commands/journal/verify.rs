//! `ovn-migrate journal verify <DIR>`: recompute every link of a journal's chain.
//!
//! Reads the journal without writing to it ([`journal::verify`] works on a
//! private copy: no lock, no chmod; a journal in use by a running migration
//! is read up to its last durable head), walks every record and compares the
//! database with its head witness, and prints the report. The exit code says
//! whether the journal is whole: [`ExitCode::OK`] for a whole chain, sealed
//! or not, [`ExitCode::JOURNAL_CORRUPT`] for a broken chain or a damaged
//! journal (records made durable that cannot be read).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use journal::{VerifyReport, VerifyStatus};

/// Verify a journal's hash chain, record by record.
///
/// Reports whether every record links to the one before it, whether the
/// database holds every record its head witness says was made durable, and
/// whether the run was sealed. Exits 0 when the journal is whole (sealed or
/// not) and 9 when it is broken or damaged. Writes nothing: it works on a
/// read-only copy, and on a journal a run is using.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The journal directory (`<state-dir>/<cluster-id>/<run-id>`), or a
    /// bundle made by `journal export`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Also compare the seal with the head the cluster recorded when the
    /// run was sealed (the ConfigMap `kube-system/ovn-migrate-anchors`,
    /// reached through `--kubeconfig`/`KUBECONFIG`): a journal rewritten
    /// and re-sealed since is refused (exit 9).
    #[arg(long)]
    pub against_cluster: bool,
}

/// The JSON document of `journal verify`.
#[derive(Debug, Serialize)]
pub struct VerifyDoc {
    pub journal: PathBuf,
    pub cluster_id: String,
    pub run_id: String,
    /// `"sealed"`, `"unsealed"`, `"broken"` or `"damaged"`.
    pub status: &'static str,
    /// True when every record links (sealed or unsealed).
    pub whole: bool,
    pub sealed: bool,
    /// Records that linked correctly.
    pub records: u64,
    /// Chain hash of the last record that linked, hex.
    pub head: String,
    /// Seq of the seal, when sealed.
    pub seal: Option<u64>,
    /// Seq where the chain breaks, when broken.
    pub broken_at: Option<u64>,
    /// Why it breaks there, when broken; what is wrong, when damaged.
    pub reason: Option<String>,
    /// The head witness's last durable seq and hash, when damaged.
    pub witness_seq: Option<u64>,
    pub witness_hash: Option<String>,
    /// The last seq sled could read, when damaged.
    pub readable: Option<u64>,
}

impl VerifyDoc {
    /// Returns the document for `report` on the journal at `dir`.
    pub fn new(dir: PathBuf, cluster_id: String, run_id: String, report: VerifyReport) -> Self {
        let (mut witness_seq, mut witness_hash, mut readable) = (None, None, None);
        let (status, seal, broken_at, reason) = match report.status {
            VerifyStatus::Sealed { seal } => ("sealed", Some(seal), None, None),
            VerifyStatus::Unsealed { .. } => ("unsealed", None, None, None),
            VerifyStatus::Broken { seq, reason } => ("broken", None, Some(seq), Some(reason)),
            VerifyStatus::Damaged {
                reason,
                witness_seq: ws,
                witness_hash: wh,
                readable: r,
            } => {
                (witness_seq, witness_hash, readable) = (ws, wh, Some(r));
                ("damaged", None, None, Some(reason))
            }
        };
        VerifyDoc {
            journal: dir,
            cluster_id,
            run_id,
            status,
            whole: status == "sealed" || status == "unsealed",
            sealed: status == "sealed",
            records: report.records,
            head: report.head,
            seal,
            broken_at,
            reason,
            witness_seq,
            witness_hash,
            readable,
        }
    }

    /// Returns the report as text for people.
    pub fn human(&self) -> String {
        let verdict = match (self.status, self.seal, self.broken_at) {
            ("sealed", Some(seal), _) => format!(
                "whole and sealed: all {} records link; the run was sealed at record {seal}",
                self.records
            ),
            ("unsealed", _, _) => format!(
                "whole, not sealed: all {} records link; the run is in progress or was \
                 interrupted (records after {}, if any were written, cannot be told from never written)",
                self.records, self.records
            ),
            ("damaged", _, _) => format!(
                "DAMAGED: {}\n  the {} records sled could read link",
                self.reason.as_deref().unwrap_or("unknown"),
                self.records
            ),
            (_, _, at) => format!(
                "BROKEN at record {}: {}\n  the {} records before it link",
                at.unwrap_or(0),
                self.reason.as_deref().unwrap_or("unknown"),
                self.records
            ),
        };
        format!(
            "journal: {}\ncluster: {}\nrun:     {}\nchain:   {verdict}\nhead:    {}",
            self.journal.display(),
            self.cluster_id,
            self.run_id,
            self.head
        )
    }

    /// Returns the exit code the report calls for.
    pub fn exit_code(&self) -> i32 {
        if self.whole {
            ExitCode::OK
        } else {
            ExitCode::JOURNAL_CORRUPT
        }
    }
}

/// Runs `journal verify`.
pub fn run(args: VerifyArgs, ctx: &Context) -> Result<i32> {
    let dir = std::path::absolute(&args.dir).unwrap_or(args.dir);
    if journal::export::bundle::is_bundle(&dir) {
        if args.against_cluster {
            return Err(CliError::usage(format!(
                "{} is an exported bundle; --against-cluster compares a journal directory",
                dir.display()
            ))
            .with_hint("verify the journal the bundle was exported from against the cluster"));
        }
        return super::export::verify_bundle(&dir, ctx);
    }
    let opened = journal::Journal::open_damaged(&dir)?;
    let report = journal::verify_journal(&opened)?;
    let doc = VerifyDoc::new(
        dir,
        opened.target().cluster_id.clone(),
        opened.run_id().to_string(),
        report,
    );
    if args.against_cluster && doc.whole {
        let check = super::anchor::check(ctx, &opened)?;
        drop(opened);
        let code = check.exit_code();
        let both = serde_json::json!({"verify": doc, "anchor": check});
        ctx.output
            .print(&both, || format!("{}\n{}", doc.human(), check.human()))?;
        return Ok(code);
    }
    drop(opened);
    ctx.output.print(&doc, || doc.human())?;
    if !doc.whole && !ctx.output.is_json() {
        ctx.output.note(
            "hint: keep a copy of this directory before anything else, and do not resume \
             this run: its records cannot be trusted past the break",
        );
        ctx.output.note(format!(
            "hint: `ovn-migrate journal salvage {}` makes a new journal from the records that \
             can be read, in which resume re-observes every operation not recorded done",
            doc.journal.display()
        ));
    }
    Ok(doc.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(status: VerifyStatus) -> VerifyDoc {
        let report = VerifyReport {
            records: 5,
            head: "ab".into(),
            status,
        };
        VerifyDoc::new("/j".into(), "c".into(), "r".into(), report)
    }

    #[test]
    fn exit_code_follows_the_chain() {
        assert_eq!(
            doc(VerifyStatus::Sealed { seal: 5 }).exit_code(),
            ExitCode::OK
        );
        assert_eq!(
            doc(VerifyStatus::Unsealed { last: 5 }).exit_code(),
            ExitCode::OK
        );
        let broken = doc(VerifyStatus::Broken {
            seq: 6,
            reason: "hash does not link".into(),
        });
        assert_eq!(broken.exit_code(), ExitCode::JOURNAL_CORRUPT);
        assert!(
            broken
                .human()
                .contains("BROKEN at record 6: hash does not link")
        );
    }

    #[test]
    fn json_is_flat() {
        let v = serde_json::to_value(doc(VerifyStatus::Sealed { seal: 5 })).unwrap();
        assert_eq!(v["status"], "sealed");
        assert_eq!(v["whole"], true);
        assert_eq!(v["seal"], 5);
        assert!(v["broken_at"].is_null());
    }
}
