//! One writer per journal directory.
//!
//! The lock is an `flock` on `<dir>/lock` (released by the kernel when the
//! holder dies) plus `<dir>/lock.holder`, a JSON note of who holds it: host,
//! pid, user, since when, tool version. A second process is refused at once
//! with that note. A holder that died (`kill -9`, a crash) leaves its note
//! behind but not its `flock`: when the `flock` can be taken, no live process
//! on this machine holds the journal, so the lock is taken over and the dead
//! holder is returned in [`LockGuard::broke`] (the journal records a
//! `LockRecovered` event naming it), whatever host the note names. That
//! reasoning holds only where `flock` is local, so journals on network file
//! systems (NFS, CIFS/SMB, sshfs and other FUSE mounts…) are refused.
//! A caller may still name the holder it expects to displace (`host:pid`,
//! `--break-lock`): then any other holder is refused.

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
    /// The journal is on a network file system, where `flock` does not
    /// tell whether another machine's process holds it.
    #[error(
        "lock the journal at {path}: it is on a network file system ({fs}), where ovn-migrate \
         cannot tell whether another machine is using it; keep the state directory on a local \
         disk (--state-dir, OVN_MIGRATE_STATE_DIR or XDG_STATE_HOME)"
    )]
    NetworkFs { path: PathBuf, fs: &'static str },
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

/// Takes the lock of `dir` for `me`, taking it over from a holder that died;
/// `break_lock`, when given, names the only dead holder that may be displaced.
pub fn acquire(dir: &Path, me: &Holder, break_lock: Option<&str>) -> Result<LockGuard, LockError> {
    if let Some(fs) = network_fs(dir) {
        return Err(LockError::NetworkFs {
            path: dir.to_path_buf(),
            fs,
        });
    }
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
        // The flock is ours, so no process on this machine holds the journal.
        // A note naming a live process here that does not hold the flock
        // (the lock file was replaced under it) is still refused.
        if old.alive_here() && old.pid != std::process::id() {
            return Err(LockError::Held {
                path: dir.to_path_buf(),
                holder: Box::new(old),
            });
        }
        if let Some(given) = break_lock
            && given != old.id()
        {
            return Err(LockError::WrongHolder {
                path: dir.to_path_buf(),
                holder: Box::new(old),
                given: given.to_string(),
            });
        }
        if old.pid != std::process::id() || old.host != hostname() {
            broke = Some(old);
        }
    }
    write_note(&note, me)?;
    Ok(LockGuard {
        _file: file,
        note,
        broke,
    })
}

/// Returns the name of the network file system `dir` is on, if it is on one
/// (`statfs` magic numbers from `linux/magic.h`; FUSE covers sshfs, s3fs…).
pub fn network_fs(dir: &Path) -> Option<&'static str> {
    let magic = statfs_magic(dir)?;
    fs_name(magic)
}

/// Returns the network file system a `statfs` magic number names.
fn fs_name(magic: i64) -> Option<&'static str> {
    match magic {
        0x6969 => Some("NFS"),
        0xFF53_4D42 => Some("CIFS"),
        0xFE53_4D42 => Some("SMB2"),
        0x517B => Some("SMB"),
        0x6573_5546 => Some("FUSE (sshfs or another userspace file system)"),
        0x0BD0_0BD0 => Some("Lustre"),
        0x5346_414F => Some("AFS"),
        0x6B41_4653 => Some("kAFS"),
        0x7461_636f => Some("OCFS2"),
        0x0102_1997 => Some("9p"),
        0x1337_4b1d => Some("GlusterFS"),
        0x00C3_6400 => Some("CephFS"),
        _ => None,
    }
}

/// Returns `f_type` of `statfs(dir)` (through `stat -f`, as the crate has no unsafe code).
fn statfs_magic(dir: &Path) -> Option<i64> {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%t"])
        .arg(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    i64::from_str_radix(String::from_utf8_lossy(&out.stdout).trim(), 16).ok()
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
    fn a_dead_holder_is_taken_over_whatever_its_host() {
        for host in [hostname(), "another-host".to_string()] {
            let dir = tempfile::tempdir().unwrap();
            let mut dead = Holder::me("old");
            dead.pid = 999_999_999; // no such pid
            dead.host = host.clone();
            write_note(&dir.path().join("lock.holder"), &dead).unwrap();
            let me = Holder::me("test");
            assert!(matches!(
                acquire(dir.path(), &me, Some("otherhost:1")),
                Err(LockError::WrongHolder { .. })
            ));
            let g = acquire(dir.path(), &me, None).unwrap();
            let broke = g.broke.as_ref().unwrap();
            assert_eq!(
                (broke.pid, broke.host.as_str()),
                (999_999_999, host.as_str())
            );
            assert_eq!(holder(dir.path()).unwrap().pid, std::process::id());
            drop(g);
            assert!(holder(dir.path()).is_none());
        }
    }

    #[test]
    fn network_file_systems_are_named() {
        assert_eq!(fs_name(0x6969), Some("NFS"));
        assert_eq!(fs_name(0xFF53_4D42), Some("CIFS"));
        assert!(fs_name(0x6573_5546).unwrap().contains("sshfs"));
        assert_eq!(fs_name(0xEF53), None, "ext4 is local");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(network_fs(dir.path()), None, "the test's temp dir is local");
        assert!(statfs_magic(dir.path()).is_some());
    }

    #[test]
    fn start_ticks_of_self_is_known() {
        assert!(start_ticks(std::process::id()).is_some());
        assert!(Holder::me("t").alive_here());
    }
}
