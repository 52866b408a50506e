//! [`CliError`]: the one error type of the command line.
//!
//! Every failure that reaches the user is a `CliError`: a [`ErrorKind`] (whose
//! fault it is), a message that says what was wrong and where, hints that say
//! what to do next, and the exit code from [`crate::exit::ExitCode`]. `main`
//! prints it as `error: …` and `hint: …` lines on stderr, or, with
//! `--output json`, as one document `{"error": {…}, "exit_code": N}` on
//! stdout. Errors of the crates below convert with `From` (or `?`), choosing
//! their exit code and hints here, in one place.

use std::fmt;

use serde_json::{Value, json};

use crate::exit::ExitCode;

/// Result with the CLI's error.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Whose fault an error is, which tells the operator where to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line or the files it names (fix the invocation).
    User,
    /// The kubeconfig, clouds.yaml or state directory (fix the configuration).
    Config,
    /// The cluster or cloud answered, or failed to (look at the cluster).
    Cluster,
    /// A local failure or a bug (read the log file; report it).
    Internal,
}

impl ErrorKind {
    /// Returns the kind's name as it appears in JSON (`"user"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::User => "user",
            ErrorKind::Config => "config",
            ErrorKind::Cluster => "cluster",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error for the user: what went wrong, what to do, and the exit code.
#[derive(Debug)]
pub struct CliError {
    kind: ErrorKind,
    code: i32,
    message: String,
    hints: Vec<String>,
}

impl CliError {
    /// Returns an error of `kind` exiting with `code`.
    pub fn new(kind: ErrorKind, code: i32, message: impl Into<String>) -> Self {
        CliError {
            kind,
            code,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Returns a user error (exit [`ExitCode::USAGE`]).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, ExitCode::USAGE, message)
    }

    /// Returns a configuration error (exit [`ExitCode::CONFIG`]).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, ExitCode::CONFIG, message)
    }

    /// Returns a cluster or cloud error exiting with `code`.
    pub fn cluster(code: i32, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cluster, code, message)
    }

    /// Returns an internal error (exit [`ExitCode::FAILURE`]).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, ExitCode::FAILURE, message)
    }

    /// Returns the error for a confirmation the user declined (exit [`ExitCode::DECLINED`]).
    pub fn declined(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::User,
            ExitCode::DECLINED,
            format!("declined: {what}"),
        )
        .with_hint("nothing was changed")
    }

    /// Returns `e` and its sources as one message: `"{context}: {e}: {source}…"`.
    pub fn from_source(
        kind: ErrorKind,
        code: i32,
        context: impl fmt::Display,
        e: &(dyn std::error::Error + 'static),
    ) -> Self {
        Self::new(kind, code, format!("{context}: {}", chain(e)))
    }

    /// Adds a hint: one line saying what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Replaces the exit code.
    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// Returns whose fault the error is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Returns the exit code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Returns the message (without hints).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the hints, in order.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// Returns the `error:` and `hint:` lines printed on stderr.
    pub fn to_human(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        for hint in &self.hints {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }

    /// Returns the JSON document printed on stdout with `--output json`.
    pub fn to_json(&self) -> Value {
        json!({
            "error": {
                "kind": self.kind.as_str(),
                "code": ExitCode::name(self.code),
                "message": self.message,
                "hints": self.hints,
            },
            "exit_code": self.code,
        })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Returns `e` followed by each of its sources, joined by `": "`.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => ErrorKind::User,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, ExitCode::FAILURE, chain(&e))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(format!("failed to write JSON: {}", chain(&e)))
    }
}

