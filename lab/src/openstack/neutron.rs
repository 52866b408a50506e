//! Simulated Neutron v2.0: a generic store of JSON objects per collection,
//! with Neutron's filters (attributes, `tags`, `tags-any`, `not-tags`,
//! `not-tags-any`; unknown attributes are a 400), `limit`/`marker` pagination
//! and `<resources>_links`, `fields=` (repeated) on lists and shows, the quota
//! API (`quota.rs`), tag sub-resources, and the per-resource rules
//! (defaults on create, what blocks a delete, trunk and router actions) in
//! `neutron_ops.rs`. Error types and messages are the ones the real Neutron
//! (Zed, ML2/OVS) gives, as measured by the conformance suite.

use std::collections::{BTreeMap, HashMap};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Req, empty, json_status, neutron_error};
use super::{World, neutron_ops as ops, quota};

/// One Neutron resource kind.
pub(crate) struct Kind {
    /// Collection in URLs (`security-groups`).
    pub url: &'static str,
    /// Singular key of one object (`security_group`).
    pub one: &'static str,
    /// Error type of a missing object.
    pub not_found: &'static str,
    /// Message of a missing object, `{}` is the ID.
    pub missing: &'static str,
    /// Attributes that may be used as filters.
    pub filters: &'static [&'static str],
}

const COMMON: [&str; 6] = [
    "id",
    "name",
    "description",
    "project_id",
    "tenant_id",
    "revision_number",
];

pub(crate) const KINDS: &[Kind] = &[
    Kind {
        url: "networks",
        one: "network",
        not_found: "NetworkNotFound",
        missing: "Network {} could not be found.",
        filters: &[
            "status",
            "admin_state_up",
            "shared",
            "mtu",
            "provider:network_type",
            "provider:physical_network",
            "provider:segmentation_id",
            "router:external",
            "port_security_enabled",
            "is_default",
        ],
    },
    Kind {
        url: "subnets",
        one: "subnet",
        not_found: "SubnetNotFound",
        missing: "Subnet {} could not be found.",
        filters: &[
            "network_id",
            "ip_version",
            "cidr",
            "gateway_ip",
            "enable_dhcp",
            "subnetpool_id",
            "ipv6_address_mode",
            "ipv6_ra_mode",
            "segment_id",
        ],
    },
    Kind {
        url: "ports",
        one: "port",
        not_found: "PortNotFound",
        missing: "Port {} could not be found.",
        filters: &[
            "network_id",
            "device_owner",
            "device_id",
            "mac_address",
            "status",
            "admin_state_up",
            "fixed_ips",
            "security_groups",
            "binding:vnic_type",
            "binding:host_id",
            "port_security_enabled",
        ],
    },
    Kind {
        url: "trunks",
        one: "trunk",
        not_found: "TrunkNotFound",
        missing: "Trunk {} could not be found.",
        filters: &["port_id", "status", "admin_state_up"],
    },
    Kind {
        url: "routers",
        one: "router",
        not_found: "RouterNotFound",
        missing: "Router {} could not be found",
        filters: &["status", "admin_state_up"],
    },
    Kind {
        url: "subnetpools",
        one: "subnetpool",
        not_found: "SubnetPoolNotFound",
        missing: "Subnet pool {} could not be found.",
        filters: &[
            "ip_version",
            "default_prefixlen",
            "shared",
            "is_default",
            "address_scope_id",
        ],
    },
    Kind {
        url: "security-groups",
        one: "security_group",
        not_found: "SecurityGroupNotFound",
        missing: "Security group {} does not exist",
        filters: &["stateful", "shared"],
    },
    Kind {
        url: "security-group-rules",
        one: "security_group_rule",
        not_found: "SecurityGroupRuleNotFound",
        missing: "Security group rule {} does not exist",
        filters: &[
            "security_group_id",
            "direction",
            "ethertype",
            "protocol",
            "port_range_min",
            "port_range_max",
            "remote_ip_prefix",
            "remote_group_id",
            "remote_address_group_id",
        ],
    },
    Kind {
        url: "floatingips",
        one: "floatingip",
        not_found: "FloatingIPNotFound",
        missing: "Floating IP {} could not be found",
        filters: &[
            "floating_ip_address",
            "floating_network_id",
            "port_id",
            "fixed_ip_address",
            "router_id",
            "status",
        ],
    },
    Kind {
        url: "address-groups",
        one: "address_group",
        not_found: "AddressGroupNotFound",
        missing: "Address group {} could not be found.",
        filters: &["addresses"],
    },
];

/// Returns the kind of a URL collection name.
pub(crate) fn kind(url: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.url == url)
}

