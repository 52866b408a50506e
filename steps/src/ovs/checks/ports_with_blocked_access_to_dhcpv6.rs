//! `ports_with_blocked_access_to_dhcpv6_check` (critical; not in the
//! reference): the DHCPv4 check's logic for DHCPv6. Ports on a network with a
//! DHCP-enabled IPv6 subnet in `dhcpv6-stateful` or `dhcpv6-stateless` mode
//! need egress IPv6 UDP 547 to `::/0` or to `ff02::1:2/128` (the
//! All_DHCP_Relay_Agents_and_Servers group every request goes to).

use super::ports_with_blocked_access_to_dhcpv4::blocked;
use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "ports_with_blocked_access_to_dhcpv6_check",
    severity: Severity::Critical,
    reference: false,
    description: "ports on DHCPv6 subnets whose security groups block DHCPv6 requests (egress UDP 547): under OVN they lose their address or options",
    remediation: "add an egress IPv6 UDP 547 rule (to ::/0 or ff02::1:2/128) to one group of each port",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    blocked(ix, 6)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;

    fn cloud(
        mode: Option<&str>,
        rules: Vec<crate::ovs::inventory::SecurityGroupRule>,
    ) -> Inventory {
        let mut s6 = subnet("s6", "n", "2001:db8::/64", true, &[]);
        s6.ipv6_address_mode = mode.map(str::to_string);
        Inventory {
            networks: vec![net("n", "vxlan", 1442)],
            subnets: vec![s6],
            ports: vec![port("p", "n", "s6", "compute:nova", &["g"])],
            security_groups: vec![group("g")],
            security_group_rules: rules,
            ..Inventory::default()
        }
    }

    #[test]
    fn dhcpv6_subnets_need_udp_547() {
        let only_v4 = vec![rule("g", "egress", "IPv4", None, None, None)];
        assert_eq!(
            violations(&CHECK, &cloud(Some("dhcpv6-stateful"), only_v4.clone())),
            vec!["p"]
        );
        assert_eq!(
            violations(&CHECK, &cloud(Some("dhcpv6-stateless"), only_v4.clone())),
            vec!["p"]
        );
        // SLAAC needs no DHCPv6.
        assert!(violations(&CHECK, &cloud(Some("slaac"), only_v4.clone())).is_empty());
        assert!(violations(&CHECK, &cloud(None, only_v4)).is_empty());
        let open = vec![rule("g", "egress", "IPv6", None, None, None)];
        assert!(violations(&CHECK, &cloud(Some("dhcpv6-stateful"), open)).is_empty());
        let multicast = vec![rule(
            "g",
            "egress",
            "IPv6",
            Some("udp"),
            Some((547, 547)),
            Some("ff02::1:2/128"),
        )];
        assert!(violations(&CHECK, &cloud(Some("dhcpv6-stateful"), multicast)).is_empty());
        let wrong_port = vec![rule(
            "g",
            "egress",
            "IPv6",
            Some("udp"),
            Some((546, 546)),
            None,
        )];
        assert_eq!(
            violations(&CHECK, &cloud(Some("dhcpv6-stateful"), wrong_port)),
            vec!["p"]
        );
    }
}
