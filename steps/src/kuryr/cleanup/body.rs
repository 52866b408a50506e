//! The JSON bodies of the restore's create calls, built from a plan step
//! and the old → new ID map (split from `restore.rs`, which plans).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::restore::{Create, PoolSpec, Ref};

/// A reference whose new ID is not in the map yet (its step has not run).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "build a restore body: the object {0} it refers to has not been recreated yet; run the restore steps in order"
)]
pub struct Unresolved(pub String);

impl Create {
    /// Returns the JSON body of the create call (the inner object; for a
    /// router interface `{"subnet_id"}`, for a subport one `sub_ports` item),
    /// with every reference resolved through `map`. Tags are in the body only
    /// where [`Create::tags_in_body`] says so.
    pub fn body(&self, map: &BTreeMap<String, String>) -> Result<Value, Unresolved> {
        let res = |r: &Ref| {
            r.resolve(map).ok_or_else(|| {
                Unresolved(match r {
                    Ref::New(id) | Ref::Same(id) => id.clone(),
                })
            })
        };
        let mut v = match self {
            Create::SubnetPool {
                name,
                prefixes,
                default_prefixlen,
                ..
            } => {
                let mut v = json!({"name": name, "prefixes": prefixes});
                if let Some(l) = default_prefixlen {
                    v["default_prefixlen"] = json!(l);
                }
                v
            }
            Create::Network {
                name, description, ..
            } => json!({"name": name, "description": description}),
            Create::Subnet {
                name,
                network,
                cidr,
                ip_version,
                gateway_ip,
                enable_dhcp,
                dns_nameservers,
                subnetpool,
                ..
            } => {
                let mut v = json!({"name": name, "network_id": res(network)?, "cidr": cidr, "ip_version": ip_version,
                    "gateway_ip": gateway_ip, "enable_dhcp": enable_dhcp, "dns_nameservers": dns_nameservers});
                if let Some(p) = subnetpool {
                    v["subnetpool_id"] = json!(res(p)?);
                }
                v
            }
            Create::Router {
                name,
                description,
                external_network,
                ..
            } => {
                let mut v = json!({"name": name, "description": description});
                if let Some(n) = external_network {
                    v["external_gateway_info"] = json!({"network_id": n});
                }
                v
            }
            Create::RouterInterface { subnet, .. } => json!({"subnet_id": res(subnet)?}),
            Create::SecurityGroup {
                name, description, ..
            } => json!({"name": name, "description": description}),
            Create::SecurityGroupRule { group, rule } => {
                let mut v = json!({"security_group_id": res(group)?, "direction": rule.direction, "ethertype": rule.ethertype});
                for (k, x) in [
                    ("protocol", rule.protocol.as_ref().map(|p| json!(p))),
                    ("port_range_min", rule.port_range_min.map(|p| json!(p))),
                    ("port_range_max", rule.port_range_max.map(|p| json!(p))),
                    (
                        "remote_ip_prefix",
                        rule.remote_ip_prefix.as_ref().map(|p| json!(p)),
                    ),
                ] {
                    if let Some(x) = x {
                        v[k] = x;
                    }
                }
                if let Some(g) = &rule.remote_group {
                    v["remote_group_id"] = json!(res(g)?);
                }
                v
            }
            Create::Port {
                name,
                network,
                fixed_ips,
                security_groups,
                ..
            } => {
                let ips = fixed_ips
                    .iter()
                    .map(|(s, ip)| Ok(json!({"subnet_id": res(s)?, "ip_address": ip})))
                    .collect::<Result<Vec<_>, Unresolved>>()?;
                let sgs = security_groups
                    .iter()
                    .map(res)
                    .collect::<Result<Vec<_>, _>>()?;
                json!({"name": name, "network_id": res(network)?, "fixed_ips": ips, "security_groups": sgs})
            }
            Create::Subport {
                port,
                segmentation_type,
                segmentation_id,
                ..
            } => {
                json!({"port_id": res(port)?, "segmentation_type": segmentation_type, "segmentation_id": segmentation_id})
            }
            Create::LoadBalancer {
                name,
                description,
                vip_subnet,
                vip_address,
                listeners,
                pools,
                ..
            } => {
                let pool_body = |p: &PoolSpec| -> Result<Value, Unresolved> {
                    let members = p
                        .members
                        .iter()
                        .map(|m| {
                            let mut v =
                                json!({"name": m.name, "address": m.address, "protocol_port": m.protocol_port});
                            if let Some(s) = &m.subnet {
                                v["subnet_id"] = json!(res(s)?);
                            }
                            Ok(v)
                        })
                        .collect::<Result<Vec<_>, Unresolved>>()?;
                    Ok(
                        json!({"name": p.name, "protocol": p.protocol, "lb_algorithm": p.lb_algorithm, "members": members}),
                    )
                };
                let mut used = BTreeSet::new();
                let mut ls = Vec::new();
                for l in listeners {
                    let mut v = json!({"name": l.name, "protocol": l.protocol, "protocol_port": l.protocol_port});
                    if let Some(p) = l
                        .default_pool
                        .as_ref()
                        .and_then(|id| pools.iter().find(|p| p.old_id == *id))
                    {
                        used.insert(p.old_id.clone());
                        v["default_pool"] = pool_body(p)?;
                    }
                    ls.push(v);
                }
                let rest = pools
                    .iter()
                    .filter(|p| !used.contains(&p.old_id))
                    .map(pool_body)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut v = json!({"name": name, "description": description, "vip_subnet_id": res(vip_subnet)?, "listeners": ls});
                if !rest.is_empty() {
                    v["pools"] = json!(rest);
                }
                if let Some(a) = vip_address {
                    v["vip_address"] = json!(a);
                }
                v
            }
            Create::FloatingIp {
                floating_network_id,
                floating_ip_address,
                port,
                description,
                ..
            } => {
                let mut v = json!({"floating_network_id": floating_network_id, "floating_ip_address": floating_ip_address, "description": description});
                if let Some(p) = port {
                    v["port_id"] = json!(res(p)?);
                }
                v
            }
        };
        if self.tags_in_body() {
            v["tags"] = json!(self.tags());
        }
        Ok(v)
    }
}
