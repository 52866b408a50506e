//! A router's external gateway, as Neutron keeps it: setting
//! `external_gateway_info` (on create or update) creates a
//! `network:router_gateway` port on the external network (no project, no
//! security groups, port security off), whose fixed IPs the router then shows
//! as `external_fixed_ips`; clearing it (`{}` or `null`), moving it to another
//! network, or deleting the router removes that port.

#![allow(clippy::result_large_err)] // the error is the answer to send

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::World;
use super::http::neutron_error;
use super::neutron::{KINDS, not_found};
use super::neutron_ops::create_port;

const OWNER: &str = "network:router_gateway";

fn gateway_ports(w: &World, router: &str) -> Vec<Value> {
    w.neutron
        .iter("ports")
        .filter(|p| p["device_id"] == router && p["device_owner"] == OWNER)
        .cloned()
        .collect()
}

/// Removes a router's gateway port(s) and clears its `external_gateway_info`.
pub(crate) fn remove_port(w: &mut World, router: &str) {
    for p in gateway_ports(w, router) {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        w.neutron.coll("ports").remove(&id);
    }
    if let Some(r) = w.neutron.coll("routers").get_mut(router) {
        r["external_gateway_info"] = Value::Null;
    }
}

/// Sets (or, for `null` / `{}`, clears) a router's external gateway.
pub(crate) fn set(w: &mut World, router: &str, gw: &Value) -> Result<(), Response> {
    let Some(net_id) = gw.get("network_id").and_then(Value::as_str) else {
        remove_port(w, router);
        return Ok(());
    };
    let Some(net) = w.neutron.raw("networks", net_id).cloned() else {
        return Err(not_found(&KINDS[0], net_id));
    };
    if net["router:external"] != json!(true) {
        return Err(neutron_error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            format!("Bad router request: Network {net_id} is not a valid external network."),
        ));
    }
    let current = gateway_ports(w, router);
    let port = match current.iter().find(|p| p["network_id"] == net_id) {
        Some(p) => p.clone(),
        None => {
            remove_port(w, router);
            let mut spec = json!({"network_id": net_id, "device_owner": OWNER, "device_id": router,
                                  "project_id": "", "port_security_enabled": false, "security_groups": []});
            if let Some(ips) = gw.get("external_fixed_ips").filter(|v| v.is_array()) {
                spec["fixed_ips"] = ips.clone();
            }
            create_port(w, spec)?
        }
    };
    let snat = gw
        .get("enable_snat")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if let Some(r) = w.neutron.coll("routers").get_mut(router) {
        r["external_gateway_info"] = json!({"network_id": net_id,
            "external_fixed_ips": port["fixed_ips"], "enable_snat": snat});
    }
    Ok(())
}
