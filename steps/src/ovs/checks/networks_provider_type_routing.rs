//! `networks_provider_type_routing_check` (critical): VLAN/flat networks with
//! instances that are also attached to a router (an interface or gateway
//! port): see [`super::networks_provider_type`].

use super::networks_provider_type::provider_networks;
use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "networks_provider_type_routing_check",
    severity: Severity::Critical,
    reference: true,
    description: "VLAN/flat provider networks with instances that are attached to a router: under OVN their routed traffic leaves through the gateway chassis instead of the network node",
    remediation: "plan the gateway chassis (enable-chassis-as-gw) on hosts with the network's physnet mapping, or detach the router before the migration",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(provider_networks(ix, true))
}

#[cfg(test)]
mod tests {
    use super::super::networks_provider_type::tests::cloud;
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn routed_provider_networks_with_instances_fail() {
        assert_eq!(violations(&CHECK, &cloud()), vec!["vlan-routed"]);
        let mut inv = cloud();
        inv.ports.retain(|p| p.id != "r");
        inv.ports.push(iface(
            "g",
            "router",
            "vlan-routed",
            "network:router_gateway",
        ));
        assert_eq!(violations(&CHECK, &inv), vec!["vlan-routed"]);
        inv.ports.retain(|p| p.id != "g");
        assert!(violations(&CHECK, &inv).is_empty());
    }
}
