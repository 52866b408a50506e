//! `networks_mtu_size_check` (critical): an overlay network whose MTU is above
//! what Geneve leaves (`base − max_header_size`, [`crate::ovs::mtu`]) drops
//! large packets after the switch. The reference looks at VXLAN networks
//! only; GRE networks have the same problem and are flagged too.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{Index, is_overlay};
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "networks_mtu_size_check",
    severity: Severity::Critical,
    reference: true,
    description: "VXLAN and GRE networks whose MTU is larger than Geneve allows (base MTU − max_header_size): large packets are dropped under OVN",
    remediation: "lower each network's MTU to the Geneve MTU (ovn-migrate ovs fix --check networks_mtu_size_check, or openstack network set --mtu); instances pick it up at their next DHCP renewal",
    run,
};

fn run(ix: &Index<'_>, settings: &Settings) -> Verdict {
    if !settings.mtu.header_ok() {
        return Err(format!(
            "max_header_size {} is below the {} OVN needs: set [ml2_type_geneve] max_header_size (or --max-header-size) first",
            settings.mtu.max_header_size,
            crate::ovs::mtu::MIN_GENEVE_HEADER
        ));
    }
    let limit = settings.mtu.geneve();
    Ok(ix
        .inv
        .networks
        .iter()
        .filter(|n| is_overlay(n.network_type.as_deref().unwrap_or("")))
        .filter(|n| n.mtu.is_some_and(|m| m > limit))
        .map(|n| n.id.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;
    use crate::ovs::mtu::Mtu;

    #[test]
    fn overlay_networks_above_the_geneve_mtu_fail() {
        let inv = Inventory {
            networks: vec![
                net("vx-old", "vxlan", 1450),
                net("vx-ok", "vxlan", 1442),
                net("vx-low", "vxlan", 1400),
                net("gre-old", "gre", 1458),
                net("vlan", "vlan", 1500),
                net("geneve", "geneve", 1442),
            ],
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["gre-old", "vx-old"]);
        // A jumbo underlay leaves room.
        let jumbo = Settings {
            mtu: Mtu {
                global_physnet_mtu: 9000,
                ..Mtu::default()
            },
            ..Settings::default()
        };
        assert!(run_with(&CHECK, &inv, &jumbo).violations.is_empty());
        let bad = Settings {
            mtu: Mtu {
                max_header_size: 30,
                ..Mtu::default()
            },
            ..Settings::default()
        };
        let r = run_with(&CHECK, &inv, &bad);
        assert!(!r.passed && r.error.unwrap().contains("max_header_size 30"));
    }
}
