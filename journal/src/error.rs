//! The journal's one error type; messages read after "failed to …".

use std::path::PathBuf;

use crate::lock::LockError;
use crate::target::Target;

/// Result with the journal's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening, appending to or reading a journal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled refused an operation.
    #[error("access the journal database at {path}")]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// A file system call failed.
    #[error("{what} ({path})")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the journal, or a stale lock needs breaking.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The journal belongs to another cluster or cloud.
    #[error(
        "open the journal at {path}: it belongs to {journal}, not to {given}; \
         point --state-dir (or --journal) at this cluster's journal, or start a new run"
    )]
    TargetMismatch {
        path: PathBuf,
        journal: Box<Target>,
        given: Box<Target>,
    },
    /// The directory holds no journal.
    #[error("open the journal at {0}: no journal there (start a run first, or check the path)")]
    NotAJournal(PathBuf),
    /// A journal already exists where a new one was to be created.
    #[error("create a journal at {0}: one exists already (resume it, or choose another run)")]
    AlreadyExists(PathBuf),
    /// A stored record does not decode, or the chain does not link.
    #[error("read record {seq}: {reason}")]
    Corrupt { seq: u64, reason: String },
    /// The journal is damaged: sled came up short of (or differs from) the
    /// head witness, or cannot open its database. Nothing may be sent to the
    /// cluster on the strength of it.
    #[error(
        "open the journal at {path}: it is damaged: {reason}. Nothing was sent to the cluster \
         or the cloud. Keep a copy of the directory, then run \
         `ovn-migrate journal salvage {path}` (README: \"A damaged journal\")"
    )]
    Damaged {
        path: PathBuf,
        reason: String,
        /// The witness's last durable head, if it could be read.
        witness_seq: Option<u64>,
        witness_hash: Option<String>,
        /// The last seq sled could read.
        readable: u64,
    },
    /// A reader ([`crate::Journal::open_read`]) was asked to write.
    #[error("write to the journal at {0}: it was opened read-only (a bug: report it)")]
    ReadOnly(PathBuf),
    /// A record would be larger than the journal stores in one record; nothing
    /// was appended. Free text and documents are bounded by construction
    /// ([`crate::Text`], [`crate::Doc`]), so this names an identifier or a
    /// list that grew too long: the caller's bug, never damage on disk.
    #[error(
        "append {what} to the journal at {path}: it is {size} bytes, over the limit of {limit}; \
         nothing was appended and the journal is intact. This is a bug in ovn-migrate \
         (large data belongs in the blob store): report it with this message"
    )]
    TooLarge {
        what: String,
        size: usize,
        limit: usize,
        path: PathBuf,
    },
    /// An event could not be encoded.
    #[error("encode an event")]
    Encode(#[source] bincode::error::EncodeError),
    /// The run is sealed; nothing more can be appended.
    #[error("append to the journal: the run was sealed at record {0}; start a new run")]
    Sealed(u64),
    /// A JSON payload could not be encoded or decoded.
    #[error("convert a JSON payload")]
    Json(#[source] serde_json::Error),
}

impl Error {
    pub(crate) fn sled(path: &std::path::Path) -> impl FnOnce(sled::Error) -> Error + '_ {
        move |source| Error::Sled {
            path: path.to_path_buf(),
            source,
        }
    }

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
