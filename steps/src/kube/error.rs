//! The one error type of Kubernetes access, sorted by what a step does next.
//!
//! Steps care about a handful of outcomes, not about HTTP: the object is not
//! there (404), someone else changed it (409), the request was refused as
//! invalid or a JSON-patch `test` failed (422), the cluster is briefly
//! unavailable (5xx, 429, timeouts, refused connections: retryable), or the
//! credentials are wrong (401/403: needs the operator). [`classify_status`]
//! is the pure mapping from an API status code to that kind, so it is tested
//! without a server.

use std::path::PathBuf;

use thiserror::Error;

/// What a step should do about a failed Kubernetes call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404: the object (or its kind) does not exist.
    NotFound,
    /// 409: a conflicting write or an already existing object.
    Conflict,
    /// 422 (or 400): the request was invalid, or a JSON-patch `test` failed.
    Invalid,
    /// 401: the credentials were not accepted.
    Unauthorized,
    /// 403: the user may not do this.
    Forbidden,
    /// 410: a list continuation expired; restart the list.
    Expired,
    /// 5xx, 429, timeouts, connection failures: try again later.
    Retryable,
    /// Anything else: a bug or an unexpected answer.
    Other,
}

/// Returns the kind of an API answer with HTTP status `code`.
pub fn classify_status(code: u16) -> ErrorKind {
    match code {
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        400 | 422 => ErrorKind::Invalid,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        410 => ErrorKind::Expired,
        408 | 429 | 500..=599 => ErrorKind::Retryable,
        _ => ErrorKind::Other,
    }
}

/// Errors of Kubernetes access; messages read after "failed to …".
#[derive(Debug, Error)]
pub enum KubeError {
    /// No kubeconfig file could be found.
    #[error(
        "find a kubeconfig: {tried} does not exist; pass --kubeconfig, set KUBECONFIG, or log in with `oc login`"
    )]
    KubeconfigMissing {
        /// The paths that were looked at, joined for display.
        tried: String,
    },
    /// A kubeconfig file exists but could not be read or parsed.
    #[error("read kubeconfig {path}: {source}")]
    KubeconfigUnreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    /// A kubeconfig file is not valid YAML. Only the position is given: the
    /// parser's message may quote the file, token included.
    #[error(
        "read kubeconfig {path}: it is not a valid kubeconfig (YAML) at {position}; fix the file \
         there (the parser's message is not shown because it may quote a token)"
    )]
    KubeconfigParse {
        /// The file.
        path: PathBuf,
        /// Where: "line L, column C".
        position: String,
    },
    /// The requested context (or the current-context) is not in the kubeconfig.
    #[error(
        "use context {context:?}: not found in the kubeconfig; known contexts: {known}; pass --context NAME"
    )]
    ContextNotFound {
        /// The missing context.
        context: String,
        /// The contexts the kubeconfig has, joined for display.
        known: String,
    },
    /// No context was given and the kubeconfig sets no current-context.
    #[error(
        "choose a context: the kubeconfig has no current-context; known contexts: {known}; pass --context NAME"
    )]
    NoCurrentContext {
        /// The contexts the kubeconfig has, joined for display.
        known: String,
    },
    /// The kubeconfig was read but a client could not be built from it.
    #[error("build a client for context {context:?}: {source}")]
    ClientConfig {
        /// The context in use.
        context: String,
        /// What went wrong.
        #[source]
        source: ::kube::Error,
    },
    /// The API server could not be reached at all.
    #[error(
        "reach the API server at {url}: {source}; check the network, VPN and the server address in the kubeconfig"
    )]
    Unreachable {
        /// The server URL from the kubeconfig.
        url: String,
        /// What went wrong.
        #[source]
        source: ::kube::Error,
    },
    /// The API server answered with an error status.
    #[error("{verb} {target}: {code} {reason}: {message}{hint}")]
    Api {
        /// What was attempted (`get`, `list`, `patch`, `delete`).
        verb: &'static str,
        /// The object or collection, e.g. `nodes/worker-0`.
        target: String,
        /// The HTTP status code.
        code: u16,
        /// The machine-readable reason (`NotFound`, `Conflict`, …).
        reason: String,
        /// The server's message.
        message: String,
        /// A hint for the user, empty or starting with "; ".
        hint: &'static str,
    },
    /// The request failed in transport (timeout, connection reset, TLS).
    #[error("{verb} {target}: {source}")]
    Transport {
        /// What was attempted.
        verb: &'static str,
        /// The object or collection.
        target: String,
        /// What went wrong.
        #[source]
        source: ::kube::Error,
    },
    /// The request or answer could not be (de)serialised.
    #[error("{verb} {target}: bad JSON: {source}")]
    Json {
        /// What was attempted.
        verb: &'static str,
        /// The object or collection.
        target: String,
        /// What went wrong.
        #[source]
        source: serde_json::Error,
    },
    /// A namespaced kind was used without a namespace, or the reverse.
    #[error("address {target}: {problem}")]
    Scope {
        /// The object.
        target: String,
        /// What is wrong with the address.
        problem: &'static str,
    },
    /// Removing a finalizer kept losing races with other writers.
    #[error("remove finalizer {finalizer} from {target}: still changing after {attempts} attempts")]
    FinalizerContended {
        /// The finalizer.
        finalizer: String,
        /// The object.
        target: String,
        /// How many times it was tried.
        attempts: u32,
    },
    /// A command run in a pod (`pods/exec`) has no usable outcome.
    #[error("exec `{program}` in pod {target}: {problem}")]
    Exec {
        /// The program (`argv[0]` only: the arguments may carry a password).
        program: String,
        /// `namespace/pod`, with the container when one was named.
        target: String,
        /// What went wrong, with what to do.
        problem: ExecProblem,
    },
}

