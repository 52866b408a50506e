//! The head witness: how long the journal was, kept outside sled.
//!
//! sled recovers its log up to the last valid message and says nothing, so a
//! `db` that lost its tail (a truncated copy, a flipped byte) opens as a
//! valid, shorter journal. The witness is a small append-only file,
//! `<dir>/head`, that sled does not manage: every durable append, after
//! sled's flush and the `fdatasync` of `db`, appends the new head (last seq
//! and its chain hash) to it and `fdatasync`s it, before the append returns.
//! Opening compares what sled recovered with the last head the witness
//! holds ([`check`]): sled must hold that record with that hash. sled may be
//! ahead (buffered appends, or a crash between the two syncs): those records
//! were never reported durable, and the chain still links them.
//!
//! Layout: a 48-byte header, `magic "OMJW" | version u16 BE | 10 zero bytes |
//! genesis [32]` (so a witness copied from another journal is told apart),
//! then 48-byte entries, `seq u64 BE | chain hash [32] | check [8]`, where
//! `check` is the first 8 bytes of `blake3("journal/v1/witness" ‖ seq ‖
//! hash)`. A trailing partial entry is a write torn by a crash and is
//! ignored (its append never returned).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::chain::ChainHash;
use crate::error::{Error, Result};
use crate::event::Seq;
use crate::store::Damage;

/// The witness file's name in a journal directory.
pub const FILE: &str = "head";
const MAGIC: &[u8; 4] = b"OMJW";
const VERSION: u16 = 1;
const ENTRY: usize = 48;

fn check_of(seq: Seq, hash: &ChainHash) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(b"journal/v1/witness");
    h.update(&seq.to_be_bytes());
    h.update(&hash.0);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    out
}

fn entry(seq: Seq, hash: &ChainHash) -> [u8; ENTRY] {
    let mut e = [0u8; ENTRY];
    e[..8].copy_from_slice(&seq.to_be_bytes());
    e[8..40].copy_from_slice(&hash.0);
    e[40..].copy_from_slice(&check_of(seq, hash));
    e
}

/// What a witness file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The chain's `h_0` the witness was made for.
    pub genesis: ChainHash,
    /// The last durable head, `None` before the first durable append.
    pub head: Option<(Seq, ChainHash)>,
}

/// Why a witness cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// There is no witness file.
    Missing,
    /// It exists but is not a witness, or an entry before the last is damaged.
    Damaged(String),
}

/// Reads the witness of the journal in `dir`.
pub fn read(dir: &Path) -> std::result::Result<Witnessed, Unreadable> {
    let path = dir.join(FILE);
    let mut bytes = Vec::new();
    match File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unreadable::Missing),
        Err(e) => return Err(Unreadable::Damaged(format!("cannot read it: {e}"))),
    }
    parse(&bytes)
}

/// Parses a witness file's bytes.
pub fn parse(bytes: &[u8]) -> std::result::Result<Witnessed, Unreadable> {
    if bytes.len() < ENTRY || &bytes[..4] != MAGIC {
        return Err(Unreadable::Damaged(format!(
            "it is {} bytes and does not start like a head witness",
            bytes.len()
        )));
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(Unreadable::Damaged(format!(
            "unknown witness version {version}"
        )));
    }
    let mut genesis = [0u8; 32];
    genesis.copy_from_slice(&bytes[16..48]);
    let entries: Vec<&[u8]> = bytes[ENTRY..].chunks_exact(ENTRY).collect();
    let mut head = None;
    for (i, e) in entries.iter().enumerate() {
        let seq = u64::from_be_bytes(e[..8].try_into().expect("8 bytes"));
        let hash = ChainHash(e[8..40].try_into().expect("32 bytes"));
        if e[40..] != check_of(seq, &hash) {
            if i + 1 == entries.len() {
                break; // torn by a crash while it was written: its append never returned
            }
            return Err(Unreadable::Damaged(format!(
                "entry {} of {} does not match its check",
                i + 1,
                entries.len()
            )));
        }
        if let Some((prev, _)) = head
            && seq < prev
        {
            return Err(Unreadable::Damaged(format!(
                "entry {} goes back from record {prev} to {seq}",
                i + 1
            )));
        }
        head = Some((seq, hash));
    }
    Ok(Witnessed {
        genesis: ChainHash(genesis),
        head,
    })
}

/// An open witness, appended to by the journal's writer.
#[derive(Debug)]
pub struct Witness {
    file: File,
    path: PathBuf,
}

impl Witness {
    /// Creates the witness of a new journal (0600, synced, its directory too).
    pub fn create(dir: &Path, genesis: &ChainHash) -> Result<Witness> {
        let path = dir.join(FILE);
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(Error::io("create the journal's head witness", &path))?;
        let mut header = [0u8; ENTRY];
        header[..4].copy_from_slice(MAGIC);
        header[4..6].copy_from_slice(&VERSION.to_be_bytes());
        header[16..].copy_from_slice(&genesis.0);
        file.write_all(&header)
            .and_then(|_| file.sync_all())
            .map_err(Error::io("write the journal's head witness", &path))?;
        crate::durable::sync_dir(dir)?;
        Ok(Witness { file, path })
    }

    /// Opens an existing witness for appending.
    pub fn open(dir: &Path) -> Result<Witness> {
        let path = dir.join(FILE);
        let file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(Error::io("open the journal's head witness", &path))?;
        Ok(Witness { file, path })
    }

