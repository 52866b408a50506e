//! The cleanup run a restore starts from: its record (the C0 snapshot and
//! what the cleanup deleted), read from that run's journal alone, through a
//! private read-only copy (no lock, nothing written there), with the chain
//! verified first. The cleanup's own reader
//! ([`crate::kuryr::cleanup::record::read_cleanup`]) checks that it is a
//! cleanup run's and decides what counts as deleted.

use std::path::{Path, PathBuf};

use journal::{Journal, VerifyStatus, verify_journal};
use serde::{Deserialize, Serialize};

use crate::kuryr::cleanup::record::read_cleanup;
use crate::kuryr::cleanup::select::ObjKind;
use crate::kuryr::cleanup::snapshot::Snapshot;

/// A cleanup run's record, as the restore journals it in its discovery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanupSource {
    /// The cleanup run's id.
    pub run_id: String,
    /// The cluster it cleaned up.
    pub cluster_id: String,
    /// Its journal directory, as given.
    pub journal_dir: String,
    /// Its journal's head when read (seq and chain hash).
    pub head: String,
    /// Its C0 snapshot.
    pub snapshot: Snapshot,
    /// What it deleted, by kind and old ID.
    pub deleted: Vec<(ObjKind, String)>,
}

/// Why a cleanup run's record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The journal could not be opened or read.
    #[error(
        "read the cleanup run in {}: {reason}; name a cleanup run (`ovn-migrate journal list`) or its journal directory with --from",
        dir.display()
    )]
    Read { dir: PathBuf, reason: String },
    /// Its hash chain is broken.
    #[error(
        "read the cleanup run in {}: its chain does not verify at record {seq} ({reason}); see `ovn-migrate journal verify {}`",
        dir.display(),
        dir.display()
    )]
    Broken {
        dir: PathBuf,
        seq: u64,
        reason: String,
    },
    /// The cleanup's own reader refused the run (its message says why).
    #[error(
        "{0}; name a cleanup run (`ovn-migrate journal list`) or its journal directory with --from"
    )]
    Record(String),
}

/// Reads the record of the cleanup run whose journal is `dir` (blocking).
pub fn read_source(dir: &Path) -> Result<CleanupSource, SourceError> {
    let bad = |reason: String| SourceError::Read {
        dir: dir.to_path_buf(),
        reason,
    };
    let j = Journal::open_read(dir).map_err(|e| bad(crate::redact::chain(&e)))?;
    if let VerifyStatus::Broken { seq, reason } =
        verify_journal(&j).map_err(|e| bad(e.to_string()))?.status
    {
        return Err(SourceError::Broken {
            dir: dir.to_path_buf(),
            seq,
            reason,
        });
    }
    let record = read_cleanup(&j).map_err(SourceError::Record)?;
    let (seq, hash) = j.head();
    Ok(CleanupSource {
        run_id: record.run_id,
        cluster_id: j.target().cluster_id.clone(),
        journal_dir: dir.display().to_string(),
        head: format!("{seq}:{hash}"),
        snapshot: record.snapshot,
        deleted: record.deleted.into_iter().collect(),
    })
}
