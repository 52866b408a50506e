//! Golden journals as text: a journal written out once, record by record
//! and blob by blob, so that it can be checked in as a fixture and made
//! into a journal directory again, byte for byte, by the tests that read it.
//!
//! The text is line-based and diffable:
//!
//! ```text
//! golden-journal 1
//! run <run id>
//! target <target as JSON>
//! record <seq> <the stored record, hex>
//! blob <hash, hex> <bytes, hex>
//! ```
//!
//! [`load`] makes the journal through the one append function (so its
//! index and head witness are what a run would have written) and then
//! requires every record to be the fixture's exact bytes, with its exact
//! chain hash: a fixture that was altered, or that today's encoder would
//! not write the same way, is refused rather than read as something else.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::event::{BlobHash, Event};
use crate::format;
use crate::store::{Journal, OpenOptions};
use crate::target::Target;

const MAGIC: &str = "golden-journal 1";

/// Returns the journal as golden text (up to its durable head, for a reader).
pub fn dump(journal: &Journal) -> Result<String> {
    let mut out = String::new();
    let target = serde_json::to_string(journal.target()).map_err(Error::Json)?;
    let _ = writeln!(out, "{MAGIC}\nrun {}\ntarget {target}", journal.run_id());
    for kv in journal.raw_records(1) {
        let (k, v) = kv?;
        let seq = u64::from_be_bytes(k[1..9].try_into().expect("an event key"));
        let _ = writeln!(out, "record {seq} {}", hex::encode(&v));
    }
    let mut hashes = journal.blob_hashes()?;
    hashes.sort();
    for h in hashes {
        if let Some(bytes) = journal.get_blob(&h)? {
            let _ = writeln!(out, "blob {h} {}", hex::encode(bytes));
        }
    }
    Ok(out)
}

fn bad(path: &Path, line: usize, what: String) -> Error {
    Error::Io {
        what: "read the golden journal",
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("line {line}: {what}")),
    }
}

/// Makes the journal of the golden text `text` (read from `source`, named
/// in errors) in the new directory `dir`, and closes it.
pub fn load(text: &str, source: &Path, dir: &Path) -> Result<()> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut next = |want: &str| -> Result<(usize, String)> {
        let (n, l) = lines
            .next()
            .ok_or_else(|| bad(source, 0, format!("ends before its {want} line")))?;
        Ok((n, l.to_string()))
    };
    let (n, magic) = next("first")?;
    if magic != MAGIC {
        return Err(bad(source, n, format!("not `{MAGIC}`")));
    }
    let (n, run) = next("run")?;
    let run_id = run
        .strip_prefix("run ")
        .ok_or_else(|| bad(source, n, "not a `run` line".into()))?
        .to_string();
    let (n, target) = next("target")?;
    let target: Target = serde_json::from_str(
        target
            .strip_prefix("target ")
            .ok_or_else(|| bad(source, n, "not a `target` line".into()))?,
    )
    .map_err(|e| bad(source, n, format!("the target does not parse: {e}")))?;
    let mut records: Vec<(usize, u64, Vec<u8>)> = Vec::new();
    let mut blobs: Vec<(usize, BlobHash, Vec<u8>)> = Vec::new();
    for (n, line) in text.lines().enumerate().skip(3).map(|(i, l)| (i + 1, l)) {
        let mut parts = line.splitn(3, ' ');
        let (kind, a, b) = (parts.next(), parts.next(), parts.next());
        let hexed = |s: Option<&str>| {
            hex::decode(s.unwrap_or_default()).map_err(|e| bad(source, n, format!("bad hex: {e}")))
        };
        match kind {
            Some("record") => {
                let seq = a
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad(source, n, "a record without its seq".into()))?;
                records.push((n, seq, hexed(b)?));
            }
            Some("blob") => {
                let h: [u8; 32] = hexed(a)?
                    .try_into()
                    .map_err(|_| bad(source, n, "a blob hash is 32 bytes".into()))?;
                blobs.push((n, BlobHash(h), hexed(b)?));
            }
            Some("") | None => {}
            Some(other) => return Err(bad(source, n, format!("unknown line kind `{other}`"))),
        }
    }
    let journal = Journal::create_bare(dir, &run_id, &target, &OpenOptions::default())?;
    for (n, h, bytes) in &blobs {
        if BlobHash::of(bytes) != *h {
            return Err(bad(
                source,
                *n,
                format!("blob {h} does not hash to its name"),
            ));
        }
        journal.put_blob(bytes)?;
    }
    let mut events: Vec<(i64, Event)> = Vec::with_capacity(records.len());
    for (i, (n, seq, rec)) in records.iter().enumerate() {
        if *seq != i as u64 + 1 {
            return Err(bad(source, *n, format!("record {seq} is out of order")));
        }
        let (_, at_ms, event, _) =
            format::decode(rec).map_err(|e| bad(source, *n, format!("record {seq}: {e}")))?;
        events.push((at_ms, event));
    }
    for chunk in events.chunks(256) {
        journal.append_as_recorded(chunk)?;
    }
    journal.sync()?;
    for ((n, seq, rec), kv) in records.iter().zip(journal.raw_records(1)) {
        let (_, stored) = kv?;
        if stored.as_ref() != rec.as_slice() {
            return Err(bad(
                source,
                *n,
                format!(
                    "record {seq} is not written back as the fixture holds it (altered, or \
                     another encoder's bytes)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunInfo;

    #[test]
    fn a_journal_round_trips_through_its_golden_text_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunInfo {
            run_id: "r".into(),
            workflow: "w".into(),
            tool_version: "t".into(),
            target: Target {
                cluster_id: "c".into(),
                api_server: "a".into(),
                openstack_auth_url: "o".into(),
                openstack_project: "p".into(),
            },
        };
        let j = Journal::create(&tmp.path().join("a"), &run, &OpenOptions::default()).unwrap();
        let big = "x".repeat(5000);
        let doc = j.doc(&serde_json::json!({ "big": big })).unwrap();
        j.append(Event::ObservationRecorded {
            key: "discovery".into(),
            body: doc,
        })
        .unwrap();
        let text = dump(&j).unwrap();
        drop(j);
        let src = Path::new("fixture.txt");
        load(&text, src, &tmp.path().join("b")).unwrap();
        let b = Journal::open_read(&tmp.path().join("b")).unwrap();
        assert_eq!(dump(&b).unwrap(), text);
        assert!(matches!(
            crate::verify_journal(&b).unwrap().status,
            crate::VerifyStatus::Unsealed { last: 2 }
        ));
        // One hex digit changed in a record: refused, naming the line.
        let altered = text.replacen("record 2 4f", "record 2 4e", 1);
        let e = load(&altered, src, &tmp.path().join("c")).unwrap_err();
        let why = std::error::Error::source(&e).unwrap().to_string();
        assert!(why.contains("line 5"), "{why}");
    }
}
