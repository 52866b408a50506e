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

/// Opens the journal in `dir` for reading.
pub fn open(dir: &Path) -> Result<journal::Journal> {
    Ok(journal::Journal::open_any(
        dir,
        &journal::OpenOptions::default(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
