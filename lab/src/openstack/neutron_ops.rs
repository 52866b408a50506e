//! The per-resource rules of the simulated Neutron: defaults filled on
//! create, what blocks a delete (NetworkInUse, SubnetInUse, PortInUseAsSubPort,
//! ServicePortInUse, SecurityGroupInUse, RouterInUse, SubnetPoolDeleteError), the
//! trunk subport and router interface actions, IP allocation from subnets and
//! subnet pools, and network IP availability.

#![allow(clippy::result_large_err)] // the error is the answer to send

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::http::{empty, json_status, neutron_error};
use super::neutron::{KINDS, Kind, Neutron, kind, not_found};
use super::{World, new_id, now_stamp, quota, router_gateway};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Bumps `revision_number` and `updated_at`.
pub(crate) fn bump(o: &mut Value) {
    o["revision_number"] = json!(o["revision_number"].as_u64().unwrap_or(0) + 1);
    o["updated_at"] = json!(now_stamp());
}

fn set_default(o: &mut Value, key: &str, v: Value) {
    if o.get(key).is_none() {
        o[key] = v;
    }
}

/// Returns a parsed CIDR as (first address as u128, prefix length, is v6).
pub(crate) fn parse_cidr(cidr: &str) -> Option<(u128, u32, bool)> {
    let (a, p) = cidr.split_once('/')?;
    let ip: IpAddr = a.parse().ok()?;
    let p: u32 = p.parse().ok()?;
    Some(match ip {
        IpAddr::V4(v) => (u32::from(v) as u128, p, false),
        IpAddr::V6(v) => (u128::from(v), p, true),
    })
}

fn ip_string(n: u128, v6: bool) -> String {
    if v6 {
        std::net::Ipv6Addr::from(n).to_string()
    } else {
        std::net::Ipv4Addr::from(n as u32).to_string()
    }
}

fn ip_num(ip: &str) -> Option<u128> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v) => Some(u32::from(v) as u128),
        IpAddr::V6(v) => Some(u128::from(v)),
    }
}

/// Returns the first and last allocatable address of a subnet (v4 drops network and broadcast).
fn host_range(cidr: &str) -> Option<(u128, u128, bool)> {
    let (base, p, v6) = parse_cidr(cidr)?;
    let bits = if v6 { 128 } else { 32 };
    let size: u128 = if bits - p >= 127 {
        u128::MAX
    } else {
        1u128 << (bits - p)
    };
    let last = base.saturating_add(size - 1);
    Some(if v6 {
        (base + 1, last, true)
    } else {
        (base + 1, last.saturating_sub(1), false)
    })
}

