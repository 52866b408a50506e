//! One writer per journal directory.
//!
//! The lock is an `flock` on `<dir>/lock` (released by the kernel when the
//! holder dies) plus `<dir>/lock.holder`, a JSON note of who holds it: host,
//! pid, user, since when, tool version. A second process is refused at once
//! with that note. A holder that died without cleaning up leaves the note
//! behind: that stale lock is broken only when the caller names the holder
//! (`host:pid`) and that process is not alive on this host.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds (or held) a journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    /// RFC 3339 time the lock was taken.
    pub since: String,
    pub tool_version: String,
    /// The process's start time in clock ticks (`/proc/<pid>/stat` field 22),
    /// to tell a live holder from a reused pid.
    pub start_ticks: Option<u64>,
}

impl Holder {
    /// Returns this process as a holder.
    pub fn me(tool_version: &str) -> Self {
        let pid = std::process::id();
        Holder {
            host: hostname(),
            pid,
            user: username(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            tool_version: tool_version.to_string(),
            start_ticks: start_ticks(pid),
        }
    }

    /// Returns `host:pid`, the name a lock break must give.
    pub fn id(&self) -> String {
        format!("{}:{}", self.host, self.pid)
    }

    /// Returns true when this holder is a process alive on this host.
    pub fn alive_here(&self) -> bool {
        self.host == hostname()
            && match (start_ticks(self.pid), self.start_ticks) {
                (Some(now), Some(then)) => now == then,
                (Some(_), None) => true,
                (None, _) => false,
            }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} (user {}, since {}, ovn-migrate {})",
            self.pid, self.host, self.user, self.since, self.tool_version
        )
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "lock the journal at {path}: it is in use by {holder}; wait for that run to finish \
         or stop it (Ctrl-C lets it pause cleanly)"
    )]
    Held { path: PathBuf, holder: Box<Holder> },
    /// A holder that is gone left its lock behind.
    #[error(
        "lock the journal at {path}: it was left locked by {holder}, which is no longer running; \
         if no other ovn-migrate uses this journal, run again with --break-lock {id}",
        id = holder.id()
    )]
    Stale { path: PathBuf, holder: Box<Holder> },
    /// The stale holder ran on another host: its liveness cannot be checked here.
    #[error(
        "lock the journal at {path}: it is held by {holder}, on another host; \
         this host cannot tell whether it is alive: stop the run there first"
    )]
    OtherHost { path: PathBuf, holder: Box<Holder> },
    /// The holder named in a lock break is not the one holding it.
    #[error(
        "break the lock at {path}: it is held by {holder}, not by {given}; name the holder exactly"
    )]
    WrongHolder {
        path: PathBuf,
        holder: Box<Holder>,
        given: String,
    },
    /// A file system call failed.
    #[error("{what} ({path})")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; dropping it removes the holder note and releases the flock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    note: PathBuf,
    /// The stale holder this lock was taken over from, if a break was needed.
    pub broke: Option<Holder>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.note);
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LockError + 'a {
    move |source| LockError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Takes the lock of `dir` for `me`; `break_lock` names a stale holder to displace.
pub fn acquire(dir: &Path, me: &Holder, break_lock: Option<&str>) -> Result<LockGuard, LockError> {
    let path = dir.join("lock");
    let note = dir.join("lock.holder");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io("open the lock file", &path))?;
    let previous = read_note(&note);
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = previous.unwrap_or_else(unknown_holder);
            return Err(LockError::Held {
                path: dir.to_path_buf(),
                holder: Box::new(holder),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock the lock file", &path)(e)),
    }
    let mut broke = None;
    if let Some(old) = previous {
        if old.host != hostname() {
            return Err(LockError::OtherHost {
                path: dir.to_path_buf(),
                holder: Box::new(old),
            });
        }
        if old.alive_here() && old.pid != std::process::id() {
            return Err(LockError::Held {
                path: dir.to_path_buf(),
                holder: Box::new(old),
            });
        }
        match break_lock {
            Some(given) if given == old.id() => broke = Some(old),
            Some(given) => {
                return Err(LockError::WrongHolder {
                    path: dir.to_path_buf(),
                    holder: Box::new(old),
                    given: given.to_string(),
                });
            }
            None => {
                return Err(LockError::Stale {
                    path: dir.to_path_buf(),
                    holder: Box::new(old),
                });
            }
        }
    }
    write_note(&note, me)?;
    Ok(LockGuard {
        _file: file,
        note,
        broke,
    })
}

/// Returns the current holder of `dir`'s lock, if a note says so.
pub fn holder(dir: &Path) -> Option<Holder> {
    read_note(&dir.join("lock.holder"))
}

fn read_note(note: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(note).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_note(note: &Path, me: &Holder) -> Result<(), LockError> {
    let tmp = note.with_extension("holder.tmp");
    let mut f = File::create(&tmp).map_err(io("write the lock holder note", &tmp))?;
    let json = serde_json::to_vec(me).expect("holder serialises");
    f.write_all(&json)
        .and_then(|()| f.sync_all())
        .map_err(io("write the lock holder note", &tmp))?;
    std::fs::rename(&tmp, note).map_err(io("write the lock holder note", note))?;
    if let Some(dir) = note.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync the journal directory", dir))?;
    }
    Ok(())
}

fn unknown_holder() -> Holder {
    Holder {
        host: "unknown".into(),
        pid: 0,
        user: "unknown".into(),
        since: "unknown".into(),
        tool_version: "unknown".into(),
        start_ticks: None,
    }
}

/// Returns this host's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Returns the user running this process.
pub fn username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines().find_map(|l| {
                        l.strip_prefix("Uid:")
                            .map(|r| r.split_whitespace().next().unwrap_or("?").to_string())
                    })
                })
                .map(|uid| format!("uid {uid}"))
                .unwrap_or_else(|| "unknown".into())
        })
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_in_same_process_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let me = Holder::me("test");
        let _g = acquire(dir.path(), &me, None).unwrap();
        // flock is per open file description: a second open in this process conflicts too.
        match acquire(dir.path(), &me, None) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder.pid, std::process::id()),
            other => panic!("expected Held, got {other:?}"),
        }
    }

    #[test]
    fn stale_note_needs_the_named_holder() {
        let dir = tempfile::tempdir().unwrap();
        let mut dead = Holder::me("old");
        dead.pid = 999_999_999; // no such pid
        write_note(&dir.path().join("lock.holder"), &dead).unwrap();
        let me = Holder::me("test");
        assert!(matches!(
            acquire(dir.path(), &me, None),
            Err(LockError::Stale { .. })
        ));
        assert!(matches!(
            acquire(dir.path(), &me, Some("otherhost:1")),
            Err(LockError::WrongHolder { .. })
        ));
        let g = acquire(dir.path(), &me, Some(&dead.id())).unwrap();
        assert_eq!(g.broke.as_ref().map(|h| h.pid), Some(999_999_999));
        assert_eq!(holder(dir.path()).unwrap().pid, std::process::id());
        drop(g);
        assert!(holder(dir.path()).is_none());
    }

    #[test]
    fn start_ticks_of_self_is_known() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(Holder::me("t").alive_here());
    }
}
