//! Neutron's quota API and its enforcement, as the real Neutron (Zed, the
//! `DbQuotaNoLockDriver`) answers them.
//!
//! `GET /v2.0/quotas` lists the projects with non-default limits;
//! `GET|PUT|DELETE /v2.0/quotas/{project}` reads, sets (integers, strings of
//! integers, -1 for unlimited) and resets them; `…/{project}/default` gives the
//! defaults and `…/{project}/details.json` the limit, use and reservations per
//! resource. A create that would take a project over a limit is a 409
//! `OverQuota` (`Quota exceeded for resources: ['security_group'].`). Seeded
//! scenarios get the limits a real Kuryr installation needs (see
//! [`fit_to_seeded`]), so a generated cluster is not over quota on its first call.

#![allow(clippy::result_large_err)] // the error is the answer to send

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::World;
use super::http::{empty, json_status, neutron_error};
use super::neutron::Neutron;

/// Neutron's default limits, in the order it answers them.
pub(crate) const DEFAULTS: &[(&str, i64)] = &[
    ("network", 100),
    ("subnet", 100),
    ("subnetpool", -1),
    ("port", 500),
    ("router", 10),
    ("floatingip", 50),
    ("rbac_policy", 10),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("trunk", -1),
];

/// Returns the quota resource counted for a Neutron collection.
fn resource_of(url: &str) -> Option<&'static str> {
    Some(match url {
        "networks" => "network",
        "subnets" => "subnet",
        "subnetpools" => "subnetpool",
        "ports" => "port",
        "routers" => "router",
        "floatingips" => "floatingip",
        "security-groups" => "security_group",
        "security-group-rules" => "security_group_rule",
        "trunks" => "trunk",
        _ => return None,
    })
}

fn collection_of(resource: &str) -> Option<&'static str> {
    [
        "networks",
        "subnets",
        "subnetpools",
        "ports",
        "routers",
        "floatingips",
        "security-groups",
        "security-group-rules",
        "trunks",
    ]
    .into_iter()
    .find(|c| resource_of(c) == Some(resource))
}

/// Returns a project's limits (defaults overlaid with its own).
pub(crate) fn limits(n: &Neutron, project: &str) -> Vec<(&'static str, i64)> {
    let own = n.quotas.get(project);
    DEFAULTS
        .iter()
        .map(|(r, d)| (*r, own.and_then(|o| o.get(*r)).copied().unwrap_or(*d)))
        .collect()
}

fn used(n: &Neutron, project: &str, resource: &str) -> i64 {
    collection_of(resource).map_or(0, |c| {
        n.iter(c).filter(|o| o["project_id"] == project).count() as i64
    })
}

/// Refuses a create that would take `project` over its limit for `url`.
pub(crate) fn check(n: &Neutron, url: &str, project: &str) -> Result<(), Response> {
    let Some(resource) = resource_of(url) else {
        return Ok(());
    };
    let limit = limits(n, project)
        .into_iter()
        .find(|(r, _)| *r == resource)
        .map_or(-1, |(_, l)| l);
    if limit >= 0 && used(n, project, resource) + 1 > limit {
        return Err(neutron_error(
            StatusCode::CONFLICT,
            "OverQuota",
            format!("Quota exceeded for resources: ['{resource}']."),
        ));
    }
    Ok(())
}

/// Raises a seeded project's limits to twice what it uses where the defaults
/// would not hold it, as an installation sized for Kuryr has them.
pub(crate) fn fit_to_seeded(n: &mut Neutron, project: &str) {
    for (resource, default) in DEFAULTS {
        let u = used(n, project, resource);
        if *default >= 0 && u > *default / 2 {
            n.quotas
                .entry(project.to_string())
                .or_default()
                .insert(resource.to_string(), (u * 2).max(*default));
        }
    }
}

fn as_map(limits: &[(&str, i64)]) -> Map<String, Value> {
    limits
        .iter()
        .map(|(r, l)| (r.to_string(), json!(l)))
        .collect()
}

