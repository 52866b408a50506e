//! `subnets_metadata_port_ip_check` (major; not in the reference): the OVN
//! metadata port takes one address in *every* DHCP-enabled IPv4 subnet of its
//! network, so one full subnet breaks metadata even when the network as a
//! whole, which is all the reference looks at, still has room.
//!
//! Flagged: DHCP-enabled IPv4 subnets whose availability has
//! `used_ips == total_ips`, on networks that have no OVN metadata port
//! (`network:distributed`) yet.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "subnets_metadata_port_ip_check",
    severity: Severity::Major,
    reference: false,
    description: "DHCP-enabled IPv4 subnets with no free address: the OVN metadata port cannot get its address there, and instances on them lose metadata",
    remediation: "free an address in each subnet or widen its allocation pool (openstack subnet set --allocation-pool)",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    let all = ix.inv.ip_availabilities.get()?;
    let mut out = Vec::new();
    for net in all {
        if ix
            .ports_of(&net.network_id)
            .iter()
            .any(|p| p.device_owner == "network:distributed")
        {
            continue;
        }
        for s in &net.subnet_ip_availability {
            let dhcp = ix
                .subnets
                .get(s.subnet_id.as_str())
                .is_some_and(|x| x.enable_dhcp);
            if s.ip_version == 4 && dhcp && s.total_ips > 0 && s.used_ips >= s.total_ips {
                out.push(s.subnet_id.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{Inventory, NetworkAvailability, Part, SubnetAvailability};

    fn sub(id: &str, v: u8, total: u128, used: u128) -> SubnetAvailability {
        SubnetAvailability {
            subnet_id: id.into(),
            ip_version: v,
            total_ips: total,
            used_ips: used,
        }
    }

    #[test]
    fn a_full_subnet_fails_even_when_its_network_has_room() {
        let mut inv = Inventory {
            networks: vec![net("n", "vxlan", 1442)],
            subnets: vec![
                subnet("full", "n", "10.0.0.0/29", true, &[]),
                subnet("roomy", "n", "10.0.1.0/24", true, &[]),
                subnet("full-nodhcp", "n", "10.0.2.0/29", false, &[]),
                subnet("full6", "n", "2001:db8::/120", true, &[]),
            ],
            ip_availabilities: Part::Read(vec![NetworkAvailability {
                network_id: "n".into(),
                total_ips: 270,
                used_ips: 20,
                subnet_ip_availability: vec![
                    sub("full", 4, 5, 5),
                    sub("roomy", 4, 253, 3),
                    sub("full-nodhcp", 4, 5, 5),
                    sub("full6", 6, 7, 7),
                ],
            }]),
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["full"]);
        // Already has its metadata port.
        inv.ports
            .push(port("md", "n", "full", "network:distributed", &[]));
        assert!(violations(&CHECK, &inv).is_empty());
    }
}
