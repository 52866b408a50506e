//! The state directory: where journals, their logs and the current runs live.
//!
//! Layout (the directory and every cluster directory are 0700):
//!
//! ```text
//! <state-dir>/
//!   <cluster-id>/
//!     current                  one line per workflow: "<workflow> <run-id>"
//!     <run-id>/                the journal directory of one run (journal crate)
//!     <run-id>.log             that run's tracing log, 0600
//! ```
//!
//! Run ids sort by time (`20250101T020304Z-a1b2`), so `ls` shows runs in
//! order. `current` is what `resume` and `status` read to find a cluster's run
//! of a workflow; it is replaced atomically (temp file, fsync, rename, fsync).

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::global::GlobalArgs;

/// Name of the file naming each workflow's current run in a cluster directory.
pub const CURRENT_FILE: &str = "current";

/// Returns the state directory: `--state-dir` / `$OVN_MIGRATE_STATE_DIR`, else
/// `$XDG_STATE_HOME/ovn-migrate`, else `~/.local/state/ovn-migrate`; an error
/// saying what to set when none of them is set (never the current directory).
pub fn state_dir(global: &GlobalArgs) -> Result<PathBuf, String> {
    if let Some(dir) = &global.state_dir {
        return Ok(dir.clone());
    }
    default_state_dir(
        std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from),
    )
}

fn default_state_dir(
    xdg_state_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, String> {
    // The XDG spec says a relative $XDG_STATE_HOME is invalid and must be ignored.
    match (xdg_state_home.filter(|p| p.is_absolute()), home) {
        (Some(xdg), _) => Ok(xdg.join("ovn-migrate")),
        (None, Some(home)) => Ok(home.join(".local/state/ovn-migrate")),
        (None, None) => Err(
            "there is no state directory: HOME is not set, and neither --state-dir, \
             OVN_MIGRATE_STATE_DIR nor XDG_STATE_HOME is given; set one of them (journals are \
             kept there, so choose a private, local, persistent directory)"
                .into(),
        ),
    }
}

/// Writes `bytes` to `path` as a file only its owner can read (0600 whatever
/// the umask, also when it existed with other permissions), not through a symlink.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)
}

/// Returns this process's user id (the owner of `/proc/self`).
fn my_uid() -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(fs::metadata("/proc/self")?.uid())
}

/// Creates `dir` (0700) and its missing parents; an existing `dir` must be a
/// directory (not a symlink) owned by this user with no group or other
/// permission. It is never chmodded: `--state-dir /tmp` must not change /tmp.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    match fs::symlink_metadata(dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            let refuse = |why: String| {
                Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} {why}; journals must be private: choose another directory \
                         (--state-dir or OVN_MIGRATE_STATE_DIR; a new one is created 0700), \
                         or make this one yours and private (chmod 700) if that is safe",
                        dir.display()
                    ),
                ))
            };
            if meta.file_type().is_symlink() {
                return refuse("is a symlink".into());
            }
            if !meta.is_dir() {
                return refuse("is not a directory".into());
            }
            if meta.uid() != my_uid()? {
                return refuse(format!("belongs to uid {}, not to you", meta.uid()));
            }
            if mode & 0o077 != 0 {
                return refuse(format!("is not private (mode {mode:04o})"));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|_| fs::set_permissions(dir, fs::Permissions::from_mode(0o700))),
        Err(e) => Err(e),
    }
}

/// Returns `<state-dir>/<cluster-id>`; characters other than ASCII letters,
/// digits, `.`, `_` and `-` in the id become `_`, so an id can never escape.
pub fn cluster_dir(state_dir: &Path, cluster_id: &str) -> PathBuf {
    let mut safe: String = cluster_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        safe = safe.replace('.', "_") + "_";
    }
    state_dir.join(safe)
}

/// Returns the journal directory of run `run_id`: `<cluster dir>/<run-id>`.
pub fn journal_dir(cluster_dir: &Path, run_id: &str) -> PathBuf {
    cluster_dir.join(run_id)
}

/// Returns a new run id, sortable by time: `YYYYmmddTHHMMSSZ-<4 random hex>`.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    format!("{now}-{:04x}", rand::random::<u16>())
}

