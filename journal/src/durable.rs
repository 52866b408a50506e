//! Making sled's writes survive a power cut, not only a killed process.
//!
//! sled 0.34.7's `flush()` writes its buffer with `pwrite` and calls
//! `sync_file_range` (`pagecache/iobuf.rs`), which persists neither the file's
//! new size nor the disk's write cache. So after every flush the journal calls
//! `fdatasync` on sled's database file through a handle it keeps open (a
//! read-only handle is enough on Linux), and `fsync`s the directory when files
//! are created. Everything here blocks: async callers run it in
//! `spawn_blocking`.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A handle on sled's database file, kept for `fdatasync`.
#[derive(Debug)]
pub struct DbFile {
    file: File,
    path: PathBuf,
}

impl DbFile {
    /// Opens sled's `db` file in `dir` read-only.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("db");
        let file = File::open(&path).map_err(Error::io("open the journal database file", &path))?;
        Ok(Self { file, path })
    }

    /// `fdatasync`s the database file.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(Error::io("fdatasync the journal database file", &self.path))
    }
}

/// `fsync`s every file sled put under `blobs/` (it never syncs them) and that
/// directory; a safety net, since the journal keeps its values small enough
/// that sled should write none. Runs before the `fdatasync` of `db`, so the
/// log never points at a blob file that is not on disk.
pub fn sync_external_blobs(dir: &Path) -> Result<usize> {
    let blobs = dir.join("blobs");
    let Ok(entries) = std::fs::read_dir(&blobs) else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in entries.flatten() {
        match File::open(entry.path()).and_then(|f| f.sync_data()) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // collected meanwhile
            Err(e) => return Err(Error::io("fdatasync a sled blob file", &entry.path())(e)),
        }
    }
    if n > 0 {
        sync_dir(&blobs)?;
    }
    Ok(n)
}

/// `fsync`s a directory, so that the files created in it survive a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("fsync the journal directory", dir))
}

/// Restricts a journal directory to its owner: 0700 for it and its
/// directories, 0600 for its regular files. Nothing is followed: every entry
/// is looked at with `lstat` and changed through a descriptor opened with
/// `O_NOFOLLOW` (`fchmod`), so a symlink in the directory never makes it
/// change anything outside. Entries that are neither regular files nor
/// directories (symlinks, fifos, sockets) are left alone and returned, for
/// the caller to report. A journal directory that is itself a symlink is
/// refused.
pub fn restrict(dir: &Path) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let meta =
        std::fs::symlink_metadata(dir).map_err(Error::io("look at the journal directory", dir))?;
    if !meta.is_dir() {
        return Err(Error::io(
            "use the journal directory: it is a symlink or not a directory; give the real directory",
            dir,
        )(std::io::Error::from(
            std::io::ErrorKind::InvalidInput,
        )));
    }
    let set = |p: &Path, dir: bool, mode: u32| -> Result<()> {
        let mut o = std::fs::OpenOptions::new();
        o.read(true).custom_flags(
            libc::O_NOFOLLOW
                | if dir {
                    libc::O_DIRECTORY
                } else {
                    libc::O_NONBLOCK
                },
        );
        let f = o.open(p).map_err(Error::io("restrict permissions", p))?;
        if f.metadata().map(|m| m.permissions().mode() & 0o7777).ok() != Some(mode) {
            f.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(Error::io("restrict permissions", p))?;
        }
        Ok(())
    };
    set(dir, true, 0o700)?;
    let mut skipped = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io("list the journal directory", dir))? {
        let entry = entry.map_err(Error::io("list the journal directory", dir))?;
        let p = entry.path();
        let kind = entry.file_type().map_err(Error::io("look at", &p))?;
        if kind.is_dir() {
            set(&p, true, 0o700)?;
        } else if kind.is_file() {
            set(&p, false, 0o600)?;
        } else {
            skipped.push(p);
        }
    }
    Ok(skipped)
}
