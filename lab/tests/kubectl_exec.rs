//! `pods/exec` over the Kubernetes exec protocol, with two clients against
//! the lab's server: ovn-migrate's own ([`steps::kube::KubeClient::exec`])
//! and the real `kubectl exec` (v1.32: WebSocket `v5.channel.k8s.io`, SPDY
//! as its fallback, which the lab refuses). A toy
//! backend answers the commands, so what is tested is the protocol: the
//! output's channels, exit codes, stdin and its close, the v4 fallback,
//! bounds, deadlines, and the refusals (no pod, wrong container, no
//! backend). Fails, not skips, when kubectl is missing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use futures::future::BoxFuture;
use lab::faults::Faults;
use lab::k8s::exec::{ExecBackends, ExecEnd, ExecHandler, ExecIo, ExecRequest};
use lab::k8s::{self, ApiServer, Store};
use serde_json::json;
use steps::kube::{ClientOptions, ExecOptions, ExecProblem, ExecProtocol, KubeClient, KubeError};

#[path = "kubectl/common.rs"]
mod common;
use common::{kubectl, kubectl_binary};

/// Commands: `echo ARGS…`, `fail-with N` (stderr, exit N), `cat` (stdin to
/// stdout), `spam N` (N bytes), `hang` (never ends), `quiet-s N` (silent
/// for N seconds, then `done`), `whoami` (prints the pod and container),
/// anything else cannot run.
struct Toy;

impl ExecHandler for Toy {
    fn exec(&self, req: ExecRequest, mut io: ExecIo) -> BoxFuture<'static, ExecEnd> {
        Box::pin(async move {
            let args: Vec<&str> = req.command.iter().map(String::as_str).collect();
            match args.as_slice() {
                ["echo", rest @ ..] => {
                    io.out.stdout(format!("{}\n", rest.join(" "))).await;
                    ExecEnd::Exited(0)
                }
                ["fail-with", n] => {
                    io.out.stderr(format!("failing with {n}\n")).await;
                    ExecEnd::Exited(n.parse().unwrap_or(1))
                }
                ["cat"] => {
                    let Some(stdin) = io.stdin.as_mut() else {
                        io.out.stderr("cat: no stdin attached\n").await;
                        return ExecEnd::Exited(1);
                    };
                    while let Some(chunk) = stdin.recv().await {
                        io.out.stdout(chunk).await;
                    }
                    ExecEnd::Exited(0)
                }
                ["spam", n] => {
                    let n: usize = n.parse().unwrap_or(0);
                    for _ in 0..n / 1000 {
                        io.out.stdout(vec![b'x'; 1000]).await;
                    }
                    ExecEnd::Exited(0)
                }
                ["hang", ..] => futures::future::pending().await,
                ["quiet-s", n] => {
                    tokio::time::sleep(Duration::from_secs(n.parse().unwrap_or(0))).await;
                    io.out.stdout("done\n").await;
                    ExecEnd::Exited(0)
                }
                ["whoami"] => {
                    io.out
                        .stdout(format!("{}/{} {}\n", req.namespace, req.pod, req.container))
                        .await;
                    ExecEnd::Exited(0)
                }
                _ => ExecEnd::CannotRun {
                    reason: "InternalError".into(),
                    message: format!(
                        "exec: {:?}: executable file not found in $PATH",
                        args.first().unwrap_or(&"")
                    ),
                },
            }
        })
    }
}

struct Fixture {
    _server: ApiServer,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    backends: ExecBackends,
    client: KubeClient,
}

async fn start() -> Result<Fixture> {
    let store = Store::new();
    let pod = |name: &str, containers: &[&str], phase: &str| {
        let cs: Vec<_> = containers
            .iter()
            .map(|c| json!({"name": c, "image": "toy"}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "toys"},
               "spec": {"containers": cs}, "status": {"phase": phase}})
    };
    store.seed(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "toys"}}),
        pod("toy-0", &["main"], "Running"),
        pod("toy-two", &["main", "sidecar"], "Running"),
        pod("toy-pending", &["main"], "Pending"),
        pod("unserved", &["main"], "Running"),
    ])?;
    let backends = ExecBackends::new();
    backends.serve("toys", "toy-", Arc::new(Toy));
    let routes = k8s::exec::routes(store.clone(), backends.clone());
    let server = k8s::start(store, routes, &Faults::default()).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = k8s::kubeconfig::write(&server.url(), dir.path())?;
    let client = steps::kube::connect(&ClientOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await?;
    Ok(Fixture {
        _server: server,
        _dir: dir,
        kubeconfig,
        backends,
        client,
    })
}

