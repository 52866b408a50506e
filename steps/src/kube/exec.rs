//! Running a command in a pod's container over the Kubernetes exec protocol.
//!
//! [`KubeClient::exec`] opens `pods/{pod}/exec` as a WebSocket (kube-rs's
//! `ws` feature does the upgrade and offers `v5.channel.k8s.io`, then
//! `v4.channel.k8s.io`; the server picks), and speaks the channel protocol
//! itself: every binary message starts with its channel byte (0 stdin,
//! 1 stdout, 2 stderr, 3 error, 4 resize; v5 adds 255, "close this
//! channel"). The error channel carries the command's end as a `Status`:
//! `Success`, or `Failure` with reason `NonZeroExitCode` and the code in
//! `details.causes[reason=ExitCode]`. Any other `Failure` (no such
//! container, an executable not found) is an error, not an exit code.
//!
//! Every exec has a deadline and bounded output; a stream that ends without
//! a status is an error that says the command's outcome is unknown, never a
//! success; after the status, the close is awaited for [`AFTER_STATUS`] at
//! most. The client pings every [`PING_EVERY`] so a command that prints
//! nothing for a while is not cut by the connection's read timeout (the
//! kubeconfig client's `--request-timeout-s`), as client-go's heartbeat
//! does. Errors name the pod and the program
//! (`argv[0]` only: the other arguments may carry a password) and pass the
//! server's message through [`crate::redact::text`]. Decoding frames and
//! statuses is pure ([`Frames`], [`exit_code_of`]) and tested without a
//! server.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use kube::api::AttachParams;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::client::KubeClient;
use super::error::{ExecProblem, KubeError};

/// Channel of the command's standard input (client to server).
pub const STDIN: u8 = 0;
/// Channel of the command's standard output.
pub const STDOUT: u8 = 1;
/// Channel of the command's standard error.
pub const STDERR: u8 = 2;
/// Channel of the command's end: one JSON `Status`.
pub const ERROR: u8 = 3;
/// Channel of terminal size changes (client to server; unused without a TTY).
pub const RESIZE: u8 = 4;
/// v5 only: "close the channel named by the next byte" (stdin's end of file).
pub const CLOSE: u8 = 255;

/// Default bound of each of stdout and stderr.
pub const MAX_OUTPUT: usize = 4 << 20;

/// How long the client waits for the close after the status.
pub const AFTER_STATUS: Duration = Duration::from_secs(1);

/// How often the client pings the server while the command runs.
pub const PING_EVERY: Duration = Duration::from_secs(5);

/// The channel protocol the server chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecProtocol {
    /// `v5.channel.k8s.io`: v4 plus closing a channel (stdin's end of file).
    V5,
    /// `v4.channel.k8s.io`: binary channels, the end as a `Status`.
    V4,
}

impl ExecProtocol {
    /// Returns the subprotocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecProtocol::V5 => "v5.channel.k8s.io",
            ExecProtocol::V4 => "v4.channel.k8s.io",
        }
    }
}

/// How to run one exec.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Longest time from the request to the command's exit status.
    pub timeout: Duration,
    /// Most bytes kept of each of stdout and stderr; more is an error.
    pub max_output: usize,
    /// Bytes for the command's standard input, then its end of file (needs
    /// v5: v4 cannot signal the end). `None`: no stdin is attached.
    pub stdin: Option<Vec<u8>>,
}

