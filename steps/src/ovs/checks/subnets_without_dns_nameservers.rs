//! `subnets_without_dns_nameservers_check` (critical): under OVS, instances
//! resolve through the DHCP agents' dnsmasq; OVN does not forward DNS, so a
//! DHCP subnet without `dns_nameservers` leaves its instances without DNS
//! once they renew.
//!
//! Flagged: DHCP-enabled subnets with empty `dns_nameservers` and at least one
//! workload port ([`is_workload`]) with an address in them.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{Index, is_workload};
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "subnets_without_dns_nameservers_check",
    severity: Severity::Critical,
    reference: true,
    description: "DHCP subnets with workloads and no dns_nameservers: OVN does not forward DNS like the DHCP agents' dnsmasq did",
    remediation: "set dns_nameservers on each subnet (ovn-migrate ovs fix --check subnets_without_dns_nameservers_check [--dns IP], or openstack subnet set --dns-nameserver), a full lease before the migration",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(ix
        .inv
        .subnets
        .iter()
        .filter(|s| s.enable_dhcp && s.dns_nameservers.is_empty())
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
    fn dhcp_subnets_without_dns_and_with_workloads_fail() {
        let inv = Inventory {
            networks: vec![net("n", "vxlan", 1442)],
            subnets: vec![
                subnet("no-dns", "n", "10.0.0.0/24", true, &[]),
                subnet("dns", "n", "10.0.1.0/24", true, &["192.0.2.53"]),
                subnet("no-dhcp", "n", "10.0.2.0/24", false, &[]),
                subnet("only-infra", "n", "10.0.3.0/24", true, &[]),
                subnet("idle", "n", "10.0.4.0/24", true, &[]),
            ],
            ports: vec![
                port("a", "n", "no-dns", "compute:nova", &[]),
                port("b", "n", "dns", "compute:nova", &[]),
                port("c", "n", "no-dhcp", "compute:nova", &[]),
                port("d", "n", "only-infra", "network:dhcp", &[]),
                port("e", "n", "only-infra", "neutron:LOADBALANCERV2", &[]),
            ],
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["no-dns"]);
    }
}
