//! Writing a bundle from a journal, reading it back, and verifying it offline.
//!
//! [`export`] streams the journal's records once, in seq order, up to the
//! head it had when the export began: each record's link is checked as it
//! goes (an export never vouches for a broken chain), rendered by the chosen
//! format and written as one line; with blobs, every blob a record references
//! is copied once to `blobs/<hash>`. The records file is `fsync`ed before the
//! manifest is written (temporary file, `fsync`, rename, directory `fsync`),
//! so a bundle with a manifest is whole.
//!
//! [`verify`] needs nothing but the bundle. Line by line it checks that the
//! seq is the next one, recomputes the chain from the stored record
//! (`h_i = H(… seq ‖ h_{i−1} ‖ len ‖ stored)`, from the genesis of the
//! manifest's run and target), decodes the record, re-renders the line and
//! requires it to be exactly the line in the file. Then the manifest's count,
//! head and seal must agree with what was read, and every blob file must
//! match its name. The first problem is reported with its seq, as
//! [`crate::VerifyStatus::Broken`].

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{
    BLOBS_DIR, BUNDLE_FORMAT, BlobsInfo, Error, Format, Input, MANIFEST, Manifest, Result,
    SealInfo, Stream, decode_base64, jsonl, outcome_name,
};
use crate::chain::{ChainHash, genesis, link};
use crate::event::{BlobHash, Event, Seq};
use crate::format;
use crate::keys;
use crate::store::{Journal, Recorded};
use crate::verify::{VerifyReport, VerifyStatus};

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: Format,
    /// Copy every referenced blob into `blobs/`.
    pub with_blobs: bool,
    /// The exporting tool's version, recorded in the manifest.
    pub exported_by: String,
}

/// Returns true when `dir` looks like a bundle: it holds a manifest or a
/// records file (a bundle whose manifest was lost is still a bundle, and
/// reading it says so).
pub fn is_bundle(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
        || Format::ALL
            .iter()
            .any(|f| dir.join(f.records_file()).is_file())
}

/// Writes the bundle of `journal` into `out` (created; must be empty or
/// absent) and returns its manifest.
pub fn export(journal: &Journal, out: &Path, opts: &ExportOptions) -> Result<Manifest> {
    prepare_dir(out)?;
    let (last, _) = journal.head();
    let records_path = out.join(opts.format.records_file());
    let file = create_private(&records_path)?;
    let blobs_dir = out.join(BLOBS_DIR);
    if opts.with_blobs {
        fs::create_dir(&blobs_dir).map_err(Error::io("create the blobs directory", &blobs_dir))?;
    }
    let mut stream = Stream::new(journal.run_id(), journal.target());
    let mut seal = None;
    let mut seen: HashSet<BlobHash> = HashSet::new();
    let mut missing = Vec::new();
    let mut records = 0;
    let mut head = journal.genesis();
    // One thread reads and checks the chain, this one renders and writes.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Checked>>>(4);
    // A third thread writes the rendered batches, so the disk works while
    // the next batch renders.
    let (wtx, wrx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || read_chain(journal, last, tx));
        let writing = scope.spawn(|| write_records(&file, wrx));
        for batch in rx {
            let batch = batch?;
            let mut line = Vec::with_capacity(1 << 20);
            for c in &batch {
                if let Event::RunSealed { outcome, .. } = &c.event {
                    seal = Some(SealInfo {
                        seq: c.seq,
                        outcome: outcome_name(outcome),
                    });
                }
                let input = Input {
                    seq: c.seq,
                    version: c.version,
                    at_ms: c.at_ms,
                    event: &c.event,
                    hash: c.hash,
                    record: &c.value,
                };
                stream.render(opts.format, &input, &mut line);
                line.push(b'\n');
                if opts.with_blobs {
                    for h in jsonl::blobs_of(&c.event) {
                        if seen.insert(h) {
                            match journal.get_blob(&h)? {
                                Some(bytes) => write_blob(&blobs_dir, &h, &bytes)?,
                                None => missing.push(h.to_string()),
                            }
                        }
                    }
                }
                records = c.seq;
                head = c.hash;
            }
            if wtx.send(line).is_err() {
                break; // the writer failed: its error is returned below
            }
        }
        drop(wtx);
        writing
            .join()
            .expect("the writing thread does not panic")
            .map_err(Error::io("write the records file", &records_path))
    })?;
    if records < last {
        return Err(Error::Broken {
            seq: records + 1,
            reason: format!("the journal's head is {last} but reading stopped at {records}"),
        });
    }
    let prev = head;
    file.sync_all()
        .map_err(Error::io("fsync the records file", &records_path))?;
    if opts.with_blobs {
        sync_dir(&blobs_dir)?;
    }
    let workflow = match journal.read(1)? {
        Some(Recorded {
            event: Event::RunStarted { workflow, .. },
            ..
        }) => Some(workflow),
        _ => None,
    };
    let manifest = Manifest {
        bundle_format: BUNDLE_FORMAT,
        format: opts.format,
        records_file: opts.format.records_file().to_string(),
        exported_by: opts.exported_by.clone(),
        exported_at: super::rfc3339_ms(crate::event::now_ms()),
        run_id: journal.run_id().to_string(),
        workflow,
        target: journal.target().clone(),
        genesis: journal.genesis().to_string(),
        records,
        head: prev.to_string(),
        seal,
        blobs: opts.with_blobs.then(|| BlobsInfo {
            count: (seen.len() - missing.len()) as u64,
            missing,
        }),
    };
    write_manifest(out, &manifest)?;
    Ok(manifest)
}

