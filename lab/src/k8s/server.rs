//! The HTTP face of the store: kube-apiserver's URL scheme, routed generically.
//!
//! Every request that is not discovery is parsed into (kind from the table,
//! namespace, name, subresource) and a verb, then handed to [`Store`]; no
//! route is written per kind. Answers are JSON; errors are `kind: Status`
//! objects. `?watch=true` streams newline-delimited watch events. The router is
//! wrapped by the lab's fault layer ([`crate::faults::wrap`]) in
//! [`start`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::broadcast;

use super::discovery;
use super::dryrun;
use super::error::ApiError;
use super::kinds::{self, Kind};
use super::openapi;
use super::protobuf;
use super::scale;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{ListOptions, Store, WatchEvent};
use super::table;
use super::validation::{self, Directive};
use super::write::{Patch, Preconditions};
use crate::faults::{self, Faults};

/// A running API server.
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Returns `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the API server for `store` on a random loopback port, with `extra`
/// routes (lab hooks) merged in and the fault layer around everything.
pub async fn start(store: Store, extra: Router, faults: &Faults) -> std::io::Result<ApiServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = faults::wrap(router(store).merge(extra), faults);
    let task = tokio::spawn(async move {
        if let Err(e) = faults::serve(listener, app).await {
            tracing::error!(error = %e, "kubernetes api server stopped");
        }
    });
    Ok(ApiServer { addr, task })
}

/// Returns the API server's router (no fault layer).
pub fn router(store: Store) -> Router {
    Router::new().fallback(handle).with_state(store)
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn error_response(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.status())
}

async fn handle(State(store): State<Store>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 256 << 20).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::BadRequest(format!("unreadable body: {e}"))),
    };
    match route(&store, &parts.method, &parts.uri, &parts.headers, body) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(method = %parts.method, uri = %parts.uri, code = e.code(), "{e}");
            error_response(&e)
        }
    }
}

/// A parsed resource URL.
struct Target {
    kind: &'static Kind,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let own = |s: &str| Some(s.to_string());
    let namespaced_kind =
        |plural: &str| kinds::by_plural(group, version, plural).filter(|k| k.namespaced);
    let (kind, ns, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if namespaced_kind(plural).is_some() && tail.len() <= 2 =>
        {
            let k = namespaced_kind(plural).expect("checked");
            (
                k,
                own(ns),
                tail.first().and_then(|s| own(s)),
                tail.get(1).and_then(|s| own(s)),
            )
        }
        [plural, tail @ ..] if tail.len() <= 2 => {
            let k = kinds::by_plural(group, version, plural).ok_or(ApiError::NoSuchResource)?;
            if k.namespaced && !tail.is_empty() {
                return Err(ApiError::NoSuchResource);
            }
            (
                k,
                None,
                tail.first().and_then(|s| own(s)),
                tail.get(1).and_then(|s| own(s)),
            )
        }
        _ => return Err(ApiError::NoSuchResource),
    };
    if let Some(s) = &sub
        && !(s == "status" && kind.status)
        && !(s == "scale" && scale::scalable(kind))
    {
        return Err(ApiError::NoSuchResource);
    }
    Ok(Target {
        kind,
        ns,
        name,
        sub,
    })
}

fn accept_header(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

fn route(
    store: &Store,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = uri.path().trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return ok(discovery::version()),
        ["api"] => return ok(discovery::core_versions(host)),
        ["apis"] => return ok(discovery::group_list()),
        ["openapi", "v2"] => {
            if accept_header(headers).contains("protobuf") {
                return Ok((
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, openapi::V2_PROTOBUF)],
                    openapi::v2_protobuf(),
                )
                    .into_response());
            }
            return ok(openapi::v2());
        }
        ["openapi", "v3"] => return ok(openapi::v3_index()),
        ["openapi", "v3", "api", v] => {
            return openapi::v3_group_version("", v)
                .map(|d| json_response(StatusCode::OK, &d))
                .ok_or(ApiError::NoSuchResource);
        }
        ["openapi", "v3", "apis", g, v] => {
            return openapi::v3_group_version(g, v)
                .map(|d| json_response(StatusCode::OK, &d))
                .ok_or(ApiError::NoSuchResource);
        }
        ["apis", g] => {
            return discovery::group(g)
                .map(|v| json_response(StatusCode::OK, &v))
                .ok_or(ApiError::NoSuchResource);
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::NoSuchResource),
    };
    if rest.is_empty() {
        return discovery::resource_list(group, version)
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or(ApiError::NoSuchResource);
    }
    let t = parse_target(group, version, rest)?;
    let query: HashMap<String, String> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") if method != Method::GET => true,
        Some("All") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            )));
        }
    };
    // DELETE carries dryRun in its DeleteOptions body too (kubectl sends it there).
    let dry_run = dry_run
        || (method == Method::DELETE
            && serde_json::from_slice::<Value>(&body).is_ok_and(|o| {
                o.get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|v| v == "All"))
            }));
    let directive = Directive::parse(query.get("fieldValidation").map(String::as_str))?;
    // A dry run goes through the same verbs on a private copy of the store.
    let scratch;
    let store = if dry_run {
        scratch = store.scratch();
        &scratch
    } else {
        store
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let as_table = table::wants_table(accept);
    let ns = t.ns.as_deref().unwrap_or("");
    let status_only = t.sub.as_deref() == Some("status");
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let ctype = ctype.split(';').next().unwrap_or("").trim();
    let parse_body = || -> Result<Value, ApiError> {
        if ctype == protobuf::MEDIA_TYPE {
            return protobuf::decode(t.kind, &body);
        }
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
    };
    if t.sub.as_deref() == Some("scale") {
        let name = t.name.as_deref().unwrap_or_default();
        let obj = store.get_kind(t.kind, ns, name)?;
        let new_scale = match *method {
            Method::GET => return ok(scale::view(&obj)),
            Method::PUT => parse_body()?,
            Method::PATCH => {
                let mut current = scale::view(&obj);
                let body = parse_body()?;
                match ctype {
                    "application/json-patch+json" => super::patch::json_patch(&mut current, &body)
                        .map_err(|e| ApiError::BadRequest(e.to_string()))?,
                    _ => super::patch::merge_patch(&mut current, &body),
                }
                current
            }
            ref m => {
                return Err(ApiError::MethodNotAllowed(format!(
                    "the server does not allow this method on the requested resource ({m})"
                )));
            }
        };
        let written =
            store.update_kind(t.kind, ns, name, scale::apply(&obj, &new_scale)?, false)?;
        return ok(scale::view(&written));
    }
    let mut warnings = Vec::new();
    let mut validated = |mut obj: Value| -> Result<Value, ApiError> {
        warnings.extend(validation::check(t.kind, &mut obj, directive)?);
        Ok(obj)
    };
    let before = |name: &str| store.get_kind(t.kind, ns, name).ok();
    let written = |code: StatusCode, v: Value, before: Option<Value>, warnings: &[String]| {
        let v = if dry_run {
            dryrun::answer(v, before.as_ref())
        } else {
            v
        };
        let mut r = json_response(code, &v);
        for w in warnings {
            if let Ok(h) = header::HeaderValue::from_str(&validation::warning_header(w)) {
                r.headers_mut().append(header::WARNING, h);
            }
        }
        Ok(r)
    };
    match (&t.name, method) {
        (None, &Method::GET) => {
            let opts = ListOptions {
                label_selector: query.get("labelSelector").cloned(),
                field_selector: query.get("fieldSelector").cloned(),
                limit: query.get("limit").and_then(|l| l.parse().ok()),
                continue_token: query.get("continue").cloned(),
            };
            if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) {
                return watch(store, t.kind, t.ns.as_deref(), &query, &opts);
            }
            let page = store.list_page(t.kind, t.ns.as_deref(), &opts)?;
            if as_table {
                let tbl = table::table(
                    t.kind,
                    &page.items,
                    page.resource_version,
                    page.continue_token.as_deref(),
                );
                return ok(tbl);
            }
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                page.to_json(),
            )
                .into_response())
        }
        (None, &Method::POST) => {
            let obj = validated(parse_body()?)?;
            let created = store.create_kind(t.kind, ns, obj)?;
            written(StatusCode::CREATED, created, None, &warnings)
        }
        (None, &Method::DELETE) => {
            let opts = ListOptions {
                label_selector: query.get("labelSelector").cloned(),
                field_selector: query.get("fieldSelector").cloned(),
                ..Default::default()
            };
            let list = store.list(t.kind, t.ns.as_deref(), &opts)?;
            let mut items = Vec::new();
            for item in list["items"].as_array().into_iter().flatten() {
                let name = item
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let ins = item
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if let Ok(v) = store.delete_kind(t.kind, ins, name, &Preconditions::default()) {
                    items.push(v);
                }
            }
            let mut out = list;
            out["items"] = Value::Array(items);
            ok(out)
        }
        (Some(name), &Method::GET) if as_table && !status_only => {
            let obj = std::sync::Arc::new(store.get_kind(t.kind, ns, name)?);
            ok(table::table(t.kind, &[obj], store.resource_version(), None))
        }
        (Some(name), &Method::GET) => ok(store.get_kind(t.kind, ns, name)?),
        (Some(name), &Method::PUT) => {
            let obj = validated(parse_body()?)?;
            let old = before(name);
            let v = store.update_kind(t.kind, ns, name, obj, status_only)?;
            written(StatusCode::OK, v, old, &warnings)
        }
        (Some(name), &Method::PATCH) => {
            let p = match ctype {
                "application/merge-patch+json" => Patch::Merge(parse_body()?),
                "application/strategic-merge-patch+json" if openapi::builtin(t.kind) => {
                    Patch::Strategic(parse_body()?)
                }
                "application/json-patch+json" => Patch::Json(parse_body()?),
                other => {
                    let smp = if openapi::builtin(t.kind) {
                        ", application/strategic-merge-patch+json"
                    } else {
                        ""
                    };
                    return Err(ApiError::UnsupportedMediaType(format!(
                        "the body of the request was in an unknown format - accepted media types include: \
                         application/json-patch+json, application/merge-patch+json{smp} (got {other:?})"
                    )));
                }
            };
            let old = before(name);
            let mut warned = Vec::new();
            let v = store.patch_kind_checked(t.kind, ns, name, &p, status_only, &mut |obj| {
                warned = validation::check(t.kind, obj, directive)?;
                Ok(())
            })?;
            written(StatusCode::OK, v, old, &warned)
        }
        (Some(name), &Method::DELETE) if !status_only => {
            let opts: Value = if body.is_empty() {
                Value::Null
            } else {
                parse_body()?
            };
            let pre = Preconditions {
                uid: opts
                    .pointer("/preconditions/uid")
                    .and_then(Value::as_str)
                    .map(String::from),
                resource_version: opts
                    .pointer("/preconditions/resourceVersion")
                    .and_then(Value::as_str)
                    .map(String::from),
            };
            let v = store.delete_kind(t.kind, ns, name, &pre)?;
            let still_there = store.get_kind(t.kind, ns, name).is_ok();
            Ok(json_response(
                if still_there {
                    StatusCode::ACCEPTED
                } else {
                    StatusCode::OK
                },
                &v,
            ))
        }
        (_, m) => Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({m})"
        ))),
    }
}

/// Streams watch events as newline-delimited JSON until `timeoutSeconds`.
fn watch(
    store: &Store,
    kind: &'static Kind,
    ns: Option<&str>,
    query: &HashMap<String, String>,
    opts: &ListOptions,
) -> Result<Response, ApiError> {
    let bad = |e: super::selectors::SelectorError| ApiError::BadRequest(e.to_string());
    let labels = opts
        .label_selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
        .map_err(bad)?;
    let fields = opts
        .field_selector
        .as_deref()
        .map(|f| FieldSelector::parse_for(kind, f))
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let rv: u64 = query
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(1800u64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let (backlog, rx) = store.watch_from(kind, ns, rv)?;
    let ns = ns.map(String::from);
    let keep = move |e: &WatchEvent| {
        std::ptr::eq(e.resource, kind)
            && ns.as_deref().is_none_or(|ns| {
                e.object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    == Some(ns)
            })
            && labels.as_ref().is_none_or(|s| s.matches(&e.object))
            && fields.as_ref().is_none_or(|s| s.matches(&e.object))
    };
    let line = |e: &WatchEvent| {
        let mut s = serde_json::json!({"type": e.kind.as_str(), "object": &*e.object}).to_string();
        s.push('\n');
        Ok::<Bytes, std::io::Error>(Bytes::from(s))
    };
    let first: Vec<_> = backlog.iter().filter(|e| keep(e)).map(line).collect();
    let live = futures::stream::unfold(rx, move |mut rx: broadcast::Receiver<WatchEvent>| {
        let keep = keep.clone();
        async move {
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(e)) if keep(&e) => return Some((line(&e), rx)),
                    Ok(Ok(_)) => continue,
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) | Ok(Err(_)) | Err(_) => {
                        return None;
                    }
                }
            }
        }
    });
    let stream = futures::StreamExt::chain(futures::stream::iter(first), live);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}
