//! Opening sled for a journal: its handles, the lock, and how a database
//! that exists but cannot be opened is told apart from one that is missing.
//! Used by [`crate::Journal`]'s constructors (`store.rs`).

use std::path::{Path, PathBuf};

use crate::durable::DbFile;
use crate::error::{Error, Result};
use crate::lock::{self, Holder, LockGuard};
use crate::store::{Damage, OpenOptions};
use crate::witness;

/// sled's handles on one journal directory.
pub(crate) struct Store {
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
    pub(crate) dbfile: DbFile,
}

/// Records between automatic checkpoints (see [`Journal::checkpoint`]).
pub(crate) const CHECKPOINT_EVERY: u64 = 25_000;

/// Reports entries of a journal directory that permission fixing left alone.
pub(crate) fn report_skipped(skipped: Vec<PathBuf>) {
    for p in skipped {
        tracing::warn!(
            path = %p.display(),
            "not a regular file or directory in the journal directory: left as it is (not the journal's)"
        );
    }
}

/// How a journal was opened.
pub(crate) enum Mode {
    /// By its writer, which holds the lock.
    Write,
    /// By a reader, on this private copy.
    Read(tempfile::TempDir),
}

/// Checks that `dir` holds a journal: a `db` file (a witness without one is damage).
pub(crate) fn present(dir: &Path) -> Result<()> {
    if dir.join("db").exists() {
        return Ok(());
    }
    if dir.join(witness::FILE).exists() {
        let w = witness::read(dir).ok().and_then(|w| w.head);
        return Err(Damage {
            reason: "its database file `db` is missing, but its head witness is there".into(),
            witness: w,
            readable: 0,
        }
        .into_error(dir));
    }
    Err(Error::NotAJournal(dir.to_path_buf()))
}

/// Maps sled's refusal to open a `db` that exists: damage when its bytes are
/// not a valid sled database, else the error as it is.
pub(crate) fn unopenable(dir: &Path, e: Error) -> Error {
    let damaged = match &e {
        Error::Sled { source, .. } => match source {
            sled::Error::Corruption { .. }
            | sled::Error::Unsupported(_)
            | sled::Error::ReportableBug(_) => true,
            sled::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ),
            _ => false,
        },
        _ => false,
    };
    if !damaged {
        return e;
    }
    Damage {
        reason: format!(
            "sled cannot open its database file `db` ({}): it is not a sled database, or its bytes were altered",
            match &e {
                Error::Sled { source, .. } => source.to_string(),
                other => other.to_string(),
            }
        ),
        witness: witness::read(dir).ok().and_then(|w| w.head),
        readable: 0,
    }
    .into_error(dir)
}

/// Takes the lock and opens sled in `dir`.
pub(crate) fn open_parts(dir: &Path, opts: &OpenOptions) -> Result<(Store, LockGuard)> {
    let me = Holder::me(&opts.tool_version);
    let lock = lock::acquire(dir, &me, opts.break_lock.as_deref())?;
    let store = open_store(dir, opts).map_err(|e| unopenable(dir, e))?;
    Ok((store, lock))
}

/// Opens sled in `dir` (the caller holds the journal's lock, or `dir` is a reader's copy).
pub(crate) fn open_store(dir: &Path, opts: &OpenOptions) -> Result<Store> {
    let db = std::panic::catch_unwind(|| {
        sled::Config::new()
            .path(dir)
            .cache_capacity(opts.cache_bytes)
            // No background flusher: sled writes its files only inside the
            // journal's appends, under the copy lock readers respect.
            .flush_every_ms(None)
            .mode(sled::Mode::HighThroughput)
            .open()
    })
    .map_err(|_| Error::Sled {
        path: dir.to_path_buf(),
        source: sled::Error::ReportableBug("sled panicked while opening the database".into()),
    })?
    .map_err(Error::sled(dir))?;
    let tree = db.open_tree("journal").map_err(Error::sled(dir))?;
    db.flush().map_err(Error::sled(dir))?;
    let dbfile = DbFile::open(dir)?;
    Ok(Store { db, tree, dbfile })
}