/// Writes the rendered batches to `file` in order. Beside it, another
/// thread `fdatasync`s the file after every 64 MiB written, so the disk
/// writes while rendering and writing go on, and the final `fsync` has
/// little left to do.
fn write_records(mut file: &File, rx: std::sync::mpsc::Receiver<Vec<u8>>) -> std::io::Result<()> {
    let (progress, synced) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let syncer = scope.spawn(move || -> std::io::Result<()> {
            // One message per 64 MiB written; a sync covers all before it.
            while synced.recv().is_ok() {
                while synced.try_recv().is_ok() {}
                file.sync_data()?;
            }
            Ok(())
        });
        let mut since = 0usize;
        let wrote = (|| {
            for buf in rx {
                file.write_all(&buf)?;
                since += buf.len();
                if since >= 64 << 20 {
                    since = 0;
                    let _ = progress.send(());
                }
            }
            Ok(())
        })();
        drop(progress);
        let synced = syncer.join().expect("the sync thread does not panic");
        wrote.and(synced)
    })
}

/// A record read from the journal whose link was checked.
struct Checked {
    seq: Seq,
    version: u16,
    at_ms: i64,
    event: Event,
    hash: ChainHash,
    value: sled::IVec,
}

/// Reads records 1..=last in order, checks every link and decodes each,
/// and sends them in batches; stops at the first problem, sending it.
fn read_chain(journal: &Journal, last: Seq, tx: std::sync::mpsc::SyncSender<Result<Vec<Checked>>>) {
    let mut prev = journal.genesis();
    let mut expected: Seq = 1;
    let mut batch = Vec::with_capacity(1024);
    for kv in journal.raw_records(1) {
        if expected > last {
            break;
        }
        let checked = (|| {
            let (key, value) = kv?;
            let broken = |reason: String| Error::Broken {
                seq: expected,
                reason,
            };
            let seq = keys::seq_of(&key).ok_or_else(|| broken("a malformed event key".into()))?;
            if seq != expected {
                return Err(broken(format!("the next record found is {seq}")));
            }
            let raw = format::split(&value).map_err(broken)?;
            let hash = link(seq, &prev, raw.stored);
            if hash != raw.hash {
                return Err(broken("hash does not link".into()));
            }
            let (event, at_ms) =
                format::decode_payload(raw.version, raw.at_ms, raw.payload).map_err(broken)?;
            Ok(Checked {
                seq,
                version: raw.version,
                at_ms,
                event,
                hash,
                value: value.clone(),
            })
        })();
        match checked {
            Ok(c) => {
                prev = c.hash;
                expected += 1;
                batch.push(c);
                if batch.len() == 1024 && tx.send(Ok(std::mem::take(&mut batch))).is_err() {
                    return;
                }
            }
            Err(e) => {
                if !batch.is_empty() {
                    let _ = tx.send(Ok(std::mem::take(&mut batch)));
                }
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
}

fn prepare_dir(out: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if out.exists() {
        let mut entries = fs::read_dir(out).map_err(Error::io("read the output directory", out))?;
        if entries.next().is_some() {
            return Err(Error::NotEmpty(out.to_path_buf()));
        }
    } else {
        fs::create_dir_all(out).map_err(Error::io("create the output directory", out))?;
    }
    fs::set_permissions(out, fs::Permissions::from_mode(0o700))
        .map_err(Error::io("restrict the output directory", out))
}

fn create_private(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("create a bundle file", path))
}

fn write_blob(dir: &Path, h: &BlobHash, bytes: &[u8]) -> Result<()> {
    let path = dir.join(h.to_string());
    let mut f = create_private(&path)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_data())
        .map_err(Error::io("write a blob file", &path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("fsync a bundle directory", dir))
}

fn write_manifest(out: &Path, manifest: &Manifest) -> Result<()> {
    let tmp = out.join(format!(".{MANIFEST}.tmp"));
    let path = out.join(MANIFEST);
    let mut f = create_private(&tmp)?;
    let mut text = serde_json::to_vec_pretty(manifest).map_err(crate::Error::Json)?;
    text.push(b'\n');
    f.write_all(&text)
        .and_then(|()| f.sync_all())
        .map_err(Error::io("write the manifest", &tmp))?;
    fs::rename(&tmp, &path).map_err(Error::io("write the manifest", &path))?;
    sync_dir(out)
}

/// Reads a bundle's manifest; refuses a layout this build does not know.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let bad = |reason: String| Error::BadManifest {
        path: dir.to_path_buf(),
        reason,
    };
    let text = fs::read(&path).map_err(|e| {
        bad(format!(
            "{MANIFEST} cannot be read ({e}): the manifest is missing or unreadable, so the \
             bundle cannot be checked; export it again from the journal"
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        bad(format!(
            "{MANIFEST} is not a valid manifest ({e}); it was altered"
        ))
    })?;
    if manifest.bundle_format != BUNDLE_FORMAT {
        return Err(bad(format!(
            "bundle layout {} is not the one this build reads ({BUNDLE_FORMAT}); use the \
             ovn-migrate that exported it ({})",
            manifest.bundle_format, manifest.exported_by
        )));
    }
    if manifest.records_file != manifest.format.records_file() {
        return Err(bad(format!(
            "the manifest names records file {:?} for format {}; it was altered",
            manifest.records_file, manifest.format
        )));
    }
    Ok(manifest)
}

/// What verifying a bundle found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleReport {
    pub manifest: Manifest,
    /// The chain: whole and sealed, whole and unsealed, or broken at a seq.
    pub report: VerifyReport,
    /// Blob files checked against their names.
    pub blobs_checked: u64,
    /// Problems with blob files (a file that does not match its name, a count
    /// that differs from the manifest); empty when they are all good.
    pub blob_problems: Vec<String>,
}

impl BundleReport {
    /// Returns true when the chain is whole and every blob is good.
    pub fn is_whole(&self) -> bool {
        !matches!(self.report.status, VerifyStatus::Broken { .. }) && self.blob_problems.is_empty()
    }
}

/// Returns the seq a line of `format` claims.
fn claimed_seq(format: Format, line: &Value) -> Option<Seq> {
    match format {
        Format::Jsonl => line.get("seq")?.as_u64(),
        Format::Cadf => line
            .get("attachments")?
            .as_array()?
            .iter()
            .find(|a| a.get("name").and_then(Value::as_str) == Some(super::cadf::ATTACHMENT_SEQ))?
            .get("content")?
            .as_u64(),
        Format::Otlp => line
            .pointer("/resourceLogs/0/scopeLogs/0/logRecords/0/attributes")?
            .as_array()?
            .iter()
            .find(|a| a.get("key").and_then(Value::as_str) == Some("ovn_migrate.journal.seq"))?
            .pointer("/value/intValue")?
            .as_str()?
            .parse()
            .ok(),
    }
}

/// Returns the first top-level key (or path) where two lines differ.
fn first_difference(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return first_difference(v, w, &format!("{path}/{k}")),
                    None => return format!("{path}/{k} (missing from the line)"),
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return format!("{path}/{k} (not in the record)");
                }
            }
            path.to_string()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    return first_difference(v, w, &format!("{path}/{i}"));
                }
            }
            path.to_string()
        }
        _ => path.to_string(),
    }
}

