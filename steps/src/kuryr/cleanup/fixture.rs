//! A hand-built snapshot of a small Kuryr cluster, shared by the unit tests of
//! the selection, the graph and the restore plan (test builds only).
//!
//! Cluster `c1`: a machines network, an installer router
//! `c1-external-router` (interfaces on the machines subnet, the service
//! subnet and two namespace subnets), master/worker SGs, two nodes with
//! tagged trunks carrying the pod ports as subports, a pods SG, two
//! network-policy SGs, a subnet pool, two load balancers (one with a
//! Kuryr-allocated floating IP) and every CR pointing at them.

use serde_json::json;

use super::snapshot::*;
use crate::kuryr::identity::KuryrConfig;
use crate::openstack::neutron::*;
use crate::openstack::octavia::*;

pub const C: &str = "c1";
pub const TAG: &str = "openshiftClusterID=c1";

pub fn tags() -> Vec<String> {
    vec![TAG.to_string()]
}

pub fn net(id: &str, name: &str, tags: Vec<String>) -> Network {
    Network {
        id: id.into(),
        name: name.into(),
        tags,
        subnets: vec![],
        ..Default::default()
    }
}

pub fn subnet(id: &str, net: &str, cidr: &str, tags: Vec<String>) -> Subnet {
    Subnet {
        id: id.into(),
        name: format!("{id}-name"),
        network_id: net.into(),
        cidr: cidr.into(),
        ip_version: 4,
        gateway_ip: Some(
            cidr.replace(".0/", ".1/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        tags,
        ..Default::default()
    }
}

pub fn port(
    id: &str,
    net: &str,
    subnet: &str,
    owner: &str,
    device: &str,
    tags: Vec<String>,
) -> Port {
    Port {
        id: id.into(),
        name: format!("{id}-name"),
        network_id: net.into(),
        device_owner: owner.into(),
        device_id: device.into(),
        mac_address: "fa:16:3e:00:00:01".into(),
        fixed_ips: vec![FixedIp {
            subnet_id: subnet.into(),
            ip_address: "10.0.0.5".into(),
        }],
        tags,
        ..Default::default()
    }
}

pub fn sg(id: &str, name: &str, description: &str, tags: Vec<String>) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        tags,
        security_group_rules: vec![SecurityGroupRule {
            id: format!("{id}-rule"),
            security_group_id: id.into(),
            direction: "ingress".into(),
            ethertype: "IPv4".into(),
            protocol: Some("tcp".into()),
            port_range_min: Some(8080),
            port_range_max: Some(8080),
            remote_ip_prefix: Some("10.128.0.0/14".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn meta(ns: &str, name: &str, finalizer: &str) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{ns}-{name}"),
        finalizers: vec!["example.com/other".into(), finalizer.into()],
        deleting: false,
    }
}

pub fn lb(id: &str, vip_port: &str, tags: Vec<String>) -> LoadBalancerTree {
    LoadBalancerTree {
        lb: LoadBalancer {
            id: id.into(),
            name: format!("ns/{id}"),
            description: TAG.into(),
            provisioning_status: "ACTIVE".into(),
            vip_address: Some("172.30.0.10".into()),
            vip_port_id: Some(vip_port.into()),
            vip_subnet_id: Some("svc-sub".into()),
            vip_network_id: Some("svc-net".into()),
            provider: "amphora".into(),
            tags,
            ..Default::default()
        },
        listeners: vec![Listener {
            id: format!("{id}-l"),
            name: format!("{id}:TCP:80"),
            protocol: "TCP".into(),
            protocol_port: 80,
            default_pool_id: Some(format!("{id}-p")),
            ..Default::default()
        }],
        pools: vec![PoolTree {
            pool: Pool {
                id: format!("{id}-p"),
                name: format!("{id}:TCP:80"),
                protocol: "TCP".into(),
                lb_algorithm: "ROUND_ROBIN".into(),
                listeners: vec![IdRef {
                    id: format!("{id}-l"),
                }],
                ..Default::default()
            },
            members: vec![Member {
                id: format!("{id}-m"),
                name: "ns/pod:8080".into(),
                address: "10.128.0.5".into(),
                protocol_port: 8080,
                subnet_id: Some("sub-a".into()),
                ..Default::default()
            }],
        }],
    }
}

/// Returns the snapshot of cluster `c1`.
pub fn snapshot() -> Snapshot {
    let t = tags;
    let mut s = Snapshot {
        format: SNAPSHOT_FORMAT,
        cluster_id: C.into(),
        project_id: "proj".into(),
        octavia_version: (2, 26),
        kuryr_config: KuryrConfig {
            pod_router: "router".into(),
            pod_subnet_pool: Some("pool".into()),
            service_subnet: "svc-sub".into(),
            pod_security_groups: vec!["pods-sg".into()],
            resource_tags: t(),
            project: Some("proj".into()),
        },
        gateway_service: true,
        kuryr_namespace: true,
        crds: vec![
            "kuryrnetworks.openstack.org".into(),
            "kuryrports.openstack.org".into(),
        ],
        ..Default::default()
    };
    s.networks = vec![
        net("machines", "c1-openshift", t()),
        net("svc-net", "c1-kuryr-service-network", t()),
        net("net-a", "ns/a-net", t()),
        net("net-b", "ns/b-net", t()),
        Network {
            router_external: Some(true),
            ..net("public", "public", vec![])
        },
    ];
    s.networks[0].description = "Created By OpenShift Installer".into();
    let mut nodes = subnet("nodes", "machines", "10.196.0.0/16", t());
    nodes.name = "c1-nodes".into();
    let mut sub_a = subnet("sub-a", "net-a", "10.128.0.0/23", t());
    sub_a.subnetpool_id = Some("pool".into());
    let mut sub_b = subnet("sub-b", "net-b", "10.128.2.0/23", t());
    sub_b.subnetpool_id = Some("pool".into());
    s.subnets = vec![
        nodes,
        subnet("svc-sub", "svc-net", "172.30.0.0/15", t()),
        sub_a,
        sub_b,
    ];
    let ri = "network:router_interface";
    let mut master_port = port(
        "parent-0",
        "machines",
        "nodes",
        "compute:nova",
        "server-0",
        t(),
    );
    master_port.security_groups = vec!["master-sg".into()];
    let mut worker_port = port(
        "parent-1",
        "machines",
        "nodes",
        "compute:nova",
        "server-1",
        t(),
    );
    worker_port.security_groups = vec!["worker-sg".into()];
    let pod = |id: &str, n: &str, sn: &str| {
        let mut p = port(id, n, sn, "trunk:subport", "", t());
        p.security_groups = vec!["pods-sg".into(), "np-sg-a".into()];
        p
    };
    s.ports = vec![
        port("ri-nodes", "machines", "nodes", ri, "router", vec![]),
        port("ri-svc", "svc-net", "svc-sub", ri, "router", vec![]),
        port("ri-a", "net-a", "sub-a", ri, "router", vec![]),
        port("ri-b", "net-b", "sub-b", ri, "router", vec![]),
        port(
            "dhcp-a",
            "net-a",
            "sub-a",
            "network:dhcp",
            "dhcp-host",
            vec![],
        ),
        port("vip-1", "svc-net", "svc-sub", "Octavia", "lb-lb-1", vec![]),
        port("vip-2", "svc-net", "svc-sub", "Octavia", "lb-lb-2", vec![]),
        master_port,
        worker_port,
        pod("pod-a1", "net-a", "sub-a"),
        pod("pod-a2", "net-a", "sub-a"),
        pod("pod-b1", "net-b", "sub-b"),
    ];
    s.trunks = vec![
        Trunk {
            id: "trunk-0".into(),
            name: "c1-master-0".into(),
            port_id: "parent-0".into(),
            tags: t(),
            sub_ports: vec![],
            ..Default::default()
        },
        Trunk {
            id: "trunk-1".into(),
            name: "c1-worker-0".into(),
            port_id: "parent-1".into(),
            tags: t(),
            sub_ports: ["pod-a1", "pod-a2", "pod-b1"]
                .iter()
                .enumerate()
                .map(|(i, p)| SubPort {
                    port_id: p.to_string(),
                    segmentation_type: "vlan".into(),
                    segmentation_id: i as u32 + 1,
                })
                .collect(),
            ..Default::default()
        },
    ];
    s.routers = vec![Router {
        id: "router".into(),
        name: "c1-external-router".into(),
        description: "Created By OpenShift Installer".into(),
        external_gateway_info: Some(json!({"network_id": "public"})),
        tags: t(),
        ..Default::default()
    }];
    s.subnet_pools = vec![SubnetPool {
        id: "pool".into(),
        name: "c1-kuryr-pod-subnetpool".into(),
        prefixes: vec!["10.128.0.0/14".into()],
        default_prefixlen: Some(23),
        tags: t(),
        ..Default::default()
    }];
    s.security_groups = vec![
        sg(
            "master-sg",
            "c1-master",
            "Created By OpenShift Installer master",
            t(),
        ),
        sg(
            "worker-sg",
            "c1-worker",
            "Created By OpenShift Installer worker",
            t(),
        ),
        sg("pods-sg", "c1-kuryr-pods-security-group", "", t()),
        sg(
            "np-sg-a",
            "sg/a-np",
            "Kuryr-Kubernetes Network Policy a/np SG",
            t(),
        ),
        sg(
            "np-sg-b",
            "sg/b-np",
            "Kuryr-Kubernetes Network Policy b/np SG",
            t(),
        ),
    ];
    s.load_balancers = vec![lb("lb-1", "vip-1", t()), lb("lb-2", "vip-2", t())];
    s.floating_ips = vec![FloatingIp {
        id: "fip-1".into(),
        floating_ip_address: "198.51.100.10".into(),
        floating_network_id: "public".into(),
        port_id: Some("vip-1".into()),
        fixed_ip_address: Some("172.30.0.10".into()),
        description: "kuryr_lb".into(),
        tags: t(),
        ..Default::default()
    }];
    use crate::kuryr::names::*;
    s.kuryr_networks = ["a", "b"]
        .iter()
        .map(|ns| KuryrNetworkCr {
            meta: meta(ns, ns, KURYR_NETWORK_FINALIZER),
            net_id: Some(format!("net-{ns}")),
            subnet_id: Some(format!("sub-{ns}")),
            router_id: Some("router".into()),
            subnet_cidr: None,
        })
        .collect();
    s.kuryr_ports = [("a", "pod-a1"), ("a", "pod-a2"), ("b", "pod-b1")]
        .iter()
        .map(|(ns, p)| KuryrPortCr {
            meta: meta(ns, p, KURYR_PORT_FINALIZER),
            port_ids: vec![p.to_string()],
        })
        .collect();
    s.kuryr_load_balancers = vec![
        KuryrLoadBalancerCr {
            meta: meta("a", "svc-1", KURYR_LOADBALANCER_FINALIZER),
            lb_id: Some("lb-1".into()),
            vip_port_id: Some("vip-1".into()),
            pub_ip: Some(PubIpInfo {
                ip_id: "fip-1".into(),
                ip_addr: "198.51.100.10".into(),
                alloc_method: "pool".into(),
            }),
            ..Default::default()
        },
        KuryrLoadBalancerCr {
            meta: meta("b", "svc-2", KURYR_LOADBALANCER_FINALIZER),
            lb_id: Some("lb-2".into()),
            vip_port_id: Some("vip-2".into()),
            ..Default::default()
        },
    ];
    s.kuryr_network_policies = ["a", "b"]
        .iter()
        .map(|ns| KuryrNetworkPolicyCr {
            meta: meta(ns, "np", NETWORK_POLICY_FINALIZER),
            sg_id: Some(format!("np-sg-{ns}")),
            rule_ids: vec![format!("np-sg-{ns}-rule")],
        })
        .collect();
    s.finalized = vec![
        Finalized {
            kind: CrKind::Service,
            meta: meta("a", "svc-1", SERVICE_FINALIZER),
        },
        Finalized {
            kind: CrKind::Pod,
            meta: meta("a", "pod-a1", POD_FINALIZER),
        },
        Finalized {
            kind: CrKind::NetworkPolicy,
            meta: meta("a", "np", NETWORK_POLICY_FINALIZER),
        },
    ];
    s.normalize();
    s
}
