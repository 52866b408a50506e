//! The shared-project scenario of the Kuryr cleanup: the Kuryr cluster of
//! [`kuryr_cluster_with_ids`], and in the very same project everything the
//! cleanup must leave alone, with the IDs each safety rule must keep:
//!
//! - a second live Kuryr cluster with its own tag: router
//!   `<ID>-external-router`, machines network, service network, subnet pool,
//!   pods SG, namespace networks with router interfaces, node trunks with
//!   tagged pod subports, load balancers (tag string in the description too)
//!   with listeners, pools, members and a floating IP, and network-policy SGs
//!   with the same names and descriptions as the first cluster's;
//! - an untagged appliance trunk whose parent is on the machines network and
//!   whose untagged subport sits on one of the first cluster's Kuryr networks;
//! - a user's VM port (untagged, `compute:nova`) on another of them;
//! - with `byo_router`, the first cluster's router is the user's own
//!   (bring-your-own network), neither named nor tagged by the installer.
//!
//! The Kubernetes side is the first cluster's only: the second cluster's API
//! is elsewhere, as in a real shared project.

use serde_json::{Value, json};

use super::kuryr::{KuryrIds, ScenarioConfig, kuryr_cluster_with_ids};
use super::{Ids, Scenario};

/// The IDs a cleanup test checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SharedProjectIds {
    /// The first cluster (the one cleaned up).
    pub first: KuryrIds,
    /// The second Kuryr cluster's ID.
    pub second_cluster_id: String,
    /// Every object of the second cluster (networks, subnets, ports, trunks,
    /// router, pool, SGs, LBs and their children, floating IP).
    pub second: Vec<String>,
    /// The second cluster's network-policy SGs (same names and descriptions as the first's).
    pub second_np_sgs: Vec<String>,
    /// The appliance's trunk, its parent port and its subport.
    pub appliance_trunk: String,
    pub appliance_parent: String,
    pub appliance_subport: String,
    /// The user's VM port.
    pub user_vm_port: String,
    /// The first cluster's networks that a foreign port blocks, with their subnets.
    pub blocked_networks: Vec<String>,
    pub blocked_subnets: Vec<String>,
    /// Router interface ports on the blocked subnets.
    pub blocked_interfaces: Vec<String>,
    /// Every ID the cleanup must keep, each with the rule that keeps it.
    pub must_keep: Vec<(String, &'static str)>,
}

fn ip4(base: u32, off: u32) -> String {
    std::net::Ipv4Addr::from(base + off).to_string()
}

struct B<'a> {
    s: &'a mut Scenario,
    ids: Ids,
    made: Vec<String>,
}

impl B<'_> {
    fn add(&mut self, coll: &str, mut v: Value) -> String {
        if v.get("id").is_none() {
            v["id"] = json!(self.ids.uuid());
        }
        let id = v["id"].as_str().unwrap_or_default().to_string();
        self.s.add(coll, v);
        self.made.push(id.clone());
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn port(
        &mut self,
        net: &str,
        sub: &str,
        ip: &str,
        name: &str,
        owner: &str,
        device: &str,
        tags: &Value,
    ) -> String {
        let mac = self.ids.mac();
        self.add(
            "ports",
            json!({"name": name, "network_id": net, "fixed_ips": [{"subnet_id": sub, "ip_address": ip}], "device_owner": owner,
                "device_id": device, "tags": tags, "security_groups": [], "mac_address": mac, "status": "ACTIVE"}),
        )
    }
}

