//! Which journal a forensic command reads: a path given on the command line,
//! or `--run R` looked up under the state directory ([`state::find_journals`],
//! as `journal list` does), and how it is opened: read-only in intent, for
//! `show` and `export`.

use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::state;

/// Returns the directory named by `path` or `run`: exactly one must be given.
pub fn journal_dir(ctx: &Context, path: Option<&Path>, run: Option<&str>) -> Result<PathBuf> {
    match (path, run) {
        (Some(_), Some(_)) => Err(CliError::usage(
            "give either a journal directory or --run, not both",
        )),
        (Some(p), None) => Ok(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())),
        (None, Some(run)) => find_run(&ctx.state_dir(), run),
        (None, None) => Err(CliError::usage(
            "name the journal to read: a journal directory (or exported bundle), or --run RUN",
        )
        .with_hint("`ovn-migrate journal list` shows the runs under the state directory")),
    }
}

/// Returns the journal directory of run `run` under `state_dir`.
pub fn find_run(state_dir: &Path, run: &str) -> Result<PathBuf> {
    let found = state::find_journals(state_dir).map_err(|e| {
        CliError::config(format!(
            "failed to read the state directory {}: {}",
            state_dir.display(),
            crate::error::chain(&e)
        ))
        .with_hint("point --state-dir (or OVN_MIGRATE_STATE_DIR) at a readable directory")
    })?;
    let matching: Vec<_> = found.into_iter().filter(|j| j.run_id == run).collect();
    match matching.as_slice() {
        [one] => Ok(one.dir.clone()),
        [] => Err(CliError::usage(format!(
            "no run {run} under the state directory {}",
            state_dir.display()
        ))
        .with_hint(
            "`ovn-migrate journal list` shows the runs there; pass --state-dir if the run is \
             elsewhere, or give the journal directory itself",
        )),
        many => Err(CliError::usage(format!(
            "run {run} exists for {} clusters under {}: {}",
            many.len(),
            state_dir.display(),
            many.iter()
                .map(|j| j.cluster_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_hint("give the journal directory itself (<state-dir>/<cluster>/<run>)")),
    }
}

/// A journal opened for reading, on a private copy of its directory that is
/// removed when this is dropped.
pub struct ReadOnly {
    /// The journal, opened on the copy (dropped before the copy is removed).
    pub journal: journal::Journal,
    _copy: CopyDir,
}

impl ReadOnly {
    /// Returns where the copy is.
    #[cfg(test)]
    fn copy_dir(&self) -> &Path {
        &self._copy.0
    }
}

struct CopyDir(PathBuf);

impl Drop for CopyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the journal in `dir` for reading without touching it: its files
/// (all but the lock and its note) are copied into a private temporary
/// directory and the copy is opened, so no lock is taken, nothing in `dir`
/// changes, and a journal in use by a run or left by a crashed one can be
/// read (up to what its writer had written). sled recovers the copy as it
/// would the original after a crash.
///
/// This stands in for the journal's own read-only access (the journal
/// integrity work), which keeps the durable head outside sled.
pub fn open(dir: &Path) -> Result<ReadOnly> {
    if !dir.join("db").is_file() {
        return Err(journal::Error::NotAJournal(dir.to_path_buf()).into());
    }
    let copy = CopyDir(std::env::temp_dir().join(format!(
        "ovn-migrate-read-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )));
    state::ensure_private_dir(&copy.0).map_err(|e| copy_error(dir, &e))?;
    copy_tree(dir, &copy.0).map_err(|e| copy_error(dir, &e))?;
    let journal = journal::Journal::open_any(&copy.0, &journal::OpenOptions::default())?;
    Ok(ReadOnly {
        journal,
        _copy: copy,
    })
}

fn copy_error(dir: &Path, e: &std::io::Error) -> CliError {
    CliError::config(format!(
        "failed to copy the journal at {} for reading: {e}",
        dir.display()
    ))
    .with_hint("check that the journal is readable and that the temporary directory has space")
}

/// Copies the files of a journal directory, except its lock and lock note.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "lock" || name == "lock.holder" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            state::ensure_private_dir(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_copies_the_journal_and_leaves_it_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("j");
        let run = journal::RunInfo {
            run_id: "r".into(),
            workflow: "w".into(),
            tool_version: "t".into(),
            target: journal::Target {
                cluster_id: "c".into(),
                api_server: "a".into(),
                openstack_auth_url: "o".into(),
                openstack_project: "p".into(),
            },
        };
        let writer =
            journal::Journal::create(&dir, &run, &journal::OpenOptions::default()).unwrap();
        let listing = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name(), e.metadata().unwrap().modified().unwrap())
                })
                .collect();
            v.sort();
            v
        };
        let before = listing(&dir);
        // The writer still holds the journal: a reader gets in all the same.
        let read = open(&dir).unwrap();
        assert_eq!(read.journal.head().0, 1);
        let copy = read.copy_dir().to_path_buf();
        assert!(copy.join("db").exists());
        drop(read);
        assert!(!copy.exists(), "the copy is removed");
        assert_eq!(listing(&dir), before, "nothing in the journal changed");
        drop(writer);
        assert!(open(&tmp.path().join("absent")).is_err());
    }

    #[test]
    fn runs_are_found_by_id_and_refused_when_absent_or_ambiguous() {
        let tmp = tempfile::tempdir().unwrap();
        let s = tmp.path();
        std::fs::create_dir_all(s.join("c1/r1/db")).unwrap();
        std::fs::create_dir_all(s.join("c1/r2/db")).unwrap();
        std::fs::create_dir_all(s.join("c2/r2/db")).unwrap();
        assert_eq!(find_run(s, "r1").unwrap(), s.join("c1/r1"));
        let absent = find_run(s, "r9").unwrap_err();
        assert!(
            absent.message().contains("no run r9"),
            "{}",
            absent.message()
        );
        assert!(absent.hints()[0].contains("journal list"));
        let twice = find_run(s, "r2").unwrap_err();
        assert!(twice.message().contains("c1, c2"), "{}", twice.message());
    }
}