/// Returns true when `name` has the shape of a run id.
pub fn is_run_id(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 21
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && &b[15..17] == b"Z-"
        && b[17..].iter().all(|c| c.is_ascii_hexdigit())
}

/// Returns the current run id of `workflow` in `cluster_dir`, if one is recorded.
pub fn current_run(cluster_dir: &Path, workflow: &str) -> Option<String> {
    read_current(cluster_dir)
        .into_iter()
        .find(|(w, _)| w == workflow)
        .map(|(_, run)| run)
}

/// Returns every `(workflow, run id)` pair of `cluster_dir`'s current file.
pub fn read_current(cluster_dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string(cluster_dir.join(CURRENT_FILE)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (w, run) = line.trim().split_once(char::is_whitespace)?;
            Some((w.to_string(), run.trim().to_string()))
        })
        .collect()
}

/// Records `run_id` as the current run of `workflow` in `cluster_dir` (created
/// 0700 if missing), keeping the other workflows' lines; durable on return.
pub fn set_current_run(cluster_dir: &Path, workflow: &str, run_id: &str) -> io::Result<()> {
    if workflow.is_empty() || workflow.contains(char::is_whitespace) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("workflow name {workflow:?} is empty or has spaces"),
        ));
    }
    ensure_private_dir(cluster_dir)?;
    let mut lines = read_current(cluster_dir);
    lines.retain(|(w, _)| w != workflow);
    lines.push((workflow.to_string(), run_id.to_string()));
    lines.sort();
    let mut text = String::new();
    for (w, run) in &lines {
        text.push_str(&format!("{w} {run}\n"));
    }
    let path = cluster_dir.join(CURRENT_FILE);
    // Unique per process and call: concurrent `kuryr plan`s must not share it.
    let tmp = cluster_dir.join(format!(
        ".{CURRENT_FILE}.{}.{}.tmp",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    fs::File::open(cluster_dir)?.sync_all()
}

/// Returns the log file of the run whose journal is `journal_dir`:
/// `<journal dir>/../<run-id>.log`.
pub fn log_path(journal_dir: &Path) -> PathBuf {
    let run = journal_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = journal_dir.parent().unwrap_or(Path::new("."));
    parent.join(format!("{run}.log"))
}

/// One journal directory found under the state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundJournal {
    /// The cluster directory's name.
    pub cluster_id: String,
    /// The journal directory's name.
    pub run_id: String,
    pub dir: PathBuf,
}