impl From<journal::Error> for CliError {
    fn from(e: journal::Error) -> Self {
        use journal::{Error as J, LockError as L};
        let msg = |e: &dyn std::error::Error| format!("failed to {e}");
        match &e {
            J::Locked(L::Held { path, holder }) => CliError::new(
                ErrorKind::User,
                ExitCode::LOCKED,
                format!("the journal at {} is in use by {holder}", path.display()),
            )
            .with_hint("wait for that run to finish, or stop it with Ctrl-C: it pauses cleanly and can be resumed"),
            J::Locked(L::NetworkFs { .. }) => CliError::config(msg(&e)),
            J::Locked(L::WrongHolder { holder, .. }) => {
                CliError::usage(msg(&e)).with_hint(format!("the holder is {}", holder.id()))
            }
            J::TargetMismatch { journal, given, .. } => {
                CliError::new(ErrorKind::User, ExitCode::WRONG_TARGET, msg(&e))
                    .with_hint(format!("the journal is for {journal}"))
                    .with_hint(format!("the kubeconfig and cloud given address {given}"))
            }
            J::Corrupt { seq, .. } => {
                CliError::new(ErrorKind::Internal, ExitCode::JOURNAL_CORRUPT, chain(&e))
                    .with_hint(format!(
                        "record {seq} cannot be trusted; run `ovn-migrate journal verify <journal dir>` \
                         and keep a copy of the directory before doing anything else"
                    ))
            }
            J::NotAJournal(path) => CliError::usage(format!(
                "{} is not a journal directory (it has no `db`)",
                path.display()
            ))
            .with_hint(
                "journals live at <state-dir>/<cluster-id>/<run-id>/; \
                 `ovn-migrate journal list` shows them",
            ),
            J::AlreadyExists(_) | J::Sealed(_) => CliError::usage(msg(&e)),
            J::Damaged {
                path,
                witness_seq,
                readable,
                ..
            } => CliError::new(ErrorKind::Internal, ExitCode::JOURNAL_CORRUPT, chain(&e))
                .with_hint(format!(
                    "records {}..={} were made durable but cannot be read; nothing was sent to the cluster",
                    readable + 1,
                    witness_seq.map_or_else(|| "?".to_string(), |w| w.to_string())
                ))
                .with_hint(format!(
                    "copy {} somewhere safe, then `ovn-migrate journal salvage {}` makes a new \
                     journal from what can be read, in which resume re-observes every operation not recorded done",
                    path.display(),
                    path.display()
                )),
            J::ReadOnly(_) => CliError::internal(msg(&e)),
            J::TooLarge { .. } => CliError::internal(msg(&e)).with_hint(
                "the journal is intact and nothing was sent for this record; \
                 `ovn-migrate kuryr resume` retries from the last durable record",
            ),
            J::Locked(L::Io { .. }) | J::Sled { .. } | J::Io { .. } | J::Encode(_) | J::Json(_) => {
                CliError::internal(format!("failed to {}", chain(&e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn not_a_journal_is_usage_with_a_hint() {
        let e = CliError::from(journal::Error::NotAJournal(PathBuf::from("/tmp/x")));
        assert_eq!(e.code(), ExitCode::USAGE);
        assert_eq!(e.kind(), ErrorKind::User);
        assert!(e.message().contains("/tmp/x is not a journal"));
        assert!(e.to_human().contains("\nhint: journals live at"));
    }

    #[test]
    fn held_lock_names_the_holder() {
        let holder = journal::Holder::me("9.9.9");
        let e = CliError::from(journal::Error::Locked(journal::LockError::Held {
            path: PathBuf::from("/j"),
            holder: Box::new(holder.clone()),
        }));
        assert_eq!(e.code(), ExitCode::LOCKED);
        assert!(e.message().contains(&format!("pid {}", holder.pid)), "{e}");
        let doc = e.to_json();
        assert_eq!(doc["exit_code"], 7);
        assert_eq!(doc["error"]["code"], "locked");
        assert_eq!(doc["error"]["hints"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn corrupt_and_mismatch_have_their_codes() {
        let e = CliError::from(journal::Error::Corrupt {
            seq: 4,
            reason: "bad".into(),
        });
        assert_eq!(e.code(), ExitCode::JOURNAL_CORRUPT);
        assert!(e.message().contains("read record 4: bad"));
        let t = journal::Target {
            cluster_id: "a".into(),
            api_server: "https://a".into(),
            openstack_auth_url: "https://k".into(),
            openstack_project: "p".into(),
        };
        let e = CliError::from(journal::Error::TargetMismatch {
            path: PathBuf::from("/j"),
            journal: Box::new(t.clone()),
            given: Box::new(journal::Target {
                cluster_id: "b".into(),
                ..t
            }),
        });
        assert_eq!(e.code(), ExitCode::WRONG_TARGET);
        assert_eq!(e.hints().len(), 2);
    }

    #[test]
    fn io_error_keeps_its_sources() {
        let e = CliError::from(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(e.code(), ExitCode::FAILURE);
        assert_eq!(e.kind(), ErrorKind::User);
        assert_eq!(e.to_human(), "error: gone\n");
    }
}
