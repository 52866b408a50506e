//! [`Recorder`]: the engine's way into the journal, off the async runtime,
//! with group commit.
//!
//! Every append is sent to one committer task, which takes everything waiting
//! in its queue and makes it durable with one `append_group` (one sled flush,
//! one `fdatasync`) in `spawn_blocking`. [`Recorder::append_all`] sends a
//! batch as one message, so the intents of a batch of operations are always
//! one commit, whatever the scheduling. Each caller gets its seq only once its
//! event is durable. Large payloads go to the blob store and the event
//! references them ([`Recorder::payload`]): nothing is cut short.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use journal::{BlobHash, Doc, Event, Journal, Recorded, Seq, Text};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Vec<Seq>, String>>;

/// Nanoseconds every recorder of this process spent in its commits.
static APPEND_NS: AtomicU64 = AtomicU64::new(0);

/// Returns how long every recorder of this process has spent making appends
/// durable (one committer per recorder, so a run's commits never overlap):
/// what benchmarks report as the journal's share of a run.
pub fn append_busy() -> std::time::Duration {
    std::time::Duration::from_nanos(APPEND_NS.load(Ordering::Relaxed))
}

/// Appends events durably, grouping concurrent appends.
#[derive(Clone)]
pub struct Recorder {
    journal: Journal,
    tx: mpsc::UnboundedSender<(Vec<Event>, Reply)>,
    commits: Arc<AtomicU64>,
    ranges: Arc<Mutex<Vec<(Seq, Seq)>>>,
}

impl Recorder {
    /// Starts the committer task for `journal` (call inside a tokio runtime).
    pub fn new(journal: Journal) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Vec<Event>, Reply)>();
        let j = journal.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let (c2, r2) = (commits.clone(), ranges.clone());
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let sizes: Vec<usize> = batch.iter().map(|(e, _)| e.len()).collect();
                let mut events = Vec::new();
                let mut replies = Vec::new();
                for (e, r) in batch {
                    events.extend(e);
                    replies.push(r);
                }
                let j2 = j.clone();
                let crash_events = events.clone();
                let started = std::time::Instant::now();
                let res = tokio::task::spawn_blocking(move || j2.append_group(&events))
                    .await
                    .map_err(|e| e.to_string())
                    // The whole chain: the cause (e.g. ENOSPC) is sled's error's source.
                    .and_then(|r| r.map_err(|e| crate::redact::chain(&e)));
                APPEND_NS.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                if let Ok(range) = &res {
                    c2.fetch_add(1, Ordering::SeqCst);
                    r2.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((*range.start(), *range.end()));
                    for (seq, e) in range.clone().zip(&crash_events) {
                        crash_point(&describe(e));
                        crash_at_seq(seq);
                    }
                }
                let mut next = res.as_ref().map(|r| *r.start()).unwrap_or(0);
                for (reply, n) in replies.into_iter().zip(sizes) {
                    let seqs = res.clone().map(|_| (next..next + n as u64).collect());
                    next += n as u64;
                    let _ = reply.send(seqs);
                }
            }
        });
        Self {
            journal,
            tx,
            commits,
            ranges,
        }
    }

    /// Returns the journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Returns how many commits (flush + `fdatasync`) this recorder made.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Returns the seq ranges of this recorder's commits, in order.
    pub fn commit_ranges(&self) -> Vec<(Seq, Seq)> {
        self.ranges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Appends an event and returns its seq once it is durable.
    pub async fn append(&self, event: Event) -> Result<Seq, journal::Error> {
        Ok(self.append_all(vec![event]).await?[0])
    }

    /// Appends events in one commit and returns their seqs once durable.
    pub async fn append_all(&self, events: Vec<Event>) -> Result<Vec<Seq>, journal::Error> {
        let (reply, rx) = oneshot::channel();
        let name = events.first().map(Event::name).unwrap_or("nothing");
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.tx.send((events, reply)).map_err(|_| closed(name))?;
        rx.await
            .map_err(|_| closed(name))?
            .map_err(|e| journal::Error::Io {
                what: "append to the journal",
                path: self.journal.dir().to_path_buf(),
                source: std::io::Error::other(e),
            })
    }

    /// Records an observation under `key`, whole (a large one in the blob store).
    pub async fn observe(&self, key: &str, body: &Value) -> Result<Seq, journal::Error> {
        let body = self.payload(body)?;
        self.append(Event::ObservationRecorded {
            key: key.into(),
            body,
        })
        .await
    }

    /// Returns `value` as an event payload: inline when small, else stored
    /// whole in the blob store (durable with the next append) and referenced.
    /// It only writes sled's memory, so it is called on the runtime.
    pub fn payload<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<Doc, journal::Error> {
        self.journal.doc(value)
    }

    /// Returns free text bounded for an event (the full text in the blob store).
    pub fn text(&self, s: &str) -> Result<Text, journal::Error> {
        self.journal.text(s)
    }

    /// Returns the payload of the outcome recorded at `seq`, read back whole.
    pub async fn outcome_payload(&self, seq: Seq) -> Result<Value, journal::Error> {
        let j = self.journal.clone();
        let rec = tokio::task::spawn_blocking(move || j.read(seq))
            .await
            .map_err(|e| self.io("read the journal", e.to_string()))??;
        match rec.map(|r| r.event) {
            Some(Event::OperationSucceeded { observed, .. }) => resolve(&self.journal, &observed),
            _ => Ok(Value::Null),
        }
    }

    /// Stores a blob (durable with the next append).
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<BlobHash, journal::Error> {
        let j = self.journal.clone();
        tokio::task::spawn_blocking(move || j.put_blob(&bytes))
            .await
            .map_err(|e| self.io("store a blob", e.to_string()))?
    }

    fn io(&self, what: &'static str, e: String) -> journal::Error {
        journal::Error::Io {
            what,
            path: self.journal.dir().to_path_buf(),
            source: std::io::Error::other(e),
        }
    }
}