const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn client_reads_output_and_exit_codes_over_v5() -> Result<()> {
    let f = start().await?;
    let out = f
        .client
        .exec("toys", "toy-0", None, &["echo", "hello", "world"], T)
        .await?;
    assert_eq!(out.stdout_text(), "hello world\n");
    assert_eq!(out.stderr_text(), "");
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.protocol, ExecProtocol::V5);

    let out = f
        .client
        .exec("toys", "toy-0", Some("main"), &["fail-with", "3"], T)
        .await?;
    assert_eq!(out.exit_code, 3, "{out:?}");
    assert!(!out.success());
    assert_eq!(out.stderr_text(), "failing with 3\n");

    let out = f
        .client
        .exec("toys", "toy-two", Some("sidecar"), &["whoami"], T)
        .await?;
    assert_eq!(out.stdout_text(), "toys/toy-two sidecar\n");
    Ok(())
}

#[tokio::test]
async fn client_falls_back_to_v4_and_stdin_needs_v5() -> Result<()> {
    let f = start().await?;
    let mut opts = ExecOptions::new(T);
    opts.stdin = Some(b"line one\nline two\n".to_vec());
    let out = f
        .client
        .exec_with("toys", "toy-0", None, &["cat"], &opts)
        .await?;
    assert_eq!(out.stdout_text(), "line one\nline two\n");
    assert_eq!(out.protocol, ExecProtocol::V5);

    f.backends.set_v4_only(true);
    let out = f
        .client
        .exec("toys", "toy-0", None, &["fail-with", "7"], T)
        .await?;
    assert_eq!(out.protocol, ExecProtocol::V4);
    assert_eq!(out.exit_code, 7);
    let err = f
        .client
        .exec_with("toys", "toy-0", None, &["cat"], &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            KubeError::Exec {
                problem: ExecProblem::StdinNeedsV5,
                ..
            }
        ),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn output_is_bounded_and_deadlines_hold() -> Result<()> {
    let f = start().await?;
    let mut opts = ExecOptions::new(T);
    opts.max_output = 10_000;
    let out = f
        .client
        .exec_with("toys", "toy-0", None, &["spam", "10000"], &opts)
        .await?;
    assert_eq!(out.stdout.len(), 10_000);
    let err = f
        .client
        .exec_with("toys", "toy-0", None, &["spam", "20000"], &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            KubeError::Exec {
                problem: ExecProblem::OutputTooLarge {
                    stream: "stdout",
                    limit: 10_000
                },
                ..
            }
        ),
        "{err}"
    );

    // A hanging command ends in a timeout that names the pod and the program,
    // never the arguments (they may hold a password).
    let err = f
        .client
        .exec(
            "toys",
            "toy-0",
            None,
            &["hang", "--password=hunter2-very-secret"],
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(
            &err,
            KubeError::Exec {
                problem: ExecProblem::TimedOut(_),
                ..
            }
        ),
        "{text}"
    );
    assert!(err.is_retryable());
    assert!(
        text.contains("`hang`") && text.contains("toys/toy-0"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    Ok(())
}

/// A command silent for longer than the client's read timeout still ends
/// well: the client's pings (every 5 s) are answered, so the connection
/// reads something in time. Without them the read timeout would cut it.
#[tokio::test]
async fn silent_commands_outlive_the_read_timeout() -> Result<()> {
    let f = start().await?;
    let client = steps::kube::connect(&ClientOptions {
        kubeconfig: Some(f.kubeconfig.clone()),
        timeout: Some(Duration::from_secs(7)),
        ..Default::default()
    })
    .await?;
    let out = client
        .exec("toys", "toy-0", None, &["quiet-s", "9"], T)
        .await?;
    assert_eq!(out.stdout_text(), "done\n");
    Ok(())
}

/// A server that does not close after the status: the client answers with
/// what it has shortly after the status, not at its deadline.
#[tokio::test]
async fn the_status_ends_the_exec_even_without_a_close() -> Result<()> {
    let f = start().await?;
    f.backends.set_no_close(true);
    let out = f
        .client
        .exec(
            "toys",
            "toy-0",
            None,
            &["fail-with", "6"],
            Duration::from_secs(120),
        )
        .await?;
    assert_eq!(out.exit_code, 6);
    assert_eq!(out.stderr_text(), "failing with 6\n");
    Ok(())
}

#[tokio::test]
async fn refusals_say_what_is_wrong() -> Result<()> {
    let f = start().await?;
    let c = &f.client;
    let err = c
        .exec("toys", "toy-9", None, &["echo"], T)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string().contains("pods \"toy-9\" not found"),
        "{err}"
    );

    let err = c
        .exec("toys", "toy-0", Some("nope"), &["echo"], T)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("container nope is not valid for pod toy-0"),
        "{err}"
    );
    let err = c
        .exec("toys", "toy-two", None, &["echo"], T)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("choose one of: [main sidecar]"),
        "{err}"
    );
    let err = c
        .exec("toys", "toy-pending", None, &["echo"], T)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not running"), "{err}");
    let err = c
        .exec("toys", "unserved", None, &["echo"], T)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("runs no process"), "{err}");
    assert!(
        !err.is_retryable(),
        "a lab without the backend is not a blip: {err}"
    );

    let err = c
        .exec("toys", "toy-0", None, &["mysqlx", "-pSECRET-pw"], T)
        .await
        .unwrap_err();
    match &err {
        KubeError::Exec {
            problem: ExecProblem::Failed { reason, message },
            ..
        } => {
            assert_eq!(reason, "InternalError");
            assert!(message.contains("executable file not found"), "{message}");
        }
        other => bail!("expected a Failed exec, got {other:?}"),
    }
    assert!(!err.to_string().contains("SECRET-pw"), "{err}");
    let err = c.exec("toys", "toy-0", None, &[], T).await.unwrap_err();
    assert!(
        matches!(
            err,
            KubeError::Exec {
                problem: ExecProblem::NoCommand,
                ..
            }
        ),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_exec_speaks_the_same_protocol() -> Result<()> {
    let _ = kubectl_binary();
    let f = start().await?;
    let kc = &f.kubeconfig;
    let out = kubectl(
        kc,
        &[
            "exec", "-n", "toys", "toy-0", "--", "echo", "from", "kubectl",
        ],
    )
    .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from kubectl\n");

    // kubectl exits with the command's exit code.
    let out = kubectl(kc, &["exec", "-n", "toys", "toy-0", "--", "fail-with", "4"]).await?;
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failing with 4"),
        "{out:?}"
    );

    // -i: stdin is sent, and its end reaches the command (v5 close).
    let mut child = tokio::process::Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kc)
        .args(["exec", "-i", "-n", "toys", "toy-0", "--", "cat"])
        .env("HOME", kc.parent().expect("dir"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(b"piped through kubectl\n").await?;
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await??;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "piped through kubectl\n"
    );

    // -c picks the container; a wrong one is refused with the apiserver's words.
    let out = kubectl(
        kc,
        &[
            "exec", "-n", "toys", "toy-two", "-c", "sidecar", "--", "whoami",
        ],
    )
    .await?;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "toys/toy-two sidecar\n"
    );
    let out = kubectl(
        kc,
        &["exec", "-n", "toys", "toy-0", "-c", "nope", "--", "echo"],
    )
    .await?;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("container nope is not valid"),
        "{out:?}"
    );

    // A server without v5: kubectl's fallback is SPDY (it offers WebSocket
    // with v5 only), which the lab refuses in words.
    f.backends.set_v4_only(true);
    let out = kubectl(kc, &["exec", "-n", "toys", "toy-0", "--", "fail-with", "5"]).await?;
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not \"SPDY/3.1\""),
        "{out:?}"
    );
    Ok(())
}
