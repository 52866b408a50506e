//! `pods/{pod}/exec`: the Kubernetes exec protocol over WebSocket, answered
//! by whatever backend serves the pod.
//!
//! As kube-apiserver does, the request (GET or POST) names the command with
//! repeated `command=` parameters, the container, and which of
//! stdin/stdout/stderr to attach; the pod must exist, be Running and have the
//! container. The connection is upgraded to a WebSocket with the
//! subprotocol `v5.channel.k8s.io` when the client offers it, else
//! `v4.channel.k8s.io` ([`ExecBackends::set_v4_only`] makes the server
//! refuse v5, to test a client's fallback). Every binary message starts with
//! its channel: 0 stdin, 1 stdout, 2 stderr, 3 the command's end as a
//! `Status` (`Success`, or `Failure`/`NonZeroExitCode` with the code in
//! `details.causes`), 4 resize (ignored: the lab has no TTY), and in v5 255
//! "close channel N" (stdin's end of file). The server opens each channel
//! it writes (stdout, stderr, error) with an empty message, and ends with a
//! normal close (code 1000: kubectl reads a close without a code as an
//! error). SPDY, the older transport, is refused with a message: kubectl
//! 1.30+ speaks WebSocket v5 first and falls back to SPDY (not to v4) when
//! a server refuses v5.
//!
//! The lab runs no container: an [`ExecHandler`] registered for the pod (by
//! namespace and name prefix, [`ExecBackends::serve`]) runs the command and
//! writes its output through an [`ExecSink`]. A pod no handler serves
//! answers 400 with a message that says so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::error::ApiError;
use super::kinds;
use super::store::Store;

/// Channel of the command's standard input.
pub const STDIN: u8 = 0;
/// Channel of the command's standard output.
pub const STDOUT: u8 = 1;
/// Channel of the command's standard error.
pub const STDERR: u8 = 2;
/// Channel of the command's end (a JSON `Status`).
pub const ERROR: u8 = 3;
/// Channel of terminal size changes.
pub const RESIZE: u8 = 4;
/// v5: "close the channel named by the next byte".
pub const CLOSE: u8 = 255;
/// The v5 subprotocol.
pub const V5: &str = "v5.channel.k8s.io";
/// The v4 subprotocol.
pub const V4: &str = "v4.channel.k8s.io";

/// One exec, as the handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRequest {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod.
    pub pod: String,
    /// The container (the pod's only or default one when none was named).
    pub container: String,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecEnd {
    /// It ran and exited with this code.
    Exited(i32),
    /// It could not run (an executable that is not there…): a `Failure`
    /// Status with this reason and message, as the kubelet reports it.
    CannotRun {
        /// The Status reason (`InternalError`).
        reason: String,
        /// The message.
        message: String,
    },
}

/// Where a handler writes the command's output (in order, stdout and stderr
/// interleaved as written).
#[derive(Clone, Debug)]
pub struct ExecSink {
    tx: mpsc::Sender<(u8, Vec<u8>)>,
}

impl ExecSink {
    /// Writes to stdout; a client that went away is ignored.
    pub async fn stdout(&self, data: impl Into<Vec<u8>>) {
        let _ = self.tx.send((STDOUT, data.into())).await;
    }

    /// Writes to stderr; a client that went away is ignored.
    pub async fn stderr(&self, data: impl Into<Vec<u8>>) {
        let _ = self.tx.send((STDERR, data.into())).await;
    }
}

/// What a handler gets besides the request.
#[derive(Debug)]
pub struct ExecIo {
    /// The command's stdin, when it was attached: chunks until `None` (end of file).
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    /// Its stdout and stderr.
    pub out: ExecSink,
}

/// Something that runs commands for some pods.
pub trait ExecHandler: Send + Sync + 'static {
    /// Runs `req`, writing its output to `io`, and returns how it ended.
    fn exec(&self, req: ExecRequest, io: ExecIo) -> BoxFuture<'static, ExecEnd>;
}

type Entry = (String, String, Arc<dyn ExecHandler>);

