//! Running a command in a pod's container, as the Galera steps need it:
//! the small [`Exec`] interface they act through, so the steps do not care
//! whether it is the Kubernetes exec protocol (`crate::kube::exec`, through
//! [`KubeExec`]) or, in unit tests, a scripted fake.
//!
//! The argv is passed as is, never through a shell, so nothing is quoted
//! and no SQL or path is re-parsed on the way. Credentials stay in the pod:
//! the client reads them from its `--defaults-file` ([`MYSQL_DEFAULTS`]).
//! A program the container does not have is exit status [`NOT_FOUND`].

use futures::future::BoxFuture;

use crate::engine::StepError;

/// The MariaDB client options file of openstack-helm's `mariadb` container
/// (holds the admin user and password; never read by this tool).
pub const MYSQL_DEFAULTS: &str = "/etc/mysql/admin_user.cnf";

/// The container of a `mariadb-server` pod that runs `mariadbd`.
pub const CONTAINER: &str = "mariadb";

/// The exit status of a program the container does not have (as a shell's).
pub const NOT_FOUND: i32 = 127;

/// What a command printed and how it exited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOut {
    pub stdout: String,
    pub stderr: String,
    /// The exit status (0: success).
    pub status: i32,
}

impl ExecOut {
    /// Returns stdout when the command succeeded, else an error naming the
    /// command `what`, its status and its stderr.
    pub fn ok(self, what: &str) -> Result<String, StepError> {
        if self.status == 0 {
            return Ok(self.stdout);
        }
        Err(StepError::fatal(format!(
            "{what}: exited with status {}: {}",
            self.status,
            self.stderr.trim()
        )))
    }
}

/// Runs a command in a pod's container and returns its output.
pub trait Exec: Send + Sync {
    /// Runs `argv` in `container` of pod `namespace/pod`; a transport
    /// failure is a (retryable) error, a non-zero exit is an [`ExecOut`].
    fn run<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOut, StepError>>;
}

/// Returns the argv of one SQL statement through the MariaDB client
/// (`-N -B`: no column names, tab-separated rows), reading its credentials
/// from `defaults_file` when there is one.
pub fn sql(defaults_file: Option<&str>, statement: &str) -> Vec<String> {
    let mut a = vec!["mariadb".to_string()];
    a.extend(defaults_file.map(|f| format!("--defaults-file={f}")));
    a.extend(["-N", "-B", "-e", statement].iter().map(|s| s.to_string()));
    a
}

/// [`Exec`] over the Kubernetes exec protocol (`crate::kube::exec`).
pub struct KubeExec {
    pub client: crate::kube::KubeClient,
    /// Longest time of one command.
    pub timeout: std::time::Duration,
    /// Longest time of `mariadb-dump`.
    pub dump_timeout: std::time::Duration,
}

impl Exec for KubeExec {
    fn run<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOut, StepError>> {
        Box::pin(async move {
            let args: Vec<&str> = argv.iter().map(String::as_str).collect();
            let timeout = if args.first() == Some(&"mariadb-dump") {
                self.dump_timeout
            } else {
                self.timeout
            };
            match self
                .client
                .exec(namespace, pod, Some(container), &args, timeout)
                .await
            {
                Ok(out) => Ok(ExecOut {
                    stdout: out.stdout_text(),
                    stderr: out.stderr_text(),
                    status: out.exit_code,
                }),
                // The kubelet's answer for a program the image lacks: the
                // caller decides, as a shell's status 127 lets it.
                Err(crate::kube::KubeError::Exec {
                    problem: crate::kube::ExecProblem::Failed { message, .. },
                    ..
                }) if message.contains("executable file not found") => Ok(ExecOut {
                    stdout: String::new(),
                    stderr: message,
                    status: NOT_FOUND,
                }),
                Err(e) => Err(StepError {
                    retryable: e.is_retryable(),
                    http_status: None,
                    message: crate::redact::text(&e.to_string()).into_owned(),
                }),
            }
        })
    }
}

#[cfg(test)]
pub mod fake {
    //! A scripted [`Exec`]: answers from a function of (pod, argv), and
    //! records every call.

    use std::sync::{Arc, Mutex};

    use super::*;

    type Answer = dyn Fn(&str, &[String]) -> Result<ExecOut, StepError> + Send + Sync;
    /// Every call: (pod, argv).
    type Calls = Arc<Mutex<Vec<(String, Vec<String>)>>>;

    /// A fake exec whose answers come from `answer`.
    #[derive(Clone)]
    pub struct FakeExec {
        pub answer: Arc<Answer>,
        pub calls: Calls,
    }

    impl FakeExec {
        pub fn new(
            answer: impl Fn(&str, &[String]) -> Result<ExecOut, StepError> + Send + Sync + 'static,
        ) -> Self {
            FakeExec {
                answer: Arc::new(answer),
                calls: Arc::default(),
            }
        }
    }

    impl Exec for FakeExec {
        fn run<'a>(
            &'a self,
            _namespace: &'a str,
            pod: &'a str,
            _container: &'a str,
            argv: &'a [String],
        ) -> BoxFuture<'a, Result<ExecOut, StepError>> {
            self.calls
                .lock()
                .unwrap()
                .push((pod.to_string(), argv.to_vec()));
            let r = (self.answer)(pod, argv);
            Box::pin(async move { r })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_passes_the_statement_as_one_argument_and_no_password() {
        let a = sql(Some(MYSQL_DEFAULTS), "SET GLOBAL wsrep_desync = ON");
        assert_eq!(a[1], "--defaults-file=/etc/mysql/admin_user.cnf");
        assert_eq!(a.last().unwrap(), "SET GLOBAL wsrep_desync = ON");
        assert_eq!(
            sql(None, "SELECT 1"),
            ["mariadb", "-N", "-B", "-e", "SELECT 1"]
        );
        assert!(
            a.iter()
                .all(|x| !x.contains("password") && !x.starts_with("-p"))
        );
    }

    #[test]
    fn a_failed_command_names_its_status_and_stderr() {
        let out = ExecOut {
            stdout: String::new(),
            stderr: "ERROR 2002: Can't connect\n".into(),
            status: 1,
        };
        let e = out.ok("read wsrep status of mariadb-server-2").unwrap_err();
        assert!(e.message.contains("status 1") && e.message.contains("Can't connect"));
    }
}
