//! `subnets_ip_address_availability_check` (major): OVN puts one metadata port
//! on every network; a network whose addresses are all used has no room for
//! it. Flagged (as the reference does, per network): networks whose
//! `network-ip-availabilities` entry has `used_ips == total_ips`.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "subnets_ip_address_availability_check",
    severity: Severity::Major,
    reference: true,
    description: "networks with every IP address in use: no room for the OVN metadata port",
    remediation: "free an address (delete an unused port) or add a subnet or a larger allocation pool to each network",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    let all = ix.inv.ip_availabilities.get()?;
    Ok(all
        .iter()
        .filter(|a| a.total_ips > 0 && a.used_ips >= a.total_ips)
        .map(|a| a.network_id.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{Inventory, NetworkAvailability, Part};

    fn avail(id: &str, total: u128, used: u128) -> NetworkAvailability {
        NetworkAvailability {
            network_id: id.into(),
            total_ips: total,
            used_ips: used,
            subnet_ip_availability: vec![],
        }
    }

    #[test]
    fn full_networks_fail() {
        let mut inv = Inventory {
            ip_availabilities: Part::Read(vec![
                avail("full", 5, 5),
                avail("room", 5, 4),
                avail("no-subnet", 0, 0),
            ]),
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["full"]);
        inv.ip_availabilities = Part::Unavailable("GET /network-ip-availabilities: 404".into());
        let r = run_default(&CHECK, &inv);
        assert!(!r.passed);
        assert_eq!(
            r.violations,
            vec!["check failed: GET /network-ip-availabilities: 404"]
        );
    }
}
