//! An OVS-era Neutron deployment for the `ovs` workflow's readiness checks
//! (`spec/ovs-to-ovn.md`): a deliberate violation of every check beside
//! clean objects, the OpenStackDeployment (MOSK's CR, namespace `openstack`)
//! the settings come from, Nova compute services and canaries, and the IDs
//! each check must flag ([`OvsExpected`], by check id in
//! [`OvsExpected::by_check`]).
//!
//! Each violation is built to be flagged by its own check only, where the
//! checks allow: e.g. the address-group rule passes the reference's reading
//! (a null prefix is "any") but not the address group's real CIDRs, and the
//! second subnet of `split` keeps its network under the reference's
//! network-wide IP check while one subnet is full for the metadata port.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Ids, Scenario};

/// Sizes of the OVS scenario.
#[derive(Clone, Debug)]
pub struct OvsConfig {
    pub seed: u64,
    /// Clean tenant networks (Geneve-safe MTU, DNS set, DHCP egress allowed).
    pub clean_networks: usize,
    /// Workload ports on each clean network.
    pub ports_per_clean_network: usize,
}

impl Default for OvsConfig {
    fn default() -> Self {
        OvsConfig {
            seed: 7,
            clean_networks: 3,
            ports_per_clean_network: 1,
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
    pub router_gateway_mtu: Vec<String>,
    pub provider_networks: Vec<String>,
    pub provider_networks_routed: Vec<String>,
    pub sriov_floating_ip: Vec<String>,
    pub unsupported_features: Vec<String>,
    pub tenant_network_types: Vec<String>,
    pub dhcpv6_blocked: Vec<String>,
    pub stateless_dhcp: Vec<String>,
    pub metadata_port_ip: Vec<String>,
    pub canaries: Vec<String>,
    pub dhcp_lease: Vec<String>,
}

impl OvsExpected {
    /// Returns the expected violations by check id (sorted, as the checks report them).
    pub fn by_check(&self) -> BTreeMap<&'static str, Vec<String>> {
        let sorted = |v: &Vec<String>| {
            let mut v = v.clone();
            v.sort();
            v
        };
        [
            (
                "subnets_ip_address_availability_check",
                &self.subnet_ip_exhausted,
            ),
            ("networks_mtu_size_check", &self.networks_mtu),
            ("networks_provider_type_check", &self.provider_networks),
            (
                "networks_provider_type_routing_check",
                &self.provider_networks_routed,
            ),
            (
                "neutron_tenant_network_types_check",
                &self.tenant_network_types,
            ),
            (
                "subnets_without_enabled_dhcp_check",
                &self.subnets_without_dhcp,
            ),
            (
                "subnets_without_dns_nameservers_check",
                &self.subnets_without_dns,
            ),
            ("sriov_ports_floating_ip_check", &self.sriov_floating_ip),
            (
                "ports_with_blocked_access_to_dhcpv4_check",
                &self.dhcp_egress_blocked,
            ),
            ("routers_gateway_mtu_check", &self.router_gateway_mtu),
            ("routers_internal_mtu_check", &self.router_internal_mtu),
            ("unsupported_features_check", &self.unsupported_features),
            (
                "ports_with_blocked_access_to_dhcpv6_check",
                &self.dhcpv6_blocked,
            ),
            ("stateless_security_groups_dhcp_check", &self.stateless_dhcp),
            ("subnets_metadata_port_ip_check", &self.metadata_port_ip),
            ("canary_instances_check", &self.canaries),
            ("dhcp_lease_duration_check", &self.dhcp_lease),
        ]
        .into_iter()
        .map(|(id, v)| (id, sorted(v)))
        .collect()
    }
}

/// The tag MOSK's prober canaries carry.
pub const CANARY_TAG: &str = "openstack.lcm.mirantis.com:prober";
/// Name of the scenario's OpenStackDeployment (namespace `openstack`).
pub const DEPLOYMENT: &str = "osh-dev";
/// The path of the lease in the CR, as the settings name it.
const LEASE_PATH: &str =
    "spec.services.networking.neutron.values.conf.dhcp_agent.DEFAULT.dhcp_lease_duration";

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