/// Returns the journal directories (`<cluster>/<run>/db` exists) under
/// `state_dir`, sorted by cluster then run; an absent state dir has none.
pub fn find_journals(state_dir: &Path) -> io::Result<Vec<FoundJournal>> {
    let mut out = Vec::new();
    let clusters = match fs::read_dir(state_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for cluster in clusters {
        let cluster = cluster?;
        if !cluster.file_type()?.is_dir() {
            continue;
        }
        for run in fs::read_dir(cluster.path())? {
            let run = run?;
            if run.file_type()?.is_dir() && run.path().join("db").exists() {
                out.push(FoundJournal {
                    cluster_id: cluster.file_name().to_string_lossy().into_owned(),
                    run_id: run.file_name().to_string_lossy().into_owned(),
                    dir: run.path(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.cluster_id, &a.run_id).cmp(&(&b.cluster_id, &b.run_id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_dir_follows_xdg_then_home() {
        let home = Some(PathBuf::from("/home/op"));
        assert_eq!(
            default_state_dir(Some("/x/state".into()), home.clone()).unwrap(),
            PathBuf::from("/x/state/ovn-migrate")
        );
        assert_eq!(
            default_state_dir(Some("relative".into()), home.clone()).unwrap(),
            PathBuf::from("/home/op/.local/state/ovn-migrate")
        );
        assert_eq!(
            default_state_dir(None, home).unwrap(),
            PathBuf::from("/home/op/.local/state/ovn-migrate")
        );
        // No HOME and nothing else: an error saying what to set, not ./.ovn-migrate-state.
        let err = default_state_dir(Some("relative".into()), None).unwrap_err();
        assert!(
            err.contains("--state-dir") && err.contains("XDG_STATE_HOME"),
            "{err}"
        );
    }

    #[test]
    fn concurrent_current_updates_do_not_share_a_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let c = tmp.path().join("c");
        ensure_private_dir(&c).unwrap();
        let errors: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..18)
                .map(|i| {
                    let c = c.clone();
                    s.spawn(move || set_current_run(&c, &format!("w{i}"), "r").err())
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap().map(|e| e.to_string()))
                .collect()
        });
        assert!(errors.is_empty(), "{errors:?}");
        let leftovers: Vec<_> = fs::read_dir(&c)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left behind");
    }

    #[test]
    fn write_private_is_0600_whatever_was_there() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("status.json");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        write_private(&p, b"new").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(write_private(&link, b"x").is_err(), "not through a symlink");
    }

    #[test]
    fn an_existing_state_dir_that_is_not_private_is_refused_never_chmodded() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let err = ensure_private_dir(&shared).unwrap_err();
        assert!(err.to_string().contains("not private"), "{err}");
        let mode = fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777, "left as it was");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        assert!(
            ensure_private_dir(&link)
                .unwrap_err()
                .to_string()
                .contains("symlink")
        );
        let file = tmp.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(ensure_private_dir(&file).is_err());
        // A private one of ours is accepted; a missing one is made 0700.
        let private = tmp.path().join("a/b");
        ensure_private_dir(&private).unwrap();
        ensure_private_dir(&private).unwrap();
        let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn run_ids_sort_by_time_and_are_recognised() {
        let id = new_run_id();
        assert!(is_run_id(&id), "{id}");
        assert!(!is_run_id("current"));
        assert!(!is_run_id("20250101T020304Z-zzzz"));
        assert!("20250101T020304Z-ffff" < "20250101T020305Z-0000");
    }

    #[test]
    fn cluster_dir_cannot_escape() {
        let s = Path::new("/s");
        assert_eq!(
            cluster_dir(s, "ostest-abc12"),
            PathBuf::from("/s/ostest-abc12")
        );
        assert_eq!(cluster_dir(s, "../etc"), PathBuf::from("/s/.._etc"));
        assert_eq!(cluster_dir(s, ".."), PathBuf::from("/s/___"));
        assert_eq!(cluster_dir(s, ""), PathBuf::from("/s/_"));
    }

    #[test]
    fn current_runs_are_kept_per_workflow() {
        let tmp = tempfile::tempdir().unwrap();
        let c = tmp.path().join("cluster");
        assert_eq!(current_run(&c, "kuryr"), None);
        set_current_run(&c, "kuryr", "r1").unwrap();
        set_current_run(&c, "ovs", "r2").unwrap();
        set_current_run(&c, "kuryr", "r3").unwrap();
        assert_eq!(current_run(&c, "kuryr").as_deref(), Some("r3"));
        assert_eq!(current_run(&c, "ovs").as_deref(), Some("r2"));
        assert_eq!(
            fs::read_to_string(c.join(CURRENT_FILE)).unwrap(),
            "kuryr r3\novs r2\n"
        );
        let mode = fs::metadata(&c).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(set_current_run(&c, "two words", "r").is_err());
    }

    #[test]
    fn log_sits_beside_the_journal() {
        assert_eq!(
            log_path(Path::new("/s/c/20250101T020304Z-a1b2")),
            PathBuf::from("/s/c/20250101T020304Z-a1b2.log")
        );
    }

    #[test]
    fn find_journals_skips_files_and_non_journals() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(
            find_journals(&tmp.path().join("absent"))
                .unwrap()
                .is_empty()
        );
        let c = tmp.path().join("c1");
        ensure_private_dir(&c).unwrap();
        fs::create_dir_all(c.join("r2/db")).unwrap();
        fs::create_dir_all(c.join("r1/db")).unwrap();
        fs::create_dir_all(c.join("empty")).unwrap();
        fs::write(c.join("r1.log"), "").unwrap();
        set_current_run(&c, "kuryr", "r2").unwrap();
        let found = find_journals(tmp.path()).unwrap();
        let runs: Vec<_> = found.iter().map(|j| j.run_id.as_str()).collect();
        assert_eq!(runs, ["r1", "r2"]);
        assert_eq!(found[0].cluster_id, "c1");
    }
}
