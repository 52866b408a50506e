//! Request parsing and answer building shared by the simulated services.
//!
//! Every service is one function of a parsed [`Req`] (method, path segments
//! after the service prefix, query pairs, JSON body, token) returning an axum
//! response, so routing is a `match` on segments and the error bodies are
//! written once per service in the real service's format.

#![allow(clippy::result_large_err)] // the error is the answer to send

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One parsed request.
pub(crate) struct Req {
    pub method: Method,
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub token: Option<String>,
    /// The compute microversion asked for (`OpenStack-API-Version: compute X.Y`); 2.1 when none.
    pub compute_version: (u32, u32),
}

impl Req {
    /// Returns a request parsed from its parts; `rest` is the path after the service prefix.
    pub fn parse(
        method: Method,
        rest: &str,
        raw_query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Req, Response> {
        let segs = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(pct_decode)
            .collect();
        let query = raw_query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    pct_decode(&k.replace('+', " ")),
                    pct_decode(&v.replace('+', " ")),
                )
            })
            .collect();
        let body = if body.is_empty() {
            None
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => Some(v),
                Err(_) => {
                    return Err(json_status(
                        StatusCode::BAD_REQUEST,
                        json!({"NeutronError": {"type": "HTTPBadRequest", "message": "Malformed JSON in request body.", "detail": ""}}),
                    ));
                }
            }
        };
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let compute_version = headers
            .get("openstack-api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("compute "))
            .or_else(|| headers.get("x-openstack-nova-api-version")?.to_str().ok())
            .and_then(|v| {
                let (a, b) = v.trim().split_once('.')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .unwrap_or((2, 1));
        Ok(Req {
            method,
            segs,
            query,
            body,
            token,
            compute_version,
        })
    }

    /// Returns the segments as `&str`s, for matching.
    pub fn segs(&self) -> Vec<&str> {
        self.segs.iter().map(String::as_str).collect()
    }

    /// Returns every value of a query key (comma lists are not split).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Returns the first value of a query key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().next()
    }
}

/// Decodes `%XX` escapes.
pub(crate) fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Returns a JSON answer with a status.
pub(crate) fn json_status(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Returns an empty answer with a status.
pub(crate) fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// Returns the answer keystonemiddleware gives a bad or expired token.
pub(crate) fn unauthorized() -> Response {
    json_status(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
    )
}

/// Returns a Neutron error (`{"NeutronError": {type, message, detail}}`).
pub(crate) fn neutron_error(
    status: StatusCode,
    kind: &str,
    message: impl Into<String>,
) -> Response {
    json_status(
        status,
        json!({"NeutronError": {"type": kind, "message": message.into(), "detail": ""}}),
    )
}

/// Returns an Octavia error (`{"faultcode", "faultstring", "debuginfo"}`).
pub(crate) fn octavia_error(status: StatusCode, message: impl Into<String>) -> Response {
    let code = if status.is_server_error() {
        "Server"
    } else {
        "Client"
    };
    json_status(
        status,
        json!({"faultcode": code, "faultstring": message.into(), "debuginfo": null}),
    )
}

/// Returns a Nova error (`{"itemNotFound": {code, message}}` and friends).
pub(crate) fn nova_error(status: StatusCode, message: impl Into<String>) -> Response {
    let key = match status.as_u16() {
        404 => "itemNotFound",
        409 => "conflictingRequest",
        403 => "forbidden",
        _ => "badRequest",
    };
    json_status(
        status,
        json!({ key: {"code": status.as_u16(), "message": message.into()} }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compute_microversion_is_read_from_either_header_and_is_2_1_without() {
        let parse = |h: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in h {
                m.insert(*k, v.parse().unwrap());
            }
            Req::parse(Method::GET, "/v2.1/servers", None, &m, &Bytes::new())
                .ok()
                .unwrap()
                .compute_version
        };
        assert_eq!(parse(&[("openstack-api-version", "compute 2.26")]), (2, 26));
        assert_eq!(parse(&[("x-openstack-nova-api-version", "2.37")]), (2, 37));
        assert_eq!(parse(&[]), (2, 1));
        assert_eq!(parse(&[("openstack-api-version", "volume 3.5")]), (2, 1));
    }
}