/// Returns a payload's whole value (read from the blob store when large).
pub fn resolve(journal: &Journal, doc: &Doc) -> Result<Value, journal::Error> {
    Ok(journal.load_doc(doc)?.value())
}

/// Returns when a record was made (ms since the epoch).
pub fn recorded_at(r: &Recorded) -> i64 {
    r.at_ms
}

fn closed(name: &str) -> journal::Error {
    journal::Error::Io {
        what: "append to the journal: the recorder stopped",
        path: std::path::PathBuf::from(name),
        source: std::io::Error::other("recorder closed"),
    }
}

/// Returns an event's crash-point name: `Name:subject` (the op, wait or key).
pub fn describe(e: &Event) -> String {
    let subject = match e {
        Event::WaitStarted { wait, .. }
        | Event::ConditionObserved { wait, .. }
        | Event::WaitFinished { wait, .. } => wait.clone(),
        Event::ObservationRecorded { key, .. } => key.clone(),
        Event::SnapshotRecorded { label, .. } => label.clone(),
        other => other.op().map(|o| o.0.clone()).unwrap_or_default(),
    };
    format!("{}:{subject}", e.name())
}

/// Test hook: when `OVN_MIGRATE_KILL_AT_APPEND=<seq>` names the record just
/// made durable, kills this process with SIGKILL (see [`crash_point`]).
pub fn crash_at_seq(seq: Seq) {
    let Some(at) = std::env::var("OVN_MIGRATE_KILL_AT_APPEND")
        .ok()
        .and_then(|v| v.parse::<Seq>().ok())
    else {
        return;
    };
    if at == seq {
        kill_self();
    }
}

fn kill_self() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    // SIGKILL cannot be caught; should `kill` be missing, stop at once anyway.
    std::process::abort();
}

static SEEN: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Test hook: counts the durable appends named `point` (see [`describe`]) in
/// this process, and when `OVN_MIGRATE_KILL_AT=<point>#<n>` names the one just
/// made durable, kills this process with SIGKILL, as an operator's `kill -9`
/// or a crash would. The crash-at-every-append test plans its kill points
/// from an uninterrupted run's journal and so hits each one exactly, whatever
/// the timing.
pub fn crash_point(point: &str) {
    let Ok(at) = std::env::var("OVN_MIGRATE_KILL_AT") else {
        return;
    };
    let n = {
        let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry(point.to_string()).or_default();
        *n += 1;
        *n
    };
    if at == format!("{point}#{n}") {
        kill_self();
    }
}
