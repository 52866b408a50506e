//! Builders of small inventories for the checks' tests.

use crate::ovs::inventory::*;
use crate::ovs::settings::Settings;

use super::{Check, CheckResult, run_one};

/// Returns a network.
pub fn net(id: &str, ty: &str, mtu: u32) -> Network {
    Network {
        id: id.into(),
        name: id.into(),
        project_id: "p-test".into(),
        mtu: Some(mtu),
        network_type: Some(ty.into()),
        ..Network::default()
    }
}

/// Returns an IPv4 or IPv6 subnet (version from the CIDR).
pub fn subnet(id: &str, net: &str, cidr: &str, dhcp: bool, dns: &[&str]) -> Subnet {
    Subnet {
        id: id.into(),
        project_id: "p-test".into(),
        network_id: net.into(),
        cidr: cidr.into(),
        ip_version: if cidr.contains(':') { 6 } else { 4 },
        enable_dhcp: dhcp,
        dns_nameservers: dns.iter().map(|d| d.to_string()).collect(),
        ipv6_address_mode: None,
    }
}

/// Returns a port with one fixed IP in `subnet`, port security on.
pub fn port(id: &str, net: &str, subnet: &str, owner: &str, sgs: &[&str]) -> Port {
    Port {
        id: id.into(),
        project_id: "p-test".into(),
        network_id: net.into(),
        device_owner: owner.into(),
        device_id: format!("dev-{id}"),
        fixed_ips: vec![FixedIp {
            subnet_id: subnet.into(),
            ip_address: String::new(),
        }],
        security_groups: sgs.iter().map(|s| s.to_string()).collect(),
        port_security_enabled: Some(true),
        vnic_type: Some("normal".into()),
    }
}

/// Returns a router interface port of `router` on `net`.
pub fn iface(id: &str, router: &str, net: &str, owner: &str) -> Port {
    Port {
        device_id: router.into(),
        port_security_enabled: Some(false),
        ..port(id, net, "", owner, &[])
    }
}

/// Returns a rule; `proto`/`ports`/`remote` `None` mean any.
pub fn rule(
    group: &str,
    direction: &str,
    ethertype: &str,
    proto: Option<&str>,
    ports: Option<(u32, u32)>,
    remote: Option<&str>,
) -> SecurityGroupRule {
    SecurityGroupRule {
        id: format!("{group}-{direction}-{ethertype}-{proto:?}-{ports:?}-{remote:?}"),
        security_group_id: group.into(),
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: proto.map(str::to_string),
        port_range_min: ports.map(|p| p.0),
        port_range_max: ports.map(|p| p.1),
        remote_ip_prefix: remote.map(str::to_string),
        ..SecurityGroupRule::default()
    }
}

/// Returns a stateful group.
pub fn group(id: &str) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: id.into(),
        project_id: "p-test".into(),
        stateful: Some(true),
    }
}

/// Runs one check over an inventory with the default settings.
pub fn run_default(check: &Check, inv: &Inventory) -> CheckResult {
    run_with(check, inv, &Settings::default())
}

/// Runs one check over an inventory.
pub fn run_with(check: &Check, inv: &Inventory, settings: &Settings) -> CheckResult {
    run_one(check, &Index::new(inv), settings)
}

/// Returns the violations of one run (panicking on an error, to show it).
pub fn violations(check: &Check, inv: &Inventory) -> Vec<String> {
    let r = run_default(check, inv);
    assert_eq!(r.error, None, "{} failed to decide", check.id);
    r.violations
}
