//! The restore share: how many of the objects a cleanup deleted came back.
//!
//! A deleted object counts as restored when a new object exists with the same
//! name, CIDR/prefixes/addresses, tags and relations (its network, subnet,
//! router, trunk, pool, rules and members, through the old → new map the
//! restore journaled). DHCP and LB VIP ports are not counted: Neutron and
//! Octavia make them again themselves. Pure: `before` is the C0 snapshot,
//! `after` the same kind of snapshot read back by the new IDs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::restore::{Deleted, vip_key};
use super::select::ObjKind;
use super::snapshot::{LoadBalancerTree, Snapshot};

/// How many deleted objects came back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// Deleted objects counted.
    pub total: usize,
    /// Of which restored (same name, CIDR, tags, relations).
    pub restored: usize,
    /// The others, with what differs.
    pub misses: Vec<(ObjKind, String, String)>,
}

impl Share {
    /// Returns restored / total (1 when nothing was deleted).
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.restored as f64 / self.total as f64
        }
    }
}

fn same_tags(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// Measures the restore: `before` is the snapshot, `after` what was read back
/// (by new IDs) once the restore ran, `map` old → new IDs.
pub fn restore_share(
    before: &Snapshot,
    deleted: &Deleted,
    after: &Snapshot,
    map: &BTreeMap<String, String>,
) -> Share {
    let mut share = Share::default();
    fn mapped<'a>(map: &'a BTreeMap<String, String>, old: &'a str) -> &'a str {
        map.get(old).map(String::as_str).unwrap_or(old)
    }
    let rel = |old: &str| -> String { mapped(map, old).to_string() };
    let mut check = |kind: ObjKind, id: &str, result: Result<(), String>| {
        share.total += 1;
        match result {
            Ok(()) => share.restored += 1,
            Err(why) => share.misses.push((kind, id.to_string(), why)),
        }
    };
    let want = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    for (kind, id) in deleted {
        let new = map.get(id).map(String::as_str);
        let res = match kind {
            ObjKind::Network => {
                let o = before.network(id);
                match (o, new.and_then(|n| after.network(n))) {
                    (Some(o), Some(n)) => want(
                        o.name == n.name && same_tags(&o.tags, &n.tags),
                        "name or tags differ",
                    ),
                    _ => Err("not recreated".into()),
                }
            }
            ObjKind::Subnet => match (before.subnet(id), new.and_then(|n| after.subnet(n))) {
                (Some(o), Some(n)) => want(
                    o.name == n.name
                        && o.cidr == n.cidr
                        && o.gateway_ip == n.gateway_ip
                        && same_tags(&o.tags, &n.tags)
                        && n.network_id == rel(&o.network_id)
                        && n.subnetpool_id.as_deref()
                            == o.subnetpool_id.as_deref().map(|x| mapped(map, x)),
                    "name, CIDR, gateway, tags, network or pool differ",
                ),
                _ => Err("not recreated".into()),
            },
            ObjKind::SubnetPool => {
                let o = before.subnet_pools.iter().find(|p| p.id == *id);
                let n = new.and_then(|n| after.subnet_pools.iter().find(|p| p.id == n));
                match (o, n) {
                    (Some(o), Some(n)) => want(
                        o.name == n.name && o.prefixes == n.prefixes && same_tags(&o.tags, &n.tags),
                        "name, prefixes or tags differ",
                    ),
                    _ => Err("not recreated".into()),
                }
            }
            ObjKind::SecurityGroup => match (
                before.security_group(id),
                new.and_then(|n| after.security_group(n)),
            ) {
                (Some(o), Some(n)) => {
                    let rules = |g: &crate::openstack::neutron::SecurityGroup,
                                 m: &dyn Fn(&str) -> String|
                     -> BTreeSet<String> {
                        g.security_group_rules
                            .iter()
                            .map(|r| {
                                format!(
                                    "{} {} {:?} {:?}-{:?} {:?} {:?}",
                                    r.direction,
                                    r.ethertype,
                                    r.protocol,
                                    r.port_range_min,
                                    r.port_range_max,
                                    r.remote_ip_prefix,
                                    r.remote_group_id.as_deref().map(m)
                                )
                            })
                            .collect()
                    };
                    want(
                        o.name == n.name
                            && o.description == n.description
                            && same_tags(&o.tags, &n.tags)
                            && rules(o, &rel) == rules(n, &|x: &str| x.to_string()),
                        "name, description, tags or rules differ",
                    )
                }
                _ => Err("not recreated".into()),
            },
            ObjKind::Port => {
                let Some(o) = before.port(id) else { continue };
                if o.device_owner == "network:dhcp"
                    || o.device_owner.starts_with("Octavia")
                    || before
                        .load_balancers
                        .iter()
                        .any(|t| t.lb.vip_port_id.as_deref() == Some(id.as_str()))
                {
                    continue;
                }
                match new.and_then(|n| after.port(n)) {
                    Some(n) => want(
                        o.name == n.name
                            && n.network_id == rel(&o.network_id)
                            && same_tags(&o.tags, &n.tags)
                            && o.fixed_ips.iter().all(|f| {
                                n.fixed_ips.iter().any(|g| {
                                    g.ip_address == f.ip_address && g.subnet_id == rel(&f.subnet_id)
                                })
                            }),
                        "name, network, fixed IPs or tags differ",
                    ),
                    None => Err("not recreated".into()),
                }
            }
            ObjKind::Subport => {
                let Some((t, sp)) = before.trunks.iter().find_map(|t| {
                    t.sub_ports
                        .iter()
                        .find(|sp| sp.port_id == *id)
                        .map(|sp| (t, sp))
                }) else {
                    continue;
                };
                let n = after.trunks.iter().find(|x| x.id == rel(&t.id));
                want(
                    n.is_some_and(|n| {
                        n.sub_ports.iter().any(|x| {
                            x.port_id == rel(id)
                                && x.segmentation_id == sp.segmentation_id
                                && x.segmentation_type == sp.segmentation_type
                        })
                    }),
                    "not on the trunk with the same segmentation",
                )
            }
            ObjKind::RouterInterface => {
                let Some(p) = before.ports.iter().find(|p| {
                    p.device_owner.starts_with("network:router_interface")
                        && p.fixed_ips.first().is_some_and(|f| f.subnet_id == *id)
                }) else {
                    continue;
                };
                let router = rel(&p.device_id);
                want(
                    after.ports.iter().any(|q| {
                        q.device_id == router
                            && q.device_owner.starts_with("network:router_interface")
                            && q.fixed_ips.iter().any(|f| f.subnet_id == rel(id))
                    }),
                    "no interface of the router on the new subnet",
                )
            }
            ObjKind::Router => match (before.router(id), new.and_then(|n| after.router(n))) {
                (Some(o), Some(n)) => want(
                    o.name == n.name
                        && same_tags(&o.tags, &n.tags)
                        && o.external_gateway_info.as_ref().map(|g| &g["network_id"])
                            == n.external_gateway_info.as_ref().map(|g| &g["network_id"]),
                    "name, tags or gateway network differ",
                ),
                _ => Err("not recreated".into()),
            },
            ObjKind::LoadBalancer => match (
                before.load_balancer(id),
                new.and_then(|n| after.load_balancer(n)),
            ) {
                (Some(o), Some(n)) => {
                    let shape = |t: &LoadBalancerTree| -> (BTreeSet<String>, BTreeSet<String>) {
                        (
                            t.listeners
                                .iter()
                                .map(|l| format!("{}:{}", l.protocol, l.protocol_port))
                                .collect(),
                            t.pools
                                .iter()
                                .flat_map(|p| {
                                    p.members.iter().map(move |m| {
                                        format!(
                                            "{} {} {}:{}",
                                            p.pool.protocol,
                                            p.pool.lb_algorithm,
                                            m.address,
                                            m.protocol_port
                                        )
                                    })
                                })
                                .collect(),
                        )
                    };
                    want(
                        o.lb.name == n.lb.name
                            && o.lb.vip_address == n.lb.vip_address
                            && same_tags(&o.lb.tags, &n.lb.tags)
                            && shape(o) == shape(n)
                            && n.lb.vip_subnet_id.as_deref()
                                == o.lb.vip_subnet_id.as_deref().map(|x| mapped(map, x)),
                        "name, VIP, tags, subnet, listeners, pools or members differ",
                    )
                }
                _ => Err("not recreated".into()),
            },
            ObjKind::FloatingIp => {
                let o = before.floating_ips.iter().find(|f| f.id == *id);
                let n = new.and_then(|n| after.floating_ips.iter().find(|f| f.id == n));
                match (o, n) {
                    (Some(o), Some(n)) => {
                        let vip_new = o
                            .port_id
                            .as_deref()
                            .and_then(|p| {
                                before
                                    .load_balancers
                                    .iter()
                                    .find(|t| t.lb.vip_port_id.as_deref() == Some(p))
                            })
                            .and_then(|t| map.get(&vip_key(&t.lb.id)));
                        let port_ok = match (&o.port_id, vip_new) {
                            (None, _) => n.port_id.is_none(),
                            (Some(_), Some(v)) => n.port_id.as_deref() == Some(v.as_str()),
                            (Some(p), None) => n.port_id.as_deref() == Some(mapped(map, p)),
                        };
                        want(
                            o.floating_ip_address == n.floating_ip_address
                                && same_tags(&o.tags, &n.tags)
                                && port_ok,
                            "address, tags or port differ",
                        )
                    }
                    _ => Err("not recreated".into()),
                }
            }
            ObjKind::Trunk => continue,
        };
        check(*kind, id, res);
    }
    share
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;
    use crate::kuryr::cleanup::select::{SelectOptions, select};

    fn deleted_of(s: &Snapshot) -> Deleted {
        let x = select(
            s,
            &SelectOptions {
                cluster_id: "c1".into(),
                octavia_version: (2, 26),
                ..Default::default()
            },
        )
        .unwrap();
        x.delete.iter().map(|e| (e.kind, e.id.clone())).collect()
    }

    /// Builds what a perfect restore would read back: every deleted object under a new ID.
    fn perfect_after(s: &Snapshot, d: &Deleted) -> (Snapshot, BTreeMap<String, String>) {
        let mut map = BTreeMap::new();
        for (_, id) in d {
            map.insert(id.clone(), format!("new-{id}"));
        }
        for t in &s.load_balancers {
            map.insert(vip_key(&t.lb.id), format!("new-vip-{}", t.lb.id));
        }
        let m = |id: &str| map.get(id).cloned().unwrap_or_else(|| id.to_string());
        let mut a = s.clone();
        for n in &mut a.networks {
            n.id = m(&n.id);
        }
        for x in &mut a.subnets {
            x.id = m(&x.id);
            x.network_id = m(&x.network_id);
            x.subnetpool_id = x.subnetpool_id.as_deref().map(m);
        }
        for p in &mut a.ports {
            p.id = m(&p.id);
            p.network_id = m(&p.network_id);
            for f in &mut p.fixed_ips {
                f.subnet_id = m(&f.subnet_id);
            }
        }
        for t in &mut a.trunks {
            for sp in &mut t.sub_ports {
                sp.port_id = m(&sp.port_id);
            }
        }
        for g in &mut a.security_groups {
            g.id = m(&g.id);
        }
        for p in &mut a.subnet_pools {
            p.id = m(&p.id);
        }
        for t in &mut a.load_balancers {
            t.lb.vip_subnet_id = t.lb.vip_subnet_id.as_deref().map(m);
            t.lb.id = m(&t.lb.id);
        }
        for f in &mut a.floating_ips {
            let lb = s
                .load_balancers
                .iter()
                .find(|t| t.lb.vip_port_id == f.port_id)
                .map(|t| t.lb.id.clone());
            f.port_id = lb.map(|l| map[&vip_key(&l)].clone());
            f.id = m(&f.id);
        }
        (a, map)
    }

    #[test]
    fn the_share_counts_objects_back_with_the_same_name_cidr_tags_and_relations() {
        let s = fixture::snapshot();
        let d = deleted_of(&s);
        let (after, map) = perfect_after(&s, &d);
        let share = restore_share(&s, &d, &after, &map);
        assert_eq!(share.misses, vec![]);
        assert_eq!(share.ratio(), 1.0);
        assert!(share.total > 15, "{}", share.total);

        // A subnet back with another CIDR, an LB not back at all, a FIP on another address.
        let mut worse = after.clone();
        worse
            .subnets
            .iter_mut()
            .find(|x| x.id == "new-sub-a")
            .unwrap()
            .cidr = "10.200.0.0/23".into();
        worse.load_balancers.retain(|t| t.lb.id != "new-lb-2");
        worse.floating_ips[0].floating_ip_address = "198.51.100.99".into();
        let share = restore_share(&s, &d, &worse, &map);
        let missed: BTreeSet<&str> = share.misses.iter().map(|(_, id, _)| id.as_str()).collect();
        assert_eq!(missed, ["sub-a", "lb-2", "fip-1"].into_iter().collect());
        assert_eq!(share.restored + 3, share.total);
    }
}
