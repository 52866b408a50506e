//! Exit codes of `ovn-migrate`, named in one place.
//!
//! Scripts and runbooks branch on these numbers, so they never change meaning
//! once released (like cargo-nextest's `NextestExitCode`). Every path out of
//! the binary goes through [`crate::error::CliError::code`] or a command's own
//! `Ok(code)`, and both take their numbers from here. `ovn-migrate --help`
//! lists them (see [`help_table`]).

/// The process exit codes of `ovn-migrate`.
pub struct ExitCode;

impl ExitCode {
    /// The command did what was asked (for `journal verify`: the chain is whole).
    pub const OK: i32 = 0;
    /// Something failed that no more specific code describes (an I/O error, a bug).
    pub const FAILURE: i32 = 1;
    /// The command line was wrong: an unknown option, a bad value, a path that
    /// is not a journal, or a confirmation that cannot be asked (no tty, no `--yes`).
    pub const USAGE: i32 = 2;
    /// The kubeconfig or clouds.yaml is missing, unreadable or incomplete.
    pub const CONFIG: i32 = 3;
    /// The Kubernetes API or an OpenStack endpoint could not be reached.
    pub const UNREACHABLE: i32 = 4;
    /// A precheck found the cluster or cloud not ready; nothing was changed.
    pub const PRECHECK_FAILED: i32 = 5;
    /// An operator must decide: an operation's outcome is ambiguous, or the
    /// plan drifted from what the cluster now shows.
    pub const NEEDS_OPERATOR: i32 = 6;
    /// Another runner holds the journal's lock or the cluster's lease.
    pub const LOCKED: i32 = 7;
    /// The run was paused by Ctrl-C (or SIGTERM) at a safe point; resume it.
    pub const INTERRUPTED: i32 = 8;
    /// The journal's chain does not verify: a record is missing, altered or unreadable.
    pub const JOURNAL_CORRUPT: i32 = 9;
    /// The journal belongs to another cluster or cloud than the one addressed.
    pub const WRONG_TARGET: i32 = 10;
    /// The user answered no at a confirmation prompt; nothing was changed.
    pub const DECLINED: i32 = 11;
    /// `journal replay`: a decision the journal records is not the one
    /// today's code makes from the same journaled inputs.
    pub const REPLAY_DIVERGED: i32 = 12;

    /// Every code with its name and meaning, in numeric order.
    pub const ALL: &'static [(i32, &'static str, &'static str)] = &[
        (
            Self::OK,
            "ok",
            "success (journal verify: the chain is whole)",
        ),
        (
            Self::FAILURE,
            "failure",
            "a failure no other code describes",
        ),
        (
            Self::USAGE,
            "usage",
            "bad command line, not a journal, or confirmation impossible",
        ),
        (
            Self::CONFIG,
            "config",
            "bad or missing kubeconfig or clouds.yaml",
        ),
        (
            Self::UNREACHABLE,
            "unreachable",
            "Kubernetes API or OpenStack unreachable",
        ),
        (
            Self::PRECHECK_FAILED,
            "precheck_failed",
            "a precheck failed; nothing was changed",
        ),
        (
            Self::NEEDS_OPERATOR,
            "needs_operator",
            "an ambiguous operation or drifted plan needs a decision",
        ),
        (
            Self::LOCKED,
            "locked",
            "another runner holds the journal or the cluster lease",
        ),
        (
            Self::INTERRUPTED,
            "interrupted",
            "paused by Ctrl-C; resumable",
        ),
        (
            Self::JOURNAL_CORRUPT,
            "journal_corrupt",
            "the journal's chain does not verify",
        ),
        (
            Self::WRONG_TARGET,
            "wrong_target",
            "the journal belongs to another cluster",
        ),
        (
            Self::DECLINED,
            "declined",
            "declined at the confirmation prompt",
        ),
        (
            Self::REPLAY_DIVERGED,
            "replay_diverged",
            "journal replay: a recorded decision does not re-derive",
        ),
    ];

    /// Returns the short name of `code` (`"locked"`), or `"unknown"`.
    pub fn name(code: i32) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or("unknown", |(_, name, _)| name)
    }
}

/// Returns the exit-code table for the end of `--help`.
pub fn help_table() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, _, meaning) in ExitCode::ALL {
        out.push_str(&format!("  {code:>2}  {meaning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, (code, name, _)) in ExitCode::ALL.iter().enumerate() {
            assert_eq!(*code, i as i32, "{name} is out of order");
            assert_eq!(ExitCode::name(*code), *name);
        }
        assert_eq!(ExitCode::name(99), "unknown");
        assert_eq!(ExitCode::LOCKED, 7);
        assert_eq!(ExitCode::DECLINED, 11);
        assert_eq!(ExitCode::REPLAY_DIVERGED, 12);
    }

    #[test]
    fn help_table_lists_every_code() {
        let t = help_table();
        assert_eq!(t.lines().count(), 1 + ExitCode::ALL.len());
        assert!(t.contains(" 8  paused by Ctrl-C; resumable"));
    }
}
