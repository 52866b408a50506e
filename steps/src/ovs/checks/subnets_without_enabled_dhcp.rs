//! `subnets_without_enabled_dhcp_check` (critical): the new, lower MTU reaches
//! instances through DHCP; on a VXLAN (or GRE: the reference looks at VXLAN
//! only) subnet with DHCP off, instances keep the old MTU.
//!
//! Flagged: subnets of overlay networks with `enable_dhcp` false and at least
//! one workload port ([`is_workload`]) with an address in them.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{Index, is_overlay, is_workload};
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "subnets_without_enabled_dhcp_check",
    severity: Severity::Critical,
    reference: true,
    description: "VXLAN/GRE subnets with DHCP off and workload ports: the lowered MTU cannot reach their instances",
    remediation: "enable DHCP on the subnet (openstack subnet set --dhcp), or set the MTU inside each instance by hand before the migration",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(ix
        .inv
        .subnets
        .iter()
        .filter(|s| !s.enable_dhcp && is_overlay(ix.network_type(&s.network_id)))
        .filter(|s| ix.ports_in_subnet(&s.id).iter().any(|p| is_workload(p)))
        .map(|s| s.id.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;

    #[test]
    fn overlay_subnets_without_dhcp_and_with_workloads_fail() {
        let inv = Inventory {
            networks: vec![
                net("vx", "vxlan", 1442),
                net("gre", "gre", 1442),
                net("vlan", "vlan", 1500),
            ],
            subnets: vec![
                subnet("vx-off", "vx", "10.0.0.0/24", false, &[]),
                subnet("vx-on", "vx", "10.0.1.0/24", true, &[]),
                subnet("vx-off-empty", "vx", "10.0.2.0/24", false, &[]),
                subnet("gre-off", "gre", "10.1.0.0/24", false, &[]),
                subnet("vlan-off", "vlan", "10.2.0.0/24", false, &[]),
                subnet("vx-off-router", "vx", "10.0.3.0/24", false, &[]),
            ],
            ports: vec![
                port("a", "vx", "vx-off", "compute:nova", &[]),
                port("b", "vx", "vx-on", "compute:nova", &[]),
                port("c", "gre", "gre-off", "", &[]),
                port("d", "vlan", "vlan-off", "compute:nova", &[]),
                port("e", "vx", "vx-off-router", "network:router_interface", &[]),
            ],
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["gre-off", "vx-off"]);
    }
}
