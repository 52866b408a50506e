//! The Kuryr cluster scenario, OpenStack side: every object the installer
//! and Kuryr would have made (names, tags `openshiftClusterID=<id>`,
//! descriptions, device owners of `spec/kuryr-to-ovnk.md`), Nova servers for
//! the nodes, a second cluster's look-alike resources in the same project
//! that must never be touched, and a bring-your-own-router variant. The
//! Kubernetes side is built in `kuryr_k8s.rs` from the same IDs.

use serde_json::{Value, json};

use super::kuryr_k8s::{self, K8sInput};
use super::{Ids, Scenario};
use crate::openstack::CloudConfig;

/// Scenario sizes (the same seed gives the same objects).
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    pub seed: u64,
    pub namespaces: usize,
    pub pods_per_namespace: usize,
    pub services_per_namespace: usize,
    pub network_policies_per_namespace: usize,
    pub masters: usize,
    pub workers: usize,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            seed: 1,
            namespaces: 3,
            pods_per_namespace: 3,
            services_per_namespace: 1,
            network_policies_per_namespace: 1,
            masters: 3,
            workers: 2,
        }
    }
}

/// The IDs a test needs to check what the tool did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KuryrIds {
    pub cluster_id: String,
    pub tag: String,
    pub project_id: String,
    pub router_id: String,
    pub router_is_users: bool,
    pub machines_network_id: String,
    pub service_network_id: String,
    pub service_subnet_id: String,
    pub subnetpool_id: String,
    pub pods_sg_id: String,
    pub master_sg_id: String,
    pub worker_sg_id: String,
    pub external_network_id: String,
    /// Per-namespace networks (KuryrNetwork `netId`s).
    pub namespace_network_ids: Vec<String>,
    /// Network-policy security groups of this cluster.
    pub np_sg_ids: Vec<String>,
    pub load_balancer_ids: Vec<String>,
    pub floating_ip_ids: Vec<String>,
    pub trunk_ids: Vec<String>,
    pub server_ids: Vec<String>,
    /// The other cluster's ID and every one of its objects' IDs (never to be touched).
    pub other_cluster_id: String,
    pub other_ids: Vec<String>,
}

fn ip4(base: u32, off: u32) -> String {
    std::net::Ipv4Addr::from(base + off).to_string()
}

const POD_POOL: u32 = 0x0a80_0000; // 10.128.0.0/14
const NODES: u32 = 0x0ac4_0000; // 10.196.0.0/16
const SERVICES: u32 = 0xac1e_0000; // 172.30.0.0/15
const PUBLIC: u32 = 0xc633_6400; // 198.51.100.0/24

/// Returns a Kuryr cluster with an installer-made router.
pub fn kuryr_cluster(cfg: &ScenarioConfig) -> Scenario {
    build(cfg, false).0
}

/// Returns a Kuryr cluster whose router the user provided (not named or tagged by the installer).
pub fn kuryr_cluster_byo_router(cfg: &ScenarioConfig) -> Scenario {
    build(cfg, true).0
}

/// Returns a Kuryr cluster and the IDs of its key objects.
pub fn kuryr_cluster_with_ids(cfg: &ScenarioConfig, byo_router: bool) -> (Scenario, KuryrIds) {
    build(cfg, byo_router)
}

struct B<'a> {
    s: Scenario,
    ids: &'a mut Ids,
}

impl B<'_> {
    fn add(&mut self, coll: &str, mut v: Value) -> String {
        if v.get("id").is_none() {
            v["id"] = json!(self.ids.uuid());
        }
        let id = v["id"].as_str().unwrap_or_default().to_string();
        self.s.add(coll, v);
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn port(
        &mut self,
        net: &str,
        subnet: &str,
        ip: String,
        name: &str,
        owner: &str,
        device: &str,
        tags: Value,
        sgs: Value,
    ) -> String {
        let mac = self.ids.mac();
        self.add(
            "ports",
            json!({"name": name, "network_id": net, "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}], "device_owner": owner,
                "device_id": device, "tags": tags, "security_groups": sgs, "mac_address": mac, "status": "ACTIVE"}),
        )
    }
}

