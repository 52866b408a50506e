//! Audit export: a journal as a bundle of one record per event, in JSONL
//! (the record of truth), CADF or OTLP/JSON, with a manifest.
//!
//! A bundle is a directory:
//!
//! ```text
//! manifest.json    format, run, target, record count, genesis, head, seal
//! <records file>   one line per event: events.jsonl, cadf.jsonl or otlp.jsonl
//! blobs/<hash>     with --with-blobs: every blob an event references
//! ```
//!
//! Every line of every format carries its seq, its chain hash and the stored
//! record itself (base64), so [`bundle::verify`] recomputes the whole chain
//! offline from any format, and checks that each line says exactly what this
//! exporter derives from that record: a line altered anywhere, removed,
//! duplicated or moved is named by its seq. What a line says is a function of
//! the records up to it and of the manifest's run and target only ([`Stream`]),
//! never of when or where the export ran. The formats know nothing of
//! Kubernetes or OpenStack beyond the shape of a target string
//! (`group/version/plural/name`, `neutron/ports/<id>`).
//!
//! No secret can reach an export: events cannot hold one ([`crate::Secret`]
//! has no `Serialize`), and the manifest holds only the run's metadata.

pub mod bundle;
pub mod cadf;
pub mod jsonl;
pub mod otlp;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::chain::ChainHash;
use crate::event::{Event, OpId, Seq};
use crate::target::Target;

/// The bundle layout this build writes and verifies (the manifest's
/// `bundle_format`). Its changelog:
/// * **1**: the first layout.
pub const BUNDLE_FORMAT: u32 = 1;
/// Name of the manifest in a bundle.
pub const MANIFEST: &str = "manifest.json";
/// Directory of the blobs in a bundle.
pub const BLOBS_DIR: &str = "blobs";

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per event with every field: the record of truth.
    Jsonl,
    /// One DMTF CADF event per line, for OpenStack audit pipelines.
    Cadf,
    /// One OTLP/JSON `ExportLogsServiceRequest` per line (the OpenTelemetry
    /// collector's file format), one log record each.
    Otlp,
}

impl Format {
    /// Every format, in the order they are documented.
    pub const ALL: [Format; 3] = [Format::Jsonl, Format::Cadf, Format::Otlp];

    /// Returns the format's name: `jsonl`, `cadf` or `otlp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Cadf => "cadf",
            Format::Otlp => "otlp",
        }
    }

    /// Returns the name of the records file in a bundle of this format.
    pub fn records_file(self) -> &'static str {
        match self {
            Format::Jsonl => "events.jsonl",
            Format::Cadf => "cadf.jsonl",
            Format::Otlp => "otlp.jsonl",
        }
    }

    /// Appends the line of `rec` in this format to `out` (without a newline).
    ///
    /// The format writes an empty stored record; its base64 is then put in
    /// place after the format's marker, so the longest string of a line is
    /// never escaped character by character (base64 needs no escaping).
    pub fn write(self, stream: &Stream, rec: &Input<'_>, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            Format::Jsonl => jsonl::write(stream, rec, out),
            Format::Cadf => cadf::write(stream, rec, out),
            Format::Otlp => otlp::write(stream, rec, out),
        }
        // The stored record is each line's last string: what follows it is fixed.
        let suffix = self.suffix().as_bytes();
        assert!(
            out[start..].ends_with(suffix)
                && out[..out.len() - suffix.len()].ends_with(self.marker().as_bytes()),
            "a {self} line ends with its empty stored record"
        );
        let at = out.len() - suffix.len();
        let tail = out.split_off(at);
        let n = base64::encoded_len(rec.record.len(), true).expect("a record's base64 fits");
        out.resize(at + n, 0);
        base64::engine::general_purpose::STANDARD
            .encode_slice(rec.record, &mut out[at..])
            .expect("the buffer fits the base64");
        out.extend_from_slice(&tail);
    }

    /// Returns what follows the stored record in a line of this format (the
    /// closing quote, then the closing brackets of the objects around it).
    fn suffix(self) -> &'static str {
        match self {
            Format::Jsonl => "\"}",
            Format::Cadf => "\"}]}",
            Format::Otlp => "\"}}]}]}]}]}",
        }
    }

    /// Returns what precedes the stored record in a line of this format.
    fn marker(self) -> &'static str {
        match self {
            Format::Jsonl => jsonl::RECORD_MARKER,
            Format::Cadf => cadf::RECORD_MARKER,
            Format::Otlp => otlp::RECORD_MARKER,
        }
    }

    /// Returns the base64 stored record of a line of this format as written,
    /// found without parsing the line: it is the line's last string, between
    /// the format's marker and its fixed suffix (base64 holds no `"`). A line
    /// not shaped so gives `None`, and is then parsed to say what is wrong.
    pub fn find_stored(self, line: &[u8]) -> Option<&[u8]> {
        let end = line.len().checked_sub(self.suffix().len())?;
        if !line.ends_with(self.suffix().as_bytes()) {
            return None;
        }
        let start = memchr::memrchr(b'"', &line[..end])? + 1;
        line[..start]
            .ends_with(self.marker().as_bytes())
            .then(|| &line[start..end])
    }

    /// Returns the base64 stored record a line of this format carries.
    pub fn stored_of(self, line: &serde_json::Value) -> Option<&str> {
        match self {
            Format::Jsonl => jsonl::stored_of(line),
            Format::Cadf => cadf::stored_of(line),
            Format::Otlp => otlp::stored_of(line),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown export format {s:?}: use jsonl, cadf or otlp"))
    }
}

