//! `ports_with_blocked_access_to_dhcpv4_check` (critical): OVN has no implicit
//! DHCP rule, so a Nova port whose groups do not let DHCPv4 out loses its
//! lease after the migration.
//!
//! Looked at: ports of [`dhcp::in_scope`] on a network with an IPv4 subnet
//! with DHCP on. The union of the remotes of their egress IPv4 rules, protocol
//! any or UDP with a range covering 67, without `remote_group_id`, must cover
//! 0.0.0.0/0, or both 255.255.255.255/32 and every such subnet's CIDR.

use super::dhcp::{self, Flow};
use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "ports_with_blocked_access_to_dhcpv4_check",
    severity: Severity::Critical,
    reference: true,
    description: "ports whose security groups block DHCPv4 requests (egress UDP 67): under OVN, which has no implicit DHCP rule, they lose their lease",
    remediation: "add an egress IPv4 UDP 67 rule (to 0.0.0.0/0, or to 255.255.255.255/32 and the subnet) to one group of each port",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    blocked(ix, 4)
}

/// Returns the ports that cannot send DHCP requests of `version` (4 or 6).
pub fn blocked(ix: &Index<'_>, version: u8) -> Verdict {
    let (flow, broadcast, all) = if version == 4 {
        (
            Flow {
                direction: "egress",
                ethertype: "IPv4",
                port: 67,
            },
            "255.255.255.255/32",
            "0.0.0.0/0",
        )
    } else {
        (
            Flow {
                direction: "egress",
                ethertype: "IPv6",
                port: 547,
            },
            "ff02::1:2/128",
            "::/0",
        )
    };
    let range = |c: &str| dhcp::parse_cidr(c).map(|(_, r)| r);
    let (broadcast, all) = (
        range(broadcast).expect("constant"),
        range(all).expect("constant"),
    );
    let mut out = Vec::new();
    for p in &ix.inv.ports {
        if !dhcp::in_scope(ix, p) {
            continue;
        }
        let subnets: Vec<_> = ix
            .subnets_of(&p.network_id)
            .iter()
            .filter(|s| {
                s.ip_version == version
                    && s.enable_dhcp
                    && needs_dhcp(s.ipv6_address_mode.as_deref(), version)
            })
            .collect();
        if subnets.is_empty() {
            continue;
        }
        let ranges = dhcp::allowed(ix, p, &flow)?;
        let ok = dhcp::covers(&ranges, all)
            || (dhcp::covers(&ranges, broadcast)
                && (version == 6
                    || subnets
                        .iter()
                        .all(|s| range(&s.cidr).is_some_and(|r| dhcp::covers(&ranges, r)))));
        if !ok {
            out.push(p.id.clone());
        }
    }
    Ok(out)
}

/// Returns true when a subnet's clients use DHCP (IPv4, or DHCPv6 stateful/stateless).
fn needs_dhcp(ipv6_address_mode: Option<&str>, version: u8) -> bool {
    version == 4
        || matches!(
            ipv6_address_mode,
            Some("dhcpv6-stateful" | "dhcpv6-stateless")
        )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{AddressGroup, Inventory, Network, Part};

    fn cloud(rules: Vec<crate::ovs::inventory::SecurityGroupRule>) -> Inventory {
        Inventory {
            networks: vec![net("n", "vxlan", 1442)],
            subnets: vec![subnet("s", "n", "10.0.0.0/24", true, &["1.1.1.1"])],
            ports: vec![port("p", "n", "s", "compute:nova", &["g"])],
            security_groups: vec![group("g")],
            security_group_rules: rules,
            ..Inventory::default()
        }
    }

    #[test]
    fn an_open_egress_rule_passes() {
        assert!(
            violations(
                &CHECK,
                &cloud(vec![rule("g", "egress", "IPv4", None, None, None)])
            )
            .is_empty()
        );
        assert!(
            violations(
                &CHECK,
                &cloud(vec![rule(
                    "g",
                    "egress",
                    "IPv4",
                    Some("udp"),
                    Some((67, 68)),
                    Some("0.0.0.0/0")
                )])
            )
            .is_empty()
        );
        // Broadcast plus the subnet is enough.
        let narrow = cloud(vec![
            rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((67, 67)),
                Some("255.255.255.255/32"),
            ),
            rule(
                "g",
                "egress",
                "IPv4",
                Some("17"),
                Some((67, 67)),
                Some("10.0.0.0/24"),
            ),
        ]);
        assert!(violations(&CHECK, &narrow).is_empty());
    }

    #[test]
    fn rules_that_miss_dhcp_fail() {
        let cases = [
            vec![],
            vec![rule("g", "egress", "IPv4", Some("tcp"), None, None)],
            vec![rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((53, 53)),
                None,
            )],
            vec![rule("g", "ingress", "IPv4", None, None, None)],
            vec![rule("g", "egress", "IPv6", None, None, None)],
            // Broadcast without the subnet (renewals are unicast).
            vec![rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((67, 67)),
                Some("255.255.255.255/32"),
            )],
        ];
        for rules in cases {
            assert_eq!(
                violations(&CHECK, &cloud(rules.clone())),
                vec!["p"],
                "{rules:?}"
            );
        }
        let mut remote_group = rule("g", "egress", "IPv4", None, None, None);
        remote_group.remote_group_id = Some("g".into());
        assert_eq!(violations(&CHECK, &cloud(vec![remote_group])), vec!["p"]);
    }

    #[test]
    fn out_of_scope_ports_are_not_looked_at() {
        let mut inv = cloud(vec![]);
        inv.ports[0].port_security_enabled = Some(false);
        assert!(violations(&CHECK, &inv).is_empty());
        let mut inv = cloud(vec![]);
        inv.ports[0].device_owner = "network:dhcp".into();
        assert!(violations(&CHECK, &inv).is_empty());
        let mut inv = cloud(vec![]);
        inv.subnets[0].enable_dhcp = false;
        assert!(violations(&CHECK, &inv).is_empty());
        let mut inv = cloud(vec![]);
        inv.networks[0] = Network {
            router_external: Some(true),
            ..net("n", "flat", 1500)
        };
        assert!(violations(&CHECK, &inv).is_empty());
        // An unowned port is a workload too.
        let mut inv = cloud(vec![]);
        inv.ports[0].device_owner = String::new();
        assert_eq!(violations(&CHECK, &inv), vec!["p"]);
    }

    #[test]
    fn remote_address_groups_are_resolved() {
        let mut r = rule("g", "egress", "IPv4", Some("udp"), Some((67, 67)), None);
        r.remote_address_group_id = Some("ag".into());
        let mut inv = cloud(vec![r]);
        // The reference reads the null prefix as 0.0.0.0/0; the group is narrower.
        inv.address_groups = Part::Read(vec![AddressGroup {
            id: "ag".into(),
            addresses: vec!["192.0.2.0/24".into()],
        }]);
        assert_eq!(violations(&CHECK, &inv), vec!["p"]);
        inv.address_groups = Part::Read(vec![AddressGroup {
            id: "ag".into(),
            addresses: vec!["0.0.0.0/0".into(), "::/0".into()],
        }]);
        assert!(violations(&CHECK, &inv).is_empty());
        inv.address_groups = Part::Unavailable("no address-group extension".into());
        let r = run_default(&CHECK, &inv);
        assert!(!r.passed && r.error.unwrap().contains("could not be read"));
    }
}
