//! The pure restore plan: from the snapshot and what the cleanup deleted,
//! what to create, in which order, which old IDs map to new ones, what cannot
//! come back and why; and the measure of how much did come back.
//!
//! Creation order follows the references: subnet pools, networks, subnets
//! (same CIDR and gateway, from the new pool), the router (when it was
//! deleted), router interfaces, security groups, their rules (remote groups
//! mapped), ports (same fixed IPs), trunk subports (same segmentation),
//! load balancers with listeners, pools and members in one Octavia call (the
//! same VIP address asked for), floating IPs (the same address asked for).
//! A reference to an object the cleanup deleted is [`Ref::New`] (resolved
//! through the old → new map the run journals); to one it kept, [`Ref::Same`].
//! Neutron Zed refuses `tags` in POST bodies except on ports, so the runner
//! tags with `PUT …/tags` ([`Create::tags_in_body`]).
//!
//! How much came back is measured in `share.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::select::ObjKind;
use super::snapshot::{LoadBalancerTree, Snapshot};
use crate::openstack::neutron::{Port, SecurityGroupRule};

/// A reference from a created object to another.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ref {
    /// The object was deleted and is recreated: resolve the old ID through the map.
    New(String),
    /// The object was kept: the same ID.
    Same(String),
}

impl Ref {
    /// Resolves the reference through the old → new map; `None` while unmapped.
    pub fn resolve(&self, map: &BTreeMap<String, String>) -> Option<String> {
        match self {
            Ref::New(old) => map.get(old).cloned(),
            Ref::Same(id) => Some(id.clone()),
        }
    }
}

/// A security group rule to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u32>,
    pub port_range_max: Option<u32>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group: Option<Ref>,
}

/// A listener of a load balancer to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerSpec {
    pub name: String,
    pub protocol: String,
    pub protocol_port: u32,
    /// The old ID of its default pool (a [`PoolSpec::old_id`]).
    pub default_pool: Option<String>,
}

/// A pool of a load balancer to create, with its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    pub old_id: String,
    /// Real Octavia refuses a one-call create with unnamed pools.
    pub name: String,
    pub protocol: String,
    pub lb_algorithm: String,
    pub members: Vec<MemberSpec>,
}

/// A pool member to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSpec {
    pub name: String,
    pub address: String,
    pub protocol_port: u32,
    pub subnet: Option<Ref>,
}

/// What one restore step creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Create {
    SubnetPool {
        name: String,
        prefixes: Vec<String>,
        default_prefixlen: Option<u32>,
        tags: Vec<String>,
    },
    Network {
        name: String,
        description: String,
        tags: Vec<String>,
    },
    Subnet {
        name: String,
        network: Ref,
        cidr: String,
        ip_version: u8,
        gateway_ip: Option<String>,
        enable_dhcp: bool,
        dns_nameservers: Vec<String>,
        subnetpool: Option<Ref>,
        tags: Vec<String>,
    },
    Router {
        name: String,
        description: String,
        external_network: Option<String>,
        tags: Vec<String>,
    },
    RouterInterface {
        router: Ref,
        subnet: Ref,
    },
    SecurityGroup {
        name: String,
        description: String,
        tags: Vec<String>,
    },
    SecurityGroupRule {
        group: Ref,
        rule: RuleSpec,
    },
    Port {
        name: String,
        network: Ref,
        fixed_ips: Vec<(Ref, String)>,
        security_groups: Vec<Ref>,
        tags: Vec<String>,
    },
    Subport {
        trunk: Ref,
        port: Ref,
        segmentation_type: String,
        segmentation_id: u32,
    },
    /// One Octavia call with listeners, pools and members.
    LoadBalancer {
        name: String,
        description: String,
        vip_subnet: Ref,
        vip_address: Option<String>,
        tags: Vec<String>,
        listeners: Vec<ListenerSpec>,
        pools: Vec<PoolSpec>,
    },
    FloatingIp {
        floating_network_id: String,
        floating_ip_address: String,
        port: Option<Ref>,
        description: String,
        tags: Vec<String>,
    },
}

impl Create {
    /// Returns whether the create call may carry the tags (ports, Octavia);
    /// otherwise they are set with `PUT …/tags` after the create.
    pub fn tags_in_body(&self) -> bool {
        matches!(self, Create::Port { .. } | Create::LoadBalancer { .. })
    }