/// How a bundle's run ended, in its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealInfo {
    /// Seq of the `RunSealed` record.
    pub seq: Seq,
    /// The run's outcome, e.g. `completed`.
    pub outcome: String,
}

/// The blobs a bundle holds, in its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobsInfo {
    /// Blob files under `blobs/`.
    pub count: u64,
    /// Blobs that records reference but the journal did not have, hex.
    pub missing: Vec<String>,
}

/// A bundle's manifest (`manifest.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The bundle layout ([`BUNDLE_FORMAT`]).
    pub bundle_format: u32,
    /// The format of the records file.
    pub format: Format,
    /// The records file's name in the bundle.
    pub records_file: String,
    /// Version of the ovn-migrate that exported it.
    pub exported_by: String,
    /// When it was exported (RFC 3339, UTC).
    pub exported_at: String,
    /// The run.
    pub run_id: String,
    /// The run's workflow, from its `RunStarted`.
    pub workflow: Option<String>,
    /// What the run acted on.
    pub target: Target,
    /// `h_0` of the chain, hex.
    pub genesis: String,
    /// Records in the bundle (seqs 1..=records).
    pub records: u64,
    /// Chain hash of the last record, hex (the genesis when there are none).
    pub head: String,
    /// The seal, when the run was sealed.
    pub seal: Option<SealInfo>,
    /// The blobs, when exported `--with-blobs`.
    pub blobs: Option<BlobsInfo>,
}

/// Everything that can go wrong exporting or reading a bundle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the journal failed.
    #[error(transparent)]
    Journal(#[from] crate::Error),
    /// A file of the bundle could not be written or read.
    #[error("{what} ({path})")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The output directory is not empty.
    #[error(
        "export to {0}: the directory is not empty; choose a new directory (an export never \
         overwrites a bundle)"
    )]
    NotEmpty(PathBuf),
    /// The journal's chain breaks; nothing past the break can be vouched for.
    #[error(
        "export the journal: record {seq} does not verify ({reason}); run `ovn-migrate journal \
         verify` on it and keep a copy of the directory"
    )]
    Broken { seq: Seq, reason: String },
    /// The directory is not a bundle, or its manifest is unreadable.
    #[error("read the bundle at {path}: {reason}")]
    BadManifest { path: PathBuf, reason: String },
}

/// Result with the export error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io<'a>(
        what: &'static str,
        path: &'a std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| Error::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One record to render: the decoded event with its seq, time, hash and the
/// stored record (every byte of the value under its key, hash included).
#[derive(Debug)]
pub struct Input<'a> {
    pub seq: Seq,
    pub version: u16,
    pub at_ms: i64,
    pub event: &'a Event,
    pub hash: ChainHash,
    pub record: &'a [u8],
}

/// Decodes the base64 of a stored record.
pub fn decode_base64(s: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Who acted, as the latest `RunStarted` / `RunResumed` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub tool_version: String,
    /// `user@host`, and its CADF id (computed once per actor).
    pub(crate) who: String,
    pub(crate) who_id: String,
}

impl Actor {
    fn new(user: &str, host: &str, pid: u32, tool_version: &str) -> Actor {
        let who = format!("{user}@{host}");
        Actor {
            user: user.to_string(),
            host: host.to_string(),
            pid,
            tool_version: tool_version.to_string(),
            who_id: stable_uuid(&[b"initiator", who.as_bytes()]),
            who,
        }
    }
}