/// Fills the fields a real create would set, keeping the ones given.
pub(crate) fn fill_defaults(n: &mut Neutron, k: &Kind, mut o: Value) -> Value {
    if !o.is_object() {
        o = json!({});
    }
    set_default(&mut o, "id", json!(new_id()));
    set_default(&mut o, "name", json!(""));
    set_default(&mut o, "description", json!(""));
    set_default(&mut o, "tags", json!([]));
    set_default(&mut o, "revision_number", json!(0));
    set_default(&mut o, "created_at", json!(now_stamp()));
    set_default(&mut o, "updated_at", json!(now_stamp()));
    let project = o["project_id"].clone();
    set_default(&mut o, "tenant_id", project);
    match k.url {
        "networks" => {
            let ty = o["provider:network_type"]
                .as_str()
                .unwrap_or("vxlan")
                .to_string();
            set_default(&mut o, "provider:network_type", json!(ty));
            set_default(
                &mut o,
                "mtu",
                json!(if ty == "vxlan" {
                    1450
                } else if ty == "geneve" {
                    1442
                } else {
                    1500
                }),
            );
            n.segmentation_id += 1;
            let seg = n.segmentation_id;
            set_default(
                &mut o,
                "provider:segmentation_id",
                if ty == "flat" {
                    Value::Null
                } else {
                    json!(seg)
                },
            );
            set_default(&mut o, "provider:physical_network", Value::Null);
            set_default(&mut o, "router:external", json!(false));
            set_default(&mut o, "port_security_enabled", json!(true));
            set_default(&mut o, "admin_state_up", json!(true));
            set_default(&mut o, "shared", json!(false));
            set_default(&mut o, "status", json!("ACTIVE"));
        }
        "subnets" => {
            let cidr = s(&o["cidr"]).to_string();
            let v6 = parse_cidr(&cidr).is_some_and(|c| c.2);
            set_default(&mut o, "ip_version", json!(if v6 { 6 } else { 4 }));
            if let Some((first, last, v6)) = host_range(&cidr) {
                set_default(&mut o, "gateway_ip", json!(ip_string(first, v6)));
                let gw = ip_num(s(&o["gateway_ip"]));
                let start = if gw == Some(first) { first + 1 } else { first };
                set_default(
                    &mut o,
                    "allocation_pools",
                    json!([{"start": ip_string(start, v6), "end": ip_string(last, v6)}]),
                );
            }
            set_default(&mut o, "enable_dhcp", json!(true));
            set_default(&mut o, "dns_nameservers", json!([]));
            set_default(&mut o, "host_routes", json!([]));
            set_default(&mut o, "subnetpool_id", Value::Null);
            set_default(&mut o, "ipv6_address_mode", Value::Null);
            set_default(&mut o, "ipv6_ra_mode", Value::Null);
        }
        "ports" => {
            let b: [u8; 3] = rand::random();
            set_default(
                &mut o,
                "mac_address",
                json!(format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])),
            );
            set_default(&mut o, "device_owner", json!(""));
            set_default(&mut o, "device_id", json!(""));
            set_default(&mut o, "status", json!("DOWN"));
            set_default(&mut o, "admin_state_up", json!(true));
            set_default(&mut o, "fixed_ips", json!([]));
            set_default(&mut o, "binding:vnic_type", json!("normal"));
            set_default(&mut o, "binding:host_id", json!(""));
            set_default(&mut o, "binding:profile", json!({}));
            set_default(&mut o, "allowed_address_pairs", json!([]));
            let net_ps = n
                .raw("networks", s(&o["network_id"]))
                .map(|x| x["port_security_enabled"].clone())
                .unwrap_or(json!(true));
            set_default(&mut o, "port_security_enabled", net_ps);
            set_default(&mut o, "security_groups", json!([]));
        }
        "trunks" => {
            set_default(&mut o, "sub_ports", json!([]));
            set_default(&mut o, "status", json!("DOWN"));
            set_default(&mut o, "admin_state_up", json!(true));
        }
        "routers" => {
            set_default(&mut o, "external_gateway_info", Value::Null);
            set_default(&mut o, "status", json!("ACTIVE"));
            set_default(&mut o, "admin_state_up", json!(true));
            set_default(&mut o, "routes", json!([]));
            // As the real router plugin (l3_agent_scheduler, dvr, l3-ha) shows them.
            set_default(&mut o, "availability_zones", json!([]));
            set_default(&mut o, "availability_zone_hints", json!([]));
            set_default(&mut o, "distributed", json!(false));
            set_default(&mut o, "ha", json!(false));
            set_default(&mut o, "flavor_id", Value::Null);
        }
        "subnetpools" => {
            let v6 = o["prefixes"]
                .as_array()
                .and_then(|p| p.first())
                .and_then(|p| p.as_str())
                .and_then(parse_cidr)
                .is_some_and(|c| c.2);
            set_default(&mut o, "ip_version", json!(if v6 { 6 } else { 4 }));
            set_default(&mut o, "prefixes", json!([]));
            set_default(&mut o, "default_prefixlen", json!(if v6 { 64 } else { 8 }));
            // The real Neutron answers prefix lengths of pools as strings.
            for f in ["default_prefixlen", "min_prefixlen", "max_prefixlen"] {
                if let Some(n) = o[f].as_u64() {
                    o[f] = json!(n.to_string());
                }
            }
            set_default(&mut o, "shared", json!(false));
            set_default(&mut o, "is_default", json!(false));
        }
        "security-groups" => {
            set_default(&mut o, "stateful", json!(true));
            set_default(&mut o, "shared", json!(false));
            o.as_object_mut().map(|m| m.remove("security_group_rules"));
        }
        "security-group-rules" => {
            for f in [
                "protocol",
                "port_range_min",
                "port_range_max",
                "remote_ip_prefix",
                "remote_group_id",
                "remote_address_group_id",
                "description",
            ] {
                set_default(&mut o, f, Value::Null);
            }
            set_default(&mut o, "ethertype", json!("IPv4"));
            set_default(&mut o, "direction", json!("ingress"));
        }
        "floatingips" => {
            set_default(&mut o, "port_id", Value::Null);
            set_default(&mut o, "fixed_ip_address", Value::Null);
            set_default(&mut o, "router_id", Value::Null);
            let st = if o["port_id"].is_null() {
                "DOWN"
            } else {
                "ACTIVE"
            };
            set_default(&mut o, "status", json!(st));
        }
        _ => {}
    }
    o
}

/// Returns the next free address of a subnet, if any.
fn allocate_ip(n: &Neutron, subnet: &Value) -> Option<String> {
    let (first, last, v6) = host_range(s(&subnet["cidr"]))?;
    let sid = s(&subnet["id"]);
    let mut used: HashSet<u128> = n
        .iter("ports")
        .flat_map(|p| p["fixed_ips"].as_array().into_iter().flatten())
        .filter(|f| f["subnet_id"] == sid)
        .filter_map(|f| ip_num(s(&f["ip_address"])))
        .collect();
    if let Some(gw) = ip_num(s(&subnet["gateway_ip"])) {
        used.insert(gw);
    }
    (first..=last.min(first + 1_000_000))
        .find(|i| !used.contains(i))
        .map(|i| ip_string(i, v6))
}

