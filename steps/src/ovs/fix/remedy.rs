//! Which checks `ovs fix` remedies by itself, and why the others are left to
//! the operator.
//!
//! A remediation is safe when it only adds what OVN needs and the OVS
//! deployment did implicitly (DNS servers the dnsmasq forwarded to, DHCP
//! rules the OVS agent allowed without asking) or applies Neutron's own
//! arithmetic (the Geneve MTU), so no workload loses anything. Every other
//! check's fix removes or reshapes something tenants use, or belongs to
//! another command; [`remedy`] says which and why, and the check's own
//! remediation text says what to do.

/// The checks `ovs fix` remedies (`--all-safe`), in plan order.
pub const FIXABLE: &[&str] = &[
    "subnets_without_dns_nameservers_check",
    "ports_with_blocked_access_to_dhcpv4_check",
    "ports_with_blocked_access_to_dhcpv6_check",
    "stateless_security_groups_dhcp_check",
    "networks_mtu_size_check",
];

/// Whether a check has a safe automatic fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remedy {
    /// `ovs fix` applies it; the text says what it does.
    Safe(&'static str),
    /// Left to the operator; the text says why no automatic fix is safe.
    Manual(&'static str),
    /// No such check.
    Unknown,
}

/// Returns the remedy of a check.
pub fn remedy(check: &str) -> Remedy {
    use Remedy::*;
    match check {
        "subnets_without_dns_nameservers_check" => Safe(
            "sets dns_nameservers on each subnet (the OpenStackDeployment's features.neutron.dns_servers, or --dns)",
        ),
        "ports_with_blocked_access_to_dhcpv4_check" => {
            Safe("adds an egress IPv4 UDP 67 rule to 0.0.0.0/0 to one group of each port")
        }
        "ports_with_blocked_access_to_dhcpv6_check" => {
            Safe("adds an egress IPv6 UDP 547 rule to ::/0 to one group of each port")
        }
        "stateless_security_groups_dhcp_check" => Safe(
            "adds ingress UDP 68 from each DHCP subnet (and UDP 546 from fe80::/10 for DHCPv6) to one stateless group of each port",
        ),
        "networks_mtu_size_check" => Safe(
            "sets each network's MTU to the Geneve MTU and tags it ovn-migrate:adapted-mtu (the original MTU is journaled)",
        ),
        "subnets_ip_address_availability_check" | "subnets_metadata_port_ip_check" => Manual(
            "making room means deleting ports, widening an allocation pool or adding a subnet: each is a decision about the tenant's addressing",
        ),
        "networks_provider_type_check" | "networks_provider_type_routing_check" => Manual(
            "instances on VLAN/flat networks keep their physical network: moving them or re-planning the fabric is a design decision",
        ),
        "neutron_tenant_network_types_check" => Manual(
            "the OpenStackDeployment is reconciled by MOSK's LCM, which reconfigures every Neutron server: change tenant_network_types to geneve through your change process",
        ),
        "subnets_without_enabled_dhcp_check" => Manual(
            "turning DHCP on makes Neutron answer instances that were configured statically, and may hand out addresses they use",
        ),
        "sriov_ports_floating_ip_check" => Manual(
            "OVN cannot keep floating IPs on SR-IOV ports: removing them cuts those instances' external access",
        ),
        "routers_gateway_mtu_check" | "routers_internal_mtu_check" => Manual(
            "which MTU a router's networks converge on is a design choice: lowering a network below what its instances use, or raising it above the underlay, drops packets (networks_mtu_size_check's fix may already settle overlay networks)",
        ),
        "unsupported_features_check" => {
            Manual("disabling BGPVPN or VPNaaS removes services tenants use")
        }
        "canary_instances_check" => {
            Manual("canaries are booted by `ovn-migrate ovs prepare`, one per compute host")
        }
        "dhcp_lease_duration_check" => Manual(
            "the lease is raised by `ovn-migrate ovs prepare`, which journals when, for its 24-hour gate",
        ),
        _ => Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovs::checks::ALL;

    #[test]
    fn every_check_has_a_remedy_and_the_safe_ones_are_fixable() {
        for c in ALL {
            match remedy(c.id) {
                Remedy::Safe(_) => assert!(FIXABLE.contains(&c.id), "{}", c.id),
                Remedy::Manual(why) => {
                    assert!(!why.is_empty() && !FIXABLE.contains(&c.id), "{}", c.id)
                }
                Remedy::Unknown => panic!("{} has no remedy", c.id),
            }
        }
        assert_eq!(
            ALL.iter()
                .filter(|c| matches!(remedy(c.id), Remedy::Safe(_)))
                .count(),
            FIXABLE.len()
        );
        assert_eq!(remedy("no_such_check"), Remedy::Unknown);
    }
}