    /// Takes the writer's side of the copy lock (see [`CopyLock`]).
    pub(crate) fn lock_for_write(&self) -> Result<CopyLock> {
        CopyLock::take(&self.file, true, &self.path)
    }

    /// Appends `head` and `fdatasync`s it.
    pub fn record(&mut self, seq: Seq, hash: &ChainHash) -> Result<()> {
        self.file
            .write_all(&entry(seq, hash))
            .and_then(|_| self.file.sync_data())
            .map_err(Error::io(
                "append to the journal's head witness",
                &self.path,
            ))
    }
}

/// Compares what sled recovered (`sled_head`; `hash_at` reads the stored
/// hash of a record) with the witness of the journal in `dir`. Returns the
/// witnessed head (`None` when there is none yet, or, unless `required`, no
/// witness at all: a journal from before format 3), or what is wrong.
pub(crate) fn check(
    dir: &Path,
    genesis: &ChainHash,
    sled_head: (Seq, ChainHash),
    hash_at: impl Fn(Seq) -> Option<ChainHash>,
    required: bool,
) -> std::result::Result<Option<(Seq, ChainHash)>, Damage> {
    let readable = sled_head.0;
    let damage = |reason: String, witness| Damage {
        reason,
        witness,
        readable,
    };
    let w = match read(dir) {
        Ok(w) => w,
        Err(Unreadable::Missing) if !required => return Ok(None),
        Err(Unreadable::Missing) => {
            return Err(damage(
                format!(
                    "its head witness file `{FILE}` is missing (every journal made since format 3 \
                     has one); sled could read records up to {readable}, but not whether more were made durable"
                ),
                None,
            ));
        }
        Err(Unreadable::Damaged(why)) => {
            return Err(damage(
                format!("its head witness file `{FILE}` is unreadable: {why}"),
                None,
            ));
        }
    };
    if w.genesis != *genesis {
        return Err(damage(
            format!(
                "its head witness belongs to another journal (made for a chain whose genesis is {}, \
                 not this run's {genesis}): a witness was copied or swapped",
                w.genesis
            ),
            w.head,
        ));
    }
    let Some((seq, hash)) = w.head else {
        return Ok(None);
    };
    if readable < seq {
        return Err(damage(
            format!(
                "its head witness says record {seq} (chain hash {hash}) was made durable, \
                 but sled could read records only up to {readable}: records were lost"
            ),
            w.head,
        ));
    }
    match hash_at(seq) {
        Some(h) if h == hash => Ok(Some((seq, hash))),
        other => Err(damage(
            format!(
                "its head witness says record {seq} has chain hash {hash}, but the database's \
                 record {seq} {}: the journal was altered or is another run's",
                match other {
                    Some(h) => format!("has {h}"),
                    None => "does not decode".into(),
                }
            ),
            w.head,
        )),
    }
}

/// An `flock` on the witness file that keeps a reader's copy consistent:
/// the writer holds it exclusively while it changes sled's files (apply,
/// flush, sync, witness), a reader holds it shared while it copies them.
/// `flock` changes no byte, and works on a read-only file system.
pub(crate) struct CopyLock {
    file: File,
}

impl CopyLock {
    fn take(file: &File, exclusive: bool, path: &Path) -> Result<CopyLock> {
        let file = file
            .try_clone()
            .map_err(Error::io("lock the journal's head witness", path))?;
        if exclusive {
            file.lock()
                .map_err(Error::io("lock the journal's head witness", path))?;
            return Ok(CopyLock { file });
        }
        // A reader waits for the writer's current append, but not for a
        // writer that is stuck (stopped, or hung on a dead disk).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(CopyLock { file }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::io(
                        "read the journal: its writer has been in the middle of an append for 10 s \
                         (stopped or hung?); try again, or stop that run",
                        path,
                    )(std::io::Error::from(
                        std::io::ErrorKind::WouldBlock,
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io("lock the journal's head witness", path)(e));
                }
            }
        }
    }

    /// Takes the reader's side on the witness of `dir`, if there is one.
    pub(crate) fn shared(dir: &Path) -> Result<Option<CopyLock>> {
        let path = dir.join(FILE);
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => CopyLock::take(&f, false, &path).map(Some),
            Err(_) => Ok(None),
        }
    }
}

impl Drop for CopyLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_and_a_torn_last_entry_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let g = ChainHash([1; 32]);
        let mut w = Witness::create(tmp.path(), &g).unwrap();
        assert_eq!(read(tmp.path()).unwrap().head, None);
        w.record(1, &ChainHash([2; 32])).unwrap();
        w.record(5, &ChainHash([3; 32])).unwrap();
        let got = read(tmp.path()).unwrap();
        assert_eq!(got.genesis, g);
        assert_eq!(got.head, Some((5, ChainHash([3; 32]))));
        let mut bytes = std::fs::read(tmp.path().join(FILE)).unwrap();
        bytes.truncate(bytes.len() - 7);
        assert_eq!(parse(&bytes).unwrap().head, Some((1, ChainHash([2; 32]))));
        let mut bad = std::fs::read(tmp.path().join(FILE)).unwrap();
        bad[ENTRY + 3] ^= 1; // the first entry, not the last
        assert!(matches!(parse(&bad), Err(Unreadable::Damaged(_))));
        assert!(matches!(parse(b"nope"), Err(Unreadable::Damaged(_))));
        std::fs::remove_file(tmp.path().join(FILE)).unwrap();
        assert_eq!(read(tmp.path()), Err(Unreadable::Missing));
    }
}
