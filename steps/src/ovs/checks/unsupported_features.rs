//! `unsupported_features_check` (critical): ML2/OVN has no BGPVPN and no
//! VPNaaS (IPsec) driver of the kind an OVS deployment runs. Flagged: the
//! aliases of enabled extensions that belong to them.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "unsupported_features_check",
    severity: Severity::Critical,
    reference: true,
    description: "Neutron extensions enabled that the OVN migration does not support (BGPVPN, VPNaaS/IPsec)",
    remediation: "remove the BGPVPN and VPNaaS resources and disable those service plugins before the migration",
    run,
};

/// Returns true for an extension alias of BGPVPN or VPNaaS.
pub fn unsupported(alias: &str) -> bool {
    alias.starts_with("bgpvpn") || matches!(alias, "vpnaas" | "vpn-endpoint-groups" | "vpn-flavors")
}

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    Ok(ix
        .inv
        .extensions
        .iter()
        .filter(|e| unsupported(&e.alias))
        .map(|e| e.alias.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{Extension, Inventory};

    #[test]
    fn bgpvpn_and_vpnaas_fail() {
        let ext = |a: &str| Extension { alias: a.into() };
        let mut inv = Inventory {
            extensions: vec![ext("router"), ext("trunk"), ext("address-group")],
            ..Inventory::default()
        };
        assert!(violations(&CHECK, &inv).is_empty());
        inv.extensions
            .extend([ext("bgpvpn"), ext("bgpvpn-routes-control"), ext("vpnaas")]);
        assert_eq!(
            violations(&CHECK, &inv),
            vec!["bgpvpn", "bgpvpn-routes-control", "vpnaas"]
        );
    }
}