fn parse_limit(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn update(n: &mut Neutron, project: &str, body: Option<&Value>) -> Response {
    let Some(fields) = body.and_then(|b| b.get("quota")).and_then(Value::as_object) else {
        return neutron_error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "Resource body required for quota",
        );
    };
    let unknown: Vec<String> = fields
        .keys()
        .filter(|k| !DEFAULTS.iter().any(|(r, _)| r == k))
        .map(|k| format!("'{k}'"))
        .collect();
    if !unknown.is_empty() {
        return neutron_error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            format!("Unrecognized attribute(s) {}", unknown.join(", ")),
        );
    }
    let mut parsed = BTreeMap::new();
    for (k, v) in fields {
        match parse_limit(v) {
            Some(l) if l >= -1 => {
                parsed.insert(k.clone(), l);
            }
            Some(l) => {
                return neutron_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    format!(
                        "Invalid input for operation: '{l}' is smaller than the minimum value '-1'."
                    ),
                );
            }
            None => {
                let shown = v.as_str().map_or_else(|| v.to_string(), String::from);
                return neutron_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    format!("Invalid input for operation: '{shown}' is not an integer."),
                );
            }
        }
    }
    n.quotas
        .entry(project.to_string())
        .or_default()
        .extend(parsed);
    json_status(
        StatusCode::OK,
        json!({"quota": as_map(&limits(n, project))}),
    )
}

/// Handles `/v2.0/quotas…` (`rest` is what follows `quotas`).
pub(crate) fn handle(
    w: &mut World,
    method: &Method,
    rest: &[&str],
    body: Option<&Value>,
) -> Response {
    let n = &mut w.neutron;
    match (method, rest) {
        (&Method::GET, []) => {
            let all: Vec<Value> = n
                .quotas
                .keys()
                .map(|p| {
                    let mut m = as_map(&limits(n, p));
                    m.insert("project_id".into(), json!(p));
                    m.insert("tenant_id".into(), json!(p));
                    Value::Object(m)
                })
                .collect();
            json_status(StatusCode::OK, json!({"quotas": all}))
        }
        (&Method::GET, [project]) => json_status(
            StatusCode::OK,
            json!({"quota": as_map(&limits(n, project))}),
        ),
        (&Method::GET, [_, "default"]) => {
            json_status(StatusCode::OK, json!({"quota": as_map(DEFAULTS)}))
        }
        (&Method::GET, [project, "details.json" | "details"]) => {
            let details: Map<String, Value> = limits(n, project)
                .into_iter()
                .map(|(r, l)| {
                    (
                        r.to_string(),
                        json!({"limit": l, "used": used(n, project, r), "reserved": 0}),
                    )
                })
                .collect();
            json_status(StatusCode::OK, json!({"quota": details}))
        }
        (&Method::PUT, [project]) => update(n, project, body),
        (&Method::DELETE, [project]) => match n.quotas.remove(*project) {
            Some(_) => empty(StatusCode::NO_CONTENT),
            None => neutron_error(
                StatusCode::NOT_FOUND,
                "TenantQuotaNotFound",
                format!("Quota for tenant {project} could not be found."),
            ),
        },
        _ => json_status(
            StatusCode::NOT_FOUND,
            json!("The resource could not be found."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_overlay_and_over_quota() {
        let mut n = Neutron::default();
        for i in 0..10 {
            n.seed(
                "security-groups",
                json!({"id": format!("sg{i}"), "project_id": "p", "name": format!("g{i}")}),
            );
        }
        assert!(check(&n, "security-groups", "p").is_err());
        assert!(check(&n, "security-groups", "other").is_ok());
        assert!(check(&n, "trunks", "p").is_ok(), "unlimited");
        n.quotas
            .entry("p".into())
            .or_default()
            .insert("security_group".into(), 11);
        assert!(check(&n, "security-groups", "p").is_ok());
        fit_to_seeded(&mut n, "p");
        let sg = limits(&n, "p")
            .into_iter()
            .find(|(r, _)| *r == "security_group")
            .unwrap()
            .1;
        assert_eq!(sg, 20);
    }
}