fn build(cfg: &ScenarioConfig, byo: bool) -> (Scenario, KuryrIds) {
    let mut ids = Ids::new(cfg.seed);
    let cluster = format!("ostest-{}", ids.alnum(5));
    let other = format!("ostest-{}", ids.alnum(5));
    let project = CloudConfig::default().project_id;
    let mut b = B {
        s: Scenario::default(),
        ids: &mut ids,
    };
    let mut k = KuryrIds {
        cluster_id: cluster.clone(),
        tag: format!("openshiftClusterID={cluster}"),
        project_id: project.clone(),
        other_cluster_id: other.clone(),
        router_is_users: byo,
        ..Default::default()
    };
    let tag = json!([k.tag.clone()]);

    // Installer: external network, machines network, router, node security groups.
    k.external_network_id = b.add("networks", json!({"name": "public", "router:external": true, "provider:network_type": "flat", "mtu": 1500}));
    let public_subnet = b.add("subnets", json!({"name": "public-subnet", "network_id": k.external_network_id, "cidr": "198.51.100.0/24", "enable_dhcp": false}));
    k.machines_network_id = b.add("networks", json!({"name": format!("{cluster}-openshift"), "tags": tag, "description": "Created By OpenShift Installer"}));
    let nodes_subnet = b.add("subnets", json!({"name": format!("{cluster}-nodes"), "network_id": k.machines_network_id, "cidr": "10.196.0.0/16", "tags": tag, "dns_nameservers": ["192.0.2.53"]}));
    k.router_id = if byo {
        b.add("routers", json!({"name": "user-router", "description": "the user's own router", "external_gateway_info": {"network_id": k.external_network_id}}))
    } else {
        b.add("routers", json!({"name": format!("{cluster}-external-router"), "tags": tag, "description": "Created By OpenShift Installer", "external_gateway_info": {"network_id": k.external_network_id}}))
    };
    let router = k.router_id.clone();
    b.port(
        &k.machines_network_id,
        &nodes_subnet,
        ip4(NODES, 1),
        "",
        "network:router_interface",
        &router,
        json!([]),
        json!([]),
    );
    for role in ["master", "worker"] {
        let sg = b.add("security-groups", json!({"name": format!("{cluster}-{role}"), "tags": tag, "description": format!("Created By OpenShift Installer {role}")}));
        for (proto, lo, hi) in [
            ("udp", 6081, 6081),
            ("udp", 4789, 4789),
            ("tcp", 22, 22),
            ("tcp", 10250, 10250),
        ] {
            b.add("security-group-rules", json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": proto, "port_range_min": lo, "port_range_max": hi, "remote_ip_prefix": "10.196.0.0/16"}));
        }
        for eth in ["IPv4", "IPv6"] {
            b.add(
                "security-group-rules",
                json!({"security_group_id": sg, "direction": "egress", "ethertype": eth}),
            );
        }
        if role == "master" {
            k.master_sg_id = sg
        } else {
            k.worker_sg_id = sg
        }
    }

    // Kuryr: pods SG, subnet pool, service network.
    k.pods_sg_id = b.add(
        "security-groups",
        json!({"name": format!("{cluster}-kuryr-pods-security-group"), "tags": tag}),
    );
    b.add("security-group-rules", json!({"security_group_id": k.pods_sg_id, "direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "10.196.0.0/16"}));
    k.subnetpool_id = b.add("subnetpools", json!({"name": format!("{cluster}-kuryr-pod-subnetpool"), "prefixes": ["10.128.0.0/14"], "default_prefixlen": 23, "tags": tag}));
    k.service_network_id = b.add(
        "networks",
        json!({"name": format!("{cluster}-kuryr-service-network"), "tags": tag}),
    );
    k.service_subnet_id = b.add("subnets", json!({"name": format!("{cluster}-kuryr-service-subnet"), "network_id": k.service_network_id, "cidr": "172.30.0.0/15", "tags": tag, "gateway_ip": ip4(SERVICES, 0x1_fffe)}));
    let (svc_net, svc_sub) = (k.service_network_id.clone(), k.service_subnet_id.clone());
    b.port(
        &svc_net,
        &svc_sub,
        ip4(SERVICES, 0x1_fffe),
        &format!("{cluster}-kuryr-service-subnet-router-port"),
        "network:router_interface",
        &router,
        json!([]),
        json!([]),
    );

    // Nodes: Nova servers, trunk parent ports, trunks.
    let mut nodes = Vec::new();
    for (role, count) in [("master", cfg.masters), ("worker", cfg.workers)] {
        for i in 0..count {
            let name = if role == "master" {
                format!("{cluster}-master-{i}")
            } else {
                format!("{cluster}-worker-0-{}", b.ids.alnum(5))
            };
            let server = b.add("servers", json!({"name": name, "status": "ACTIVE", "OS-EXT-SRV-ATTR:host": format!("compute-{}", nodes.len() % 3), "metadata": {"openshiftClusterID": cluster, "Name": name}, "tags": [k.tag.clone()]}));
            let ip = ip4(NODES, 10 + nodes.len() as u32);
            let sg = if role == "master" {
                k.master_sg_id.clone()
            } else {
                k.worker_sg_id.clone()
            };
            let parent = b.port(
                &k.machines_network_id,
                &nodes_subnet,
                ip.clone(),
                &name,
                "compute:nova",
                &server,
                tag.clone(),
                json!([sg]),
            );
            let trunk = b.add("trunks", json!({"name": name, "port_id": parent, "tags": tag, "status": "ACTIVE", "sub_ports": []}));
            k.trunk_ids.push(trunk.clone());
            k.server_ids.push(server.clone());
            nodes.push(kuryr_k8s::NodeInfo {
                name,
                role,
                server,
                ip,
                trunk,
                next_vlan: 1,
            });
        }
    }

    // Namespaces: network, subnet from the pool, router interface, pods as trunk subports, services, policies.
    let mut input = K8sInput {
        cluster: cluster.clone(),
        project: project.clone(),
        ids: k.clone(),
        namespaces: Vec::new(),
    };
    let ns_names: Vec<String> = std::iter::once("default".to_string())
        .chain((1..cfg.namespaces).map(|i| format!("ns-{i}")))
        .take(cfg.namespaces)
        .collect();
    for (i, ns) in ns_names.iter().enumerate() {
        let base = POD_POOL + (i as u32) * 512;
        let net = b.add("networks", json!({"name": format!("ns/{ns}-net"), "tags": tag, "description": format!("Kuryr network of namespace {ns}")}));
        let sub = b.add("subnets", json!({"name": format!("ns/{ns}-subnet"), "network_id": net, "cidr": format!("{}/23", ip4(base, 0)), "subnetpool_id": k.subnetpool_id, "tags": tag}));
        b.port(
            &net,
            &sub,
            ip4(base, 1),
            "",
            "network:router_interface",
            &router,
            json!([]),
            json!([]),
        );
        k.namespace_network_ids.push(net.clone());
        let mut nsi = kuryr_k8s::NsInfo {
            name: ns.clone(),
            net,
            subnet: sub,
            cidr: format!("{}/23", ip4(base, 0)),
            pods: Vec::new(),
            services: Vec::new(),
            policies: Vec::new(),
        };
        let workers: Vec<usize> = (0..nodes.len())
            .filter(|n| nodes[*n].role == "worker")
            .collect();
        let on = if workers.is_empty() {
            (0..nodes.len()).collect::<Vec<_>>()
        } else {
            workers
        };
        for j in 0..cfg.pods_per_namespace {
            let pod = format!("app-{}-{}", j, b.ids.alnum(5));
            let n = on[(i * cfg.pods_per_namespace + j) % on.len().max(1)];
            let ip = ip4(base, 2 + j as u32);
            let port = b.port(
                &nsi.net.clone(),
                &nsi.subnet.clone(),
                ip.clone(),
                &pod,
                "trunk:subport",
                "",
                tag.clone(),
                json!([k.pods_sg_id]),
            );
            let vlan = nodes[n].next_vlan;
            nodes[n].next_vlan += 1;
            let mac =
                b.s.objects("ports")
                    .last()
                    .map(|p| p["mac_address"].clone())
                    .unwrap_or_default();
            nsi.pods.push(kuryr_k8s::PodInfo {
                name: pod,
                node: nodes[n].name.clone(),
                ip,
                port,
                vlan,
                mac: mac.as_str().unwrap_or_default().to_string(),
                uid: b.ids.uuid(),
            });
        }
        for j in 0..cfg.services_per_namespace {
            let svc = format!("svc-{j}");
            let lb_name = format!("{ns}/{svc}");
            let vip = ip4(SERVICES, 10 + (i * cfg.services_per_namespace + j) as u32);
            let lb_id = b.ids.uuid();
            let vip_port = b.port(
                &svc_net,
                &svc_sub,
                vip.clone(),
                &format!("octavia-lb-{lb_id}"),
                "Octavia",
                &format!("lb-{lb_id}"),
                json!([]),
                json!([]),
            );
            b.add("loadbalancers", json!({"id": lb_id, "name": lb_name, "description": k.tag, "tags": tag, "vip_address": vip, "vip_port_id": vip_port,
                "vip_subnet_id": svc_sub, "vip_network_id": svc_net, "provider": "amphora"}));
            let listener = b.add("listeners", json!({"name": format!("{lb_name}:TCP:80"), "loadbalancer_id": lb_id, "protocol": "TCP", "protocol_port": 80}));
            let pool = b.add("pools", json!({"name": format!("{lb_name}:TCP:80"), "loadbalancer_id": lb_id, "listener_id": listener, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}));
            let mut members = Vec::new();
            for p in nsi.pods.iter().take(2) {
                let m = b.add("members", json!({"name": format!("{ns}/{}:8080", p.name), "pool_id": pool, "loadbalancer_id": lb_id, "address": p.ip, "protocol_port": 8080, "subnet_id": nsi.subnet}));
                members.push((m, p.ip.clone(), p.name.clone()));
            }
            k.load_balancer_ids.push(lb_id.clone());
            let fip = if j == 0 && i % 2 == 1 {
                let addr = ip4(PUBLIC, 10 + i as u32);
                let fip_id = b.ids.uuid();
                let fport = b.port(
                    &k.external_network_id,
                    &public_subnet,
                    addr.clone(),
                    "",
                    "network:floatingip",
                    &fip_id,
                    json!([]),
                    json!([]),
                );
                let _ = fport;
                b.add("floatingips", json!({"id": fip_id, "floating_ip_address": addr, "floating_network_id": k.external_network_id, "port_id": vip_port, "fixed_ip_address": vip, "description": "kuryr_lb", "tags": tag, "status": "ACTIVE"}));
                k.floating_ip_ids.push(fip_id.clone());
                Some((fip_id, addr))
            } else {
                None
            };
            nsi.services.push(kuryr_k8s::SvcInfo {
                name: svc,
                uid: b.ids.uuid(),
                lb: lb_id,
                vip,
                vip_port,
                listener,
                pool,
                members,
                fip,
            });
        }
        for j in 0..cfg.network_policies_per_namespace {
            let np = format!("np-{j}");
            let sg = b.add("security-groups", json!({"name": format!("sg/{ns}-{np}"), "description": format!("Kuryr-Kubernetes Network Policy {ns}/{np} SG"), "tags": tag}));
            let rule = b.add("security-group-rules", json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": nsi.cidr}));
            k.np_sg_ids.push(sg.clone());
            nsi.policies.push(kuryr_k8s::NpInfo {
                name: np,
                uid: b.ids.uuid(),
                sg,
                rule,
            });
        }
        input.namespaces.push(nsi);
    }
    // Subports on the trunks.
    for ns in &input.namespaces {
        for p in &ns.pods {
            let n = nodes.iter().find(|n| n.name == p.node).expect("node");
            let trunk =
                b.s.openstack
                    .get_mut("trunks")
                    .and_then(|t| t.iter_mut().find(|t| t["id"] == n.trunk.as_str()))
                    .expect("trunk");
            trunk["sub_ports"].as_array_mut().expect("sub_ports").push(
                json!({"port_id": p.port, "segmentation_type": "vlan", "segmentation_id": p.vlan}),
            );
        }
    }

    // The other cluster in the same project: same naming pattern, never to be touched.
    let otag = json!([format!("openshiftClusterID={other}")]);
    let orouter = b.add("routers", json!({"name": format!("{other}-external-router"), "tags": otag, "description": "Created By OpenShift Installer"}));
    let onet = b.add("networks", json!({"name": "ns/default-net", "tags": otag}));
    let osub = b.add("subnets", json!({"name": "ns/default-subnet", "network_id": onet, "cidr": "10.132.0.0/23", "tags": otag}));
    let oport = b.port(
        &onet,
        &osub,
        "10.132.0.1".into(),
        "",
        "network:router_interface",
        &orouter,
        json!([]),
        json!([]),
    );
    let opod = b.port(
        &onet,
        &osub,
        "10.132.0.5".into(),
        "app-0-other",
        "trunk:subport",
        "",
        otag.clone(),
        json!([]),
    );
    let osg = b.add(
        "security-groups",
        json!({"name": format!("{other}-kuryr-pods-security-group"), "tags": otag}),
    );
    let (ns0, np0) = input
        .namespaces
        .first()
        .and_then(|n| n.policies.first().map(|p| (n.name.clone(), p.name.clone())))
        .unwrap_or(("default".into(), "np-0".into()));
    let onp = b.add("security-groups", json!({"name": format!("sg/{ns0}-{np0}"), "description": format!("Kuryr-Kubernetes Network Policy {ns0}/{np0} SG"), "tags": otag}));
    let opool = b.add("subnetpools", json!({"name": format!("{other}-kuryr-pod-subnetpool"), "prefixes": ["10.132.0.0/14"], "default_prefixlen": 23, "tags": otag}));
    let olb_port = b.port(
        &onet,
        &osub,
        "10.132.0.9".into(),
        "octavia-lb-other",
        "Octavia",
        "lb-other",
        json!([]),
        json!([]),
    );
    let olb = b.add("loadbalancers", json!({"name": "default/other-svc", "description": format!("openshiftClusterID={other}"), "tags": otag, "vip_address": "10.132.0.9", "vip_port_id": olb_port, "vip_subnet_id": osub, "vip_network_id": onet}));
    k.other_ids = vec![
        orouter, onet, osub, oport, opod, osg, onp, opool, olb_port, olb,
    ];

    input.ids = k.clone();
    b.s.k8s = kuryr_k8s::objects(cfg, &input, &nodes);
    (b.s, k)
}
