//! Neutron's MTU arithmetic for overlay networks (`spec/ovs-to-ovn.md`).
//!
//! `base = min(global_physnet_mtu, path_mtu if > 0) − IP header` (20 for an
//! IPv4 overlay, 40 for IPv6); a VXLAN network gets `base − 30`, GRE
//! `base − 22`, Geneve `base − max_header_size` (OVN needs ≥ 38). At 1500 over
//! IPv4: VXLAN 1450, GRE 1458, Geneve 1442. The checks compare a network's
//! MTU with [`Mtu::geneve`]; the later `fix` lowers it by
//! [`Mtu::lower_by`] (upstream's fix-up tool hard-codes 8 for VXLAN and 16
//! for GRE, which is the same at the default header size).

use serde::{Deserialize, Serialize};

/// Neutron's default `[DEFAULT] global_physnet_mtu`.
pub const DEFAULT_GLOBAL_PHYSNET_MTU: u32 = 1500;
/// The smallest `[ml2_type_geneve] max_header_size` OVN accepts, and the default used here.
pub const MIN_GENEVE_HEADER: u32 = 38;
/// VXLAN's encapsulation overhead above the IP header.
pub const VXLAN_OVERHEAD: u32 = 30;
/// GRE's encapsulation overhead above the IP header.
pub const GRE_OVERHEAD: u32 = 22;

/// The inputs of the arithmetic, as Neutron's configuration has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mtu {
    /// `[DEFAULT] global_physnet_mtu`.
    pub global_physnet_mtu: u32,
    /// `[ml2] path_mtu` (0: unset).
    pub path_mtu: u32,
    /// `[ml2] overlay_ip_version` (4 or 6).
    pub overlay_ip_version: u8,
    /// `[ml2_type_geneve] max_header_size`.
    pub max_header_size: u32,
}

impl Default for Mtu {
    fn default() -> Self {
        Mtu {
            global_physnet_mtu: DEFAULT_GLOBAL_PHYSNET_MTU,
            path_mtu: 0,
            overlay_ip_version: 4,
            max_header_size: MIN_GENEVE_HEADER,
        }
    }
}

impl Mtu {
    /// Returns the underlay MTU left after the outer IP header.
    pub fn base(&self) -> u32 {
        let physical = if self.path_mtu > 0 {
            self.global_physnet_mtu.min(self.path_mtu)
        } else {
            self.global_physnet_mtu
        };
        let ip_header = if self.overlay_ip_version == 6 { 40 } else { 20 };
        physical.saturating_sub(ip_header)
    }

    /// Returns the MTU Neutron gives a new VXLAN network.
    pub fn vxlan(&self) -> u32 {
        self.base().saturating_sub(VXLAN_OVERHEAD)
    }

    /// Returns the MTU Neutron gives a new GRE network.
    pub fn gre(&self) -> u32 {
        self.base().saturating_sub(GRE_OVERHEAD)
    }

    /// Returns the largest MTU an overlay network may keep under OVN's Geneve.
    pub fn geneve(&self) -> u32 {
        self.base().saturating_sub(self.max_header_size)
    }

    /// Returns how much a network of this type and MTU must be lowered to fit
    /// Geneve (0 when it already fits).
    pub fn lower_by(&self, mtu: u32) -> u32 {
        mtu.saturating_sub(self.geneve())
    }

    /// Returns whether the header size is one OVN accepts.
    pub fn header_ok(&self) -> bool {
        self.max_header_size >= MIN_GENEVE_HEADER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_underlay_at_1500() {
        let m = Mtu::default();
        assert_eq!(
            (m.base(), m.vxlan(), m.gre(), m.geneve()),
            (1480, 1450, 1458, 1442)
        );
        // Upstream's fix-up amounts at the default header size.
        assert_eq!(m.lower_by(m.vxlan()), 8);
        assert_eq!(m.lower_by(m.gre()), 16);
        assert_eq!(m.lower_by(1442), 0);
        assert_eq!(m.lower_by(1400), 0);
        assert!(m.header_ok());
    }

    #[test]
    fn path_mtu_counts_only_when_set_and_smaller() {
        let m = |g, p| Mtu {
            global_physnet_mtu: g,
            path_mtu: p,
            ..Mtu::default()
        };
        assert_eq!(m(9000, 0).geneve(), 8942);
        assert_eq!(m(9000, 1500).geneve(), 1442);
        assert_eq!(m(1500, 9000).geneve(), 1442);
    }

    #[test]
    fn ipv6_overlay_and_larger_header() {
        let m = Mtu {
            overlay_ip_version: 6,
            max_header_size: 50,
            ..Mtu::default()
        };
        assert_eq!((m.base(), m.vxlan(), m.geneve()), (1460, 1430, 1410));
        assert_eq!(m.lower_by(1430), 20);
        let small = Mtu {
            max_header_size: 30,
            ..Mtu::default()
        };
        assert!(!small.header_ok());
    }

    #[test]
    fn tiny_values_do_not_underflow() {
        let m = Mtu {
            global_physnet_mtu: 10,
            ..Mtu::default()
        };
        assert_eq!((m.base(), m.vxlan(), m.geneve()), (0, 0, 0));
    }
}
