//! Simulated Keystone v3: password and application-credential auth issuing
//! project-scoped tokens with a catalog (network, load-balancer, compute, on
//! the cloud's own port), and token validation for the other services. Two
//! users: the cloud's own (admin, with the implied member and reader roles)
//! and, when configured, a reader-only one whose writes `policy.rs` refuses.
//! Wrong credentials get the real 401 body.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{Req, json_status};
use super::{World, new_id};

/// Issued tokens and their expiry.
#[derive(Default)]
pub struct Keystone {
    pub(crate) tokens: HashMap<String, Instant>,
    /// Tokens of the reader user (only the `reader` role).
    pub(crate) readers: HashSet<String>,
}

impl Keystone {
    /// Returns true for a known, unexpired token.
    pub(crate) fn valid(&self, token: Option<&str>) -> bool {
        token
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|exp| *exp > Instant::now())
    }

    /// Returns true for a token whose user has only the reader role.
    pub(crate) fn reader_only(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.readers.contains(t))
    }
}

fn refused() -> Response {
    json_status(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}),
    )
}

/// Handles `/identity/...`.
pub(crate) fn handle(w: &mut World, req: &Req) -> Response {
    match (req.method.clone(), req.segs().as_slice()) {
        (Method::GET, ["v3"] | []) => json_status(
            StatusCode::OK,
            json!({"version": {"id": "v3.14", "status": "stable", "links": [{"rel": "self", "href": format!("{}/identity/v3/", w.base_url)}]}}),
        ),
        (Method::POST, ["v3", "auth", "tokens"]) => {
            issue(w, req.body.as_ref().unwrap_or(&Value::Null))
        }
        (Method::GET, ["v3", "projects", rest @ ..]) => projects(w, req, rest.first().copied()),
        (Method::GET, ["v3", "auth", "tokens"]) => {
            if w.keystone.valid(req.token.as_deref()) {
                json_status(StatusCode::OK, json!({"token": {}}))
            } else {
                refused()
            }
        }
        _ => json_status(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": 404, "message": "The resource could not be found.", "title": "Not Found"}}),
        ),
    }
}

/// `GET /v3/projects[/{id}]`: the cloud's one project (what `openstack
/// --project NAME` resolves through).
fn projects(w: &World, req: &Req, id: Option<&str>) -> Response {
    if !w.keystone.valid(req.token.as_deref()) {
        return refused();
    }
    let cfg = &w.cfg;
    let project = json!({"id": cfg.project_id, "name": cfg.project_name, "domain_id": "default",
        "enabled": true, "is_domain": false, "parent_id": "default", "description": "", "tags": [],
        "links": {"self": format!("{}/identity/v3/projects/{}", w.base_url, cfg.project_id)}});
    match id {
        Some(id) if id == cfg.project_id => {
            json_status(StatusCode::OK, json!({"project": project}))
        }
        Some(id) => json_status(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": 404, "message": format!("Could not find project: {id}."), "title": "Not Found"}}),
        ),
        None => {
            let wanted = req.first("name");
            let all = if wanted.is_none_or(|n| n == cfg.project_name) {
                vec![project]
            } else {
                Vec::new()
            };
            json_status(StatusCode::OK, json!({"projects": all}))
        }
    }
}

fn issue(w: &mut World, body: &Value) -> Response {
    let id = &body["auth"]["identity"];
    let methods: Vec<&str> = id["methods"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let cfg = &w.cfg;
    let mut reader = false;
    let ok = if methods.contains(&"password") {
        let u = &id["password"]["user"];
        let domain_ok = u["domain"]["id"].as_str().is_some_and(|d| d == "default")
            || u["domain"]["name"].as_str().is_some_and(|d| d == "Default");
        let scope_ok = match &body["auth"]["scope"]["project"] {
            Value::Null => true,
            p => {
                p["id"].as_str() == Some(&cfg.project_id)
                    || p["name"].as_str() == Some(&cfg.project_name)
            }
        };
        let is = |name: &str, password: &str| {
            u["name"].as_str() == Some(name) && u["password"].as_str() == Some(password)
        };
        reader = cfg.reader.as_ref().is_some_and(|(n, p)| is(n, p));
        (is(&cfg.username, &cfg.password) || reader) && domain_ok && scope_ok
    } else if methods.contains(&"application_credential") {
        let ac = &id["application_credential"];
        cfg.application_credential
            .as_ref()
            .is_some_and(|(i, s)| ac["id"].as_str() == Some(i) && ac["secret"].as_str() == Some(s))
    } else {
        false
    };
    if !ok {
        return refused();
    }
    let token = new_id().replace('-', "");
    let ttl: Duration = cfg.token_ttl;
    w.keystone
        .tokens
        .insert(token.clone(), Instant::now() + ttl);
    if reader {
        w.keystone.readers.insert(token.clone());
    }
    // Keystone lists implied roles too: admin implies member implies reader.
    let (user_id, user_name, roles) = match (&cfg.reader, reader) {
        (Some((name, _)), true) => (
            "b1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6",
            name.clone(),
            json!([{"id": "4c5d6e7f8091a2b3c4d5e6f708192a3b", "name": "reader"}]),
        ),
        _ => (
            "a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5",
            cfg.username.clone(),
            json!([{"id": "1b2c3d4e5f60718293a4b5c6d7e8f901", "name": "admin"},
                   {"id": "2a3b4c5d6e7f8091a2b3c4d5e6f70819", "name": "member"},
                   {"id": "4c5d6e7f8091a2b3c4d5e6f708192a3b", "name": "reader"}]),
        ),
    };
    let now = chrono::Utc::now();
    let expires = now + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::hours(1));
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let endpoint = |ty: &str, name: &str, url: String| {
        let endpoints: Vec<Value> = ["public", "internal", "admin"]
            .iter()
            .map(|i| json!({"id": new_id().replace('-', ""), "interface": i, "region_id": cfg.region, "region": cfg.region, "url": url}))
            .collect();
        json!({"type": ty, "name": name, "id": new_id().replace('-', ""), "endpoints": endpoints})
    };
    let base = &w.base_url;
    let body = json!({"token": {
        "methods": methods,
        "user": {"id": user_id, "name": user_name, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": cfg.project_id, "name": cfg.project_name, "domain": {"id": "default", "name": "Default"}},
        "roles": roles,
        "is_domain": false,
        "issued_at": fmt(now),
        "expires_at": fmt(expires),
        "catalog": [
            endpoint("identity", "keystone", format!("{base}/identity/v3/")),
            endpoint("network", "neutron", format!("{base}/network")),
            endpoint("load-balancer", "octavia", format!("{base}/load-balancer")),
            endpoint("compute", "nova", format!("{base}/compute/v2.1")),
        ],
    }});
    let mut resp = json_status(StatusCode::CREATED, body);
    resp.headers_mut()
        .insert("x-subject-token", token.parse().expect("token header"));
    resp.into_response()
}
