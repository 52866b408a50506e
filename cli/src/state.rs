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

use crate::cli::GlobalArgs;

/// Name of the file naming each workflow's current run in a cluster directory.
pub const CURRENT_FILE: &str = "current";

/// Returns the state directory: `--state-dir` / `$OVN_MIGRATE_STATE_DIR`, else
/// `$XDG_STATE_HOME/ovn-migrate`, else `~/.local/state/ovn-migrate`.
pub fn state_dir(global: &GlobalArgs) -> PathBuf {
    if let Some(dir) = &global.state_dir {
        return dir.clone();
    }
    default_state_dir(
        std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

fn default_state_dir(xdg_state_home: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    // The XDG spec says a relative $XDG_STATE_HOME is invalid and must be ignored.
    match (xdg_state_home.filter(|p| p.is_absolute()), home) {
        (Some(xdg), _) => xdg.join("ovn-migrate"),
        (None, Some(home)) => home.join(".local/state/ovn-migrate"),
        (None, None) => PathBuf::from(".ovn-migrate-state"),
    }
}

/// Creates `dir` and its missing parents, and makes `dir` 0700.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
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
            default_state_dir(Some("/x/state".into()), home.clone()),
            PathBuf::from("/x/state/ovn-migrate")
        );
        assert_eq!(
            default_state_dir(Some("relative".into()), home.clone()),
            PathBuf::from("/home/op/.local/state/ovn-migrate")
        );
        assert_eq!(
            default_state_dir(None, home),
            PathBuf::from("/home/op/.local/state/ovn-migrate")
        );
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