/// Why an exec gave no exit code; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExecProblem {
    /// The argv was empty.
    #[error("no command was given (a bug in the caller)")]
    NoCommand,
    /// No exit status arrived in time.
    #[error(
        "no exit status after {0:?}; the command may still be running in the container: \
         check the pod (`kubectl exec`) before retrying"
    )]
    TimedOut(std::time::Duration),
    /// The stream ended without a status.
    #[error(
        "the stream ended without an exit status, so whether the command ran is unknown; \
         check the pod (`kubectl exec`) before retrying"
    )]
    NoStatus,
    /// The connection failed after the upgrade.
    #[error(
        "the connection failed while the command ran ({0}); its outcome is unknown: \
         check the pod before retrying"
    )]
    Connection(String),
    /// The command printed more than the bound on one stream.
    #[error(
        "the command wrote more than {limit} bytes to {stream}; it was cut off and may still be \
         running: write large output to a file in the pod instead"
    )]
    OutputTooLarge {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The bound, in bytes.
        limit: usize,
    },
    /// The server sent a message the protocol does not have.
    #[error("the server broke the exec protocol: {0}; is this a Kubernetes API server?")]
    BadFrame(String),
    /// The error channel held something other than a valid `Status`.
    #[error("the exit status could not be read: {0}")]
    BadStatus(String),
    /// The command could not be run (no such container, executable not found…).
    #[error(
        "the command could not run: {reason}: {message}; check the pod, its container and the command"
    )]
    Failed {
        /// The Status reason (`InternalError`, `BadRequest`…).
        reason: String,
        /// The server's message (secrets redacted).
        message: String,
    },
    /// Stdin was given but the server speaks only v4, which cannot end it.
    #[error(
        "the server speaks only v4.channel.k8s.io, which cannot close stdin; pass the input \
         another way (an argument or a file in the pod)"
    )]
    StdinNeedsV5,
}

impl KubeError {
    /// Returns what a step should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            KubeError::Api { code, .. } => classify_status(*code),
            KubeError::Unreachable { .. } | KubeError::Transport { .. } => ErrorKind::Retryable,
            KubeError::FinalizerContended { .. } => ErrorKind::Conflict,
            KubeError::Exec {
                problem:
                    ExecProblem::TimedOut(_) | ExecProblem::NoStatus | ExecProblem::Connection(_),
                ..
            } => ErrorKind::Retryable,
            _ => ErrorKind::Other,
        }
    }

    /// Returns true for 404.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// Returns true when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Retryable
    }

    /// Wraps a `kube::Error` from `verb` on `target`.
    pub(crate) fn from_kube(verb: &'static str, target: String, err: ::kube::Error) -> Self {
        match err {
            ::kube::Error::Api(status) => {
                let hint = match status.code {
                    401 => "; the token has expired or is wrong: log in again (`oc login`)",
                    403 => "; this needs cluster-admin: use an admin kubeconfig",
                    _ => "",
                };
                KubeError::Api {
                    verb,
                    target,
                    code: status.code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                    hint,
                }
            }
            ::kube::Error::SerdeError(source) => KubeError::Json {
                verb,
                target,
                source,
            },
            other => KubeError::Transport {
                verb,
                target,
                source: other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> KubeError {
        let status = ::kube::core::Status {
            code,
            reason: "R".into(),
            message: "m".into(),
            ..Default::default()
        };
        KubeError::from_kube(
            "get",
            "nodes/a".into(),
            ::kube::Error::Api(Box::new(status)),
        )
    }

    #[test]
    fn status_codes_map_to_kinds() {
        assert_eq!(classify_status(404), ErrorKind::NotFound);
        assert_eq!(classify_status(409), ErrorKind::Conflict);
        assert_eq!(classify_status(422), ErrorKind::Invalid);
        assert_eq!(classify_status(401), ErrorKind::Unauthorized);
        assert_eq!(classify_status(403), ErrorKind::Forbidden);
        assert_eq!(classify_status(503), ErrorKind::Retryable);
        assert_eq!(classify_status(429), ErrorKind::Retryable);
        assert_eq!(classify_status(410), ErrorKind::Expired);
        assert_eq!(classify_status(418), ErrorKind::Other);
    }

    #[test]
    fn api_errors_keep_code_and_hint() {
        let e = api(401);
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert!(e.to_string().contains("oc login"), "{e}");
        assert!(api(404).is_not_found());
        assert!(api(500).is_retryable());
        assert!(!api(409).is_retryable());
        assert!(api(403).to_string().contains("cluster-admin"));
    }

    #[test]
    fn transport_errors_are_retryable() {
        let e = KubeError::from_kube(
            "list",
            "nodes".into(),
            ::kube::Error::LinesCodecMaxLineLengthExceeded,
        );
        assert!(e.is_retryable());
    }
}