/// What an operation's intent said, kept until its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpMeta {
    pub step: String,
    pub action: String,
    pub target: String,
    /// The target's CADF id and the operation's OTLP span id (computed once).
    pub(crate) target_id: String,
    pub(crate) span_id: String,
    /// The CADF action and target type (computed once).
    pub(crate) cadf_action: String,
    pub(crate) type_uri: String,
}

/// The state a line is derived in: the run and target (from the manifest),
/// the current actor, and the open operations' intents. Memory is bounded by
/// the operations in flight, not by the journal's length.
#[derive(Clone, Debug)]
pub struct Stream {
    pub run_id: String,
    pub target: Target,
    pub workflow: Option<String>,
    pub actor: Actor,
    ops: HashMap<OpId, OpMeta>,
    /// Identifiers that depend on the run only, computed once.
    pub(crate) observer_id: String,
    pub(crate) run_target_id: String,
    pub(crate) trace_id: String,
    /// The CADF id of the duration metric (an identifier must be a UUID).
    pub(crate) metric_id: String,
}

impl Stream {
    /// Returns the state before the first record of a run.
    pub fn new(run_id: &str, target: &Target) -> Stream {
        Stream {
            run_id: run_id.to_string(),
            target: target.clone(),
            workflow: None,
            actor: Actor::new("unknown", "unknown", 0, "unknown"),
            ops: HashMap::new(),
            observer_id: stable_uuid(&[b"observer", run_id.as_bytes()]),
            run_target_id: stable_uuid(&[b"run", run_id.as_bytes()]),
            trace_id: otlp::trace_id(run_id),
            metric_id: stable_uuid(&[b"metric", b"ovn-migrate:duration"]),
        }
    }

    /// Takes in what `event` tells before its line is derived (its own actor,
    /// its own intent).
    pub fn before(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                workflow,
                tool_version,
                host,
                user,
                pid,
                ..
            } => {
                self.workflow = Some(workflow.clone());
                self.actor = Actor::new(user, host, *pid, tool_version);
            }
            Event::RunResumed {
                host,
                user,
                pid,
                tool_version,
            } => {
                self.actor = Actor::new(user, host, *pid, tool_version);
            }
            Event::OperationIntended {
                op,
                step,
                action,
                target,
                ..
            } => {
                self.ops.insert(
                    op.clone(),
                    OpMeta {
                        step: step.clone(),
                        action: action.clone(),
                        target: target.clone(),
                        target_id: stable_uuid(&[b"target", target.as_bytes()]),
                        span_id: otlp::span_id(&self.run_id, &op.0),
                        cadf_action: cadf::action_of(action),
                        type_uri: cadf::type_uri(target),
                    },
                );
            }
            _ => {}
        }
    }

    /// Forgets an operation once its outcome is rendered (a retry intends again).
    pub fn after(&mut self, event: &Event) {
        if let Event::OperationSucceeded { op, .. }
        | Event::OperationFailed { op, .. }
        | Event::OperationSkipped { op, .. } = event
        {
            self.ops.remove(op);
        }
    }

    /// Returns what the open intent of `op` said, if it is open.
    pub fn op(&self, op: &OpId) -> Option<&OpMeta> {
        self.ops.get(op)
    }

    /// Appends the line of `rec` in `format` to `out` (without a newline),
    /// moving the state past it.
    pub fn render(&mut self, format: Format, rec: &Input<'_>, out: &mut Vec<u8>) {
        self.before(rec.event);
        format.write(self, rec, out);
        self.after(rec.event);
    }
}

/// Returns `ms` since the Unix epoch as RFC 3339 with milliseconds, UTC (`Z`).
pub fn rfc3339_ms(ms: i64) -> String {
    match time_parts(ms) {
        Some((y, mo, d, h, mi, s, milli)) => {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
        }
        None => format!("invalid time {ms} ms"),
    }
}

/// Returns `bytes` in lowercase hex (a table lookup: the `hex` crate's
/// iterator was a tenth of an export's time).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Returns `ms` as UTC date and time parts: (year, month, day, hour, minute,
/// second, millisecond); `None` out of chrono's range.
pub fn time_parts(ms: i64) -> Option<(i32, u32, u32, u32, u32, u32, u32)> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms)?;
    Some((
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis(),
    ))
}