/// Returns the next free prefix of `len` bits in a subnet pool.
fn allocate_prefix(n: &Neutron, pool: &Value, len: u32) -> Option<String> {
    // Only the pool's own allocations count: two pools outside an address
    // scope may hand out overlapping prefixes, as in Neutron.
    let taken: Vec<(u128, u128)> = n
        .iter("subnets")
        .filter(|sn| sn["subnetpool_id"] == pool["id"])
        .filter_map(|sn| parse_cidr(s(&sn["cidr"])))
        .map(|(b, p, v6)| {
            let bits = if v6 { 128 } else { 32 };
            (b, b + ((1u128 << (bits - p).min(127)) - 1))
        })
        .collect();
    for prefix in pool["prefixes"].as_array()? {
        let (base, p, v6) = parse_cidr(s(prefix))?;
        let bits = if v6 { 128 } else { 32 };
        if len < p || len > bits {
            continue;
        }
        let step = 1u128 << (bits - len).min(127);
        let end = base + (1u128 << (bits - p).min(127));
        let mut at = base;
        while at < end {
            let hi = at + step - 1;
            if !taken.iter().any(|(a, b)| at <= *b && *a <= hi) {
                return Some(format!("{}/{len}", ip_string(at, v6)));
            }
            at += step;
        }
    }
    None
}

fn bad(msg: impl Into<String>) -> Response {
    neutron_error(StatusCode::BAD_REQUEST, "HTTPBadRequest", msg)
}

/// Returns the project's `default` security group, creating it as Neutron does on first use.
fn default_sg(w: &mut World) -> String {
    let project = w.cfg.project_id.clone();
    if let Some(sg) = w
        .neutron
        .iter("security-groups")
        .find(|g| g["name"] == "default" && g["project_id"] == project.as_str())
    {
        return s(&sg["id"]).to_string();
    }
    let k = kind("security-groups").expect("kind");
    let sg = fill_defaults(
        &mut w.neutron,
        k,
        json!({"name": "default", "description": "Default security group", "project_id": project}),
    );
    let id = s(&sg["id"]).to_string();
    w.neutron.coll("security-groups").insert(id.clone(), sg);
    for (dir, eth, remote) in [
        ("ingress", "IPv4", json!(id)),
        ("ingress", "IPv6", json!(id)),
        ("egress", "IPv4", Value::Null),
        ("egress", "IPv6", Value::Null),
    ] {
        add_rule(
            w,
            json!({"security_group_id": id, "direction": dir, "ethertype": eth, "remote_group_id": remote, "project_id": project}),
        );
    }
    id
}

fn add_rule(w: &mut World, rule: Value) -> Value {
    let k = kind("security-group-rules").expect("kind");
    let r = fill_defaults(&mut w.neutron, k, rule);
    w.neutron
        .coll("security-group-rules")
        .insert(s(&r["id"]).to_string(), r.clone());
    r
}

/// Handles `POST /v2.0/<collection>`.
pub(crate) fn create(w: &mut World, k: &Kind, body: &Value) -> Response {
    match create_object(w, k, body) {
        Ok(o) => json_status(StatusCode::CREATED, json!({ k.one: o })),
        Err(r) => r,
    }
}

