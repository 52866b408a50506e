//! An OVS-era Neutron deployment for the `ovs` workflow's readiness checks
//! (`spec/ovs-to-ovn.md`): violations of each check beside clean objects,
//! and the IDs each check must flag ([`OvsExpected`]).

use serde_json::{Value, json};

use super::{Ids, Scenario};

/// Sizes of the OVS scenario.
#[derive(Clone, Debug)]
pub struct OvsConfig {
    pub seed: u64,
    /// Clean tenant networks (Geneve-safe MTU, DNS set, DHCP egress allowed).
    pub clean_networks: usize,
}

impl Default for OvsConfig {
    fn default() -> Self {
        OvsConfig {
            seed: 7,
            clean_networks: 3,
        }
    }
}

/// What each readiness check must flag in the scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OvsExpected {
    pub networks_mtu: Vec<String>,
    pub dhcp_egress_blocked: Vec<String>,
    pub subnets_without_dns: Vec<String>,
    pub subnets_without_dhcp: Vec<String>,
    pub subnet_ip_exhausted: Vec<String>,
    pub router_internal_mtu: Vec<String>,
    pub provider_networks: Vec<String>,
    pub sriov_floating_ip: Vec<String>,
}

struct B {
    s: Scenario,
    ids: Ids,
}

impl B {
    fn add(&mut self, coll: &str, mut v: Value) -> String {
        let id = self.ids.uuid();
        v["id"] = json!(id);
        self.s.add(coll, v);
        id
    }

    fn net(&mut self, name: &str, ty: &str, mtu: u32) -> String {
        self.add(
            "networks",
            json!({"name": name, "provider:network_type": ty, "mtu": mtu}),
        )
    }

    fn subnet(&mut self, net: &str, cidr: &str, dhcp: bool, dns: &[&str]) -> String {
        self.add("subnets", json!({"network_id": net, "name": format!("{cidr}-subnet"), "cidr": cidr, "enable_dhcp": dhcp, "dns_nameservers": dns}))
    }

    fn port(
        &mut self,
        net: &str,
        subnet: &str,
        ip: &str,
        owner: &str,
        sgs: &[&str],
        extra: Value,
    ) -> String {
        let mac = self.ids.mac();
        let mut p = json!({"network_id": net, "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}], "device_owner": owner,
            "device_id": self.ids.uuid(), "security_groups": sgs, "mac_address": mac, "status": "ACTIVE", "port_security_enabled": true});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.add("ports", p)
    }

    fn sg(&mut self, name: &str, dhcp_egress: bool) -> String {
        let sg = self.add(
            "security-groups",
            json!({"name": name, "description": name}),
        );
        self.add("security-group-rules", json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}));
        if dhcp_egress {
            self.add(
                "security-group-rules",
                json!({"security_group_id": sg, "direction": "egress", "ethertype": "IPv4"}),
            );
        } else {
            self.add("security-group-rules", json!({"security_group_id": sg, "direction": "egress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}));
        }
        sg
    }
}

/// Returns the OVS deployment and what each check must flag.
pub fn ovs_deployment(cfg: &OvsConfig) -> (Scenario, OvsExpected) {
    let mut b = B {
        s: Scenario::default(),
        ids: Ids::new(cfg.seed),
    };
    let mut e = OvsExpected::default();
    let open = b.sg("open", true);
    let closed = b.sg("web-only", false);
    let public = b.add("networks", json!({"name": "public", "provider:network_type": "flat", "mtu": 1500, "router:external": true}));
    let public_sub = b.subnet(&public, "203.0.113.0/24", false, &[]);

    for i in 0..cfg.clean_networks {
        let net = b.net(&format!("clean-{i}"), "vxlan", 1442);
        let sub = b.subnet(&net, &format!("10.10.{i}.0/24"), true, &["192.0.2.53"]);
        b.port(
            &net,
            &sub,
            &format!("10.10.{i}.10"),
            "compute:nova",
            &[&open],
            json!({}),
        );
    }
    // networks_mtu: VXLAN at the OVS default 1450.
    let old = b.net("legacy-vxlan", "vxlan", 1450);
    e.networks_mtu.push(old.clone());
    // subnets_without_dns + dhcp_egress_blocked on it.
    let old_sub = b.subnet(&old, "10.20.0.0/24", true, &[]);
    e.subnets_without_dns.push(old_sub.clone());
    let blocked = b.port(
        &old,
        &old_sub,
        "10.20.0.10",
        "compute:nova",
        &[&closed],
        json!({}),
    );
    e.dhcp_egress_blocked.push(blocked);
    // subnets_without_dhcp: VXLAN subnet with DHCP off and a workload.
    let nodhcp = b.net("static-vxlan", "vxlan", 1442);
    let nodhcp_sub = b.subnet(&nodhcp, "10.30.0.0/24", false, &["192.0.2.53"]);
    b.port(
        &nodhcp,
        &nodhcp_sub,
        "10.30.0.10",
        "compute:nova",
        &[&open],
        json!({}),
    );
    e.subnets_without_dhcp.push(nodhcp_sub);
    // subnet_ip_exhausted: a /29 with every address used.
    let full = b.net("full", "vxlan", 1442);
    let full_sub = b.subnet(&full, "10.40.0.0/29", true, &["192.0.2.53"]);
    for h in 2..=6 {
        b.port(
            &full,
            &full_sub,
            &format!("10.40.0.{h}"),
            "compute:nova",
            &[&open],
            json!({}),
        );
    }
    e.subnet_ip_exhausted.push(full.clone());
    // router_internal_mtu: one router on networks of MTU 1442 and 1400.
    let r = b.add(
        "routers",
        json!({"name": "mixed-mtu", "external_gateway_info": {"network_id": public}}),
    );
    let a = b.net("mtu-a", "vxlan", 1442);
    let a_sub = b.subnet(&a, "10.50.0.0/24", true, &["192.0.2.53"]);
    let c = b.net("mtu-b", "vxlan", 1400);
    let c_sub = b.subnet(&c, "10.51.0.0/24", true, &["192.0.2.53"]);
    b.port(
        &a,
        &a_sub,
        "10.50.0.1",
        "network:router_interface",
        &[],
        json!({"device_id": r, "port_security_enabled": false}),
    );
    b.port(
        &c,
        &c_sub,
        "10.51.0.1",
        "network:router_interface",
        &[],
        json!({"device_id": r, "port_security_enabled": false}),
    );
    e.router_internal_mtu.push(r);
    // provider_networks + sriov_floating_ip: a VLAN network with an SR-IOV port holding a floating IP.
    let vlan = b.net("provider-vlan", "vlan", 1500);
    let vlan_sub = b.subnet(&vlan, "10.60.0.0/24", true, &["192.0.2.53"]);
    let sriov = b.port(
        &vlan,
        &vlan_sub,
        "10.60.0.10",
        "compute:nova",
        &[&open],
        json!({"binding:vnic_type": "direct"}),
    );
    e.provider_networks.push(vlan);
    let fip_id = b.ids.uuid();
    b.port(
        &public,
        &public_sub,
        "203.0.113.10",
        "network:floatingip",
        &[],
        json!({"device_id": fip_id, "port_security_enabled": false}),
    );
    b.s.add("floatingips", json!({"id": fip_id, "floating_ip_address": "203.0.113.10", "floating_network_id": public, "port_id": sriov, "fixed_ip_address": "10.60.0.10", "status": "ACTIVE"}));
    e.sriov_floating_ip.push(sriov);
    (b.s, e)
}
