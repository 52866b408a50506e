//! `stateless_security_groups_dhcp_check` (critical; not in the reference):
//! a stateless group tracks no connection, so the DHCP reply needs its own
//! ingress rule, which OVN does not add.
//!
//! Looked at: ports of [`dhcp::in_scope`] whose groups are all stateless
//! (Neutron refuses to mix), on a network with a DHCP-enabled IPv4 subnet or
//! DHCPv6 subnet. They need ingress UDP 68 from a remote covering each IPv4
//! DHCP subnet (OVN answers from an address of the subnet), and for DHCPv6
//! ingress UDP 546 from `fe80::/10` (replies come from a link-local address).

use super::dhcp::{self, Flow};
use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "stateless_security_groups_dhcp_check",
    severity: Severity::Critical,
    reference: false,
    description: "ports in stateless security groups without an ingress rule for DHCP replies (UDP 68, or 546 for DHCPv6): under OVN no reply reaches them",
    remediation: "add an ingress UDP 68 rule from the subnet (and UDP 546 from fe80::/10 for DHCPv6) to the stateless group, or make the group stateful",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    let range = |c: &str| dhcp::parse_cidr(c).map(|(_, r)| r);
    let link_local = range("fe80::/10").expect("constant");
    let v4_reply = Flow {
        direction: "ingress",
        ethertype: "IPv4",
        port: 68,
    };
    let v6_reply = Flow {
        direction: "ingress",
        ethertype: "IPv6",
        port: 546,
    };
    let mut out = Vec::new();
    for p in &ix.inv.ports {
        if !dhcp::in_scope(ix, p) || !dhcp::stateless(ix, p) {
            continue;
        }
        let subnets = ix.subnets_of(&p.network_id);
        let v4: Vec<_> = subnets
            .iter()
            .filter(|s| s.ip_version == 4 && s.enable_dhcp)
            .collect();
        let v6 = subnets.iter().any(|s| {
            s.ip_version == 6
                && s.enable_dhcp
                && matches!(
                    s.ipv6_address_mode.as_deref(),
                    Some("dhcpv6-stateful" | "dhcpv6-stateless")
                )
        });
        let mut ok = true;
        if !v4.is_empty() {
            let allowed = dhcp::allowed(ix, p, &v4_reply)?;
            ok &= v4
                .iter()
                .all(|s| range(&s.cidr).is_some_and(|r| dhcp::covers(&allowed, r)));
        }
        if v6 {
            ok &= dhcp::covers(&dhcp::allowed(ix, p, &v6_reply)?, link_local);
        }
        if !ok {
            out.push(p.id.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{Inventory, SecurityGroup};

    fn cloud(stateful: bool, rules: Vec<crate::ovs::inventory::SecurityGroupRule>) -> Inventory {
        Inventory {
            networks: vec![net("n", "vxlan", 1442)],
            subnets: vec![subnet("s", "n", "10.0.0.0/24", true, &["1.1.1.1"])],
            ports: vec![port("p", "n", "s", "compute:nova", &["g"])],
            security_groups: vec![SecurityGroup {
                stateful: Some(stateful),
                ..group("g")
            }],
            security_group_rules: rules,
            ..Inventory::default()
        }
    }

    #[test]
    fn stateless_groups_need_an_ingress_reply_rule() {
        let egress = rule("g", "egress", "IPv4", None, None, None);
        assert_eq!(
            violations(&CHECK, &cloud(false, vec![egress.clone()])),
            vec!["p"]
        );
        // Stateful groups track the reply.
        assert!(violations(&CHECK, &cloud(true, vec![egress.clone()])).is_empty());
        let reply = rule(
            "g",
            "ingress",
            "IPv4",
            Some("udp"),
            Some((68, 68)),
            Some("10.0.0.0/24"),
        );
        assert!(violations(&CHECK, &cloud(false, vec![egress.clone(), reply])).is_empty());
        let elsewhere = rule(
            "g",
            "ingress",
            "IPv4",
            Some("udp"),
            Some((68, 68)),
            Some("192.0.2.0/24"),
        );
        assert_eq!(
            violations(&CHECK, &cloud(false, vec![egress, elsewhere])),
            vec!["p"]
        );
    }

    #[test]
    fn dhcpv6_replies_come_from_link_local() {
        let mut inv = cloud(false, vec![rule("g", "ingress", "IPv4", None, None, None)]);
        let mut s6 = subnet("s6", "n", "2001:db8::/64", true, &[]);
        s6.ipv6_address_mode = Some("dhcpv6-stateful".into());
        inv.subnets.push(s6);
        assert_eq!(violations(&CHECK, &inv), vec!["p"]);
        inv.security_group_rules.push(rule(
            "g",
            "ingress",
            "IPv6",
            Some("udp"),
            Some((546, 546)),
            Some("fe80::/10"),
        ));
        assert!(violations(&CHECK, &inv).is_empty());
    }
}
