//! What the DHCP checks share: which ports they look at, which rules let a
//! DHCP packet through, and whether the union of those rules' remote CIDRs
//! covers an address range.
//!
//! A rule's remote is its `remote_ip_prefix`, the whole address family when
//! that is null, or, with `remote_address_group_id`, the entries of that
//! address group of the rule's family (the reference reads a null prefix as
//! "any" even then, which passes groups that block DHCP). Rules with a
//! `remote_group_id` never match DHCP servers (they are not group members).

use std::net::IpAddr;

use crate::ovs::inventory::{Index, Port, SecurityGroupRule};

/// An inclusive address range in a 128-bit space (IPv4 mapped to its low 32 bits).
pub type Range = (u128, u128);

/// Parses `addr/len` (or a bare address) into its range; `None` for junk.
pub fn parse_cidr(cidr: &str) -> Option<(bool, Range)> {
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
        None => (cidr, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let (v4, bits, value) = match ip {
        IpAddr::V4(a) => (true, 32u32, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, 128u32, u128::from(a)),
    };
    let len = len.unwrap_or(bits);
    if len > bits {
        return None;
    }
    let host_bits = bits - len;
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let start = value & !mask;
    Some((v4, (start, start | mask)))
}

/// Returns true when the union of `ranges` covers all of `want`.
pub fn covers(ranges: &[Range], want: Range) -> bool {
    let mut rs: Vec<Range> = ranges.to_vec();
    rs.sort();
    let mut next = want.0;
    for (a, b) in rs {
        if a > next {
            break;
        }
        if b >= next {
            if b >= want.1 {
                return true;
            }
            next = b + 1;
        }
    }
    false
}

/// Returns true when a port is one the DHCP checks look at: on a
/// non-external network, port security on, owned by Nova or by nobody.
pub fn in_scope(ix: &Index<'_>, p: &Port) -> bool {
    let external = ix
        .networks
        .get(p.network_id.as_str())
        .and_then(|n| n.router_external)
        .unwrap_or(false);
    !external
        && p.port_security_enabled.unwrap_or(true)
        && (p.device_owner == "compute:nova" || p.device_owner.is_empty())
}

/// Returns true when a rule's protocol is any or UDP (by name or number).
pub(crate) fn udp_or_any(r: &SecurityGroupRule) -> bool {
    match r.protocol.as_deref() {
        None | Some("") | Some("any") => true,
        Some(p) => p.eq_ignore_ascii_case("udp") || p == "17",
    }
}

/// Returns true when a rule's port range covers `port` (an unset range is every port).
pub(crate) fn covers_port(r: &SecurityGroupRule, port: u32) -> bool {
    match (r.port_range_min, r.port_range_max) {
        (None, _) => true,
        (Some(min), max) => min <= port && port <= max.unwrap_or(min),
    }
}

/// The traffic a DHCP check needs a group to allow.
pub struct Flow {
    /// `egress` or `ingress`.
    pub direction: &'static str,
    /// `IPv4` or `IPv6`.
    pub ethertype: &'static str,
    /// The UDP destination port (67, 68, 547, 546).
    pub port: u32,
}

/// Returns the remote ranges of the port's rules that let `flow` through.
pub fn allowed(ix: &Index<'_>, p: &Port, flow: &Flow) -> Result<Vec<Range>, String> {
    let v4 = flow.ethertype == "IPv4";
    let any = if v4 {
        (0, u128::from(u32::MAX))
    } else {
        (0, u128::MAX)
    };
    let mut out = Vec::new();
    for g in &p.security_groups {
        for r in ix.rules_of(g) {
            if r.direction != flow.direction
                || r.ethertype != flow.ethertype
                || r.remote_group_id.is_some()
                || !udp_or_any(r)
                || !covers_port(r, flow.port)
            {
                continue;
            }
            if let Some(prefix) = r.remote_ip_prefix.as_deref().filter(|s| !s.is_empty()) {
                match parse_cidr(prefix) {
                    Some((is_v4, range)) if is_v4 == v4 => out.push(range),
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "rule {} has an unreadable remote_ip_prefix {prefix:?}",
                            r.id
                        ));
                    }
                }
            } else if let Some(ag) = r.remote_address_group_id.as_deref() {
                let groups = ix.inv.address_groups.get().map_err(|why| {
                    format!(
                        "rule {} names address group {ag}, which could not be read: {why}",
                        r.id
                    )
                })?;
                let group = groups.iter().find(|a| a.id == ag).ok_or_else(|| {
                    format!(
                        "rule {} names address group {ag}, which does not exist",
                        r.id
                    )
                })?;
                out.extend(
                    group
                        .addresses
                        .iter()
                        .filter_map(|a| parse_cidr(a))
                        .filter(|(is_v4, _)| *is_v4 == v4)
                        .map(|(_, r)| r),
                );
            } else {
                out.push(any);
            }
        }
    }
    Ok(out)
}

/// Returns true when every group of the port is stateless (Neutron refuses mixing).
pub fn stateless(ix: &Index<'_>, p: &Port) -> bool {
    !p.security_groups.is_empty()
        && p.security_groups
            .iter()
            .all(|g| ix.groups.get(g.as_str()).and_then(|g| g.stateful) == Some(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_into_ranges() {
        assert_eq!(parse_cidr("0.0.0.0/0"), Some((true, (0, 0xffff_ffff))));
        assert_eq!(
            parse_cidr("10.0.0.0/24"),
            Some((true, (0x0a00_0000, 0x0a00_00ff)))
        );
        assert_eq!(
            parse_cidr("255.255.255.255"),
            Some((true, (0xffff_ffff, 0xffff_ffff)))
        );
        assert_eq!(parse_cidr("::/0"), Some((false, (0, u128::MAX))));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("nonsense"), None);
    }

    #[test]
    fn union_coverage() {
        let r = |s: &str| parse_cidr(s).unwrap().1;
        let halves = [r("0.0.0.0/1"), r("128.0.0.0/1")];
        assert!(covers(&halves, r("0.0.0.0/0")));
        assert!(!covers(&halves[..1], r("0.0.0.0/0")));
        assert!(covers(
            &[r("10.0.0.0/25"), r("10.0.0.128/25")],
            r("10.0.0.0/24")
        ));
        assert!(!covers(
            &[r("10.0.0.0/25"), r("10.0.0.129/32")],
            r("10.0.0.0/24")
        ));
        assert!(covers(&[r("10.0.0.0/8")], r("10.1.2.0/24")));
        assert!(!covers(&[], r("10.1.2.0/24")));
    }
}
