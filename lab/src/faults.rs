//! Fault injection and call accounting, shared by every lab server.
//!
//! Each lab HTTP server (Kubernetes API, Keystone, Neutron, Octavia, Nova) wraps
//! its router in [`layer`]. The layer does two things for every request:
//!
//! * **Accounting**: mutating calls (POST, PUT, PATCH, DELETE) are counted per
//!   `METHOD path` (query string dropped), *after* the handler ran and only when
//!   it answered 2xx, so tests can prove that no effect happened twice.
//! * **Faults**: the first [`FaultRule`] that matches the request (method and a
//!   path substring) may add latency, answer 5xx or 409 without running the
//!   handler, hang past the client's timeout, or drop the connection either
//!   before the handler ran (no effect) or after it ran (effect applied, answer
//!   lost: the case a resumable tool must handle).
//!
//! Rules are set at start (`LabConfig`) and at run time, in process through
//! [`Faults::set_rules`] or over HTTP on every server at `/_lab/faults`
//! (`GET` lists, `PUT` replaces with a JSON array of rules, `DELETE` clears) and
//! `/_lab/calls` (`GET` the counts, `DELETE` resets them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One fault rule: which requests it matches and what it does to them.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FaultRule {
    /// HTTP method to match (`None` matches every method).
    pub method: Option<String>,
    /// Substring the request path must contain (empty matches every path).
    pub path_contains: String,
    /// Added latency before the request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Probability of answering 503 without running the handler.
    pub error_rate: f64,
    /// Probability of answering 409 without running the handler.
    pub conflict_rate: f64,
    /// Probability of never answering (the client's timeout fires); the handler
    /// does not run.
    pub timeout_rate: f64,
    /// Probability of closing the connection before the handler runs.
    pub drop_before_rate: f64,
    /// Probability of running the handler, then closing the connection without
    /// sending its answer.
    pub drop_after_rate: f64,
    /// Apply to at most this many matching requests, then stop matching
    /// (`None`: forever). Lets a test say "the next 3 calls fail".
    pub remaining: Option<u64>,
}

/// What the layer decided to do with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Pass,
    Error,
    Conflict,
    Timeout,
    DropBefore,
    DropAfter,
}

/// Shared fault rules and call counts of one lab (all its servers).
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<State_>>,
}

#[derive(Default)]
struct State_ {
    rules: Vec<FaultRule>,
    calls: BTreeMap<String, u64>,
    injected: u64,
}

/// The panic payload used to drop a connection; the lab's panic hook stays quiet for it.
pub const DROP_MARKER: &str = "lab: fault rule dropped the connection";

impl Faults {
    /// Returns a fault table with the given rules.
    pub fn new(rules: Vec<FaultRule>) -> Self {
        let f = Self::default();
        f.set_rules(rules);
        f
    }

    /// Replaces every rule.
    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        self.inner.lock().expect("faults lock").rules = rules;
    }

    /// Returns the current rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.inner.lock().expect("faults lock").rules.clone()
    }

    /// Returns the successful mutating calls so far, keyed by `METHOD path`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.inner.lock().expect("faults lock").calls.clone()
    }

    /// Returns how many requests a rule has interfered with so far.
    pub fn injected(&self) -> u64 {
        self.inner.lock().expect("faults lock").injected
    }

    /// Forgets every counted call.
    pub fn reset_calls(&self) {
        self.inner.lock().expect("faults lock").calls.clear();
    }

    /// Records one successful mutating call.
    pub fn count(&self, method: &Method, path: &str) {
        let mut s = self.inner.lock().expect("faults lock");
        *s.calls.entry(format!("{method} {path}")).or_default() += 1;
    }

    /// Returns the latency and action for one request, consuming a `remaining` use.
    fn decide(&self, method: &Method, path: &str) -> (u64, Action) {
        if path.starts_with("/_lab/") {
            return (0, Action::Pass);
        }
        let mut s = self.inner.lock().expect("faults lock");
        let Some(rule) = s.rules.iter_mut().find(|r| {
            r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                && path.contains(&r.path_contains)
                && r.remaining != Some(0)
        }) else {
            return (0, Action::Pass);
        };
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        let mut rng = rand::rng();
        let mut roll = rng.random::<f64>();
        let mut action = Action::Pass;
        for (p, a) in [
            (rule.error_rate, Action::Error),
            (rule.conflict_rate, Action::Conflict),
            (rule.timeout_rate, Action::Timeout),
            (rule.drop_before_rate, Action::DropBefore),
            (rule.drop_after_rate, Action::DropAfter),
        ] {
            if roll < p {
                action = a;
                break;
            }
            roll -= p;
        }
        let latency = rule.latency_ms;
        if action != Action::Pass {
            s.injected += 1;
        }
        (latency, action)
    }
}