/// Returns a stable UUID-shaped identifier (version 8, RFC 9562) for `parts`.
pub fn stable_uuid(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ovn-migrate/export/uuid");
    for p in parts {
        h.update(&(p.len() as u64).to_be_bytes());
        h.update(p);
    }
    uuid_of(h.finalize().as_bytes())
}

/// Returns a record's identifier: a version-8 UUID made of the first 16
/// bytes of its chain hash, which is unique to the record (its seq, its
/// bytes, everything before it, the run and the target) and costs no hashing.
pub fn record_uuid(hash: &crate::ChainHash) -> String {
    uuid_of(&hash.0)
}

fn uuid_of(bytes: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// Returns a short human summary of an event (the OTLP body, the CADF
/// `name`-like text): what happened, in one line.
pub fn summary(stream: &Stream, event: &Event) -> String {
    let about = |op: &OpId| match stream.op(op) {
        Some(m) => format!("{} {} {} ({op})", m.step, m.action, m.target),
        None => op.to_string(),
    };
    match event {
        Event::RunStarted {
            workflow,
            user,
            host,
            ..
        } => format!("run started: {workflow} by {user}@{host}"),
        Event::PlanRecorded { count, .. } => format!("plan recorded: {count} operations"),
        Event::ObservationRecorded { key, .. } => format!("observation recorded: {key}"),
        Event::SnapshotRecorded { label, blobs } => {
            format!("snapshot recorded: {label} ({} objects)", blobs.len())
        }
        Event::OperationIntended { op, attempt, .. } => {
            format!("intended: {} (attempt {attempt})", about(op))
        }
        Event::OperationSucceeded {
            op,
            http_status,
            duration_ms,
            ..
        } => format!(
            "succeeded: {}{} in {duration_ms} ms",
            about(op),
            http_status
                .map(|s| format!(", HTTP {s}"))
                .unwrap_or_default()
        ),
        Event::OperationFailed {
            op,
            http_status,
            error,
            ..
        } => format!(
            "failed: {}{}: {error}",
            about(op),
            http_status
                .map(|s| format!(", HTTP {s}"))
                .unwrap_or_default()
        ),
        Event::OperationSkipped { op, reason } => format!("skipped: {}: {reason}", about(op)),
        Event::OperationReobserved { op, verdict, .. } => {
            format!("re-observed: {}: {verdict:?}", about(op))
        }
        Event::WaitStarted { wait, step } => format!("wait started: {step} {wait}"),
        Event::ConditionObserved {
            wait, condition, ..
        } => format!("condition observed: {wait}: {condition}"),
        Event::WaitFinished { wait, outcome } => format!("wait finished: {wait}: {outcome:?}"),
        Event::DecisionRecorded {
            decision,
            detail,
            by,
        } => format!("decision recorded: {decision} by {by}: {detail}"),
        Event::RunPaused { reason } => format!("run paused: {}", reason.describe()),
        Event::RunResumed { user, host, .. } => format!("run resumed by {user}@{host}"),
        Event::EpochStarted {
            epoch, reset_to, ..
        } => format!("epoch {epoch} started: reset to {reset_to}"),
        Event::RunSealed { outcome, .. } => format!("run sealed: {}", outcome_name(outcome)),
        Event::LockRecovered { host, pid, .. } => {
            format!("lock recovered from pid {pid} on {host}")
        }
    }
}

/// Returns a run outcome's name: `completed`, `abandoned`, `unrecorded` or the legacy string.
pub fn outcome_name(outcome: &crate::RunOutcome) -> String {
    match outcome {
        crate::RunOutcome::Completed => "completed".into(),
        crate::RunOutcome::Abandoned { .. } => "abandoned".into(),
        crate::RunOutcome::Unrecorded => "unrecorded".into(),
        crate::RunOutcome::Legacy { outcome } => outcome.inline().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_well_formed_and_distinct() {
        let a = stable_uuid(&[b"run", b"1"]);
        assert_eq!(a, stable_uuid(&[b"run", b"1"]));
        assert_ne!(a, stable_uuid(&[b"run", b"2"]));
        assert_ne!(stable_uuid(&[b"ru", b"n1"]), stable_uuid(&[b"run", b"1"]));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert_eq!(&parts[2][..1], "8", "version 8");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "variant");
    }

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!(
            "xml"
                .parse::<Format>()
                .unwrap_err()
                .contains("jsonl, cadf or otlp")
        );
    }

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
