//! Simulated Octavia v2: load balancers with listeners, pools and members,
//! tags (only when the advertised API version is ≥ 2.5, as in the real
//! service), `limit`/`marker` pagination, version discovery at the root, and
//! the provisioning life cycle: PENDING_CREATE → ACTIVE and PENDING_DELETE →
//! gone after configurable delays, 409 for changes while PENDING_*, cascade
//! delete, and the VIP port it makes in Neutron (`device_owner` `Octavia`).
//! A load balancer created with provider `noop_driver` stays PENDING_* for
//! ever, like Octavia's stock no-op provider in the real-services recipe.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Req, empty, json_status, octavia_error};
use super::neutron::matches_tags;
use super::neutron_ops::create_port;
use super::{World, new_id, now_stamp};

/// Octavia's state.
#[derive(Default)]
pub struct Octavia {
    pub(crate) lbs: BTreeMap<String, Value>,
    pub(crate) listeners: BTreeMap<String, Value>,
    pub(crate) pools: BTreeMap<String, Value>,
    pub(crate) members: BTreeMap<String, Value>,
    /// When each load balancer's PENDING_* state ends.
    pub(crate) deadlines: HashMap<String, Instant>,
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn ids(v: &[&Value]) -> Value {
    Value::Array(v.iter().map(|x| json!({"id": x["id"]})).collect())
}

/// Settles every load balancer whose deadline has passed.
pub(crate) fn tick(w: &mut World, now: Instant) {
    let due: Vec<String> = w
        .octavia
        .deadlines
        .iter()
        .filter(|(_, t)| **t <= now)
        .map(|(id, _)| id.clone())
        .collect();
    for id in due {
        w.octavia.deadlines.remove(&id);
        let Some(lb) = w.octavia.lbs.get(&id) else {
            continue;
        };
        if lb["provisioning_status"] == "PENDING_DELETE" {
            remove_lb(w, &id);
            continue;
        }
        let o = &mut w.octavia;
        for obj in std::iter::once(o.lbs.get_mut(&id).expect("lb"))
            .chain(
                o.listeners
                    .values_mut()
                    .filter(|l| l["loadbalancer_id"] == id.as_str()),
            )
            .chain(
                o.pools
                    .values_mut()
                    .filter(|p| p["loadbalancer_id"] == id.as_str()),
            )
            .chain(
                o.members
                    .values_mut()
                    .filter(|m| m["loadbalancer_id"] == id.as_str()),
            )
        {
            if s(&obj["provisioning_status"]).starts_with("PENDING_") {
                obj["provisioning_status"] = json!("ACTIVE");
                obj["operating_status"] = json!("ONLINE");
                obj["updated_at"] = json!(now_stamp());
            }
        }
    }
}

fn remove_lb(w: &mut World, id: &str) {
    let o = &mut w.octavia;
    let vip = o
        .lbs
        .remove(id)
        .map(|lb| s(&lb["vip_port_id"]).to_string())
        .unwrap_or_default();
    o.listeners.retain(|_, l| l["loadbalancer_id"] != id);
    o.pools.retain(|_, p| p["loadbalancer_id"] != id);
    o.members.retain(|_, m| m["loadbalancer_id"] != id);
    if !vip.is_empty() {
        w.neutron.coll("ports").remove(&vip);
    }
}

/// Inserts a seeded object (`loadbalancers`, `listeners`, `pools`, `members`); seeded load balancers are ACTIVE.
pub(crate) fn seed(o: &mut Octavia, coll: &str, mut item: Value) {
    for (k, v) in [
        ("provisioning_status", json!("ACTIVE")),
        ("operating_status", json!("ONLINE")),
        ("name", json!("")),
        ("description", json!("")),
        ("tags", json!([])),
    ] {
        if item.get(k).is_none() {
            item[k] = v;
        }
    }
    let id = s(&item["id"]).to_string();
    match coll {
        "loadbalancers" => {
            if item.get("provider").is_none() {
                item["provider"] = json!("amphora");
            }
            o.lbs.insert(id, item)
        }
        "listeners" => o.listeners.insert(id, item),
        "pools" => o.pools.insert(id, item),
        _ => o.members.insert(id, item),
    };
}

fn view_lb(o: &Octavia, lb: &Value, tags: bool) -> Value {
    let mut v = lb.clone();
    let id = s(&lb["id"]);
    v["listeners"] = ids(&o
        .listeners
        .values()
        .filter(|l| l["loadbalancer_id"] == id)
        .collect::<Vec<_>>());
    v["pools"] = ids(&o
        .pools
        .values()
        .filter(|p| p["loadbalancer_id"] == id)
        .collect::<Vec<_>>());
    if !tags {
        v.as_object_mut().map(|m| m.remove("tags"));
    }
    v
}

fn view_child(o: &Octavia, kind: &str, x: &Value) -> Value {
    let mut v = x.clone();
    let id = s(&x["id"]);
    v["loadbalancers"] = json!([{"id": x["loadbalancer_id"]}]);
    match kind {
        "listeners" => {
            let pool = o
                .pools
                .values()
                .find(|p| p["listener_id"] == id)
                .map(|p| p["id"].clone())
                .unwrap_or(Value::Null);
            v["default_pool_id"] = pool;
        }
        "pools" => {
            v["listeners"] = if x["listener_id"].is_null() {
                json!([])
            } else {
                json!([{"id": x["listener_id"]}])
            };
            v["members"] = ids(&o
                .members
                .values()
                .filter(|m| m["pool_id"] == id)
                .collect::<Vec<_>>());
        }
        _ => {}
    }
    v
}

fn supports_tags(w: &World) -> bool {
    w.cfg.octavia_max_version >= (2, 5)
}

/// Handles `/load-balancer/...`.
pub(crate) fn handle(w: &mut World, req: &Req) -> Response {
    let segs = req.segs();
    let m = req.method.clone();
    let segs: Vec<&str> = match segs.as_slice() {
        ["v2" | "v2.0", rest @ ..] => rest.to_vec(),
        [] if m == Method::GET => return versions(w),
        _ => return octavia_error(StatusCode::NOT_FOUND, "The resource could not be found."),
    };
    let body = req.body.clone().unwrap_or(Value::Null);
    match (m, segs.as_slice()) {
        (Method::GET, ["lbaas", "loadbalancers"]) => list(w, req, "loadbalancers"),
        (Method::POST, ["lbaas", "loadbalancers"]) => create_lb(w, &body),
        (Method::GET, ["lbaas", "loadbalancers", id]) => match w.octavia.lbs.get(*id) {
            Some(lb) => json_status(
                StatusCode::OK,
                json!({"loadbalancer": view_lb(&w.octavia, lb, supports_tags(w))}),
            ),
            None => octavia_error(
                StatusCode::NOT_FOUND,
                format!("Load Balancer {id} not found."),
            ),
        },
        (Method::DELETE, ["lbaas", "loadbalancers", id]) => delete_lb(
            w,
            id,
            req.first("cascade")
                .is_some_and(|c| c.eq_ignore_ascii_case("true")),
        ),
        (Method::GET, ["lbaas", kind @ ("listeners" | "pools")]) => list(w, req, kind),
        (Method::GET, ["lbaas", "pools", pool, "members"]) => {
            if !w.octavia.pools.contains_key(*pool) {
                return octavia_error(StatusCode::NOT_FOUND, format!("Pool {pool} not found."));
            }
            let members: Vec<Value> = w
                .octavia
                .members
                .values()
                .filter(|x| x["pool_id"] == *pool)
                .cloned()
                .collect();
            json_status(
                StatusCode::OK,
                json!({"members": members, "members_links": []}),
            )
        }
        (Method::GET, ["lbaas", kind @ ("listeners" | "pools"), id]) => {
            let (map, one, name) = match *kind {
                "listeners" => (&w.octavia.listeners, "listener", "Listener"),
                _ => (&w.octavia.pools, "pool", "Pool"),
            };
            match map.get(*id) {
                Some(x) => json_status(
                    StatusCode::OK,
                    json!({ one: view_child(&w.octavia, kind, x) }),
                ),
                None => octavia_error(StatusCode::NOT_FOUND, format!("{name} {id} not found.")),
            }
        }
        (Method::GET, ["lbaas", "pools", _pool, "members", id]) => match w.octavia.members.get(*id)
        {
            Some(x) => json_status(StatusCode::OK, json!({"member": x})),
            None => octavia_error(StatusCode::NOT_FOUND, format!("Member {id} not found.")),
        },
        (Method::POST, ["lbaas", "listeners"]) => {
            create_child(w, "listeners", body["listener"].clone())
        }
        (Method::POST, ["lbaas", "pools"]) => create_child(w, "pools", body["pool"].clone()),
        (Method::POST, ["lbaas", "pools", pool, "members"]) => {
            let mut m = body["member"].clone();
            m["pool_id"] = json!(pool);
            create_child(w, "members", m)
        }
        _ => octavia_error(StatusCode::NOT_FOUND, "The resource could not be found."),
    }
}

fn versions(w: &World) -> Response {
    let (major, max) = w.cfg.octavia_max_version;
    let v: Vec<Value> = (0..=max)
        .map(|minor| {
            json!({"id": format!("v{major}.{minor}"), "status": if minor == max { "CURRENT" } else { "SUPPORTED" },
                "updated": "2022-01-01T00:00:00Z", "links": [{"href": format!("{}/load-balancer/v2", w.base_url), "rel": "self"}]})
        })
        .collect();
    json_status(StatusCode::OK, json!({"versions": v}))
}

const LB_FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "provisioning_status",
    "operating_status",
    "vip_address",
    "vip_port_id",
    "vip_subnet_id",
    "vip_network_id",
    "provider",
    "project_id",
    "loadbalancer_id",
    "protocol",
    "protocol_port",
    "lb_algorithm",
    "listener_id",
];
const PAGING: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
];