impl ExecOptions {
    /// Returns options with `timeout`, [`MAX_OUTPUT`] and no stdin.
    pub fn new(timeout: Duration) -> Self {
        ExecOptions {
            timeout,
            max_output: MAX_OUTPUT,
            stdin: None,
        }
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: Vec<u8>,
    /// Its exit code (0 for a `Success` status).
    pub exit_code: i32,
    /// The protocol the server chose.
    pub protocol: ExecProtocol,
}

impl ExecOutput {
    /// Returns true when the command exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Returns stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Returns stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Returns the exit code a `Status` from the error channel reports, or the
/// problem when it reports that the command could not run.
pub fn exit_code_of(status: &[u8]) -> Result<i32, ExecProblem> {
    let v: Value = serde_json::from_slice(status).map_err(|e| {
        ExecProblem::BadStatus(format!("the error channel is not a JSON Status ({e})"))
    })?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    match field("status") {
        "Success" => Ok(0),
        "Failure" if field("reason") == "NonZeroExitCode" => {
            let causes = v
                .pointer("/details/causes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let code = causes
                .iter()
                .find(|c| c.get("reason").and_then(Value::as_str) == Some("ExitCode"))
                .and_then(|c| c.get("message").and_then(Value::as_str))
                .and_then(|m| m.trim().parse::<i32>().ok());
            code.ok_or_else(|| {
                ExecProblem::BadStatus(
                    "a NonZeroExitCode status without an ExitCode cause".to_string(),
                )
            })
        }
        "Failure" => Err(ExecProblem::Failed {
            reason: field("reason").to_string(),
            message: crate::redact::text(field("message")).into_owned(),
        }),
        other => Err(ExecProblem::BadStatus(format!(
            "a Status with status {other:?} (expected Success or Failure)"
        ))),
    }
}

/// The decoder of the server's messages: output kept within bounds, and the
/// exit code once the error channel has spoken.
#[derive(Debug)]
pub struct Frames {
    max_output: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
}

impl Frames {
    /// Returns a decoder that keeps at most `max_output` bytes of each stream.
    pub fn new(max_output: usize) -> Self {
        Frames {
            max_output,
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit: None,
        }
    }

    /// Takes one binary message from the server.
    pub fn accept(&mut self, frame: &[u8]) -> Result<(), ExecProblem> {
        let Some((&channel, data)) = frame.split_first() else {
            // An empty message carries no channel; servers do not send them.
            return Err(ExecProblem::BadFrame("an empty message".into()));
        };
        // An empty message only says that a channel is open (kube-apiserver
        // sends one per channel); it carries nothing.
        if data.is_empty() {
            return Ok(());
        }
        let (buf, name) = match channel {
            STDOUT => (&mut self.stdout, "stdout"),
            STDERR => (&mut self.stderr, "stderr"),
            ERROR => {
                if self.exit.is_some() {
                    return Err(ExecProblem::BadFrame("a second status".into()));
                }
                self.exit = Some(exit_code_of(data)?);
                return Ok(());
            }
            // v5: the server closed one of its channels; nothing to do.
            CLOSE => return Ok(()),
            other => {
                return Err(ExecProblem::BadFrame(format!(
                    "a message on channel {other}, which a server never writes"
                )));
            }
        };
        if buf.len() + data.len() > self.max_output {
            return Err(ExecProblem::OutputTooLarge {
                stream: name,
                limit: self.max_output,
            });
        }
        buf.extend_from_slice(data);
        Ok(())
    }

    /// Returns the exit code, if the status has arrived.
    pub fn exit(&self) -> Option<i32> {
        self.exit
    }

    /// Returns the output once the status has arrived.
    pub fn finish(self, protocol: ExecProtocol) -> Result<ExecOutput, ExecProblem> {
        let exit_code = self.exit.ok_or(ExecProblem::NoStatus)?;
        Ok(ExecOutput {
            stdout: self.stdout,
            stderr: self.stderr,
            exit_code,
            protocol,
        })
    }
}

impl KubeClient {
    /// Runs `argv` in `pod`'s `container` (`None`: the pod's only or default
    /// container) in namespace `ns`, and returns its output and exit code.
    ///
    /// A non-zero exit is an `Ok` with that code; a command that could not
    /// run, a stream that ends without a status, and a timeout are errors.
    pub async fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<ExecOutput, KubeError> {
        self.exec_with(ns, pod, container, argv, &ExecOptions::new(timeout))
            .await
    }

    /// [`KubeClient::exec`] with every option.
    pub async fn exec_with(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[&str],
        opts: &ExecOptions,
    ) -> Result<ExecOutput, KubeError> {
        let program = argv.first().copied().unwrap_or("").to_string();
        let target = match container {
            Some(c) => format!("{ns}/{pod} (container {c})"),
            None => format!("{ns}/{pod}"),
        };
        let fail = |problem| KubeError::Exec {
            program: program.clone(),
            target: target.clone(),
            problem,
        };
        if argv.is_empty() {
            return Err(fail(ExecProblem::NoCommand));
        }
        match tokio::time::timeout(
            opts.timeout,
            self.exec_inner(ns, pod, container, argv, opts),
        )
        .await
        {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(Inner::Kube(e))) => Err(e),
            Ok(Err(Inner::Problem(p))) => Err(fail(p)),
            Err(_) => Err(fail(ExecProblem::TimedOut(opts.timeout))),
        }
    }

    async fn exec_inner(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[&str],
        opts: &ExecOptions,
    ) -> Result<ExecOutput, Inner> {
        let params = AttachParams {
            container: container.map(String::from),
            stdin: opts.stdin.is_some(),
            stdout: true,
            stderr: true,
            tty: false,
            ..Default::default()
        };
        let path = format!("/api/v1/namespaces/{ns}/pods");
        let target = format!("pods/{pod}/exec in namespace {ns}");
        let request = kube::core::Request::new(path)
            .exec(pod, argv.iter().copied(), &params)
            .map_err(|e| {
                Inner::Kube(KubeError::from_kube(
                    "exec",
                    target.clone(),
                    kube::Error::BuildRequest(e),
                ))
            })?;
        let conn = self
            .client
            .connect(request)
            .await
            .map_err(|e| Inner::Kube(KubeError::from_kube("exec", target.clone(), e)))?;
        let protocol = if conn.supports_stream_close() {
            ExecProtocol::V5
        } else {
            ExecProtocol::V4
        };
        let (mut tx, mut rx) = conn.into_stream().split();
        let lost = |e: tokio_tungstenite::tungstenite::Error| {
            Inner::Problem(ExecProblem::Connection(
                crate::redact::text(&e.to_string()).into_owned(),
            ))
        };
        if let Some(input) = &opts.stdin {
            if protocol == ExecProtocol::V4 {
                return Err(Inner::Problem(ExecProblem::StdinNeedsV5));
            }
            for chunk in input.chunks(32 << 10) {
                let mut frame = Vec::with_capacity(chunk.len() + 1);
                frame.push(STDIN);
                frame.extend_from_slice(chunk);
                tx.send(Message::binary(frame)).await.map_err(lost)?;
            }
            tx.send(Message::binary(vec![CLOSE, STDIN]))
                .await
                .map_err(lost)?;
        }
        let mut frames = Frames::new(opts.max_output);
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        // The status is the server's last word; a server that then does not
        // close is given AFTER_STATUS, not the whole deadline.
        let after_status = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(after_status);
        let mut status_seen = false;
        loop {
            if !status_seen && frames.exit().is_some() {
                status_seen = true;
                after_status
                    .as_mut()
                    .reset(tokio::time::Instant::now() + AFTER_STATUS);
            }
            tokio::select! {
                _ = &mut after_status, if status_seen => break,
                msg = rx.next() => match msg {
                    None => break,
                    Some(Err(e)) => {
                        // A status followed by a rough close still is an answer.
                        if frames.exit().is_some() {
                            break;
                        }
                        return Err(lost(e));
                    }
                    Some(Ok(Message::Binary(data))) => {
                        frames.accept(&data).map_err(Inner::Problem)?;
                    }
                    Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Text(_))) => {
                        return Err(Inner::Problem(ExecProblem::BadFrame(
                            "a text message (the base64 protocols were not asked for)".into(),
                        )));
                    }
                },
                _ = ping.tick() => {
                    tx.send(Message::Ping(Vec::new().into())).await.map_err(lost)?;
                }
            }
        }
        // Best effort: the server may already have gone.
        let _ = tx.close().await;
        frames.finish(protocol).map_err(Inner::Problem)
    }
}

