//! `routers_gateway_mtu_check` (major): the same as
//! [`super::routers_internal_mtu`] across all interfaces, the gateway's
//! network included, of routers with an external gateway.

use super::routers_internal_mtu::mixed;
use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "routers_gateway_mtu_check",
    severity: Severity::Major,
    reference: true,
    description: "routers with an external gateway whose networks (gateway included) have different MTUs: OVN does not fragment north-south traffic either",
    remediation: "align the MTUs of the router's networks with the external network's, or accept that larger packets are dropped rather than fragmented",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(mixed(ix, true))
}

#[cfg(test)]
mod tests {
    use super::super::routers_internal_mtu::tests::cloud;
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::GatewayInfo;

    #[test]
    fn routers_with_a_gateway_and_mixed_mtus_fail() {
        assert_eq!(violations(&CHECK, &cloud()), vec!["gw-mixed"]);
        // The gateway from external_gateway_info alone counts too.
        let mut inv = cloud();
        inv.ports.retain(|p| p.id != "7");
        assert_eq!(violations(&CHECK, &inv), vec!["gw-mixed"]);
        inv.routers[0].external_gateway_info = Some(GatewayInfo {
            network_id: "ext".into(),
        });
        assert_eq!(violations(&CHECK, &inv), vec!["gw-mixed", "mixed"]);
    }
}