/// Returns true for methods that change state.
pub fn is_mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Middleware: applies the fault rules and counts successful mutating calls.
pub async fn layer(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (latency, action) = faults.decide(&method, &path);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match action {
        Action::Error => return fault_status(StatusCode::SERVICE_UNAVAILABLE, "injected 503"),
        Action::Conflict => return fault_status(StatusCode::CONFLICT, "injected 409"),
        Action::Timeout => {
            // Long enough for any client timeout; the connection is then dropped.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            std::panic::panic_any(DROP_MARKER);
        }
        Action::DropBefore => std::panic::panic_any(DROP_MARKER),
        Action::Pass | Action::DropAfter => {}
    }
    let resp = next.run(req).await;
    if is_mutating(&method) && resp.status().is_success() && !path.starts_with("/_lab/") {
        faults.count(&method, &path);
    }
    if action == Action::DropAfter {
        std::panic::panic_any(DROP_MARKER);
    }
    resp
}

fn fault_status(code: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": msg, "reason": "LabFault", "code": code.as_u16(),
        "NeutronError": {"type": "LabFault", "message": msg, "detail": ""},
    });
    (code, Json(body)).into_response()
}

/// Returns the `/_lab/faults` and `/_lab/calls` admin routes for a server.
pub fn admin_routes(faults: Faults) -> axum::Router {
    async fn get_rules(State(f): State<Faults>) -> Json<Vec<FaultRule>> {
        Json(f.rules())
    }
    async fn put_rules(State(f): State<Faults>, Json(rules): Json<Vec<FaultRule>>) -> StatusCode {
        f.set_rules(rules);
        StatusCode::NO_CONTENT
    }
    async fn clear_rules(State(f): State<Faults>) -> StatusCode {
        f.set_rules(Vec::new());
        StatusCode::NO_CONTENT
    }
    async fn get_calls(State(f): State<Faults>) -> Json<BTreeMap<String, u64>> {
        Json(f.calls())
    }
    async fn reset_calls(State(f): State<Faults>) -> StatusCode {
        f.reset_calls();
        StatusCode::NO_CONTENT
    }
    axum::Router::new()
        .route(
            "/_lab/faults",
            get(get_rules).put(put_rules).delete(clear_rules),
        )
        .route("/_lab/calls", get(get_calls).delete(reset_calls))
        .with_state(faults)
}

/// Wraps a server's router with the admin routes and the fault layer.
pub fn wrap(router: axum::Router, faults: &Faults) -> axum::Router {
    router
        .merge(admin_routes(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(faults.clone(), layer))
}

/// Installs a panic hook that keeps quiet about deliberately dropped connections.
pub fn quiet_drop_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() == Some(&DROP_MARKER) {
                return;
            }
            prev(info);
        }));
    });
}

/// Serves a router on a listener until the task is dropped; dropped connections
/// (fault rules) end only their own connection.
pub async fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<()> {
    quiet_drop_panics();
    axum::serve(listener, router).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_limits_matches() {
        let f = Faults::new(vec![FaultRule {
            path_contains: "/ports".into(),
            error_rate: 1.0,
            remaining: Some(2),
            ..Default::default()
        }]);
        assert_eq!(f.decide(&Method::DELETE, "/v2.0/ports/x").1, Action::Error);
        assert_eq!(f.decide(&Method::DELETE, "/v2.0/ports/x").1, Action::Error);
        assert_eq!(f.decide(&Method::DELETE, "/v2.0/ports/x").1, Action::Pass);
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn method_and_path_must_match() {
        let f = Faults::new(vec![FaultRule {
            method: Some("DELETE".into()),
            path_contains: "/networks".into(),
            conflict_rate: 1.0,
            ..Default::default()
        }]);
        assert_eq!(f.decide(&Method::GET, "/v2.0/networks").1, Action::Pass);
        assert_eq!(f.decide(&Method::DELETE, "/v2.0/ports/a").1, Action::Pass);
        assert_eq!(
            f.decide(&Method::DELETE, "/v2.0/networks/a").1,
            Action::Conflict
        );
    }
}