fn list(w: &World, req: &Req, kind: &str) -> Response {
    let tags_ok = supports_tags(w);
    for (k, _) in &req.query {
        let is_tag = ["tags", "tags-any", "not-tags", "not-tags-any"].contains(&k.as_str());
        if !(LB_FILTERS.contains(&k.as_str())
            || PAGING.contains(&k.as_str())
            || (is_tag && tags_ok))
        {
            return octavia_error(
                StatusCode::BAD_REQUEST,
                "One or more arguments are either duplicate or invalid",
            );
        }
    }
    let o = &w.octavia;
    let all: Vec<Value> = match kind {
        "loadbalancers" => o.lbs.values().map(|lb| view_lb(o, lb, tags_ok)).collect(),
        "listeners" => o
            .listeners
            .values()
            .map(|x| view_child(o, kind, x))
            .collect(),
        _ => o.pools.values().map(|x| view_child(o, kind, x)).collect(),
    };
    let marker = req.first("marker");
    let limit = req
        .first("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let mut items: Vec<Value> = all
        .into_iter()
        .filter(|x| marker.is_none_or(|m| s(&x["id"]) > m))
        .filter(|x| {
            req.query
                .iter()
                .filter(|(k, _)| LB_FILTERS.contains(&k.as_str()))
                .all(|(k, v)| match &x[k.as_str()] {
                    Value::String(s) => s == v,
                    Value::Number(n) => n.to_string() == *v,
                    _ => false,
                })
        })
        .filter(|x| !tags_ok || kind != "loadbalancers" || matches_tags(x, req))
        .collect();
    let mut links = Vec::new();
    if let Some(limit) = limit
        && items.len() > limit
    {
        items.truncate(limit);
        let last = s(&items[limit - 1]["id"]).to_string();
        links.push(json!({"href": format!("{}/load-balancer/v2/lbaas/{kind}?limit={limit}&marker={last}", w.base_url), "rel": "next"}));
    }
    json_status(
        StatusCode::OK,
        json!({ kind: items, format!("{kind}_links"): links }),
    )
}

fn create_lb(w: &mut World, body: &Value) -> Response {
    let Some(mut lb) = body.get("loadbalancer").cloned().filter(Value::is_object) else {
        return octavia_error(
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute loadbalancer.",
        );
    };
    if lb.get("tags").is_some() && !supports_tags(w) {
        return octavia_error(
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute tags. Value: unknown attribute",
        );
    }
    let Some(subnet_id) = lb["vip_subnet_id"].as_str().map(str::to_string) else {
        return octavia_error(
            StatusCode::BAD_REQUEST,
            "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        );
    };
    let Some(subnet) = w.neutron.raw("subnets", &subnet_id).cloned() else {
        return octavia_error(
            StatusCode::BAD_REQUEST,
            format!("Validation failure: Subnet {subnet_id} not found."),
        );
    };
    let id = new_id();
    // The VIP address asked for, as Octavia allocates it (the restore asks for the old one).
    let mut fixed = json!({"subnet_id": subnet_id});
    if let Some(a) = lb["vip_address"].as_str() {
        fixed["ip_address"] = json!(a);
    }
    let port = match create_port(
        w,
        json!({"network_id": subnet["network_id"], "name": format!("octavia-lb-{id}"), "device_owner": "Octavia",
        "device_id": format!("lb-{id}"), "fixed_ips": [fixed], "security_groups": []}),
    ) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let provider = lb["provider"].as_str().unwrap_or("amphora").to_string();
    for (k, v) in [
        ("id", json!(id)),
        ("name", json!("")),
        ("description", json!("")),
        ("tags", json!([])),
        ("provider", json!(provider)),
        ("provisioning_status", json!("PENDING_CREATE")),
        ("operating_status", json!("OFFLINE")),
        ("vip_port_id", port["id"].clone()),
        ("vip_address", port["fixed_ips"][0]["ip_address"].clone()),
        ("vip_network_id", subnet["network_id"].clone()),
        ("project_id", json!(w.cfg.project_id)),
        ("admin_state_up", json!(true)),
        ("created_at", json!(now_stamp())),
        ("updated_at", Value::Null),
    ] {
        if lb.get(k).is_none() || k == "id" || k == "provisioning_status" {
            lb[k] = v;
        }
    }
    w.octavia.lbs.insert(id.clone(), lb.clone());
    if provider != "noop_driver" {
        w.octavia
            .deadlines
            .insert(id.clone(), Instant::now() + w.cfg.lb_create_delay);
    }
    json_status(
        StatusCode::CREATED,
        json!({"loadbalancer": view_lb(&w.octavia, &lb, supports_tags(w))}),
    )
}

fn immutable(w: &World, lb: &str) -> Option<Response> {
    match w.octavia.lbs.get(lb) {
        None => Some(octavia_error(
            StatusCode::BAD_REQUEST,
            format!("Validation failure: Load Balancer {lb} not found."),
        )),
        Some(x) if x["provisioning_status"] != "ACTIVE" => Some(octavia_error(
            StatusCode::CONFLICT,
            format!("Load Balancer {lb} is immutable and cannot be updated."),
        )),
        _ => None,
    }
}

fn create_child(w: &mut World, kind: &str, mut x: Value) -> Response {
    if !x.is_object() {
        return octavia_error(StatusCode::BAD_REQUEST, "Invalid input.");
    }
    let lb = match kind {
        "listeners" => s(&x["loadbalancer_id"]).to_string(),
        "pools" => match x["listener_id"].as_str() {
            Some(l) => w
                .octavia
                .listeners
                .get(l)
                .map(|l| s(&l["loadbalancer_id"]).to_string())
                .unwrap_or_default(),
            None => s(&x["loadbalancer_id"]).to_string(),
        },
        _ => match w.octavia.pools.get(s(&x["pool_id"])) {
            Some(p) => s(&p["loadbalancer_id"]).to_string(),
            None => {
                return octavia_error(
                    StatusCode::NOT_FOUND,
                    format!("Pool {} not found.", s(&x["pool_id"])),
                );
            }
        },
    };
    if let Some(r) = immutable(w, &lb) {
        return r;
    }
    let id = new_id();
    x["id"] = json!(id);
    x["loadbalancer_id"] = json!(lb);
    x["provisioning_status"] = json!("PENDING_CREATE");
    x["operating_status"] = json!("OFFLINE");
    x["project_id"] = json!(w.cfg.project_id);
    if x.get("name").is_none() {
        x["name"] = json!("");
    }
    if kind == "pools" && x.get("listener_id").is_none() {
        x["listener_id"] = Value::Null;
    }
    let map = match kind {
        "listeners" => &mut w.octavia.listeners,
        "pools" => &mut w.octavia.pools,
        _ => &mut w.octavia.members,
    };
    map.insert(id.clone(), x.clone());
    if let Some(l) = w.octavia.lbs.get_mut(&lb) {
        l["provisioning_status"] = json!("PENDING_UPDATE");
        if l["provider"] != "noop_driver" {
            w.octavia
                .deadlines
                .insert(lb, Instant::now() + w.cfg.lb_create_delay);
        }
    }
    let one = &kind[..kind.len() - 1];
    let shown = if kind == "members" {
        x
    } else {
        view_child(&w.octavia, kind, &x)
    };
    json_status(StatusCode::CREATED, json!({ one: shown }))
}

fn delete_lb(w: &mut World, id: &str, cascade: bool) -> Response {
    let Some(lb) = w.octavia.lbs.get(id) else {
        return octavia_error(
            StatusCode::NOT_FOUND,
            format!("Load Balancer {id} not found."),
        );
    };
    let status = s(&lb["provisioning_status"]).to_string();
    if status.starts_with("PENDING_") {
        return octavia_error(
            StatusCode::CONFLICT,
            format!("Invalid state {status} of loadbalancer resource {id}"),
        );
    }
    let has_children = w
        .octavia
        .listeners
        .values()
        .any(|l| l["loadbalancer_id"] == id)
        || w.octavia.pools.values().any(|p| p["loadbalancer_id"] == id);
    if has_children && !cascade {
        return octavia_error(
            StatusCode::BAD_REQUEST,
            format!("Cannot delete Load Balancer {id} - it has children"),
        );
    }
    let noop = lb["provider"] == "noop_driver";
    let lb = w.octavia.lbs.get_mut(id).expect("lb");
    lb["provisioning_status"] = json!("PENDING_DELETE");
    if !noop {
        w.octavia
            .deadlines
            .insert(id.to_string(), Instant::now() + w.cfg.lb_delete_delay);
    }
    empty(StatusCode::NO_CONTENT)
}
