//! `verify`: recompute every link of a journal's chain.
//!
//! Walks every record in seq order (never only the ends) and reports the first
//! problem with its seq: a gap in the seqs, a record that does not decode
//! (flipped or truncated bytes), a hash that does not link (altered or
//! reordered records), a seal whose head is wrong, or records after a seal.
//! A chain that links to its last record but has no seal is reported as an
//! unsealed tail: the run is in progress or was interrupted, and records after
//! the last one, if there were any, cannot be told from never written.

use std::path::Path;

use serde::Serialize;

use crate::chain::{ChainHash, link};
use crate::error::Result;
use crate::event::{Event, Seq};
use crate::format;
use crate::keys;
use crate::store::Journal;

/// What verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum VerifyStatus {
    /// Every link holds and the run is sealed at `seal`.
    Sealed { seal: Seq },
    /// Every link holds up to `last`, and there is no seal.
    Unsealed { last: Seq },
    /// The chain breaks at `seq`.
    Broken { seq: Seq, reason: String },
    /// The database came up short of, or differs from, its head witness
    /// (or the witness is missing or another journal's): records that were
    /// made durable cannot be read. `records` counts those that link.
    Damaged {
        reason: String,
        witness_seq: Option<Seq>,
        witness_hash: Option<String>,
        readable: Seq,
    },
}

/// The result of verifying a journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records that linked correctly.
    pub records: u64,
    /// Chain hash of the last record that linked correctly, hex.
    pub head: String,
    pub status: VerifyStatus,
}

impl VerifyReport {
    /// Returns true when the chain is whole and sealed.
    pub fn is_sealed_and_whole(&self) -> bool {
        matches!(self.status, VerifyStatus::Sealed { .. })
    }
}

/// Verifies the journal in `dir` without writing to it (a reader's private
/// copy, [`Journal::open_damaged`]): a damaged journal is reported as
/// [`VerifyStatus::Damaged`]; one sled cannot open at all is [`crate::Error::Damaged`].
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let journal = Journal::open_damaged(dir)?;
    verify_journal(&journal)
}

/// Verifies an open journal.
pub fn verify_journal(journal: &Journal) -> Result<VerifyReport> {
    let mut prev = journal.genesis();
    let mut expected: Seq = 1;
    let mut sealed: Option<Seq> = None;
    let broken = |seq, reason: String, records, head: ChainHash| VerifyReport {
        records,
        head: head.to_string(),
        status: VerifyStatus::Broken { seq, reason },
    };
    for kv in journal.raw_records(1) {
        let (key, value) = kv?;
        let Some(seq) = keys::seq_of(&key) else {
            return Ok(broken(
                expected,
                "a malformed event key".into(),
                expected - 1,
                prev,
            ));
        };
        if seq != expected {
            let reason = if seq > expected {
                format!("records {expected}..{} are missing", seq - 1)
            } else {
                format!("record {seq} is out of order")
            };
            return Ok(broken(expected, reason, expected - 1, prev));
        }
        if let Some(at) = sealed {
            return Ok(broken(
                seq,
                format!("record after the seal at {at}"),
                expected - 1,
                prev,
            ));
        }
        let raw = match format::split(&value) {
            Ok(raw) => raw,
            Err(reason) => return Ok(broken(seq, reason, expected - 1, prev)),
        };
        let want = link(seq, &prev, raw.stored);
        if want != raw.hash {
            return Ok(broken(
                seq,
                "hash does not link: this record, or the order of records, was altered".into(),
                expected - 1,
                prev,
            ));
        }
        let event = match format::decode_payload(raw.version, raw.at_ms, raw.payload) {
            Ok((e, _)) => e,
            Err(reason) => return Ok(broken(seq, reason, expected - 1, prev)),
        };
        if let Event::RunSealed { head, .. } = &event {
            if *head != prev {
                return Ok(broken(
                    seq,
                    "the seal names another head".into(),
                    expected - 1,
                    prev,
                ));
            }
            sealed = Some(seq);
        }
        prev = want;
        expected += 1;
    }
    let records = expected - 1;
    let status = match (journal.damage(), sealed) {
        (Some(d), _) => VerifyStatus::Damaged {
            reason: d.reason.clone(),
            witness_seq: d.witness.map(|w| w.0),
            witness_hash: d.witness.map(|w| w.1.to_string()),
            readable: d.readable,
        },
        (None, Some(seal)) => VerifyStatus::Sealed { seal },
        (None, None) => VerifyStatus::Unsealed { last: records },
    };
    Ok(VerifyReport {
        records,
        head: prev.to_string(),
        status,
    })
}