    /// Returns the tags to set (in the body, or by `PUT …/tags` after the create).
    pub fn tags(&self) -> &[String] {
        match self {
            Create::SubnetPool { tags, .. }
            | Create::Network { tags, .. }
            | Create::Subnet { tags, .. }
            | Create::Router { tags, .. }
            | Create::SecurityGroup { tags, .. }
            | Create::Port { tags, .. }
            | Create::LoadBalancer { tags, .. }
            | Create::FloatingIp { tags, .. } => tags,
            _ => &[],
        }
    }

    fn refs(&self) -> Vec<&Ref> {
        let mut v: Vec<&Ref> = Vec::new();
        match self {
            Create::Subnet {
                network,
                subnetpool,
                ..
            } => {
                v.push(network);
                v.extend(subnetpool);
            }
            Create::RouterInterface { router, subnet } => v.extend([router, subnet]),
            Create::SecurityGroupRule { group, rule } => {
                v.push(group);
                v.extend(&rule.remote_group);
            }
            Create::Port {
                network,
                fixed_ips,
                security_groups,
                ..
            } => {
                v.push(network);
                v.extend(fixed_ips.iter().map(|(r, _)| r));
                v.extend(security_groups);
            }
            Create::Subport { trunk, port, .. } => v.extend([trunk, port]),
            Create::LoadBalancer {
                vip_subnet, pools, ..
            } => {
                v.push(vip_subnet);
                v.extend(
                    pools
                        .iter()
                        .flat_map(|p| p.members.iter().filter_map(|m| m.subnet.as_ref())),
                );
            }
            Create::FloatingIp { port, .. } => v.extend(port),
            _ => {}
        }
        v
    }
}

/// One restore step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreStep {
    /// What it restores.
    pub kind: ObjKind,
    /// The deleted object's old ID (a router interface: the subnet's; a subport: the port's).
    pub old_id: String,
    /// What to create.
    pub create: Create,
    /// Whether the new object's ID is journaled as the old one's successor.
    pub maps_id: bool,
    /// Old IDs whose new objects must exist first.
    pub after: Vec<String>,
}

/// Something of a deleted object that cannot come back, or only maybe.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Loss {
    pub kind: ObjKind,
    pub old_id: String,
    /// What is lost (`id`, `mac_address`, `vip_address`, …).
    pub field: String,
    /// Why.
    pub why: String,
    /// Lost for sure (`true`), or only if taken at restore time (`false`).
    pub certain: bool,
}

/// The restore plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestorePlan {
    /// Steps in creation order.
    pub steps: Vec<RestoreStep>,
    /// What cannot come back.
    pub losses: Vec<Loss>,
}

/// The objects a cleanup deleted, by kind and old ID (a router interface by subnet, a subport by port).
pub type Deleted = BTreeSet<(ObjKind, String)>;

fn rank(kind: ObjKind) -> u8 {
    match kind {
        ObjKind::SubnetPool => 0,
        ObjKind::Network => 1,
        ObjKind::Subnet => 2,
        ObjKind::Router => 3,
        ObjKind::RouterInterface => 4,
        ObjKind::SecurityGroup => 5,
        ObjKind::Port => 7,
        ObjKind::Subport => 8,
        ObjKind::LoadBalancer => 9,
        ObjKind::FloatingIp => 10,
        ObjKind::Trunk => 11,
    }
}