/// Creates an object and returns it as the API shows it.
pub(crate) fn create_object(w: &mut World, k: &Kind, body: &Value) -> Result<Value, Response> {
    let Some(mut o) = body.get(k.one).cloned().filter(Value::is_object) else {
        return Err(bad(format!("Resource body required for {}", k.one)));
    };
    if o.get("tags").is_some() && k.url != "ports" {
        return Err(bad("Attribute 'tags' not allowed in POST"));
    }
    if o.get("project_id").is_none() {
        o["project_id"] = json!(w.cfg.project_id);
    }
    quota::check(&w.neutron, k.url, s(&o["project_id"]))?;
    let need_net = |w: &World, o: &Value| -> Result<Value, Response> {
        let id = s(&o["network_id"]);
        w.neutron
            .raw("networks", id)
            .cloned()
            .ok_or_else(|| not_found(&KINDS[0], id))
    };
    match k.url {
        "subnets" => {
            need_net(w, &o)?;
            if o["cidr"].is_null() {
                let pool_id = s(&o["subnetpool_id"]).to_string();
                let Some(pool) = w.neutron.raw("subnetpools", &pool_id).cloned() else {
                    return Err(bad(
                        "a cidr must be specified in the absence of a subnet pool",
                    ));
                };
                let len = o["prefixlen"]
                    .as_u64()
                    .map(|l| l as u32)
                    .or(pool["default_prefixlen"]
                        .as_str()
                        .and_then(|l| l.parse().ok()))
                    .unwrap_or(24);
                let Some(cidr) = allocate_prefix(&w.neutron, &pool, len) else {
                    return Err(neutron_error(
                        StatusCode::CONFLICT,
                        "SubnetAllocationError",
                        "Failed to allocate subnet: Insufficient prefix space to allocate subnet size.",
                    ));
                };
                o["cidr"] = json!(cidr);
                o.as_object_mut().map(|m| m.remove("prefixlen"));
            }
            if parse_cidr(s(&o["cidr"])).is_none() {
                return Err(bad(format!(
                    "Invalid input for cidr. Reason: '{}' is not a valid IP subnet.",
                    s(&o["cidr"])
                )));
            }
        }
        "ports" => {
            let net = need_net(w, &o)?;
            let subnets: Vec<Value> = w
                .neutron
                .iter("subnets")
                .filter(|sn| sn["network_id"] == net["id"])
                .cloned()
                .collect();
            let mut ips = Vec::new();
            let asked: Vec<Value> = o["fixed_ips"].as_array().cloned().unwrap_or_else(|| {
                subnets
                    .iter()
                    .map(|sn| json!({"subnet_id": sn["id"]}))
                    .collect()
            });
            for f in asked {
                let sid = s(&f["subnet_id"]).to_string();
                let Some(sn) = subnets.iter().find(|sn| sn["id"] == sid.as_str()) else {
                    return Err(not_found(&KINDS[1], &sid));
                };
                let ip = match f["ip_address"].as_str() {
                    Some(ip) => ip.to_string(),
                    None => match allocate_ip(&w.neutron, sn) {
                        Some(ip) => ip,
                        None => {
                            return Err(neutron_error(
                                StatusCode::CONFLICT,
                                "IpAddressGenerationFailure",
                                format!(
                                    "No more IP addresses available on network {}.",
                                    s(&net["id"])
                                ),
                            ));
                        }
                    },
                };
                ips.push(json!({"subnet_id": sid, "ip_address": ip}));
            }
            o["fixed_ips"] = json!(ips);
            let ps = o["port_security_enabled"]
                .as_bool()
                .unwrap_or(net["port_security_enabled"].as_bool().unwrap_or(true));
            if o["security_groups"].is_null()
                && ps
                && !s(&o["device_owner"]).starts_with("network:")
            {
                o["security_groups"] = json!([default_sg(w)]);
            }
            for sg in o["security_groups"].as_array().cloned().unwrap_or_default() {
                if w.neutron.raw("security-groups", s(&sg)).is_none() {
                    return Err(not_found(&KINDS[6], s(&sg)));
                }
            }
        }
        "trunks" => {
            let parent = s(&o["port_id"]).to_string();
            if w.neutron.raw("ports", &parent).is_none() {
                return Err(not_found(&KINDS[2], &parent));
            }
            let subs = o["sub_ports"].as_array().cloned().unwrap_or_default();
            let ids: Vec<&str> = std::iter::once(parent.as_str())
                .chain(subs.iter().map(|x| s(&x["port_id"])))
                .collect();
            check_trunk_ports(w, &ids)?;
        }
        "security-group-rules" => {
            let sg = s(&o["security_group_id"]).to_string();
            if w.neutron.raw("security-groups", &sg).is_none() {
                return Err(not_found(&KINDS[6], &sg));
            }
            let k2 = kind("security-group-rules").expect("kind");
            let cand = fill_defaults(&mut w.neutron, k2, o.clone());
            let same = |r: &Value| {
                [
                    "security_group_id",
                    "direction",
                    "ethertype",
                    "protocol",
                    "port_range_min",
                    "port_range_max",
                    "remote_ip_prefix",
                    "remote_group_id",
                    "remote_address_group_id",
                ]
                .iter()
                .all(|f| r[*f] == cand[*f])
            };
            if let Some(dup) = w.neutron.iter("security-group-rules").find(|r| same(r)) {
                return Err(neutron_error(
                    StatusCode::CONFLICT,
                    "SecurityGroupRuleExists",
                    format!(
                        "Security group rule already exists. Rule id is {}.",
                        s(&dup["id"])
                    ),
                ));
            }
        }
        "routers" => {
            let gw = o["external_gateway_info"].clone();
            o.as_object_mut().map(|m| m.remove("external_gateway_info"));
            let r = fill_defaults(&mut w.neutron, k, o);
            let id = s(&r["id"]).to_string();
            w.neutron.coll(k.url).insert(id.clone(), r);
            if let Err(e) = router_gateway::set(w, &id, &gw) {
                w.neutron.coll(k.url).remove(&id);
                return Err(e);
            }
            return Ok(w.neutron.get(k.url, &id).unwrap_or_default());
        }
        "security-groups" => {
            let mut sg = fill_defaults(&mut w.neutron, k, o);
            let id = s(&sg["id"]).to_string();
            let project = sg["project_id"].clone();
            w.neutron.coll(k.url).insert(id.clone(), sg.clone());
            for eth in ["IPv4", "IPv6"] {
                add_rule(
                    w,
                    json!({"security_group_id": id, "direction": "egress", "ethertype": eth, "project_id": project}),
                );
            }
            sg = w.neutron.get(k.url, &id).unwrap_or(sg);
            return Ok(sg);
        }
        "floatingips" => {
            let net = match w
                .neutron
                .raw("networks", s(&o["floating_network_id"]))
                .cloned()
            {
                Some(n) => n,
                None => return Err(not_found(&KINDS[0], s(&o["floating_network_id"]))),
            };
            if net["router:external"] != json!(true) {
                return Err(bad(format!(
                    "Bad floatingip request: Network {} is not a valid external network.",
                    s(&net["id"])
                )));
            }
            let fip_id = new_id();
            let mut port_body = json!({"network_id": net["id"], "device_owner": "network:floatingip", "device_id": fip_id, "project_id": ""});
            // The address asked for, as real Neutron allocates it (the restore asks for the old one).
            if let Some(addr) = o["floating_ip_address"].as_str().and_then(|a| {
                let n = ip_num(a)?;
                let sub = w.neutron.iter("subnets").find(|sn| {
                    sn["network_id"] == net["id"]
                        && parse_cidr(s(&sn["cidr"])).is_some_and(|(base, p, v6)| {
                            let bits = if v6 { 128 } else { 32 };
                            let shift = bits - p.min(bits);
                            shift >= 128 || (n >> shift) == (base >> shift)
                        })
                })?;
                Some(json!([{"subnet_id": sub["id"], "ip_address": a}]))
            }) {
                port_body["fixed_ips"] = addr;
            }
            let port = create_port(w, port_body)?;
            o["id"] = json!(fip_id);
            o["floating_ip_address"] = port["fixed_ips"][0]["ip_address"].clone();
            if let Some(pid) = o["port_id"].as_str() {
                match w.neutron.raw("ports", pid) {
                    Some(p) => o["fixed_ip_address"] = p["fixed_ips"][0]["ip_address"].clone(),
                    None => return Err(not_found(&KINDS[2], pid)),
                }
            }
        }
        _ => {}
    }
    let o = fill_defaults(&mut w.neutron, k, o);
    let id = s(&o["id"]).to_string();
    w.neutron.coll(k.url).insert(id.clone(), o);
    Ok(w.neutron.get(k.url, &id).unwrap_or_default())
}