/// One line of a bundle, decoded: the line's claimed seq and the record.
struct LineRecord {
    seq: Seq,
    record: Vec<u8>,
}

/// Parses one line of `format`; the error says what is wrong with it.
fn parse_line(format: Format, bytes: &[u8]) -> std::result::Result<LineRecord, String> {
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Err("the line is cut short (no newline at its end): the file was truncated".into());
    };
    let line: Value =
        serde_json::from_slice(body).map_err(|e| format!("the line is not valid JSON ({e})"))?;
    let seq = claimed_seq(format, &line)
        .ok_or_else(|| format!("the line has no seq where a {format} line keeps it"))?;
    let record = format
        .stored_of(&line)
        .and_then(decode_base64)
        .ok_or_else(|| format!("the line has no readable stored record (base64) for seq {seq}"))?;
    Ok(LineRecord { seq, record })
}

/// A line whose record links, decoded, on its way to be re-rendered.
struct Linked {
    line: Vec<u8>,
    seq: Seq,
    version: u16,
    at_ms: i64,
    event: Event,
    hash: ChainHash,
    record: Vec<u8>,
}

/// What the chain thread sends: batches of linked lines, then how it ended.
enum ChainMsg {
    Lines(Vec<Linked>),
    /// The first problem (its seq and reason), with the records before it.
    Broken(Seq, String),
    /// The end of the file, with the seal's seq if there is one.
    End(Option<Seq>),
}