    fn port_ips(
        &mut self,
        net: &str,
        ips: &[(&str, &str)],
        owner: &str,
        sgs: &[&str],
        extra: Value,
    ) -> String {
        let mac = self.ids.mac();
        let fixed: Vec<Value> = ips
            .iter()
            .map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip}))
            .collect();
        let mut p = json!({"network_id": net, "fixed_ips": fixed, "device_owner": owner,
            "device_id": self.ids.uuid(), "security_groups": sgs, "mac_address": mac, "status": "ACTIVE", "port_security_enabled": true,
            "binding:vnic_type": "normal"});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.add("ports", p)
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
        self.port_ips(net, &[(subnet, ip)], owner, sgs, extra)
    }

    fn router_port(
        &mut self,
        router: &str,
        net: &str,
        subnet: &str,
        ip: &str,
        owner: &str,
    ) -> String {
        self.port(
            net,
            subnet,
            ip,
            owner,
            &[],
            json!({"device_id": router, "port_security_enabled": false}),
        )
    }

    /// A group with SSH in, plus the given rules.
    fn sg(&mut self, name: &str, stateful: bool, rules: &[Value]) -> String {
        let sg = self.add(
            "security-groups",
            json!({"name": name, "description": name, "stateful": stateful}),
        );
        self.add("security-group-rules", json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}));
        for r in rules {
            let mut r = r.clone();
            r["security_group_id"] = json!(sg);
            self.add("security-group-rules", r);
        }
        sg
    }
}

fn egress_any_v4() -> Value {
    json!({"direction": "egress", "ethertype": "IPv4"})
}