fn first_ns_net(s: &Scenario, ids: &KuryrIds, i: usize) -> (String, String, String) {
    let net = ids.namespace_network_ids[i.min(ids.namespace_network_ids.len() - 1)].clone();
    let sub = s
        .objects("subnets")
        .iter()
        .find(|x| x["network_id"] == net.as_str())
        .map(|x| x["id"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let cidr = s
        .objects("subnets")
        .iter()
        .find(|x| x["id"] == sub.as_str())
        .and_then(|x| x["cidr"].as_str())
        .unwrap_or_default()
        .to_string();
    (net, sub, cidr)
}

/// Returns the shared-project scenario and the IDs to check; needs ≥ 3 namespaces.
pub fn shared_project(cfg: &ScenarioConfig, byo_router: bool) -> (Scenario, SharedProjectIds) {
    assert!(
        cfg.namespaces >= 3,
        "the shared-project scenario needs three namespaces"
    );
    let (mut s, first) = kuryr_cluster_with_ids(cfg, byo_router);
    let mut out = SharedProjectIds {
        first: first.clone(),
        ..Default::default()
    };
    let mut b = B {
        s: &mut s,
        ids: Ids::new(cfg.seed ^ 0x5eed_0002),
        made: Vec::new(),
    };
    let second = format!("ostest-{}", b.ids.alnum(5));
    let tag = json!([format!("openshiftClusterID={second}")]);
    let tag_str = format!("openshiftClusterID={second}");
    out.second_cluster_id = second.clone();

    // The second cluster: installer objects.
    let ext = first.external_network_id.clone();
    let router = b.add("routers", json!({"name": format!("{second}-external-router"), "tags": tag, "description": "Created By OpenShift Installer",
        "external_gateway_info": {"network_id": ext}}));
    let machines = b.add("networks", json!({"name": format!("{second}-openshift"), "tags": tag, "description": "Created By OpenShift Installer"}));
    let nodes = b.add("subnets", json!({"name": format!("{second}-nodes"), "network_id": machines, "cidr": "10.197.0.0/16", "tags": tag}));
    b.port(
        &machines,
        &nodes,
        "10.197.0.1",
        "",
        "network:router_interface",
        &router,
        &json!([]),
    );
    for role in ["master", "worker"] {
        b.add("security-groups", json!({"name": format!("{second}-{role}"), "tags": tag, "description": format!("Created By OpenShift Installer {role}")}));
    }
    // Kuryr objects of the second cluster.
    let pods_sg = b.add(
        "security-groups",
        json!({"name": format!("{second}-kuryr-pods-security-group"), "tags": tag}),
    );
    let pool = b.add("subnetpools", json!({"name": format!("{second}-kuryr-pod-subnetpool"), "prefixes": ["10.136.0.0/14"], "default_prefixlen": 23, "tags": tag}));
    let svc_net = b.add(
        "networks",
        json!({"name": format!("{second}-kuryr-service-network"), "tags": tag}),
    );
    let svc_sub = b.add("subnets", json!({"name": format!("{second}-kuryr-service-subnet"), "network_id": svc_net, "cidr": "172.40.0.0/15", "tags": tag}));
    b.port(
        &svc_net,
        &svc_sub,
        "172.41.255.254",
        &format!("{second}-kuryr-service-subnet-router-port"),
        "network:router_interface",
        &router,
        &json!([]),
    );
    let mut trunks = Vec::new();
    for i in 0..2u32 {
        let name = format!("{second}-worker-0-{}", b.ids.alnum(5));
        let parent = b.port(
            &machines,
            &nodes,
            &ip4(0x0ac5_0000, 10 + i),
            &name,
            "compute:nova",
            &format!("server-{second}-{i}"),
            &tag,
        );
        trunks.push((name, parent, Vec::new()));
    }
    let base = 0x0a88_0000u32; // 10.136.0.0
    for (i, ns) in ["default", "ns-1"].iter().enumerate() {
        let b0 = base + 512 * i as u32;
        let net = b.add("networks", json!({"name": format!("ns/{ns}-net"), "tags": tag, "description": format!("Kuryr network of namespace {ns}")}));
        let sub = b.add("subnets", json!({"name": format!("ns/{ns}-subnet"), "network_id": net, "cidr": format!("{}/23", ip4(b0, 0)), "subnetpool_id": pool, "tags": tag}));
        b.port(
            &net,
            &sub,
            &ip4(b0, 1),
            "",
            "network:router_interface",
            &router,
            &json!([]),
        );
        for j in 0..2u32 {
            let pod = format!("app-{j}-{}", b.ids.alnum(5));
            let p = b.port(&net, &sub, &ip4(b0, 2 + j), &pod, "trunk:subport", "", &tag);
            let t = &mut trunks[(j as usize) % 2];
            let vlan = t.2.len() as u32 + 1;
            t.2.push(json!({"port_id": p, "segmentation_type": "vlan", "segmentation_id": vlan}));
        }
        // Its network-policy SG, named and described exactly like the first cluster's.
        let sg = b.add("security-groups", json!({"name": format!("sg/{ns}-np-0"), "description": format!("Kuryr-Kubernetes Network Policy {ns}/np-0 SG"), "tags": tag}));
        b.add("security-group-rules", json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": format!("{}/23", ip4(b0, 0))}));
        out.second_np_sgs.push(sg);
        // A service: LB (tagged, tag string in the description like Kuryr), listener, pool, member.
        let lb_id = b.ids.uuid();
        let vip = ip4(0xac28_0000, 10 + i as u32);
        let vip_port = b.port(
            &svc_net,
            &svc_sub,
            &vip,
            &format!("octavia-lb-{lb_id}"),
            "Octavia",
            &format!("lb-{lb_id}"),
            &json!([]),
        );
        b.add("loadbalancers", json!({"id": lb_id, "name": format!("{ns}/svc-0"), "description": tag_str, "tags": tag, "vip_address": vip, "vip_port_id": vip_port,
            "vip_subnet_id": svc_sub, "vip_network_id": svc_net, "provider": "amphora"}));
        let listener = b.add("listeners", json!({"name": format!("{ns}/svc-0:TCP:80"), "loadbalancer_id": lb_id, "protocol": "TCP", "protocol_port": 80}));
        let lbpool = b.add("pools", json!({"name": format!("{ns}/svc-0:TCP:80"), "loadbalancer_id": lb_id, "listener_id": listener, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}));
        b.add("members", json!({"name": format!("{ns}/app:8080"), "pool_id": lbpool, "loadbalancer_id": lb_id, "address": ip4(b0, 2), "protocol_port": 8080, "subnet_id": sub}));
        if i == 0 {
            b.add("floatingips", json!({"floating_ip_address": "198.51.100.200", "floating_network_id": ext, "port_id": vip_port, "fixed_ip_address": vip,
                "description": "kuryr_lb", "tags": tag, "status": "ACTIVE"}));
        }
    }
    for (name, parent, subs) in trunks {
        b.add("trunks", json!({"name": name, "port_id": parent, "tags": tag, "status": "ACTIVE", "sub_ports": subs}));
    }
    let _ = pods_sg;
    out.second = std::mem::take(&mut b.made);

    // The appliance: an untagged trunk, parent on the machines network, subport on a Kuryr network.
    let nodes_subnet =
        b.s.objects("subnets")
            .iter()
            .find(|x| x["network_id"] == first.machines_network_id.as_str())
            .and_then(|x| x["id"].as_str())
            .unwrap_or_default()
            .to_string();
    let (appl_net, appl_sub, appl_cidr) = first_ns_net(b.s, &first, 1);
    let appl_ip = ip4(
        u32::from(
            appl_cidr
                .split('/')
                .next()
                .unwrap_or("0.0.0.0")
                .parse::<std::net::Ipv4Addr>()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        ),
        400,
    );
    out.appliance_parent = b.port(
        &first.machines_network_id,
        &nodes_subnet,
        "10.196.200.1",
        "appliance-0",
        "compute:nova",
        "appliance-server",
        &json!([]),
    );
    out.appliance_subport = b.port(
        &appl_net,
        &appl_sub,
        &appl_ip,
        "appliance-0-vlan100",
        "trunk:subport",
        "",
        &json!([]),
    );
    out.appliance_trunk = b.add("trunks", json!({"name": "appliance-0", "description": "the network team's appliance", "port_id": out.appliance_parent, "status": "ACTIVE",
        "sub_ports": [{"port_id": out.appliance_subport, "segmentation_type": "vlan", "segmentation_id": 100}]}));

    // The user's VM port on another Kuryr network.
    let (vm_net, vm_sub, vm_cidr) = first_ns_net(b.s, &first, 2);
    let vm_ip = ip4(
        u32::from(
            vm_cidr
                .split('/')
                .next()
                .unwrap_or("0.0.0.0")
                .parse::<std::net::Ipv4Addr>()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        ),
        401,
    );
    out.user_vm_port = b.port(
        &vm_net,
        &vm_sub,
        &vm_ip,
        "users-debug-vm",
        "compute:nova",
        "users-server",
        &json!([]),
    );

    // What the foreign ports block: their networks, subnets and router interfaces.
    out.blocked_networks = vec![appl_net.clone(), vm_net.clone()];
    out.blocked_subnets = vec![appl_sub.clone(), vm_sub.clone()];
    out.blocked_interfaces =
        b.s.objects("ports")
            .iter()
            .filter(|p| {
                p["device_owner"] == "network:router_interface"
                    && out
                        .blocked_networks
                        .iter()
                        .any(|n| p["network_id"] == n.as_str())
            })
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect();

    let mut keep: Vec<(String, &'static str)> = Vec::new();
    keep.extend(
        out.second
            .iter()
            .map(|id| (id.clone(), "the second cluster's")),
    );
    keep.extend(
        first
            .other_ids
            .iter()
            .map(|id| (id.clone(), "the look-alike cluster's")),
    );
    keep.push((out.appliance_trunk.clone(), "an untagged appliance trunk"));
    keep.push((out.appliance_parent.clone(), "the appliance's parent port"));
    keep.push((
        out.appliance_subport.clone(),
        "the appliance's subport (foreign port)",
    ));
    keep.push((
        out.user_vm_port.clone(),
        "the user's VM port (foreign port)",
    ));
    keep.extend(
        out.blocked_networks
            .iter()
            .map(|id| (id.clone(), "blocked by a foreign port")),
    );
    keep.extend(
        out.blocked_subnets
            .iter()
            .map(|id| (id.clone(), "blocked by a foreign port")),
    );
    keep.extend(
        out.blocked_interfaces
            .iter()
            .map(|id| (id.clone(), "router interface of a blocked subnet")),
    );
    keep.push((
        first.machines_network_id.clone(),
        "the installer's machines network",
    ));
    keep.push((first.master_sg_id.clone(), "the installer's master SG"));
    keep.push((first.worker_sg_id.clone(), "the installer's worker SG"));
    keep.push((
        first.router_id.clone(),
        if byo_router {
            "the user's router (bring your own network)"
        } else {
            "the router keeps its machines interface"
        },
    ));
    keep.push((
        first.subnetpool_id.clone(),
        "blocked subnets still allocate from the pool",
    ));
    keep.push((first.external_network_id.clone(), "the external network"));
    keep.extend(
        first
            .trunk_ids
            .iter()
            .map(|id| (id.clone(), "the nodes' trunks")),
    );
    out.must_keep = keep;
    (s, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_is_deterministic_and_keeps_the_strangers_apart() {
        let cfg = ScenarioConfig::default();
        let (a, ia) = shared_project(&cfg, false);
        let (b, ib) = shared_project(&cfg, false);
        assert_eq!(a, b);
        assert_eq!(ia, ib);
        assert_ne!(ia.second_cluster_id, ia.first.cluster_id);
        assert_ne!(ia.blocked_networks[0], ia.blocked_networks[1]);
        assert_eq!(ia.blocked_interfaces.len(), 2);
        // The second cluster's NP SGs look exactly like the first's.
        let sgs = a.objects("security-groups");
        let desc = |id: &str| {
            sgs.iter()
                .find(|g| g["id"] == id)
                .map(|g| g["description"].clone())
                .unwrap_or_default()
        };
        assert!(
            ia.first
                .np_sg_ids
                .iter()
                .any(|f| desc(f) == desc(&ia.second_np_sgs[0]))
        );
        // Every ID is unique.
        let mut all: Vec<&str> = a
            .openstack
            .values()
            .flatten()
            .filter_map(|o| o["id"].as_str())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        let (_, byo) = shared_project(&cfg, true);
        assert!(byo.first.router_is_users);
    }
}