/// Returns why a line that did not link or decode is wrong: a line claiming
/// another seq is a missing or moved record, otherwise `fallback`.
fn explain(format: Format, line: &[u8], expected: Seq, fallback: String) -> String {
    match parse_line(format, line) {
        Err(reason) => reason,
        Ok(lr) if lr.seq > expected => format!(
            "records {expected}..{} are missing (the next line is record {})",
            lr.seq - 1,
            lr.seq
        ),
        Ok(lr) if lr.seq < expected => {
            format!(
                "record {} is out of order (record {expected} was due)",
                lr.seq
            )
        }
        Ok(_) => fallback,
    }
}

/// Reads the records file line by line, recomputes the chain from each
/// line's stored record and decodes it; sends batches, then the end or the
/// first problem.
fn chain_lines(
    format: Format,
    reader: &mut impl BufRead,
    mut prev: ChainHash,
    tx: std::sync::mpsc::SyncSender<ChainMsg>,
) -> std::io::Result<()> {
    let mut expected: Seq = 1;
    let mut sealed: Option<Seq> = None;
    let mut batch = Vec::with_capacity(1024);
    loop {
        let mut buf = Vec::with_capacity(2048);
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let checked = (|| {
            let explain = |reason: String| explain(format, &buf, expected, reason);
            if buf.last() != Some(&b'\n') {
                return Err(explain(String::new()));
            }
            let b64 = format
                .find_stored(&buf[..buf.len() - 1])
                .ok_or_else(|| explain("the line has no stored record".into()))?;
            let record = super::decode_base64(b64)
                .ok_or_else(|| explain("the line's stored record is not valid base64".into()))?;
            if let Some(at) = sealed {
                return Err(explain(format!("record after the seal at {at}")));
            }
            let raw = format::split(&record).map_err(explain)?;
            let hash = link(expected, &prev, raw.stored);
            if hash != raw.hash {
                return Err(explain(
                    "hash does not link: this record, or the order of records, was altered".into(),
                ));
            }
            let (event, at_ms) =
                format::decode_payload(raw.version, raw.at_ms, raw.payload).map_err(explain)?;
            if let Event::RunSealed { head, .. } = &event {
                if *head != prev {
                    return Err(explain("the seal names another head".into()));
                }
                sealed = Some(expected);
            }
            let version = raw.version;
            Ok(Linked {
                line: Vec::new(),
                seq: expected,
                version,
                at_ms,
                event,
                hash,
                record,
            })
        })();
        match checked {
            Ok(mut l) => {
                l.line = buf;
                prev = l.hash;
                expected += 1;
                batch.push(l);
                if batch.len() == 1024
                    && tx
                        .send(ChainMsg::Lines(std::mem::take(&mut batch)))
                        .is_err()
                {
                    return Ok(());
                }
            }
            Err(reason) => {
                let _ = tx.send(ChainMsg::Lines(std::mem::take(&mut batch)));
                let _ = tx.send(ChainMsg::Broken(expected, reason));
                return Ok(());
            }
        }
    }
    let _ = tx.send(ChainMsg::Lines(batch));
    let _ = tx.send(ChainMsg::End(sealed));
    Ok(())
}

