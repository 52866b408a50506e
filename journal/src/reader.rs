//! A reader's private copy of a journal's files.
//!
//! sled writes while it opens (it recovers its log and writes a snapshot),
//! and a journal directory may be read-only, in use by a live run, or
//! evidence that must not change. So a reader copies the files into a private
//! temporary directory (0700) and opens the copy: nothing in the journal
//! directory is written, locked or chmodded. The witness is copied first:
//! the writer syncs `db` before it appends a head to the witness, so the
//! copied `db` holds at least the head the copied witness names, and the
//! copy is made under a shared `flock` on the witness, which a live writer
//! holds exclusively while it changes sled's files. Only
//! regular files are copied (looked at with `lstat`, never followed): a
//! symlink in a journal directory is not the journal's.

use std::path::Path;

use crate::error::{Error, Result};
use crate::witness;

/// Files of a journal directory a reader never needs.
const SKIP: &[&str] = &["lock", "lock.holder", witness::FILE];

/// Copies the journal in `dir` into a new private temporary directory.
pub(crate) fn private_copy(dir: &Path) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix("ovn-migrate-read-")
        .tempdir()
        .map_err(Error::io(
            "make a private directory to read the journal in",
            dir,
        ))?;
    // A live writer holds this exclusively while it changes sled's files.
    let _consistent = witness::CopyLock::shared(dir)?;
    copy_if_regular(&dir.join(witness::FILE), &tmp.path().join(witness::FILE))?;
    let entries = std::fs::read_dir(dir).map_err(Error::io("list the journal directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("list the journal directory", dir))?;
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let from = entry.path();
        let meta = std::fs::symlink_metadata(&from).map_err(Error::io("look at", &from))?;
        if meta.is_file() {
            copy_if_regular(&from, &tmp.path().join(&name))?;
        } else if meta.is_dir() && name == "blobs" {
            let to = tmp.path().join("blobs");
            std::fs::create_dir(&to).map_err(Error::io("copy the journal's blobs", &to))?;
            for b in std::fs::read_dir(&from).map_err(Error::io("list", &from))? {
                let b = b.map_err(Error::io("list", &from))?;
                copy_if_regular(&b.path(), &to.join(b.file_name()))?;
            }
        }
    }
    Ok(tmp)
}

/// Copies `from` to `to` when it is a regular file (not through a symlink).
fn copy_if_regular(from: &Path, to: &Path) -> Result<()> {
    match std::fs::symlink_metadata(from) {
        Ok(m) if m.is_file() => {
            std::fs::copy(from, to).map_err(Error::io("copy a journal file to read it", from))?;
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("look at", from)(e)),
    }
}