/// Returns the restore plan; pure.
pub fn plan_restore(s: &Snapshot, deleted: &Deleted) -> RestorePlan {
    let gone = |kind: ObjKind, id: &str| deleted.contains(&(kind, id.to_string()));
    let r = |kind: ObjKind, id: &str| {
        if gone(kind, id) {
            Ref::New(id.to_string())
        } else {
            Ref::Same(id.to_string())
        }
    };
    let mut steps: Vec<(u8, RestoreStep)> = Vec::new();
    let mut losses: Vec<Loss> = Vec::new();
    let loss = |kind: ObjKind, id: &str, field: &str, why: &str, certain: bool| Loss {
        kind,
        old_id: id.to_string(),
        field: field.to_string(),
        why: why.to_string(),
        certain,
    };
    let mut push = |kind: ObjKind, old_id: &str, create: Create, maps_id: bool, extra_rank: u8| {
        let after = create
            .refs()
            .into_iter()
            .filter_map(|x| match x {
                Ref::New(id) => Some(id.clone()),
                Ref::Same(_) => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        steps.push((
            rank(kind) + extra_rank,
            RestoreStep {
                kind,
                old_id: old_id.to_string(),
                create,
                maps_id,
                after,
            },
        ));
    };
    for p in s
        .subnet_pools
        .iter()
        .filter(|p| gone(ObjKind::SubnetPool, &p.id))
    {
        push(
            ObjKind::SubnetPool,
            &p.id,
            Create::SubnetPool {
                name: p.name.clone(),
                prefixes: p.prefixes.clone(),
                default_prefixlen: p.default_prefixlen,
                tags: p.tags.clone(),
            },
            true,
            0,
        );
    }
    for n in s.networks.iter().filter(|n| gone(ObjKind::Network, &n.id)) {
        push(
            ObjKind::Network,
            &n.id,
            Create::Network {
                name: n.name.clone(),
                description: n.description.clone(),
                tags: n.tags.clone(),
            },
            true,
            0,
        );
    }
    for x in s.subnets.iter().filter(|x| gone(ObjKind::Subnet, &x.id)) {
        push(
            ObjKind::Subnet,
            &x.id,
            Create::Subnet {
                name: x.name.clone(),
                network: r(ObjKind::Network, &x.network_id),
                cidr: x.cidr.clone(),
                ip_version: x.ip_version,
                gateway_ip: x.gateway_ip.clone(),
                enable_dhcp: x.enable_dhcp,
                dns_nameservers: x.dns_nameservers.clone(),
                subnetpool: x
                    .subnetpool_id
                    .as_deref()
                    .map(|p| r(ObjKind::SubnetPool, p)),
                tags: x.tags.clone(),
            },
            true,
            0,
        );
    }
    for ro in s.routers.iter().filter(|ro| gone(ObjKind::Router, &ro.id)) {
        let ext = ro
            .external_gateway_info
            .as_ref()
            .and_then(|g| g.get("network_id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        push(
            ObjKind::Router,
            &ro.id,
            Create::Router {
                name: ro.name.clone(),
                description: ro.description.clone(),
                external_network: ext,
                tags: ro.tags.clone(),
            },
            true,
            0,
        );
        losses.push(loss(
            ObjKind::Router,
            &ro.id,
            "external_fixed_ips",
            "the gateway's address is Neutron's choice again",
            false,
        ));
    }
    let interface = |p: &Port| {
        p.device_owner.starts_with("network:router_interface")
            || p.device_owner == "network:ha_router_replicated_interface"
    };
    for p in s.ports.iter().filter(|p| interface(p)) {
        let Some(subnet) = p.fixed_ips.first().map(|f| f.subnet_id.clone()) else {
            continue;
        };
        if gone(ObjKind::RouterInterface, &subnet) {
            push(
                ObjKind::RouterInterface,
                &subnet,
                Create::RouterInterface {
                    router: r(ObjKind::Router, &p.device_id),
                    subnet: r(ObjKind::Subnet, &subnet),
                },
                false,
                0,
            );
            losses.push(loss(
                ObjKind::RouterInterface,
                &subnet,
                "port_id",
                "Neutron makes a new interface port",
                true,
            ));
        }
    }
    for g in s
        .security_groups
        .iter()
        .filter(|g| gone(ObjKind::SecurityGroup, &g.id))
    {
        push(
            ObjKind::SecurityGroup,
            &g.id,
            Create::SecurityGroup {
                name: g.name.clone(),
                description: g.description.clone(),
                tags: g.tags.clone(),
            },
            true,
            0,
        );
        for rule in &g.security_group_rules {
            push(
                ObjKind::SecurityGroup,
                &rule.id,
                Create::SecurityGroupRule {
                    group: Ref::New(g.id.clone()),
                    rule: rule_spec(rule, &|id| r(ObjKind::SecurityGroup, id)),
                },
                true,
                1,
            );
        }
    }
    let vip_ports: BTreeSet<&str> = s
        .load_balancers
        .iter()
        .filter_map(|t| t.lb.vip_port_id.as_deref())
        .collect();
    for p in s.ports.iter().filter(|p| gone(ObjKind::Port, &p.id)) {
        if p.device_owner == "network:dhcp"
            || vip_ports.contains(p.id.as_str())
            || p.device_owner.starts_with("Octavia")
        {
            continue; // made again by Neutron / Octavia
        }
        push(
            ObjKind::Port,
            &p.id,
            Create::Port {
                name: p.name.clone(),
                network: r(ObjKind::Network, &p.network_id),
                fixed_ips: p
                    .fixed_ips
                    .iter()
                    .map(|f| (r(ObjKind::Subnet, &f.subnet_id), f.ip_address.clone()))
                    .collect(),
                security_groups: p
                    .security_groups
                    .iter()
                    .map(|g| r(ObjKind::SecurityGroup, g))
                    .collect(),
                tags: p.tags.clone(),
            },
            true,
            0,
        );
        losses.push(loss(
            ObjKind::Port,
            &p.id,
            "mac_address",
            "Neutron gives a new MAC (setting one is admin-only and the pod using it is gone)",
            true,
        ));
        losses.push(loss(
            ObjKind::Port,
            &p.id,
            "device_id",
            "the pod it belonged to no longer uses Kuryr",
            true,
        ));
    }
    for t in &s.trunks {
        for sp in t
            .sub_ports
            .iter()
            .filter(|sp| gone(ObjKind::Subport, &sp.port_id))
        {
            push(
                ObjKind::Subport,
                &sp.port_id,
                Create::Subport {
                    trunk: r(ObjKind::Trunk, &t.id),
                    port: r(ObjKind::Port, &sp.port_id),
                    segmentation_type: sp.segmentation_type.clone(),
                    segmentation_id: sp.segmentation_id,
                },
                false,
                0,
            );
        }
    }
    for t in s
        .load_balancers
        .iter()
        .filter(|t| gone(ObjKind::LoadBalancer, &t.lb.id))
    {
        push(ObjKind::LoadBalancer, &t.lb.id, lb_create(t, &r), true, 0);
        losses.push(loss(
            ObjKind::LoadBalancer,
            &t.lb.id,
            "vip_address",
            "asked for again; lost if another port took it meanwhile",
            false,
        ));
        losses.push(loss(
            ObjKind::LoadBalancer,
            &t.lb.id,
            "vip_port_id",
            "Octavia makes a new VIP port",
            true,
        ));
    }
    for f in s
        .floating_ips
        .iter()
        .filter(|f| gone(ObjKind::FloatingIp, &f.id))
    {
        let port = f.port_id.as_deref().map(|p| {
            // A floating IP on an LB VIP follows the LB's new VIP port.
            match s
                .load_balancers
                .iter()
                .find(|t| t.lb.vip_port_id.as_deref() == Some(p))
            {
                Some(t) if gone(ObjKind::LoadBalancer, &t.lb.id) => {
                    Ref::New(format!("vip-of:{}", t.lb.id))
                }
                _ => r(ObjKind::Port, p),
            }
        });
        push(
            ObjKind::FloatingIp,
            &f.id,
            Create::FloatingIp {
                floating_network_id: f.floating_network_id.clone(),
                floating_ip_address: f.floating_ip_address.clone(),
                port,
                description: f.description.clone(),
                tags: f.tags.clone(),
            },
            true,
            0,
        );
        losses.push(loss(
            ObjKind::FloatingIp,
            &f.id,
            "floating_ip_address",
            "asked for again; lost if someone allocated it meanwhile",
            false,
        ));
    }
    // Every recreated object gets a new ID; the journal maps old to new.
    for (_, st) in steps.iter().filter(|(_, st)| st.maps_id) {
        if !matches!(st.create, Create::SecurityGroupRule { .. }) {
            losses.push(loss(
                st.kind,
                &st.old_id,
                "id",
                "OpenStack assigns new IDs; the run journals old → new",
                true,
            ));
        }
    }
    steps.sort_by(|a, b| (a.0, &a.1.old_id).cmp(&(b.0, &b.1.old_id)));
    losses.sort();
    RestorePlan {
        steps: steps.into_iter().map(|(_, st)| st).collect(),
        losses,
    }
}

/// Returns the ID-map key of an LB's new VIP port (FIPs follow it).
pub fn vip_key(lb_old_id: &str) -> String {
    format!("vip-of:{lb_old_id}")
}

fn rule_spec(rule: &SecurityGroupRule, r: &dyn Fn(&str) -> Ref) -> RuleSpec {
    RuleSpec {
        direction: rule.direction.clone(),
        ethertype: rule.ethertype.clone(),
        protocol: rule.protocol.clone(),
        port_range_min: rule.port_range_min,
        port_range_max: rule.port_range_max,
        remote_ip_prefix: rule.remote_ip_prefix.clone(),
        remote_group: rule.remote_group_id.as_deref().map(r),
    }
}

fn lb_create(t: &LoadBalancerTree, r: &dyn Fn(ObjKind, &str) -> Ref) -> Create {
    Create::LoadBalancer {
        name: t.lb.name.clone(),
        description: t.lb.description.clone(),
        vip_subnet: r(
            ObjKind::Subnet,
            t.lb.vip_subnet_id.as_deref().unwrap_or_default(),
        ),
        vip_address: t.lb.vip_address.clone(),
        tags: t.lb.tags.clone(),
        listeners: t
            .listeners
            .iter()
            .map(|l| ListenerSpec {
                name: l.name.clone(),
                protocol: l.protocol.clone(),
                protocol_port: l.protocol_port,
                default_pool: l.default_pool_id.clone(),
            })
            .collect(),
        pools: t
            .pools
            .iter()
            .map(|p| PoolSpec {
                old_id: p.pool.id.clone(),
                name: p.pool.name.clone(),
                protocol: p.pool.protocol.clone(),
                lb_algorithm: p.pool.lb_algorithm.clone(),
                members: p
                    .members
                    .iter()
                    .map(|m| MemberSpec {
                        name: m.name.clone(),
                        address: m.address.clone(),
                        protocol_port: m.protocol_port,
                        subnet: m.subnet_id.as_deref().map(|x| r(ObjKind::Subnet, x)),
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::body::Unresolved;
    use crate::kuryr::cleanup::fixture::{self, TAG};
    use crate::kuryr::cleanup::select::{SelectOptions, select};
    use serde_json::json;

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

    fn position(p: &RestorePlan, kind: ObjKind, id: &str) -> usize {
        p.steps
            .iter()
            .position(|s| s.kind == kind && s.old_id == id)
            .unwrap_or_else(|| panic!("no step for {kind} {id}"))
    }

    #[test]
    fn creation_follows_references() {
        let s = fixture::snapshot();
        let p = plan_restore(&s, &deleted_of(&s));
        for st in &p.steps {
            let at = p.steps.iter().position(|x| x == st).unwrap();
            for dep in &st.after {
                let first = p
                    .steps
                    .iter()
                    .position(|x| x.maps_id && (x.old_id == *dep || *dep == vip_key(&x.old_id)));
                assert!(
                    first.is_some_and(|f| f < at),
                    "{:?} {} needs {dep} first",
                    st.kind,
                    st.old_id
                );
            }
        }
        assert!(position(&p, ObjKind::SubnetPool, "pool") < position(&p, ObjKind::Subnet, "sub-a"));
        assert!(position(&p, ObjKind::Network, "net-a") < position(&p, ObjKind::Subnet, "sub-a"));
        assert!(
            position(&p, ObjKind::Subnet, "sub-a")
                < position(&p, ObjKind::RouterInterface, "sub-a")
        );
        assert!(
            position(&p, ObjKind::SecurityGroup, "pods-sg") < position(&p, ObjKind::Port, "pod-a1")
        );
        assert!(position(&p, ObjKind::Port, "pod-a1") < position(&p, ObjKind::Subport, "pod-a1"));
        assert!(
            position(&p, ObjKind::LoadBalancer, "lb-1")
                < position(&p, ObjKind::FloatingIp, "fip-1")
        );
        // The router was kept: interfaces refer to it as it is; the trunk too.
        let Create::RouterInterface { router, subnet } =
            &p.steps[position(&p, ObjKind::RouterInterface, "sub-a")].create
        else {
            panic!()
        };
        assert_eq!(
            (router, subnet),
            (&Ref::Same("router".into()), &Ref::New("sub-a".into()))
        );
        let Create::Subport {
            trunk,
            segmentation_id,
            ..
        } = &p.steps[position(&p, ObjKind::Subport, "pod-b1")].create
        else {
            panic!()
        };
        assert_eq!((trunk, *segmentation_id), (&Ref::Same("trunk-1".into()), 3));
        // DHCP and VIP ports are made again by Neutron and Octavia.
        assert!(
            !p.steps
                .iter()
                .any(|s| s.old_id == "dhcp-a" || s.old_id == "vip-1")
        );
        // Tags by PUT except on ports and LBs.
        assert!(
            !p.steps[position(&p, ObjKind::Network, "net-a")]
                .create
                .tags_in_body()
        );
        assert!(
            p.steps[position(&p, ObjKind::Port, "pod-a1")]
                .create
                .tags_in_body()
        );
    }

    #[test]
    fn bodies_resolve_references_and_carry_tags_only_where_neutron_takes_them() {
        let s = fixture::snapshot();
        let p = plan_restore(&s, &deleted_of(&s));
        let mut map = BTreeMap::new();
        let subnet = &p.steps[position(&p, ObjKind::Subnet, "sub-a")].create;
        assert_eq!(subnet.body(&map), Err(Unresolved("net-a".into())));
        map.insert("net-a".to_string(), "NEW-NET".to_string());
        map.insert("pool".to_string(), "NEW-POOL".to_string());
        let b = subnet.body(&map).unwrap();
        assert_eq!(b["network_id"], "NEW-NET");
        assert_eq!(b["subnetpool_id"], "NEW-POOL");
        assert_eq!(b["cidr"], "10.128.0.0/23");
        assert!(
            b.get("tags").is_none(),
            "Neutron Zed refuses tags in POST bodies"
        );
        assert_eq!(subnet.tags(), [TAG.to_string()]);
        for id in ["sub-a", "pods-sg", "np-sg-a", "svc-sub"] {
            map.insert(id.to_string(), format!("NEW-{id}"));
        }
        let port = p.steps[position(&p, ObjKind::Port, "pod-a1")]
            .create
            .body(&map)
            .unwrap();
        assert_eq!(port["tags"], json!([TAG]));
        assert_eq!(port["fixed_ips"][0]["subnet_id"], "NEW-sub-a");
        let lb = p.steps[position(&p, ObjKind::LoadBalancer, "lb-1")]
            .create
            .body(&map)
            .unwrap();
        assert_eq!(lb["vip_subnet_id"], "NEW-svc-sub");
        assert_eq!(lb["vip_address"], "172.30.0.10");
        assert_eq!(
            lb["listeners"][0]["default_pool"]["members"][0]["address"],
            "10.128.0.5"
        );
        assert_eq!(
            lb["listeners"][0]["default_pool"]["members"][0]["subnet_id"],
            "NEW-sub-a"
        );
        assert!(
            lb.get("pools").is_none(),
            "the only pool is the listener's default pool"
        );
        assert_eq!(lb["tags"], json!([TAG]));
        let fip = &p.steps[position(&p, ObjKind::FloatingIp, "fip-1")].create;
        assert_eq!(fip.body(&map), Err(Unresolved("vip-of:lb-1".into())));
        map.insert(vip_key("lb-1"), "NEW-VIP".into());
        let fip = fip.body(&map).unwrap();
        assert_eq!(
            (fip["floating_ip_address"].as_str(), fip["port_id"].as_str()),
            (Some("198.51.100.10"), Some("NEW-VIP"))
        );
    }

    #[test]
    fn losses_say_what_cannot_come_back() {
        let s = fixture::snapshot();
        let p = plan_restore(&s, &deleted_of(&s));
        let has = |kind, id: &str, field: &str, certain: bool| {
            p.losses.iter().any(|l| {
                l.kind == kind && l.old_id == id && l.field == field && l.certain == certain
            })
        };
        assert!(has(ObjKind::Port, "pod-a1", "mac_address", true));
        assert!(has(ObjKind::Network, "net-a", "id", true));
        assert!(has(ObjKind::LoadBalancer, "lb-1", "vip_address", false));
        assert!(has(
            ObjKind::FloatingIp,
            "fip-1",
            "floating_ip_address",
            false
        ));
        assert!(has(ObjKind::RouterInterface, "sub-a", "port_id", true));
    }
}
