//! [`Context`]: what every command's `run(args, ctx)` receives.
//!
//! It carries the global options ([`GlobalArgs`]), the [`Output`], the log
//! handle and a tokio runtime built on first use, and offers the helpers
//! commands share: the state directory, confirmation, progress and the log
//! file beside a journal. Commands are plain functions; async work runs
//! through [`Context::block_on`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{CliError, Result};
use crate::global::GlobalArgs;
use crate::logging::LogHandle;
use crate::output::{Output, Progress};
use crate::state;

/// The global options, output and shared services of one invocation.
pub struct Context {
    /// The options given before or after the subcommand.
    pub global: GlobalArgs,
    /// Where the command's result goes.
    pub output: Output,
    log: Option<LogHandle>,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl Context {
    /// Returns a context for `global`; `log` is `None` when logging is not set up.
    pub fn new(global: GlobalArgs, log: Option<LogHandle>) -> Self {
        let output = Output::new(global.output, global.no_progress);
        Context {
            global,
            output,
            log,
            runtime: OnceLock::new(),
        }
    }

    /// Returns the state directory (not created; see [`Self::ensure_state_dir`]).
    pub fn state_dir(&self) -> Result<PathBuf> {
        state::state_dir(&self.global).map_err(CliError::config)
    }

    /// Creates the state directory (0700) if needed and returns it; an
    /// existing one must be a private directory of this user.
    pub fn ensure_state_dir(&self) -> Result<PathBuf> {
        let dir = self.state_dir()?;
        state::ensure_private_dir(&dir).map_err(|e| {
            CliError::config(format!(
                "failed to create the state directory {}: {}",
                dir.display(),
                crate::error::chain(&e)
            ))
            .with_hint("choose another with --state-dir or OVN_MIGRATE_STATE_DIR")
        })?;
        Ok(dir)
    }

    /// Returns a progress helper (a no-op when progress is off).
    pub fn progress(&self) -> Progress {
        self.output.progress()
    }

    /// Returns whether the user confirms `prompt` (see [`crate::confirm::confirm`]).
    pub fn confirm(&self, prompt: &str) -> Result<bool> {
        crate::confirm::confirm(prompt, self.global.yes, &self.output)
    }

    /// Asks `prompt`; returns an error exiting [`crate::exit::ExitCode::DECLINED`]
    /// unless the user (or `--yes`) confirms.
    pub fn confirm_or_decline(&self, prompt: &str) -> Result<()> {
        if self.confirm(prompt)? {
            Ok(())
        } else {
            Err(CliError::declined(prompt.trim_end_matches('?')))
        }
    }

    /// Starts writing the debug log beside the journal in `journal_dir`
    /// (`state::log_path`), and returns that path.
    pub fn log_beside(&self, journal_dir: &Path) -> Result<PathBuf> {
        let path = state::log_path(journal_dir);
        self.log_to(&path)?;
        Ok(path)
    }

    /// Starts writing the debug log to `path` (0600).
    pub fn log_to(&self, path: &Path) -> Result<()> {
        if let Some(log) = &self.log {
            log.log_to_file(path).map_err(|e| {
                CliError::config(format!(
                    "failed to open the log file {}: {}",
                    path.display(),
                    crate::error::chain(&e)
                ))
            })?;
        }
        Ok(())
    }

    /// Returns the log file in use, if any.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.log.as_ref().and_then(LogHandle::log_file)
    }

    /// Runs `fut` to completion on the shared multi-threaded tokio runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output> {
        Ok(self.runtime()?.block_on(fut))
    }

    /// Returns the shared tokio runtime, building it on first use.
    pub fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::internal(format!("failed to start the async runtime: {e}")))?;
        Ok(self.runtime.get_or_init(|| rt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;

    fn ctx(args: &[&str]) -> Context {
        let cli = Cli::try_parse_from([&["ovn-migrate"], args, &["man"]].concat()).unwrap();
        Context::new(cli.global, None)
    }

    #[test]
    fn state_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/state");
        let ctx = ctx(&["--state-dir", dir.to_str().unwrap()]);
        assert_eq!(ctx.state_dir().unwrap(), dir);
        assert_eq!(ctx.ensure_state_dir().unwrap(), dir);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn yes_confirms_and_json_draws_no_progress() {
        let ctx = ctx(&["--yes", "--output", "json"]);
        ctx.confirm_or_decline("delete 3 ports?").unwrap();
        assert!(!ctx.progress().is_enabled());
        assert_eq!(ctx.block_on(async { 41 + 1 }).unwrap(), 42);
        assert!(ctx.log_file().is_none());
        ctx.log_to(Path::new("/nonexistent/ignored.log")).unwrap();
    }
}
