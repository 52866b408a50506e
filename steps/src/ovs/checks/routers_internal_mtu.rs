//! `routers_internal_mtu_check` (critical): OVN does not fragment east-west
//! traffic, so all internal networks of a router must share one MTU. Flagged:
//! routers whose internal interface networks ([`ROUTER_INTERFACE_OWNERS`]
//! ports) have more than one distinct MTU.
//!
//! [`ROUTER_INTERFACE_OWNERS`]: crate::ovs::inventory::ROUTER_INTERFACE_OWNERS

use std::collections::BTreeSet;

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "routers_internal_mtu_check",
    severity: Severity::Critical,
    reference: true,
    description: "routers whose internal networks have different MTUs: OVN does not fragment between them",
    remediation: "give every internal network of each router the same MTU (the smallest, or the Geneve MTU)",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(mixed(ix, false))
}

/// Returns the routers with more than one MTU among their (internal, or with the gateway: all) networks.
pub fn mixed(ix: &Index<'_>, with_gateway: bool) -> Vec<String> {
    ix.inv
        .routers
        .iter()
        .filter(|r| {
            !with_gateway
                || r.external_gateway_info
                    .as_ref()
                    .is_some_and(|g| !g.network_id.is_empty())
        })
        .filter(|r| {
            let mtus: BTreeSet<Option<u32>> = ix
                .router_network_mtus(r, with_gateway)
                .into_values()
                .collect();
            mtus.len() > 1
        })
        .map(|r| r.id.clone())
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{GatewayInfo, Inventory, Router};

    pub fn cloud() -> Inventory {
        let router = |id: &str, gw: Option<&str>| Router {
            id: id.into(),
            name: id.into(),
            external_gateway_info: gw.map(|g| GatewayInfo {
                network_id: g.into(),
            }),
        };
        Inventory {
            networks: vec![
                net("a", "vxlan", 1442),
                net("b", "vxlan", 1400),
                net("c", "vxlan", 1442),
                net("ext", "flat", 1500),
            ],
            routers: vec![
                router("mixed", None),
                router("same", None),
                router("gw-mixed", Some("ext")),
                router("ha-mixed", None),
            ],
            ports: vec![
                iface("1", "mixed", "a", "network:router_interface"),
                iface("2", "mixed", "b", "network:router_interface"),
                iface("3", "same", "a", "network:router_interface"),
                iface("4", "same", "c", "network:router_interface_distributed"),
                iface("5", "gw-mixed", "a", "network:router_interface"),
                iface("6", "gw-mixed", "c", "network:router_interface"),
                iface("7", "gw-mixed", "ext", "network:router_gateway"),
                iface(
                    "8",
                    "ha-mixed",
                    "a",
                    "network:ha_router_replicated_interface",
                ),
                iface(
                    "9",
                    "ha-mixed",
                    "b",
                    "network:ha_router_replicated_interface",
                ),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn routers_with_mixed_internal_mtus_fail() {
        // gw-mixed differs only through its gateway, which this check leaves out.
        assert_eq!(violations(&CHECK, &cloud()), vec!["ha-mixed", "mixed"]);
    }
}