/// Creates a port internally (router interfaces, floating IPs, Octavia VIPs).
pub(crate) fn create_port(w: &mut World, port: Value) -> Result<Value, Response> {
    create_object(w, kind("ports").expect("kind"), &json!({ "port": port }))
}

/// Returns a 409 when a port is already a trunk parent or subport.
fn check_trunk_ports(w: &World, ids: &[&str]) -> Result<(), Response> {
    for id in ids {
        if w.neutron.raw("ports", id).is_none() {
            return Err(not_found(&KINDS[2], id));
        }
        let used = w.neutron.iter("trunks").any(|t| {
            t["port_id"] == *id
                || t["sub_ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|sp| sp["port_id"] == *id)
        });
        if used {
            return Err(neutron_error(
                StatusCode::CONFLICT,
                "TrunkPortInUse",
                format!("Port {id} is in use by another trunk."),
            ));
        }
    }
    Ok(())
}

/// Handles `PUT /v2.0/<collection>/<id>`.
pub(crate) fn update(w: &mut World, k: &Kind, id: &str, body: &Value) -> Response {
    let Some(fields) = body.get(k.one).and_then(Value::as_object).cloned() else {
        return bad(format!("Resource body required for {}", k.one));
    };
    for ro in [
        "id",
        "project_id",
        "tenant_id",
        "network_id",
        "cidr",
        "tags",
        "created_at",
    ] {
        if fields.contains_key(ro) {
            return bad(format!("Cannot update read-only attribute {ro}"));
        }
    }
    if let Some(sgs) = fields.get("security_groups").and_then(Value::as_array) {
        for sg in sgs {
            if w.neutron.raw("security-groups", s(sg)).is_none() {
                return not_found(&KINDS[6], s(sg));
            }
        }
    }
    if w.neutron.raw(k.url, id).is_none() {
        return not_found(k, id);
    }
    let mut fields = fields;
    if k.url == "routers"
        && let Some(gw) = fields.remove("external_gateway_info")
        && let Err(e) = router_gateway::set(w, id, &gw)
    {
        return e;
    }
    let o = w.neutron.coll(k.url).get_mut(id).expect("checked");
    for (f, v) in fields {
        o[f.as_str()] = v;
    }
    bump(o);
    json_status(StatusCode::OK, json!({ k.one: w.neutron.get(k.url, id) }))
}

fn in_use(kind: &str, msg: String) -> Response {
    neutron_error(StatusCode::CONFLICT, kind, msg)
}

/// Handles `DELETE /v2.0/<collection>/<id>`.
pub(crate) fn delete(w: &mut World, k: &Kind, id: &str) -> Response {
    let Some(obj) = w.neutron.raw(k.url, id).cloned() else {
        return not_found(k, id);
    };
    let n = &w.neutron;
    match k.url {
        "networks" => {
            let auto =
                |p: &Value| ["network:dhcp", "network:floatingip"].contains(&s(&p["device_owner"]));
            let ports: Vec<String> = n
                .iter("ports")
                .filter(|p| p["network_id"] == id && !auto(p))
                .map(|p| s(&p["id"]).to_string())
                .collect();
            if !ports.is_empty() {
                return in_use(
                    "NetworkInUse",
                    format!(
                        "Unable to complete operation on network {id}. There are one or more ports still in use on the network, id for these ports is: {}.",
                        ports.join(",")
                    ),
                );
            }
            let subnets: Vec<String> = n
                .iter("subnets")
                .filter(|x| x["network_id"] == id)
                .map(|x| s(&x["id"]).to_string())
                .collect();
            let dhcp: Vec<String> = n
                .iter("ports")
                .filter(|p| p["network_id"] == id)
                .map(|p| s(&p["id"]).to_string())
                .collect();
            for sid in subnets {
                w.neutron.coll("subnets").remove(&sid);
            }
            for pid in dhcp {
                w.neutron.coll("ports").remove(&pid);
            }
            w.neutron
                .coll("floatingips")
                .retain(|_, f| f["floating_network_id"] != id);
        }
        "subnets" => {
            let used = n.iter("ports").any(|p| {
                p["device_owner"] != "network:dhcp"
                    && p["fixed_ips"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|f| f["subnet_id"] == id)
            });
            if used {
                return in_use(
                    "SubnetInUse",
                    format!(
                        "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
                    ),
                );
            }
        }
        "ports" => {
            let owner = s(&obj["device_owner"]);
            if [
                "network:router_interface",
                "network:router_gateway",
                "network:floatingip",
                "network:router_interface_distributed",
                "network:ha_router_replicated_interface",
            ]
            .contains(&owner)
            {
                return in_use(
                    "ServicePortInUse",
                    format!(
                        "Port {id} cannot be deleted directly via the port API: has device owner {owner}."
                    ),
                );
            }
            if let Some(t) = n.iter("trunks").find(|t| t["port_id"] == id) {
                return in_use(
                    "PortInUseAsTrunkParent",
                    format!(
                        "Port {id} is currently a parent port for trunk {}.",
                        s(&t["id"])
                    ),
                );
            }
            if let Some(t) = n.iter("trunks").find(|t| {
                t["sub_ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|sp| sp["port_id"] == id)
            }) {
                return in_use(
                    "PortInUseAsSubPort",
                    format!(
                        "Port {id} is currently a subport for trunk {}.",
                        s(&t["id"])
                    ),
                );
            }
            for fip in w.neutron.coll("floatingips").values_mut() {
                if fip["port_id"] == id {
                    fip["port_id"] = Value::Null;
                    fip["fixed_ip_address"] = Value::Null;
                    fip["status"] = json!("DOWN");
                }
            }
        }
        "routers" => {
            let ports: Vec<String> = n
                .iter("ports")
                .filter(|p| {
                    p["device_id"] == id
                        && s(&p["device_owner"]).starts_with("network:router_interface")
                })
                .map(|p| s(&p["id"]).to_string())
                .collect();
            if !ports.is_empty() {
                return in_use(
                    "RouterInUse",
                    format!("Router {id} has ports still attached: {}", ports.join(", ")),
                );
            }
            router_gateway::remove_port(w, id);
        }
        "security-groups" => {
            if obj["name"] == "default" {
                return in_use(
                    "SecurityGroupCannotRemoveDefault",
                    "Insufficient rights for removing default security group.".into(),
                );
            }
            if n.iter("ports").any(|p| {
                p["security_groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|g| g == id)
            }) {
                return in_use("SecurityGroupInUse", format!("Security Group {id} in use."));
            }
            let rules: Vec<String> = n
                .iter("security-group-rules")
                .filter(|r| r["security_group_id"] == id)
                .map(|r| s(&r["id"]).to_string())
                .collect();
            for r in rules {
                w.neutron.coll("security-group-rules").remove(&r);
            }
        }
        "subnetpools" if n.iter("subnets").any(|x| x["subnetpool_id"] == id) => {
            return neutron_error(
                StatusCode::BAD_REQUEST,
                "SubnetPoolDeleteError",
                "Unable to delete subnet pool: Subnet pool has existing allocations.",
            );
        }
        "floatingips" => {
            let ports: Vec<String> = n
                .iter("ports")
                .filter(|p| p["device_owner"] == "network:floatingip" && p["device_id"] == id)
                .map(|p| s(&p["id"]).to_string())
                .collect();
            for p in ports {
                w.neutron.coll("ports").remove(&p);
            }
        }
        _ => {}
    }
    w.neutron.coll(k.url).remove(id);
    empty(StatusCode::NO_CONTENT)
}

/// Handles trunk and router actions (`/trunks/<id>/add_subports`, `/routers/<id>/add_router_interface`, …).
pub(crate) fn action(
    w: &mut World,
    k: &Kind,
    id: &str,
    action: &str,
    m: &Method,
    body: &Value,
) -> Response {
    let Some(obj) = w.neutron.raw(k.url, id).cloned() else {
        return not_found(k, id);
    };
    match (k.url, action, m.clone()) {
        ("trunks", "get_subports", Method::GET) => {
            json_status(StatusCode::OK, json!({"sub_ports": obj["sub_ports"]}))
        }
        ("trunks", "add_subports", Method::PUT) => {
            let subs = body["sub_ports"].as_array().cloned().unwrap_or_default();
            let ids: Vec<&str> = subs.iter().map(|x| s(&x["port_id"])).collect();
            if let Err(r) = check_trunk_ports(w, &ids) {
                return r;
            }
            let t = w.neutron.coll("trunks").get_mut(id).expect("trunk");
            let list = t["sub_ports"].as_array_mut().expect("sub_ports");
            for sp in subs {
                list.push(json!({"port_id": sp["port_id"], "segmentation_type": sp["segmentation_type"], "segmentation_id": sp["segmentation_id"]}));
            }
            bump(t);
            json_status(StatusCode::OK, t.clone())
        }
        ("trunks", "remove_subports", Method::PUT) => {
            let subs = body["sub_ports"].as_array().cloned().unwrap_or_default();
            let have: Vec<&str> = obj["sub_ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| s(&x["port_id"]))
                .collect();
            if let Some(missing) = subs
                .iter()
                .map(|x| s(&x["port_id"]))
                .find(|p| !have.contains(p))
            {
                return neutron_error(
                    StatusCode::NOT_FOUND,
                    "SubPortNotFound",
                    format!("SubPort {missing} on trunk {id} could not be found."),
                );
            }
            let remove: Vec<String> = subs.iter().map(|x| s(&x["port_id"]).to_string()).collect();
            let t = w.neutron.coll("trunks").get_mut(id).expect("trunk");
            if let Some(list) = t["sub_ports"].as_array_mut() {
                list.retain(|sp| !remove.iter().any(|r| sp["port_id"] == r.as_str()));
            }
            bump(t);
            json_status(StatusCode::OK, t.clone())
        }
        ("routers", "add_router_interface", Method::PUT) => add_interface(w, id, body),
        ("routers", "remove_router_interface", Method::PUT) => remove_interface(w, id, body),
        _ => json_status(
            StatusCode::NOT_FOUND,
            json!("The resource could not be found."),
        ),
    }
}

fn interface_answer(w: &World, router: &str, port: &Value) -> Value {
    let subnet = s(&port["fixed_ips"][0]["subnet_id"]).to_string();
    json!({"id": router, "tenant_id": w.cfg.project_id, "project_id": w.cfg.project_id, "port_id": port["id"],
        "network_id": port["network_id"], "subnet_id": subnet, "subnet_ids": [subnet]})
}

fn router_ports<'a>(w: &'a World, router: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    w.neutron.iter("ports").filter(move |p| {
        p["device_id"] == router && p["device_owner"] == "network:router_interface"
    })
}

fn add_interface(w: &mut World, router: &str, body: &Value) -> Response {
    if let Some(pid) = body["port_id"].as_str() {
        let Some(p) = w.neutron.raw("ports", pid).cloned() else {
            return not_found(&KINDS[2], pid);
        };
        if !s(&p["device_id"]).is_empty() {
            return in_use(
                "PortInUse",
                format!(
                    "Unable to complete operation on port {pid} for network {}. Port already has an attached device {}.",
                    s(&p["network_id"]),
                    s(&p["device_id"])
                ),
            );
        }
        let port = w.neutron.coll("ports").get_mut(pid).expect("port");
        port["device_owner"] = json!("network:router_interface");
        port["device_id"] = json!(router);
        port["security_groups"] = json!([]);
        port["port_security_enabled"] = json!(false);
        bump(port);
        let port = port.clone();
        return json_status(StatusCode::OK, interface_answer(w, router, &port));
    }
    let Some(sid) = body["subnet_id"].as_str() else {
        return bad("Bad router request: Either subnet_id or port_id must be specified.");
    };
    let Some(subnet) = w.neutron.raw("subnets", sid).cloned() else {
        return not_found(&KINDS[1], sid);
    };
    if router_ports(w, router).any(|p| {
        p["fixed_ips"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["subnet_id"] == sid)
    }) {
        return neutron_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Bad router request: Router already has a port on subnet {sid}."),
        );
    }
    let mut fixed = json!({"subnet_id": sid});
    if let Some(gw) = subnet["gateway_ip"].as_str() {
        fixed["ip_address"] = json!(gw);
    }
    match create_port(
        w,
        json!({"network_id": subnet["network_id"], "device_owner": "network:router_interface", "device_id": router,
        "fixed_ips": [fixed], "security_groups": [], "port_security_enabled": false}),
    ) {
        Ok(port) => json_status(StatusCode::OK, interface_answer(w, router, &port)),
        Err(r) => r,
    }
}

fn remove_interface(w: &mut World, router: &str, body: &Value) -> Response {
    let port = if let Some(pid) = body["port_id"].as_str() {
        match router_ports(w, router).find(|p| p["id"] == pid) {
            Some(p) => p.clone(),
            None => {
                return neutron_error(
                    StatusCode::NOT_FOUND,
                    "RouterInterfaceNotFound",
                    format!("Router {router} does not have an interface with id {pid}"),
                );
            }
        }
    } else if let Some(sid) = body["subnet_id"].as_str() {
        if w.neutron.raw("subnets", sid).is_none() {
            return not_found(&KINDS[1], sid);
        }
        match router_ports(w, router).find(|p| {
            p["fixed_ips"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["subnet_id"] == sid)
        }) {
            Some(p) => p.clone(),
            None => {
                return neutron_error(
                    StatusCode::NOT_FOUND,
                    "RouterInterfaceNotFoundForSubnet",
                    format!("Router {router} has no interface on subnet {sid}"),
                );
            }
        }
    } else {
        return bad("Bad router request: Either subnet_id or port_id must be specified.");
    };
    w.neutron.coll("ports").remove(s(&port["id"]));
    json_status(StatusCode::OK, interface_answer(w, router, &port))
}

/// Returns the IP availability of one network.
/// Returns an address count as real Neutron answers it: a float beyond
/// `u64` (an IPv6 /64 is `1.8446744073709552e+19`), else an integer.
fn count(n: u128) -> Value {
    match u64::try_from(n) {
        Ok(n) => json!(n),
        Err(_) => json!(n as f64),
    }
}

/// Returns how many fixed IPs each subnet has (computed once per request).
pub(crate) fn used_ips(n: &Neutron) -> HashMap<String, usize> {
    let mut used = HashMap::new();
    for f in n
        .iter("ports")
        .flat_map(|p| p["fixed_ips"].as_array().into_iter().flatten())
    {
        *used.entry(s(&f["subnet_id"]).to_string()).or_insert(0) += 1;
    }
    used
}

/// Returns the IP availability of a network; `subnets_of` from
/// `Neutron::subnets_by_network`, `used` from [`used_ips`].
pub(crate) fn ip_availability(
    net: &Value,
    subnets_of: &HashMap<&str, Vec<&Value>>,
    used: &HashMap<String, usize>,
) -> Value {
    let id = s(&net["id"]);
    let subnets: Vec<Value> = subnets_of
        .get(id)
        .into_iter()
        .flatten()
        .map(|sn| {
            let total: u128 = sn["allocation_pools"].as_array().into_iter().flatten().filter_map(|p| Some(ip_num(s(&p["end"]))? - ip_num(s(&p["start"]))? + 1)).sum();
            let used = used.get(s(&sn["id"])).copied().unwrap_or(0);
            json!({"subnet_id": sn["id"], "subnet_name": sn["name"], "cidr": sn["cidr"], "ip_version": sn["ip_version"],
                "total_ips": count(total), "used_ips": used})
        })
        .collect();
    let total: u128 = subnets
        .iter()
        .filter_map(|x| {
            x["total_ips"]
                .as_f64()
                .map(|f| x["total_ips"].as_u64().map_or(f as u128, u128::from))
        })
        .sum();
    let total = count(total);
    let used: u64 = subnets.iter().filter_map(|x| x["used_ips"].as_u64()).sum();
    json!({"network_id": id, "network_name": net["name"], "project_id": net["project_id"], "tenant_id": net["project_id"],
        "subnet_ip_availability": subnets, "total_ips": total, "used_ips": used})
}

/// Returns the extensions the simulated Neutron has (those of the real ML2/OVS + router + trunk lab).
pub(crate) fn extensions() -> Vec<Value> {
    [
        "address-group",
        "address-scope",
        "agent",
        "allowed-address-pairs",
        "binding",
        "external-net",
        "extra_dhcp_opt",
        "extraroute",
        "network-ip-availability",
        "network_availability_zone",
        "pagination",
        "port-security",
        "project-id",
        "provider",
        "quotas",
        "router",
        "security-group",
        "sorting",
        "standard-attr-description",
        "standard-attr-tag",
        "subnet_allocation",
        "trunk",
        "trunk-details",
    ]
    .iter()
    .map(|a| json!({"alias": a, "name": a, "description": "", "links": []}))
    .collect()
}
