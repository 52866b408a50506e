//! Which journal a forensic command reads: a path given on the command line,
//! or `--run R` looked up under the state directory ([`state::find_journals`],
//! as `journal list` does), and how `show` and `export` open it: as a
//! reader, which takes no lock and writes nothing.

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
        (None, Some(run)) => find_run(&ctx.state_dir()?, run),
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

/// Opens the journal in `dir` for reading ([`journal::Journal::open_read`]):
/// on a private copy, so no lock is taken and nothing in `dir` changes, on a
/// live run (up to its durable head), a crashed one or a sealed one. A
/// damaged journal is refused, naming the damage.
pub fn open(dir: &Path) -> Result<journal::Journal> {
    Ok(journal::Journal::open_read(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_journal_in_use_leaves_it_untouched() {
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
        assert_eq!(read.head().0, 1);
        assert!(read.is_reader());
        drop(read);
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
