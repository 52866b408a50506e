//! `sriov_ports_floating_ip_check` (critical): OVN cannot NAT for SR-IOV
//! ports (their traffic bypasses OVS), so their floating IPs stop working.
//! Flagged: `compute:nova` ports on VLAN/flat networks with a `binding:vnic_type`
//! in [`SRIOV_VNIC_TYPES`] that hold a floating IP.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{Index, is_provider};
use crate::ovs::settings::Settings;

/// The vnic types whose traffic bypasses the virtual switch.
pub const SRIOV_VNIC_TYPES: &[&str] = &["direct", "macvtap", "direct-physical", "virtio-forwarder"];

/// The check.
pub const CHECK: Check = Check {
    id: "sriov_ports_floating_ip_check",
    severity: Severity::Critical,
    reference: true,
    description: "SR-IOV ports (vnic type direct, macvtap, direct-physical, virtio-forwarder) holding floating IPs: OVN does not NAT for them",
    remediation: "move the floating IP to a normal port, or route the provider network's addresses directly, before the migration",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(ix
        .inv
        .ports
        .iter()
        .filter(|p| p.device_owner == "compute:nova" && is_provider(ix.network_type(&p.network_id)))
        .filter(|p| {
            p.vnic_type
                .as_deref()
                .is_some_and(|v| SRIOV_VNIC_TYPES.contains(&v))
        })
        .filter(|p| ix.ports_with_fip.contains(p.id.as_str()))
        .map(|p| p.id.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{FloatingIp, Inventory, Port};

    fn vnic(p: Port, v: &str) -> Port {
        Port {
            vnic_type: Some(v.into()),
            ..p
        }
    }

    #[test]
    fn sriov_ports_with_floating_ips_fail() {
        let fip = |id: &str| FloatingIp {
            id: format!("fip-{id}"),
            floating_ip_address: "203.0.113.1".into(),
            port_id: Some(id.into()),
        };
        let inv = Inventory {
            networks: vec![net("vlan", "vlan", 1500), net("vx", "vxlan", 1442)],
            ports: vec![
                vnic(port("direct", "vlan", "", "compute:nova", &[]), "direct"),
                vnic(port("macvtap", "vlan", "", "compute:nova", &[]), "macvtap"),
                vnic(port("nofip", "vlan", "", "compute:nova", &[]), "direct"),
                vnic(port("normal", "vlan", "", "compute:nova", &[]), "normal"),
                vnic(port("overlay", "vx", "", "compute:nova", &[]), "direct"),
            ],
            floating_ips: vec![fip("direct"), fip("macvtap"), fip("normal"), fip("overlay")],
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["direct", "macvtap"]);
    }
}