/// What the inner exec failed with, before the outer one names the target.
enum Inner {
    Kube(KubeError),
    Problem(ExecProblem),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn frame(channel: u8, data: &[u8]) -> Vec<u8> {
        let mut f = vec![channel];
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn success_is_exit_zero() {
        let s = status(serde_json::json!({"metadata": {}, "status": "Success"}));
        assert_eq!(exit_code_of(&s).unwrap(), 0);
    }

    #[test]
    fn non_zero_exit_codes_are_read_from_the_causes() {
        let s = status(serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }));
        assert_eq!(exit_code_of(&s).unwrap(), 3);
        let no_cause = status(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode", "details": {"causes": []}
        }));
        assert!(matches!(
            exit_code_of(&no_cause),
            Err(ExecProblem::BadStatus(_))
        ));
    }

    #[test]
    fn other_failures_are_errors_with_the_message() {
        let s = status(serde_json::json!({
            "status": "Failure", "reason": "InternalError",
            "message": "exec: \"mysqlx\": executable file not found in $PATH"
        }));
        match exit_code_of(&s) {
            Err(ExecProblem::Failed { reason, message }) => {
                assert_eq!(reason, "InternalError");
                assert!(message.contains("executable file not found"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            exit_code_of(b"not json"),
            Err(ExecProblem::BadStatus(_))
        ));
        assert!(matches!(
            exit_code_of(&status(serde_json::json!({"status": "Pending"}))),
            Err(ExecProblem::BadStatus(_))
        ));
    }

    #[test]
    fn frames_split_streams_and_wait_for_the_status() {
        let mut f = Frames::new(16);
        f.accept(&[STDOUT]).unwrap();
        f.accept(&[ERROR]).unwrap();
        f.accept(&[STDIN]).unwrap();
        f.accept(&frame(STDOUT, b"wsrep_ready\tON\n")).unwrap();
        f.accept(&frame(STDERR, b"warn")).unwrap();
        assert_eq!(f.exit(), None);
        f.accept(&frame(ERROR, br#"{"status":"Success"}"#)).unwrap();
        let out = f.finish(ExecProtocol::V5).unwrap();
        assert_eq!(out.stdout_text(), "wsrep_ready\tON\n");
        assert_eq!(out.stderr_text(), "warn");
        assert!(out.success());
    }

    #[test]
    fn no_status_is_no_answer() {
        let mut f = Frames::new(16);
        f.accept(&frame(STDOUT, b"partial")).unwrap();
        assert!(matches!(
            f.finish(ExecProtocol::V4),
            Err(ExecProblem::NoStatus)
        ));
    }

    #[test]
    fn output_is_bounded_per_stream() {
        let mut f = Frames::new(8);
        f.accept(&frame(STDOUT, b"12345678")).unwrap();
        f.accept(&frame(STDERR, b"12345678")).unwrap();
        let e = f.accept(&frame(STDOUT, b"9")).unwrap_err();
        assert!(
            matches!(
                e,
                ExecProblem::OutputTooLarge {
                    stream: "stdout",
                    limit: 8
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_channels_empty_frames_and_second_statuses_are_refused() {
        let mut f = Frames::new(8);
        assert!(matches!(f.accept(&[]), Err(ExecProblem::BadFrame(_))));
        assert!(matches!(
            f.accept(&frame(7, b"x")),
            Err(ExecProblem::BadFrame(_))
        ));
        f.accept(&frame(ERROR, br#"{"status":"Success"}"#)).unwrap();
        assert!(matches!(
            f.accept(&frame(ERROR, br#"{"status":"Success"}"#)),
            Err(ExecProblem::BadFrame(_))
        ));
        // v5's close of a server channel is accepted.
        f.accept(&[CLOSE, STDOUT]).unwrap();
    }
}
