//! [`Recorder`]: the engine's way into the journal, off the async runtime,
//! with automatic group commit.
//!
//! Every append is sent to one committer task, which takes everything waiting
//! in its queue and makes it durable with one `append_group` (one sled flush,
//! one `fdatasync`) in `spawn_blocking`. Operations running concurrently thus
//! share one flush for their intents, and each caller still gets its own seq
//! only once its event is durable.

use std::ops::RangeInclusive;

use journal::{BlobHash, Event, Journal, Json, Seq};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Seq, String>>;

/// Observation bodies larger than this go into the blob store.
const INLINE_LIMIT: usize = 2048;

/// Appends events durably, grouping concurrent appends.
#[derive(Clone)]
pub struct Recorder {
    journal: Journal,
    tx: mpsc::UnboundedSender<(Event, Reply)>,
}

impl Recorder {
    /// Starts the committer task for `journal` (call inside a tokio runtime).
    pub fn new(journal: Journal) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Event, Reply)>();
        let j = journal.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let (events, replies): (Vec<Event>, Vec<Reply>) = batch.into_iter().unzip();
                let j2 = j.clone();
                let res = tokio::task::spawn_blocking(move || j2.append_group(&events))
                    .await
                    .map_err(|e| e.to_string())
                    // The whole chain: the cause (e.g. ENOSPC) is sled's error's source.
                    .and_then(|r| r.map_err(|e| crate::redact::chain(&e)));
                if let Ok(range) = &res {
                    crash_hook(range);
                }
                for (i, reply) in replies.into_iter().enumerate() {
                    let _ = reply.send(res.clone().map(|r| r.start() + i as u64));
                }
            }
        });
        Self { journal, tx }
    }

    /// Returns the journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Appends an event and returns its seq once it is durable.
    pub async fn append(&self, event: Event) -> Result<Seq, journal::Error> {
        let (reply, rx) = oneshot::channel();
        let name = event.name();
        self.tx.send((event, reply)).map_err(|_| closed(name))?;
        rx.await
            .map_err(|_| closed(name))?
            .map_err(|e| journal::Error::Io {
                what: "append to the journal",
                path: self.journal.dir().to_path_buf(),
                source: std::io::Error::other(e),
            })
    }

    /// Records an observation: inline when small, else in the blob store.
    pub async fn observe(&self, key: &str, body: &Value) -> Result<Seq, journal::Error> {
        let text = serde_json::to_string(body).map_err(journal::Error::Json)?;
        let (body, blob) = if text.len() <= INLINE_LIMIT {
            (Json(text), None)
        } else {
            (Json::null(), Some(self.put_blob(text.into_bytes()).await?))
        };
        self.append(Event::ObservationRecorded {
            key: key.into(),
            body,
            blob,
            at_ms: journal::event::now_ms(),
        })
        .await
    }

    /// Stores a blob (durable with the next append).
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<BlobHash, journal::Error> {
        let j = self.journal.clone();
        tokio::task::spawn_blocking(move || j.put_blob(&bytes))
            .await
            .map_err(|e| journal::Error::Io {
                what: "store a blob",
                path: self.journal.dir().to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

fn closed(name: &str) -> journal::Error {
    journal::Error::Io {
        what: "append to the journal: the recorder stopped",
        path: std::path::PathBuf::from(name),
        source: std::io::Error::other("recorder closed"),
    }
}

/// Test hook: when `OVN_MIGRATE_KILL_AT_APPEND=<seq>` is set and `range` (just
/// made durable) contains that seq, this process is killed with SIGKILL, as an
/// operator's `kill -9` or a crash would. The crash-at-every-append tests use
/// it to stop the tool at each journal append in turn.
pub fn crash_hook(range: &RangeInclusive<Seq>) {
    let Some(at) = std::env::var("OVN_MIGRATE_KILL_AT_APPEND")
        .ok()
        .and_then(|v| v.parse::<Seq>().ok())
    else {
        return;
    };
    if range.contains(&at) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
        // SIGKILL cannot be caught; should `kill` be missing, stop at once anyway.
        std::process::abort();
    }
}
