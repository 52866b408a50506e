//! Simulated Nova v2.1: servers (status, `OS-EXT-SRV-ATTR:host`, metadata,
//! tags), list filters, soft reboot (REBOOT → ACTIVE after a delay, and the
//! server ID sent on the reboots channel so the Kubernetes half of the lab
//! reboots the node), server tags, create and delete for canaries,
//! `limit`/`marker` pagination with `servers_links`, and the compute
//! services (`os-services`) a scenario seeds. Creates need `imageRef` and
//! `flavorRef`; a forced host (`availability_zone nova:<host>`) that is
//! unknown or down gives an ERROR server; tags need microversion 2.26
//! (`OpenStack-API-Version: compute 2.26`), as in Nova. Nova is
//! not in the real-services recipe: its behaviour follows the API reference
//! and has no real conformance target.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Req, empty, json_status, nova_error};
use super::{World, new_id, now_stamp};

/// Nova's state.
#[derive(Default)]
pub struct Nova {
    pub(crate) servers: BTreeMap<String, Value>,
    /// Compute services (`os-services`), as seeded (collection `os-services`).
    pub(crate) services: Vec<Value>,
    /// When each REBOOT / BUILD ends.
    pub(crate) deadlines: HashMap<String, Instant>,
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Moves servers whose REBOOT or BUILD is over to ACTIVE.
pub(crate) fn tick(w: &mut World, now: Instant) {
    let due: Vec<String> = w
        .nova
        .deadlines
        .iter()
        .filter(|(_, t)| **t <= now)
        .map(|(id, _)| id.clone())
        .collect();
    for id in due {
        w.nova.deadlines.remove(&id);
        if let Some(sv) = w.nova.servers.get_mut(&id) {
            sv["status"] = json!("ACTIVE");
            sv["OS-EXT-STS:task_state"] = Value::Null;
            sv["updated"] = json!(now_stamp());
        }
    }
}

/// Inserts a seeded server.
pub(crate) fn seed(n: &mut Nova, mut sv: Value) {
    for (k, v) in [
        ("status", json!("ACTIVE")),
        ("metadata", json!({})),
        ("tags", json!([])),
        ("OS-EXT-SRV-ATTR:host", json!("compute-0")),
    ] {
        if sv.get(k).is_none() {
            sv[k] = v;
        }
    }
    n.servers.insert(s(&sv["id"]).to_string(), sv);
}

/// Inserts a seeded compute service (`host`; `binary` nova-compute, enabled, up by default).
pub(crate) fn seed_service(n: &mut Nova, mut svc: Value) {
    for (k, v) in [
        ("binary", json!("nova-compute")),
        ("status", json!("enabled")),
        ("state", json!("up")),
        ("zone", json!("nova")),
    ] {
        if svc.get(k).is_none() {
            svc[k] = v;
        }
    }
    if svc.get("id").is_none() {
        svc["id"] = json!(new_id());
    }
    n.services.push(svc);
}

fn not_found(id: &str) -> Response {
    nova_error(
        StatusCode::NOT_FOUND,
        format!("Instance {id} could not be found."),
    )
}

/// Handles `/compute/...`.
pub(crate) fn handle(w: &mut World, req: &Req) -> Response {
    let segs = req.segs();
    let m = req.method.clone();
    let rest: Vec<&str> = match segs.as_slice() {
        ["v2.1", rest @ ..] => rest.to_vec(),
        _ => return nova_error(StatusCode::NOT_FOUND, "The resource could not be found."),
    };
    match (m, rest.as_slice()) {
        (Method::GET, ["servers" | "servers/detail"]) | (Method::GET, ["servers", "detail"]) => {
            list(w, req)
        }
        (Method::POST, ["servers"]) => create(w, req.body.as_ref().unwrap_or(&Value::Null)),
        (Method::GET, ["os-services"]) => {
            let items: Vec<&Value> = w
                .nova
                .services
                .iter()
                .filter(|sv| {
                    req.query.iter().all(|(k, v)| match k.as_str() {
                        "binary" | "host" => sv[k.as_str()] == v.as_str(),
                        _ => true,
                    })
                })
                .collect();
            json_status(StatusCode::OK, json!({"services": items}))
        }
        (Method::GET, ["servers", id]) => match w.nova.servers.get(*id) {
            Some(sv) => json_status(StatusCode::OK, json!({"server": sv})),
            None => not_found(id),
        },
        (Method::DELETE, ["servers", id]) => match w.nova.servers.remove(*id) {
            Some(_) => empty(StatusCode::NO_CONTENT),
            None => not_found(id),
        },
        (Method::POST, ["servers", id, "action"]) => {
            action(w, id, req.body.as_ref().unwrap_or(&Value::Null))
        }
        // Server tags came with microversion 2.26: older requests do not find them.
        (_, ["servers", _, "tags", ..]) if req.compute_version < (2, 26) => {
            nova_error(StatusCode::NOT_FOUND, "The resource could not be found.")
        }
        (Method::GET, ["servers", id, "tags"]) => match w.nova.servers.get(*id) {
            Some(sv) => json_status(StatusCode::OK, json!({"tags": sv["tags"]})),
            None => not_found(id),
        },
        (Method::PUT, ["servers", id, "tags", tag]) => {
            let Some(sv) = w.nova.servers.get_mut(*id) else {
                return not_found(id);
            };
            let tags = sv["tags"].as_array_mut().expect("tags");
            if tags.iter().any(|t| t == *tag) {
                empty(StatusCode::NO_CONTENT)
            } else {
                tags.push(json!(tag));
                empty(StatusCode::CREATED)
            }
        }
        _ => nova_error(StatusCode::NOT_FOUND, "The resource could not be found."),
    }
}

fn list(w: &World, req: &Req) -> Response {
    let limit = req
        .first("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let marker = req.first("marker");
    let items: Vec<Value> = w
        .nova
        .servers
        .values()
        .filter(|sv| marker.is_none_or(|m| s(&sv["id"]) > m))
        .filter(|sv| {
            req.query.iter().all(|(k, v)| match k.as_str() {
                "name" => s(&sv["name"]).contains(v.as_str()),
                "status" => sv["status"] == v.as_str(),
                "host" => sv["OS-EXT-SRV-ATTR:host"] == v.as_str(),
                "tags" => v.split(',').all(|t| {
                    sv["tags"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == t))
                }),
                "tags-any" => v.split(',').any(|t| {
                    sv["tags"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == t))
                }),
                _ => true,
            })
        })
        .take(limit.unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let mut body = json!({"servers": items});
    if let Some(limit) = limit
        && let Some(last) = items.last().filter(|_| items.len() == limit)
    {
        let keep: String = req
            .query
            .iter()
            .filter(|(q, _)| !["limit", "marker"].contains(&q.as_str()))
            .map(|(q, v)| format!("{q}={v}&"))
            .collect();
        body["servers_links"] = json!([{"rel": "next", "href": format!("{}/compute/v2.1/servers/detail?{keep}limit={limit}&marker={}", w.base_url, s(&last["id"]))}]);
    }
    json_status(StatusCode::OK, body)
}

fn create(w: &mut World, body: &Value) -> Response {
    let sv = &body["server"];
    let Some(name) = sv["name"].as_str() else {
        return nova_error(
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute server. 'name' is a required property",
        );
    };
    for field in ["imageRef", "flavorRef"] {
        if sv[field].as_str().is_none_or(str::is_empty) {
            return nova_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "Invalid input for field/attribute server. '{field}' is a required property"
                ),
            );
        }
    }
    let host = sv["availability_zone"]
        .as_str()
        .and_then(|z| z.split_once(':'))
        .map(|(_, h)| h.to_string())
        .unwrap_or_else(|| "compute-0".into());
    // A forced host skips the scheduler's filters, but an unknown host or a
    // compute service that is down never builds it: the server goes to ERROR.
    let service_up = w.nova.services.is_empty()
        || w.nova
            .services
            .iter()
            .any(|s| s["host"] == host.as_str() && s["state"] == "up");
    let id = new_id();
    let mut server = json!({"id": id, "name": name, "status": "BUILD", "OS-EXT-SRV-ATTR:host": host, "metadata": sv["metadata"].as_object().cloned().unwrap_or_default(),
        "tags": sv["tags"].as_array().cloned().unwrap_or_default(), "created": now_stamp(), "updated": now_stamp()});
    if service_up {
        w.nova
            .deadlines
            .insert(id.clone(), Instant::now() + w.cfg.reboot_delay);
    } else {
        server["status"] = json!("ERROR");
        server["OS-EXT-SRV-ATTR:host"] = Value::Null;
        server["fault"] = json!({"code": 500, "message": "No valid host was found. "});
    }
    w.nova.servers.insert(id.clone(), server);
    json_status(
        StatusCode::ACCEPTED,
        json!({"server": {"id": id, "links": []}}),
    )
}

fn action(w: &mut World, id: &str, body: &Value) -> Response {
    let Some(sv) = w.nova.servers.get_mut(id) else {
        return not_found(id);
    };
    if body.get("reboot").is_none() {
        return nova_error(StatusCode::BAD_REQUEST, "Unsupported server action.");
    }
    if sv["status"] != "ACTIVE" {
        return nova_error(
            StatusCode::CONFLICT,
            format!(
                "Cannot 'reboot' instance {id} while it is in task_state {}",
                s(&sv["status"]).to_lowercase()
            ),
        );
    }
    sv["status"] = json!(if body["reboot"]["type"] == "HARD" {
        "HARD_REBOOT"
    } else {
        "REBOOT"
    });
    sv["OS-EXT-STS:task_state"] = json!("rebooting");
    w.nova
        .deadlines
        .insert(id.to_string(), Instant::now() + w.cfg.reboot_delay);
    let _ = w.reboots.send(id.to_string());
    empty(StatusCode::ACCEPTED)
}