/// The handlers of a lab, by namespace and pod name prefix.
#[derive(Clone, Default)]
pub struct ExecBackends {
    handlers: Arc<RwLock<Vec<Entry>>>,
    v4_only: Arc<AtomicBool>,
    no_close: Arc<AtomicBool>,
}

impl std::fmt::Debug for ExecBackends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = self.handlers.read().unwrap_or_else(|p| p.into_inner());
        let served: Vec<String> = h.iter().map(|(ns, p, _)| format!("{ns}/{p}*")).collect();
        f.debug_struct("ExecBackends")
            .field("served", &served)
            .finish()
    }
}

impl ExecBackends {
    /// Returns an empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets `handler` answer exec for the pods of `namespace` whose name starts with `pod_prefix`.
    pub fn serve(&self, namespace: &str, pod_prefix: &str, handler: Arc<dyn ExecHandler>) {
        let mut h = self.handlers.write().unwrap_or_else(|p| p.into_inner());
        h.push((namespace.to_string(), pod_prefix.to_string(), handler));
    }

    /// Refuses (true) or allows (false) `v5.channel.k8s.io`, as servers older than 1.30 do.
    pub fn set_v4_only(&self, v4_only: bool) {
        self.v4_only.store(v4_only, Ordering::SeqCst);
    }

    /// Makes the server leave the connection open after the status (true),
    /// as a misbehaving proxy might, to test that a client does not wait for
    /// its deadline then.
    pub fn set_no_close(&self, no_close: bool) {
        self.no_close.store(no_close, Ordering::SeqCst);
    }

    fn find(&self, namespace: &str, pod: &str) -> Option<Arc<dyn ExecHandler>> {
        let h = self.handlers.read().unwrap_or_else(|p| p.into_inner());
        h.iter()
            .find(|(ns, prefix, _)| ns == namespace && pod.starts_with(prefix.as_str()))
            .map(|(_, _, handler)| handler.clone())
    }
}

/// Returns the exec route (GET and POST), answered from `store` and `backends`.
pub fn routes(store: Store, backends: ExecBackends) -> Router {
    Router::new()
        .route(
            "/api/v1/namespaces/{ns}/pods/{pod}/exec",
            axum::routing::get(exec).post(exec),
        )
        .with_state((store, backends))
}

fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn api_error(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        e.status().to_string(),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    status_response(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// The parsed query of an exec request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

fn parse_params(pairs: &[(String, String)]) -> Params {
    let on = |v: &str| matches!(v, "true" | "1" | "True");
    let mut p = Params::default();
    for (k, v) in pairs {
        match k.as_str() {
            "command" => p.command.push(v.clone()),
            "container" if !v.is_empty() => p.container = Some(v.clone()),
            "stdin" => p.stdin = on(v),
            "stdout" => p.stdout = on(v),
            "stderr" => p.stderr = on(v),
            _ => {}
        }
    }
    p
}

/// Returns the subprotocol to speak, from the client's offer (server preference v5, v4).
pub fn choose_protocol(headers: &HeaderMap, v4_only: bool) -> Option<&'static str> {
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(|p| p.trim().to_string())
        .collect();
    let supported: &[&'static str] = if v4_only { &[V4] } else { &[V5, V4] };
    supported
        .iter()
        .copied()
        .find(|s| offered.iter().any(|o| o == s))
}

/// Returns the pod's container the exec runs in, or the message refusing it (400).
fn container_of(pod: &Value, name: &str, wanted: Option<&str>) -> Result<String, String> {
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let default = pod
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(Value::as_str);
    let chosen = match (wanted, containers.as_slice()) {
        (Some(w), _) => w,
        (None, [only]) => only,
        (None, _) => match default {
            Some(d) => d,
            None => {
                return Err(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                ));
            }
        },
    };
    if !containers.contains(&chosen) {
        return Err(format!("container {chosen} is not valid for pod {name}"));
    }
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending");
    if phase != "Running" {
        return Err(format!(
            "unable to upgrade connection: container {chosen} in pod {name} is not running (phase {phase})"
        ));
    }
    Ok(chosen.to_string())
}

async fn exec(
    State((store, backends)): State<(Store, ExecBackends)>,
    Path((ns, pod_name)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    mut req: Request,
) -> Response {
    let params = parse_params(&pairs);
    let pods = kinds::by_plural("", "v1", "pods").expect("pods are in the kind table");
    let pod = match store.get_kind(pods, &ns, &pod_name) {
        Ok(p) => p,
        Err(e) => return api_error(&e),
    };
    if params.command.is_empty() {
        return bad_request("you must specify at least one command for the container");
    }
    if !(params.stdin || params.stdout || params.stderr) {
        return bad_request("you must specify at least 1 of stdin, stdout, stderr");
    }
    let container = match container_of(&pod, &pod_name, params.container.as_deref()) {
        Ok(c) => c,
        Err(msg) => return bad_request(&msg),
    };
    let headers = req.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return bad_request(&format!(
            "the lab answers exec over WebSocket only (subprotocols {V5}, {V4}), not {:?}; \
             use kubectl 1.30 or newer, or a WebSocket client",
            if upgrade.is_empty() {
                "plain HTTP"
            } else {
                upgrade
            }
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return bad_request("the WebSocket upgrade has no Sec-WebSocket-Key");
    };
    let Some(protocol) = choose_protocol(headers, backends.v4_only.load(Ordering::SeqCst)) else {
        return bad_request(&format!(
            "none of the offered WebSocket subprotocols is supported; offer {}{V4}",
            if backends.v4_only.load(Ordering::SeqCst) {
                String::new()
            } else {
                format!("{V5} or ")
            }
        ));
    };
    let Some(handler) = backends.find(&ns, &pod_name) else {
        // 400, not 500: a lab started without the pod's backend is a setup
        // error to fix, not a blip to retry.
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "the lab runs no process for pod {ns}/{pod_name}: only pods a lab exec backend \
                 serves answer exec (the OVS lab's mariadb-server pods when it is started with a Galera)"
            ),
        );
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let request = ExecRequest {
        namespace: ns,
        pod: pod_name,
        container,
        command: params.command,
    };
    let stdin = params.stdin;
    let no_close = backends.no_close.load(Ordering::SeqCst);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                session(ws, protocol, stdin, request, handler, no_close).await;
            }
            Err(e) => tracing::debug!(error = %e, "exec upgrade failed"),
        }
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol),
    );
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// Returns the `Status` the error channel carries for `end`.
pub fn end_status(end: &ExecEnd) -> Value {
    match end {
        ExecEnd::Exited(0) => json!({"metadata": {}, "status": "Success"}),
        ExecEnd::Exited(code) => json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit code {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        ExecEnd::CannotRun { reason, message } => json!({
            "metadata": {}, "status": "Failure", "message": message, "reason": reason,
        }),
    }
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut f = Vec::with_capacity(data.len() + 1);
    f.push(channel);
    f.extend_from_slice(data);
    Message::binary(f)
}

/// Runs one exec over an upgraded connection: stdin in, output and the end out.
async fn session(
    ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    protocol: &'static str,
    attach_stdin: bool,
    request: ExecRequest,
    handler: Arc<dyn ExecHandler>,
    no_close: bool,
) {
    let (mut tx, mut rx) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<(u8, Vec<u8>)>(64);
    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>(64);
    let io = ExecIo {
        stdin: attach_stdin.then_some(stdin_rx),
        out: ExecSink { tx: out_tx.clone() },
    };
    // The reader: stdin frames, v5 close, resize (ignored); pings are answered by tungstenite.
    let v5 = protocol == V5;
    let reader = tokio::spawn(async move {
        let mut stdin_tx = attach_stdin.then_some(stdin_tx);
        while let Some(Ok(msg)) = rx.next().await {
            match msg {
                Message::Binary(data) => match data.split_first() {
                    Some((&STDIN, rest)) => {
                        if let Some(t) = &stdin_tx {
                            let _ = t.send(rest.to_vec()).await;
                        }
                    }
                    Some((&CLOSE, [STDIN, ..])) if v5 => stdin_tx = None,
                    _ => {}
                },
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    let run = {
        let out_tx = out_tx.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let end = handler.exec(request, io).await;
            let _ = out_tx
                .send((ERROR, end_status(&end).to_string().into_bytes()))
                .await;
        })
    };
    drop(out_tx);
    // The writer: each channel opened with an empty message, then the output
    // in order, the status last, then the close.
    let mut alive = true;
    for ch in [STDOUT, STDERR, ERROR] {
        if tx.send(frame(ch, &[])).await.is_err() {
            alive = false;
        }
    }
    while let Some((ch, data)) = out_rx.recv().await {
        if alive && tx.send(frame(ch, &data)).await.is_err() {
            alive = false;
        }
        if ch == ERROR {
            break;
        }
    }
    if no_close {
        // Until the client goes.
        let _ = tx.flush().await;
        let _ = run.await;
        let _ = reader.await;
        return;
    }
    if alive {
        // A close without a code reads as 1005 "no status" to gorilla/websocket (kubectl).
        let close = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = tx.send(Message::Close(Some(close))).await;
        let _ = tx.flush().await;
    }
    let _ = run.await;
    reader.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(v).unwrap(),
        );
        h
    }

    #[test]
    fn v5_is_preferred_and_v4_is_the_fallback() {
        assert_eq!(
            choose_protocol(&offer("v5.channel.k8s.io, v4.channel.k8s.io"), false),
            Some(V5)
        );
        assert_eq!(
            choose_protocol(&offer("v4.channel.k8s.io,v5.channel.k8s.io"), false),
            Some(V5)
        );
        assert_eq!(
            choose_protocol(&offer("v5.channel.k8s.io, v4.channel.k8s.io"), true),
            Some(V4)
        );
        assert_eq!(choose_protocol(&offer("v5.channel.k8s.io"), true), None);
        assert_eq!(
            choose_protocol(&offer("base64.channel.k8s.io"), false),
            None
        );
        assert_eq!(choose_protocol(&HeaderMap::new(), false), None);
    }

    #[test]
    fn params_keep_every_command_word() {
        let pairs: Vec<(String, String)> = [
            ("command", "mariadb"),
            ("command", "-N"),
            ("command", "SHOW GLOBAL STATUS LIKE 'wsrep%'"),
            ("container", "mariadb"),
            ("stdout", "true"),
            ("stderr", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = parse_params(&pairs);
        assert_eq!(
            p.command,
            ["mariadb", "-N", "SHOW GLOBAL STATUS LIKE 'wsrep%'"]
        );
        assert_eq!(p.container.as_deref(), Some("mariadb"));
        assert!(p.stdout && p.stderr && !p.stdin);
    }

    #[test]
    fn containers_are_chosen_as_the_apiserver_does() {
        let pod = json!({"spec": {"containers": [{"name": "mariadb"}, {"name": "exporter"}]},
                         "status": {"phase": "Running"}});
        assert!(container_of(&pod, "p", None).is_err());
        assert_eq!(
            container_of(&pod, "p", Some("exporter")).unwrap(),
            "exporter"
        );
        assert!(container_of(&pod, "p", Some("nope")).is_err());
        let mut with_default = pod.clone();
        with_default["metadata"] =
            json!({"annotations": {"kubectl.kubernetes.io/default-container": "mariadb"}});
        assert_eq!(container_of(&with_default, "p", None).unwrap(), "mariadb");
        let pending =
            json!({"spec": {"containers": [{"name": "mariadb"}]}, "status": {"phase": "Pending"}});
        assert!(container_of(&pending, "p", None).is_err());
    }

    #[test]
    fn statuses_are_kubelets() {
        assert_eq!(end_status(&ExecEnd::Exited(0))["status"], "Success");
        let s = end_status(&ExecEnd::Exited(2));
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0]["message"], "2");
        let s = end_status(&ExecEnd::CannotRun {
            reason: "InternalError".into(),
            message: "no".into(),
        });
        assert_eq!(s["reason"], "InternalError");
    }
}