/// Neutron's state: objects per URL collection, keyed (and so listed) by ID.
#[derive(Default)]
pub struct Neutron {
    pub(crate) colls: HashMap<&'static str, BTreeMap<String, Value>>,
    pub(crate) segmentation_id: u32,
    /// Per-project quota limits that differ from the defaults (`quota.rs`).
    pub(crate) quotas: BTreeMap<String, BTreeMap<String, i64>>,
    /// Extensions a scenario enabled beyond the defaults (seeded as collection `extensions`).
    pub(crate) extra_extensions: Vec<Value>,
}

impl Neutron {
    /// Returns a collection (created empty on first use).
    pub(crate) fn coll(&mut self, url: &str) -> &mut BTreeMap<String, Value> {
        let k = kind(url).map(|k| k.url).unwrap_or("unknown");
        self.colls.entry(k).or_default()
    }

    /// Returns a collection for reading.
    pub(crate) fn iter(&self, url: &str) -> impl Iterator<Item = &Value> {
        self.colls.get(url).into_iter().flat_map(|c| c.values())
    }

    /// Returns one raw object.
    pub(crate) fn raw(&self, url: &str, id: &str) -> Option<&Value> {
        self.colls.get(url).and_then(|c| c.get(id))
    }

    /// Returns every object of a collection as the API shows it.
    pub fn all(&self, url: &str) -> Vec<Value> {
        self.views(url, self.iter(url).collect())
    }

    /// Returns one object as the API shows it.
    pub fn get(&self, url: &str, id: &str) -> Option<Value> {
        self.raw(url, id).map(|o| self.view(url, o))
    }

    /// Inserts a seeded object, filling the fields a real create would.
    pub fn seed(&mut self, url: &str, obj: Value) {
        let url = url.replace('_', "-");
        if url == "extensions" {
            self.extra_extensions.push(obj);
            return;
        }
        let Some(k) = kind(&url) else { return };
        let obj = ops::fill_defaults(self, k, obj);
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        self.coll(k.url).insert(id, obj);
    }

    /// Returns an object with its computed fields (network subnets, group rules).
    pub(crate) fn view(&self, url: &str, o: &Value) -> Value {
        self.views(url, vec![o]).pop().expect("one in, one out")
    }

    /// Returns objects with their computed fields, indexing the children once
    /// (a page of 1,000 networks would otherwise scan every subnet 1,000 times).
    pub(crate) fn views(&self, url: &str, objs: Vec<&Value>) -> Vec<Value> {
        let (children, parent_key, field, whole) = match url {
            "networks" => ("subnets", "network_id", "subnets", false),
            "security-groups" => (
                "security-group-rules",
                "security_group_id",
                "security_group_rules",
                true,
            ),
            _ => return objs.into_iter().cloned().collect(),
        };
        let mut by_parent: HashMap<&str, Vec<Value>> = HashMap::new();
        for c in self.iter(children) {
            let child = if whole { c.clone() } else { c["id"].clone() };
            by_parent
                .entry(c[parent_key].as_str().unwrap_or_default())
                .or_default()
                .push(child);
        }
        objs.into_iter()
            .map(|o| {
                let mut o = o.clone();
                let id = o["id"].as_str().unwrap_or_default().to_string();
                o[field] = Value::Array(by_parent.get(id.as_str()).cloned().unwrap_or_default());
                o
            })
            .collect()
    }

    /// Returns the subnets of each network.
    pub(crate) fn subnets_by_network(&self) -> HashMap<&str, Vec<&Value>> {
        let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
        for s in self.iter("subnets") {
            out.entry(s["network_id"].as_str().unwrap_or_default())
                .or_default()
                .push(s);
        }
        out
    }
}

/// Returns the not-found answer of a kind.
pub(crate) fn not_found(k: &Kind, id: &str) -> Response {
    neutron_error(
        StatusCode::NOT_FOUND,
        k.not_found,
        k.missing.replace("{}", id),
    )
}