/// Verifies the bundle in `dir`, offline.
pub fn verify(dir: &Path) -> Result<BundleReport> {
    let manifest = read_manifest(dir)?;
    let format = manifest.format;
    let path = dir.join(&manifest.records_file);
    let file = File::open(&path).map_err(Error::io("open the bundle's records file", &path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let genesis = genesis(&manifest.run_id, &manifest.target.fingerprint());
    let mut stream = Stream::new(&manifest.run_id, &manifest.target);
    let mut referenced: Vec<(BlobHash, Seq)> = Vec::new();
    let mut seen: HashSet<BlobHash> = HashSet::new();
    let mut want = Vec::with_capacity(4096);
    // The last record that passed every check, and how reading ended.
    let (mut records, mut head) = (0, genesis);
    let (tx, rx) = std::sync::mpsc::sync_channel::<ChainMsg>(4);
    let (status, sealed) = std::thread::scope(|scope| {
        let reading = scope.spawn(|| chain_lines(format, &mut reader, genesis, tx));
        let mut outcome = None;
        for msg in rx {
            match msg {
                ChainMsg::Lines(lines) => {
                    for l in lines {
                        let input = Input {
                            seq: l.seq,
                            version: l.version,
                            at_ms: l.at_ms,
                            event: &l.event,
                            hash: l.hash,
                            record: &l.record,
                        };
                        want.clear();
                        stream.render(format, &input, &mut want);
                        let body = &l.line[..l.line.len() - 1];
                        if want != body {
                            let parsed = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
                            let reason = match (parsed(&want), parsed(body)) {
                                (Some(w), Some(g)) => format!(
                                    "the line does not say what its record says (first \
                                     difference at {}): the line was altered",
                                    first_difference(&w, &g, "")
                                ),
                                _ => "the line does not say what its record says: the line \
                                      was altered"
                                    .to_string(),
                            };
                            let reason = explain(format, &l.line, l.seq, reason);
                            outcome = Some((Some((l.seq, reason)), None));
                            break;
                        }
                        if manifest.blobs.is_some() {
                            for h in jsonl::blobs_of(&l.event) {
                                if seen.insert(h) {
                                    referenced.push((h, l.seq));
                                }
                            }
                        }
                        records = l.seq;
                        head = l.hash;
                    }
                    if outcome.is_some() {
                        break;
                    }
                }
                ChainMsg::Broken(seq, reason) => {
                    outcome = Some((Some((seq, reason)), None));
                    break;
                }
                ChainMsg::End(sealed) => {
                    outcome = Some((None, sealed));
                    break;
                }
            }
        }
        let read = reading.join().expect("the reading thread does not panic");
        read.map(|()| outcome.unwrap_or((None, None)))
    })
    .map_err(Error::io("read the bundle's records file", &path))?;
    let status = status.map(|(seq, reason)| VerifyStatus::Broken { seq, reason });
    let status = status.unwrap_or_else(|| {
        if records < manifest.records {
            VerifyStatus::Broken {
                seq: records + 1,
                reason: format!(
                    "the bundle is short: its manifest lists {} records, the records file \
                     holds {records}; records {}..{} are missing",
                    manifest.records,
                    records + 1,
                    manifest.records
                ),
            }
        } else if records > manifest.records {
            VerifyStatus::Broken {
                seq: manifest.records + 1,
                reason: format!(
                    "the records file holds {records} records, more than the {} its manifest lists",
                    manifest.records
                ),
            }
        } else if head.to_string() != manifest.head {
            VerifyStatus::Broken {
                seq: records,
                reason: "the manifest names another head than the last record's hash".into(),
            }
        } else if manifest.seal.as_ref().map(|s| s.seq) != sealed {
            let reason = match (&manifest.seal, sealed) {
                (Some(s), None) => format!(
                    "the manifest says the run was sealed at record {}, but no record is a seal",
                    s.seq
                ),
                (None, Some(at)) => {
                    format!("record {at} is a seal, but the manifest says the run is not sealed")
                }
                (Some(s), Some(at)) => {
                    format!(
                        "the manifest says sealed at {}, the seal is record {at}",
                        s.seq
                    )
                }
                (None, None) => unreachable!("equal"),
            };
            VerifyStatus::Broken {
                seq: sealed
                    .or(manifest.seal.as_ref().map(|s| s.seq))
                    .unwrap_or(records),
                reason,
            }
        } else {
            match sealed {
                Some(seal) => VerifyStatus::Sealed { seal },
                None => VerifyStatus::Unsealed { last: records },
            }
        }
    });
    let (blobs_checked, blob_problems) = match &manifest.blobs {
        Some(info) if !matches!(status, VerifyStatus::Broken { .. }) => {
            check_blobs(dir, info, &referenced)?
        }
        _ => (0, Vec::new()),
    };
    Ok(BundleReport {
        report: VerifyReport {
            records,
            head: head.to_string(),
            status,
        },
        manifest,
        blobs_checked,
        blob_problems,
    })
}

/// Checks every blob file against its name and against the records that
/// reference it.
fn check_blobs(
    dir: &Path,
    info: &BlobsInfo,
    referenced: &[(BlobHash, Seq)],
) -> Result<(u64, Vec<String>)> {
    let blobs = dir.join(BLOBS_DIR);
    let mut problems = Vec::new();
    let mut checked = 0;
    let missing: HashSet<&str> = info.missing.iter().map(String::as_str).collect();
    for (h, seq) in referenced {
        let name = h.to_string();
        let path = blobs.join(&name);
        match fs::read(&path) {
            Ok(bytes) => {
                checked += 1;
                if BlobHash::of(&bytes) != *h {
                    problems.push(format!(
                        "blob {name} (referenced by record {seq}) does not match its hash: the \
                         file was altered"
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !missing.contains(name.as_str()) {
                    problems.push(format!(
                        "blob {name} (referenced by record {seq}) is missing from the bundle"
                    ));
                }
            }
            Err(e) => return Err(Error::io("read a blob file", &path)(e)),
        }
    }
    let files = fs::read_dir(&blobs)
        .map_err(Error::io("list the bundle's blobs", &blobs))?
        .count() as u64;
    if files != info.count || checked != info.count {
        problems.push(format!(
            "the bundle holds {files} blob files and its records reference {checked} of them, \
             but its manifest lists {}",
            info.count
        ));
    }
    Ok((checked, problems))
}

/// The records of a bundle, decoded (for `journal show` on a bundle), after
/// the bundle verified: the manifest, the records, and where its blobs are.
pub struct BundleRecords {
    pub manifest: Manifest,
    pub records: Vec<Recorded>,
    /// The blobs directory, when the bundle has one.
    pub blobs: Option<PathBuf>,
}

/// Reads every record of the bundle in `dir` (in file order, each decoded
/// from its stored record); the caller verifies the bundle first.
pub fn read_records(dir: &Path) -> Result<BundleRecords> {
    let manifest = read_manifest(dir)?;
    let path = dir.join(&manifest.records_file);
    let file = File::open(&path).map_err(Error::io("open the bundle's records file", &path))?;
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let mut line = line.map_err(Error::io("read the bundle's records file", &path))?;
        line.push(b'\n');
        let corrupt = |reason: String| {
            Error::Journal(crate::Error::Corrupt {
                seq: i as u64 + 1,
                reason,
            })
        };
        let lr = parse_line(manifest.format, &line).map_err(corrupt)?;
        let (version, at_ms, event, hash) = format::decode(&lr.record).map_err(corrupt)?;
        records.push(Recorded {
            seq: lr.seq,
            version,
            at_ms,
            event,
            hash,
        });
    }
    let blobs = dir.join(BLOBS_DIR);
    Ok(BundleRecords {
        manifest,
        records,
        blobs: blobs.is_dir().then_some(blobs),
    })
}

/// Returns a blob of a bundle, checked against its address; `None` when the
/// bundle does not hold it.
pub fn read_blob(blobs: &Path, h: &BlobHash) -> Result<Option<Vec<u8>>> {
    let path = blobs.join(h.to_string());
    match fs::read(&path) {
        Ok(bytes) if BlobHash::of(&bytes) == *h => Ok(Some(bytes)),
        Ok(_) => Err(Error::Journal(crate::Error::Corrupt {
            seq: 0,
            reason: format!("blob {h} in the bundle does not match its hash"),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read a blob file", &path)(e)),
    }
}
