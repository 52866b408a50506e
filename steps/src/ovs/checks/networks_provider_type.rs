//! `networks_provider_type_check` (major) and the shared logic of
//! `networks_provider_type_routing_check`: VLAN and flat networks carrying
//! instances (`compute:nova` ports) move to OVN's localnet ports, where
//! their traffic is handled differently; when such a network is also attached
//! to a router ([`ROUTED_OWNERS`]) its north-south traffic changes path too,
//! which is critical. This check flags the ones not attached to a router; the
//! routing check flags the attached ones, so a network is in one or the other.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{Index, ROUTER_GATEWAY_OWNER, ROUTER_INTERFACE_OWNERS, is_provider};
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "networks_provider_type_check",
    severity: Severity::Major,
    reference: true,
    description: "VLAN/flat provider networks with instances: under OVN their traffic goes through localnet ports on the chassis",
    remediation: "make sure every compute host has the provider bridge mapping (ovn-bridge-mappings) for the network's physnet before the migration",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(provider_networks(ix, false))
}

/// Returns true for a port that attaches a router to its network.
pub fn is_router_port(owner: &str) -> bool {
    owner == ROUTER_GATEWAY_OWNER || ROUTER_INTERFACE_OWNERS.contains(&owner)
}

/// Returns the VLAN/flat networks with `compute:nova` ports that are (`routed`) or are not attached to a router.
pub fn provider_networks(ix: &Index<'_>, routed: bool) -> Vec<String> {
    ix.inv
        .networks
        .iter()
        .filter(|n| is_provider(n.network_type.as_deref().unwrap_or("")))
        .filter(|n| {
            ix.ports_of(&n.id)
                .iter()
                .any(|p| p.device_owner == "compute:nova")
        })
        .filter(|n| {
            ix.ports_of(&n.id)
                .iter()
                .any(|p| is_router_port(&p.device_owner))
                == routed
        })
        .map(|n| n.id.clone())
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;

    pub fn cloud() -> Inventory {
        Inventory {
            networks: vec![
                net("vlan", "vlan", 1500),
                net("flat", "flat", 1500),
                net("vlan-routed", "vlan", 1500),
                net("vlan-idle", "vlan", 1500),
                net("vx", "vxlan", 1442),
            ],
            ports: vec![
                port("a", "vlan", "", "compute:nova", &[]),
                port("b", "flat", "", "compute:nova", &[]),
                port("c", "vlan-routed", "", "compute:nova", &[]),
                iface("r", "router", "vlan-routed", "network:router_interface"),
                port("d", "vlan-idle", "", "network:dhcp", &[]),
                port("e", "vx", "", "compute:nova", &[]),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn unrouted_provider_networks_with_instances_fail() {
        assert_eq!(violations(&CHECK, &cloud()), vec!["flat", "vlan"]);
    }
}