/// Handles `/network/...`.
pub(crate) fn handle(w: &mut World, req: &Req) -> Response {
    let segs = req.segs();
    let m = req.method.clone();
    match (m, segs.as_slice()) {
        (Method::GET, []) => json_status(
            StatusCode::OK,
            json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": format!("{}/network/v2.0/", w.base_url)}]}]}),
        ),
        (Method::GET, ["v2.0", "extensions"]) => {
            let mut all = ops::extensions();
            all.extend(w.neutron.extra_extensions.iter().cloned());
            json_status(StatusCode::OK, json!({"extensions": all}))
        }
        (Method::GET, ["v2.0", "network-ip-availabilities"]) => {
            let used = ops::used_ips(&w.neutron);
            let subnets = w.neutron.subnets_by_network();
            let limit = page_limit(req);
            let marker = req.first("marker");
            let all: Vec<Value> = w
                .neutron
                .iter("networks")
                .filter(|n| marker.is_none_or(|m| n["id"].as_str().unwrap_or_default() > m))
                .map(|n| ops::ip_availability(n, &subnets, &used))
                .filter(|a| matches_attrs(a, req))
                .take(limit.unwrap_or(usize::MAX))
                .collect();
            page(
                w,
                "network-ip-availabilities",
                "network_id",
                all,
                limit,
                req,
            )
        }
        (Method::GET, ["v2.0", "network-ip-availabilities", id]) => {
            match w.neutron.raw("networks", id) {
                Some(n) => json_status(
                    StatusCode::OK,
                    json!({"network_ip_availability": select_fields(ops::ip_availability(n, &w.neutron.subnets_by_network(), &ops::used_ips(&w.neutron)), req)}),
                ),
                None => not_found(&KINDS[0], id),
            }
        }
        (m, ["v2.0", "quotas", rest @ ..]) => quota::handle(w, &m, rest, req.body.as_ref()),
        (m, ["v2.0", coll, rest @ ..]) => {
            let Some(k) = kind(coll) else {
                return json_status(
                    StatusCode::NOT_FOUND,
                    json!("The resource could not be found."),
                );
            };
            match (m, rest) {
                (Method::GET, []) => list(w, k, req),
                (Method::POST, []) => ops::create(w, k, req.body.as_ref().unwrap_or(&Value::Null)),
                (Method::GET, [id]) => match w.neutron.get(k.url, id) {
                    Some(o) => json_status(StatusCode::OK, json!({ k.one: select_fields(o, req) })),
                    None => not_found(k, id),
                },
                (Method::PUT, [id]) => {
                    ops::update(w, k, id, req.body.as_ref().unwrap_or(&Value::Null))
                }
                (Method::DELETE, [id]) => ops::delete(w, k, id),
                (m, [id, "tags", tag @ ..]) => tags(w, k, id, &m, tag.first().copied(), req),
                (m, [id, action]) => ops::action(
                    w,
                    k,
                    id,
                    action,
                    &m,
                    req.body.as_ref().unwrap_or(&Value::Null),
                ),
                _ => json_status(
                    StatusCode::NOT_FOUND,
                    json!("The resource could not be found."),
                ),
            }
        }
        _ => json_status(
            StatusCode::NOT_FOUND,
            json!("The resource could not be found."),
        ),
    }
}

const SPECIAL: [&str; 10] = [
    "limit",
    "marker",
    "fields",
    "sort_key",
    "sort_dir",
    "page_reverse",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
];

fn list(w: &World, k: &Kind, req: &Req) -> Response {
    let bad: Vec<String> = req
        .query
        .iter()
        .map(|(key, _)| key.as_str())
        .filter(|key| !SPECIAL.contains(key) && !COMMON.contains(key) && !k.filters.contains(key))
        .map(|key| format!("'{key}'"))
        .collect();
    if !bad.is_empty() {
        return neutron_error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            format!("[{}] is invalid attribute for filtering", bad.join(", ")),
        );
    }
    let limit = page_limit(req);
    let marker = req.first("marker");
    let raw: Vec<&Value> = w
        .neutron
        .iter(k.url)
        .filter(|o| marker.is_none_or(|m| o["id"].as_str().unwrap_or_default() > m))
        .filter(|o| matches_attrs(o, req) && matches_tags(o, req))
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let items = w.neutron.views(k.url, raw);
    page(w, k.url, "id", items, limit, req)
}