/// Returns the OVS deployment and what each check must flag.
pub fn ovs_deployment(cfg: &OvsConfig) -> (Scenario, OvsExpected) {
    let mut b = B {
        s: Scenario::default(),
        ids: Ids::new(cfg.seed),
    };
    let mut e = OvsExpected::default();
    let open = b.sg("open", true, &[egress_any_v4()]);
    let closed = b.sg("web-only", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"})]);
    let public = b.add("networks", json!({"name": "public", "provider:network_type": "flat", "mtu": 1500, "router:external": true}));
    let public_sub = b.subnet(&public, "203.0.113.0/24", false, &[]);

    let mut clean = Vec::new();
    for i in 0..cfg.clean_networks {
        let net = b.net(&format!("clean-{i}"), "vxlan", 1442);
        let sub = b.subnet(
            &net,
            &format!("10.{}.{}.0/24", 10 + i / 250, i % 250),
            true,
            &["192.0.2.53"],
        );
        for h in 0..cfg.ports_per_clean_network {
            b.port(
                &net,
                &sub,
                &format!("10.{}.{}.{}", 10 + i / 250, i % 250, 10 + h),
                "compute:nova",
                &[&open],
                json!({}),
            );
        }
        clean.push((net, sub));
    }
    // networks_mtu: VXLAN at the OVS default 1450, GRE at its 1458.
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
    let gre = b.net("legacy-gre", "gre", 1458);
    e.networks_mtu.push(gre.clone());
    // subnets_without_dhcp, on GRE (the reference sees VXLAN only) and on VXLAN.
    let gre_sub = b.subnet(&gre, "10.25.0.0/24", false, &["192.0.2.53"]);
    b.port(
        &gre,
        &gre_sub,
        "10.25.0.10",
        "compute:nova",
        &[&open],
        json!({}),
    );
    e.subnets_without_dhcp.push(gre_sub);
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
    // subnet_ip_exhausted (and the metadata port): a /29 with every address used.
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
    e.metadata_port_ip.push(full_sub);
    // subnets_metadata_port_ip only: one full /29 beside a roomy /24 on one network.
    let split = b.net("split", "vxlan", 1442);
    let split_full = b.subnet(&split, "10.41.0.0/29", true, &["192.0.2.53"]);
    b.subnet(&split, "10.42.0.0/24", true, &["192.0.2.53"]);
    for h in 2..=6 {
        b.port(
            &split,
            &split_full,
            &format!("10.41.0.{h}"),
            "compute:nova",
            &[&open],
            json!({}),
        );
    }
    e.metadata_port_ip.push(split_full);
    // router_internal_mtu (and router_gateway_mtu): networks of MTU 1442 and 1400.
    let r = b.add(
        "routers",
        json!({"name": "mixed-mtu", "external_gateway_info": {"network_id": public}}),
    );
    let a = b.net("mtu-a", "vxlan", 1442);
    let a_sub = b.subnet(&a, "10.50.0.0/24", true, &["192.0.2.53"]);
    let c = b.net("mtu-b", "vxlan", 1400);
    let c_sub = b.subnet(&c, "10.51.0.0/24", true, &["192.0.2.53"]);
    b.router_port(&r, &a, &a_sub, "10.50.0.1", "network:router_interface");
    b.router_port(&r, &c, &c_sub, "10.51.0.1", "network:router_interface");
    e.router_internal_mtu.push(r.clone());
    e.router_gateway_mtu.push(r);
    // router_gateway_mtu only: one internal MTU, the gateway's differs.
    let uniform = b.add(
        "routers",
        json!({"name": "uniform", "external_gateway_info": {"network_id": public}}),
    );
    b.router_port(
        &uniform,
        &public,
        &public_sub,
        "203.0.113.2",
        "network:router_gateway",
    );
    if let Some((net, sub)) = clean.first().cloned() {
        b.router_port(
            &uniform,
            &net,
            &sub,
            "10.10.0.1",
            "network:router_interface",
        );
        e.router_gateway_mtu.push(uniform);
    }
    // A clean router: internal networks of one MTU, no gateway.
    let quiet = b.add("routers", json!({"name": "quiet"}));
    for (i, (net, sub)) in clean.iter().enumerate().skip(1).take(2) {
        b.router_port(
            &quiet,
            net,
            sub,
            &format!("10.{}.{}.1", 10 + i / 250, i % 250),
            "network:router_interface_distributed",
        );
    }
    // provider_networks + sriov_floating_ip: a VLAN network with an SR-IOV port holding a floating IP.
    let vlan = b.add("networks", json!({"name": "provider-vlan", "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 150, "mtu": 1500}));
    let vlan_sub = b.subnet(&vlan, "10.60.0.0/24", true, &["192.0.2.53"]);
    let sriov = b.port(
        &vlan,
        &vlan_sub,
        "10.60.0.10",
        "compute:nova",
        &[&open],
        json!({"binding:vnic_type": "direct"}),
    );
    b.port(
        &vlan,
        &vlan_sub,
        "10.60.0.11",
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
    // networks_provider_type_routing: a VLAN network with instances behind a router.
    let routed = b.add("networks", json!({"name": "provider-vlan-routed", "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 151, "mtu": 1500}));
    let routed_sub = b.subnet(&routed, "10.61.0.0/24", true, &["192.0.2.53"]);
    b.port(
        &routed,
        &routed_sub,
        "10.61.0.10",
        "compute:nova",
        &[&open],
        json!({}),
    );
    let pr = b.add("routers", json!({"name": "provider-router"}));
    b.router_port(
        &pr,
        &routed,
        &routed_sub,
        "10.61.0.1",
        "network:router_interface",
    );
    e.provider_networks_routed.push(routed);
    // dhcp_egress_blocked through an address group the reference reads as "any".
    let ag = b.add(
        "address-groups",
        json!({"name": "dhcp-elsewhere", "addresses": ["192.0.2.0/24"]}),
    );
    let ag_sg = b.sg("dhcp-to-ag", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "udp", "port_range_min": 67, "port_range_max": 67, "remote_address_group_id": ag})]);
    let ag_net = b.net("ag-net", "vxlan", 1442);
    let ag_sub = b.subnet(&ag_net, "10.90.0.0/24", true, &["192.0.2.53"]);
    let ag_port = b.port(
        &ag_net,
        &ag_sub,
        "10.90.0.10",
        "compute:nova",
        &[&ag_sg],
        json!({}),
    );
    e.dhcp_egress_blocked.push(ag_port);
    // …and one whose address group does cover DHCP (clean).
    let ag_ok = b.add(
        "address-groups",
        json!({"name": "dhcp-here", "addresses": ["255.255.255.255/32", "10.91.0.0/24"]}),
    );
    let ag_ok_sg = b.sg("dhcp-to-ag-ok", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "udp", "port_range_min": 67, "port_range_max": 68, "remote_address_group_id": ag_ok})]);
    let ag_ok_net = b.net("ag-ok-net", "vxlan", 1442);
    let ag_ok_sub = b.subnet(&ag_ok_net, "10.91.0.0/24", true, &["192.0.2.53"]);
    b.port(
        &ag_ok_net,
        &ag_ok_sub,
        "10.91.0.10",
        "compute:nova",
        &[&ag_ok_sg],
        json!({}),
    );
    // ports_with_blocked_access_to_dhcpv6: DHCPv6-stateful subnet, IPv4-only egress.
    let v6 = b.net("dual-stack", "vxlan", 1442);
    let v6_sub4 = b.subnet(&v6, "10.70.0.0/24", true, &["192.0.2.53"]);
    let v6_sub6 = b.add("subnets", json!({"network_id": v6, "name": "v6", "cidr": "2001:db8:70::/64", "ip_version": 6, "enable_dhcp": true,
        "ipv6_address_mode": "dhcpv6-stateful", "ipv6_ra_mode": "dhcpv6-stateful", "dns_nameservers": ["2001:db8::53"]}));
    let v6_port = b.port_ips(
        &v6,
        &[(&v6_sub4, "10.70.0.10"), (&v6_sub6, "2001:db8:70::10")],
        "compute:nova",
        &[&open],
        json!({}),
    );
    e.dhcpv6_blocked.push(v6_port);
    // stateless_security_groups_dhcp: a stateless group without the DHCP reply rule.
    let stateless = b.sg("stateless", false, &[egress_any_v4()]);
    let sl_net = b.net("stateless-net", "vxlan", 1442);
    let sl_sub = b.subnet(&sl_net, "10.80.0.0/24", true, &["192.0.2.53"]);
    let sl_port = b.port(
        &sl_net,
        &sl_sub,
        "10.80.0.10",
        "compute:nova",
        &[&stateless],
        json!({}),
    );
    e.stateless_dhcp.push(sl_port);
    // unsupported_features: BGPVPN enabled.
    b.s.add(
        "extensions",
        json!({"alias": "bgpvpn", "name": "BGPVPN", "description": "Neutron BGPVPN", "links": []}),
    );
    e.unsupported_features.push("bgpvpn".into());
    // canaries: three compute hosts; one ACTIVE canary, one in ERROR, one host without.
    for h in 0..3 {
        b.s.add(
            "os-services",
            json!({"host": format!("compute-{h}"), "binary": "nova-compute"}),
        );
    }
    b.add("servers", json!({"name": "canary-compute-0", "status": "ACTIVE", "OS-EXT-SRV-ATTR:host": "compute-0", "tags": [CANARY_TAG]}));
    b.add("servers", json!({"name": "canary-compute-1", "status": "ERROR", "OS-EXT-SRV-ATTR:host": "compute-1", "tags": [CANARY_TAG]}));
    b.add("servers", json!({"name": "workload", "status": "ACTIVE", "OS-EXT-SRV-ATTR:host": "compute-2", "tags": []}));
    e.canaries = vec!["compute-1".into(), "compute-2".into()];
    // The OpenStackDeployment: VXLAN tenant networks and a 24 h lease.
    b.s.k8s
        .push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openstack"}}));
    // Where `ovs fix` (and any ovn-migrate) takes its cluster lease.
    b.s.k8s.push(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
    );
    b.s.k8s.push(json!({"apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
        "metadata": {"name": DEPLOYMENT, "namespace": "openstack"},
        "spec": {"openstack_version": "antelope", "preset": "compute", "size": "small",
            "features": {"neutron": {"tenant_network_types": ["vxlan"], "dns_servers": ["192.0.2.53"]}},
            "services": {"networking": {"neutron": {"values": {"conf": {
                "neutron": {"DEFAULT": {"global_physnet_mtu": 1500}},
                "plugins": {"ml2_conf": {"ml2": {"path_mtu": 0}, "ml2_type_geneve": {"max_header_size": 38}}},
                "dhcp_agent": {"DEFAULT": {"dhcp_lease_duration": 86400}}}}}}}}}));
    e.tenant_network_types.push(format!(
        "openstack/{DEPLOYMENT}:spec.features.neutron.tenant_network_types"
    ));
    e.dhcp_lease
        .push(format!("openstack/{DEPLOYMENT}:{LEASE_PATH}=86400"));
    (b.s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_violation_and_ids_are_unique() {
        let (s, e) = ovs_deployment(&OvsConfig::default());
        let by = e.by_check();
        assert_eq!(by.len(), 17);
        for (id, v) in &by {
            assert!(!v.is_empty(), "{id} has no deliberate violation");
        }
        let mut ids: Vec<&str> = s
            .openstack
            .values()
            .flatten()
            .filter_map(|o| o["id"].as_str())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert_eq!(s.k8s_of_kind("OpenStackDeployment").count(), 1);
    }

    #[test]
    fn it_scales_to_the_benchmark() {
        let (s, _) = ovs_deployment(&OvsConfig {
            clean_networks: 2000,
            ports_per_clean_network: 5,
            ..OvsConfig::default()
        });
        assert!(s.objects("ports").len() >= 10_000);
        assert!(s.objects("networks").len() >= 2000);
    }
}
