//! CIDR blocks for IPv4 and IPv6 on `std::net`: parsing, containment, overlap.
//!
//! Both families are held as a `u128` plus a prefix length, so overlap and
//! containment are one mask comparison. Parsing is strict the way the network
//! operator is: the address must be the network address (no host bits set),
//! and the error says which block was meant.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use thiserror::Error;

/// An IPv4 or IPv6 network block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Errors of CIDR parsing; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CidrError {
    /// No `/prefix`.
    #[error("parse CIDR {0:?}: expected ADDRESS/PREFIX, e.g. 100.64.0.0/16")]
    NoPrefix(String),
    /// The address part is not an IP address.
    #[error("parse CIDR {0:?}: the address is not an IPv4 or IPv6 address")]
    BadAddress(String),
    /// The prefix is not a number in range for the family.
    #[error("parse CIDR {text:?}: the prefix must be 0..={max}")]
    BadPrefix {
        /// The input.
        text: String,
        /// The family's maximum prefix.
        max: u8,
    },
    /// Bits are set beyond the prefix.
    #[error("parse CIDR {text:?}: host bits are set; did you mean {network}?")]
    HostBits {
        /// The input.
        text: String,
        /// The network the user probably meant.
        network: String,
    },
}

impl Cidr {
    /// Returns the family's address width in bits.
    fn width(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// Returns the address as a number.
    fn bits(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    /// Returns the mask of `prefix` within `width` bits.
    fn mask(width: u8, prefix: u8) -> u128 {
        let all = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        if prefix == 0 {
            0
        } else {
            all & !((1u128 << (width - prefix)) - 1) & all
        }
    }

    /// Returns the network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Returns the prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Returns true for an IPv4 block.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Returns true when `addr` lies in this block (false across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        if addr.is_ipv4() != self.is_ipv4() {
            return false;
        }
        let mask = Self::mask(self.width(), self.prefix);
        Self::bits(addr) & mask == Self::bits(self.addr) & mask
    }

    /// Returns true when `other` lies wholly inside this block.
    pub fn covers(&self, other: &Cidr) -> bool {
        self.prefix <= other.prefix && self.contains(other.addr)
    }

    /// Returns true when the blocks share any address (false across families).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| CidrError::NoPrefix(text.to_string()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::BadAddress(text.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or(CidrError::BadPrefix {
                text: text.to_string(),
                max,
            })?;
        let network = Self::bits(addr) & Self::mask(max, prefix);
        if network != Self::bits(addr) {
            let net_addr = if addr.is_ipv4() {
                IpAddr::V4(Ipv4Addr::from(network as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(network))
            };
            return Err(CidrError::HostBits {
                text: text.to_string(),
                network: Cidr {
                    addr: net_addr,
                    prefix,
                }
                .to_string(),
            });
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_both_families() {
        assert_eq!(c("100.64.0.0/16").prefix(), 16);
        assert!(c("100.64.0.0/16").is_ipv4());
        assert!(!c("fd98::/48").is_ipv4());
        assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(c("10.0.0.1/32").prefix(), 32);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            "10.0.0.0".parse::<Cidr>(),
            Err(CidrError::NoPrefix(_))
        ));
        assert!(matches!(
            "10.0.0/8".parse::<Cidr>(),
            Err(CidrError::BadAddress(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::BadPrefix { max: 32, .. })
        ));
        assert!(matches!(
            "fd00::/129".parse::<Cidr>(),
            Err(CidrError::BadPrefix { max: 128, .. })
        ));
        let err = "10.1.2.3/16".parse::<Cidr>().unwrap_err();
        assert!(err.to_string().contains("10.1.0.0/16"), "{err}");
        let err = "fd98::1/48".parse::<Cidr>().unwrap_err();
        assert!(err.to_string().contains("fd98::/48"), "{err}");
    }

    #[test]
    fn overlap_and_containment() {
        assert!(c("10.128.0.0/14").overlaps(&c("10.130.0.0/16")));
        assert!(c("10.130.0.0/16").overlaps(&c("10.128.0.0/14")));
        assert!(!c("100.64.0.0/16").overlaps(&c("10.128.0.0/14")));
        assert!(!c("100.64.0.0/16").overlaps(&c("100.65.0.0/16")));
        assert!(c("0.0.0.0/0").overlaps(&c("1.2.3.4/32")));
        assert!(c("fd98::/48").overlaps(&c("fd98:0:0:1::/64")));
        assert!(!c("fd98::/48").overlaps(&c("fd99::/48")));
        assert!(!c("0.0.0.0/0").overlaps(&c("::/0")));
        assert!(c("10.0.0.0/16").covers(&c("10.0.5.0/24")));
        assert!(!c("10.0.5.0/24").covers(&c("10.0.0.0/16")));
        assert!(c("10.0.0.0/16").contains("10.0.255.255".parse().unwrap()));
        assert!(!c("10.0.0.0/16").contains("10.1.0.0".parse().unwrap()));
    }
}