/// Returns the `limit` of a list request (none, or 0: every item).
fn page_limit(req: &Req) -> Option<usize> {
    req.first("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
}

/// Returns one page of a listing, with `<collection>_links` when paginated:
/// `next` when the page is full, `previous` when a marker was given.
fn page(
    w: &World,
    url: &str,
    id_key: &str,
    items: Vec<Value>,
    limit: Option<usize>,
    req: &Req,
) -> Response {
    let marker = req.first("marker");
    let key = url.replace('-', "_");
    let ids: (Option<String>, Option<String>) = (
        items
            .first()
            .and_then(|o| o[id_key].as_str())
            .map(str::to_string),
        items
            .last()
            .and_then(|o| o[id_key].as_str())
            .map(str::to_string),
    );
    let count = items.len();
    let items: Vec<Value> = items.into_iter().map(|o| select_fields(o, req)).collect();
    let mut body = json!({ key.clone(): items });
    if let Some(limit) = limit {
        let keep: Vec<String> = req
            .query
            .iter()
            .filter(|(q, _)| !["limit", "marker", "page_reverse"].contains(&q.as_str()))
            .map(|(q, v)| format!("{q}={v}"))
            .collect();
        let base = format!(
            "{}/network/v2.0/{}?{}",
            w.base_url,
            url,
            keep.iter().map(|s| format!("{s}&")).collect::<String>()
        );
        let mut links = Vec::new();
        if let Some(last) = ids.1.filter(|_| count == limit) {
            links
                .push(json!({"rel": "next", "href": format!("{base}limit={limit}&marker={last}")}));
        }
        if let Some(first) = ids.0.filter(|_| marker.is_some()) {
            links.push(json!({"rel": "previous", "href": format!("{base}limit={limit}&marker={first}&page_reverse=True")}));
        }
        if !links.is_empty() {
            body[format!("{key}_links")] = Value::Array(links);
        }
    }
    json_status(StatusCode::OK, body)
}

/// Keeps only the attributes named by `fields=` (repeated; unknown names are
/// ignored, as Neutron does); without `fields=` the object is whole.
pub(crate) fn select_fields(o: Value, req: &Req) -> Value {
    let wanted: Vec<&str> = req
        .all("fields")
        .into_iter()
        .flat_map(|f| f.split(','))
        .filter(|f| !f.is_empty())
        .collect();
    match o {
        Value::Object(m) if !wanted.is_empty() => Value::Object(
            m.into_iter()
                .filter(|(k, _)| wanted.contains(&k.as_str()))
                .collect(),
        ),
        o => o,
    }
}

/// Returns true when a query value matches a JSON field.
fn value_matches(field: &Value, want: &str) -> bool {
    match field {
        Value::String(s) => s == want,
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == want,
        Value::Null => want.is_empty() || want == "None",
        Value::Array(items) => items.iter().any(|i| match (i, want.split_once('=')) {
            (Value::Object(o), Some((k, v))) => o.get(k).is_some_and(|x| value_matches(x, v)),
            (i, _) => value_matches(i, want),
        }),
        Value::Object(_) => false,
    }
}

/// Returns true when an object matches every attribute filter of the query (values of one key OR-ed).
fn matches_attrs(o: &Value, req: &Req) -> bool {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in &req.query {
        if !SPECIAL.contains(&k.as_str()) {
            by_key.entry(k).or_default().push(v);
        }
    }
    by_key.iter().all(|(k, wants)| {
        let field = if *k == "tenant_id" {
            &o["project_id"]
        } else {
            &o[*k]
        };
        wants.iter().any(|w| value_matches(field, w))
    })
}

/// Returns true when an object's tags satisfy `tags`, `tags-any`, `not-tags`, `not-tags-any`.
pub(crate) fn matches_tags(o: &Value, req: &Req) -> bool {
    let have: Vec<&str> = o["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let wanted = |key: &str| -> Vec<String> {
        req.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (all, any, not_all, not_any) = (
        wanted("tags"),
        wanted("tags-any"),
        wanted("not-tags"),
        wanted("not-tags-any"),
    );
    let has = |t: &String| have.contains(&t.as_str());
    (all.is_empty() || all.iter().all(has))
        && (any.is_empty() || any.iter().any(has))
        && (not_all.is_empty() || !not_all.iter().all(has))
        && (not_any.is_empty() || !not_any.iter().any(has))
}

fn tags(w: &mut World, k: &Kind, id: &str, m: &Method, tag: Option<&str>, req: &Req) -> Response {
    let Some(obj) = w.neutron.coll(k.url).get_mut(id) else {
        return neutron_error(
            StatusCode::NOT_FOUND,
            "TagResourceNotFound",
            format!("Resource {} {id} could not be found.", k.url),
        );
    };
    let mut tags: Vec<String> = obj["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let resp = match (m.clone(), tag) {
        (Method::GET, None) => return json_status(StatusCode::OK, json!({ "tags": tags })),
        (Method::PUT, None) => {
            let Some(new) = req.body.as_ref().and_then(|b| b["tags"].as_array()) else {
                return neutron_error(
                    StatusCode::BAD_REQUEST,
                    "HTTPBadRequest",
                    "Invalid input for tags. Reason: 'None' is not a list.",
                );
            };
            tags = new
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            json_status(StatusCode::OK, json!({ "tags": tags }))
        }
        (Method::DELETE, None) => {
            tags.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (Method::PUT, Some(t)) => {
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
            empty(StatusCode::CREATED)
        }
        (Method::GET, Some(t)) => {
            return if tags.iter().any(|x| x == t) {
                empty(StatusCode::NO_CONTENT)
            } else {
                neutron_error(
                    StatusCode::NOT_FOUND,
                    "TagNotFound",
                    format!("Tag {t} could not be found."),
                )
            };
        }
        (Method::DELETE, Some(t)) => {
            let before = tags.len();
            tags.retain(|x| x != t);
            if tags.len() == before {
                return neutron_error(
                    StatusCode::NOT_FOUND,
                    "TagNotFound",
                    format!("Tag {t} could not be found."),
                );
            }
            empty(StatusCode::NO_CONTENT)
        }
        _ => return json_status(StatusCode::METHOD_NOT_ALLOWED, json!("Method not allowed")),
    };
    obj["tags"] = json!(tags);
    ops::bump(obj);
    resp
}
