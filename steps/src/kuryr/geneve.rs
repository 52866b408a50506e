//! Is Geneve (UDP, 6081 by default) allowed between the nodes?
//!
//! OVN-Kubernetes tunnels pod traffic in Geneve, so every pair of node
//! security groups (master↔master, master↔worker, worker↔worker) needs an
//! ingress UDP rule covering the Geneve port, either from the other group
//! (`remote_group_id`) or from a CIDR covering every machine network. The
//! OpenStack client fills [`SecurityGroup`] from Neutron JSON; the check is
//! pure and part of the M0 precheck.

use serde::{Deserialize, Serialize};

use super::cidr::Cidr;
use super::finding::{Finding, Severity};

/// A Neutron security group rule, as Neutron returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SgRule {
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    #[serde(default)]
    pub ethertype: String,
    /// `udp`, `17`, another protocol, or `None` for any.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Lowest port, `None` for all.
    #[serde(default)]
    pub port_range_min: Option<u16>,
    /// Highest port, `None` for all.
    #[serde(default)]
    pub port_range_max: Option<u16>,
    /// Source security group.
    #[serde(default)]
    pub remote_group_id: Option<String>,
    /// Source CIDR.
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
}

/// A Neutron security group with its rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    #[serde(default)]
    pub name: String,
    /// Its rules.
    #[serde(default, rename = "security_group_rules")]
    pub rules: Vec<SgRule>,
}

/// Returns true when `rule` lets UDP `port` in from group `source` (or from all machine networks).
pub fn rule_allows(rule: &SgRule, port: u16, source: &str, machine_networks: &[Cidr]) -> bool {
    if rule.direction != "ingress" {
        return false;
    }
    let udp = match rule.protocol.as_deref() {
        None | Some("any") => true,
        Some(p) => p.eq_ignore_ascii_case("udp") || p == "17",
    };
    let lo = rule.port_range_min.unwrap_or(0);
    let hi = rule.port_range_max.unwrap_or(u16::MAX);
    if !udp || port < lo || port > hi {
        return false;
    }
    if let Some(group) = &rule.remote_group_id {
        return group == source;
    }
    let prefix = rule
        .remote_ip_prefix
        .as_deref()
        .unwrap_or(if rule.ethertype == "IPv6" {
            "::/0"
        } else {
            "0.0.0.0/0"
        });
    let Ok(allowed) = prefix.parse::<Cidr>() else {
        return false;
    };
    let same_family: Vec<&Cidr> = machine_networks
        .iter()
        .filter(|m| m.is_ipv4() == allowed.is_ipv4())
        .collect();
    !same_family.is_empty() && same_family.iter().all(|m| allowed.covers(m))
}

/// Returns the Geneve finding: UDP `port` into each of the groups from each of them.
pub fn geneve_allowed(
    master: Option<&SecurityGroup>,
    worker: Option<&SecurityGroup>,
    machine_networks: &[Cidr],
    port: u16,
) -> Finding {
    let name = "geneve-allowed";
    let (Some(master), Some(worker)) = (master, worker) else {
        return Finding::fail(
            name,
            Severity::Blocker,
            vec![],
            "the master or worker security group was not found",
            "check that the cluster id matches the installer's `<id>-master` and `<id>-worker` groups",
        );
    };
    let groups = [master, worker];
    let mut missing = Vec::new();
    for target in groups {
        for source in groups {
            let ok = target
                .rules
                .iter()
                .any(|r| rule_allows(r, port, &source.id, machine_networks));
            if !ok {
                missing.push(format!(
                    "security-groups/{} (from {})",
                    label(target),
                    label(source)
                ));
            }
        }
    }
    Finding::from_offenders(
        name,
        Severity::Blocker,
        missing,
        &format!("UDP {port} (Geneve) is allowed between master and worker nodes"),
        &format!("UDP {port} (Geneve) is not allowed into"),
        &format!(
            "add ingress UDP {port} rules with remote group set to the master and worker groups (`openstack security group rule create --ingress --protocol udp --dst-port {port} --remote-group <sg> <target sg>`)"
        ),
    )
}

fn label(sg: &SecurityGroup) -> &str {
    if sg.name.is_empty() { &sg.id } else { &sg.name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn geneve_from(group: &str) -> SgRule {
        SgRule {
            direction: "ingress".into(),
            ethertype: "IPv4".into(),
            protocol: Some("udp".into()),
            port_range_min: Some(6081),
            port_range_max: Some(6081),
            remote_group_id: Some(group.into()),
            remote_ip_prefix: None,
        }
    }

    #[test]
    fn cidr_rules_must_cover_the_machine_network() {
        let mut rule = geneve_from("x");
        rule.remote_group_id = None;
        rule.remote_ip_prefix = Some("10.0.0.0/8".into());
        let machine: Vec<Cidr> = vec!["10.0.0.0/16".parse().unwrap()];
        assert!(rule_allows(&rule, 6081, "m", &machine));
        rule.remote_ip_prefix = Some("10.0.1.0/24".into());
        assert!(!rule_allows(&rule, 6081, "m", &machine));
    }
    #[test]
    fn rule_matching_respects_direction_protocol_and_ports() {
        let machine: Vec<Cidr> = vec!["10.0.0.0/16".parse().unwrap()];
        let mut r = geneve_from("m");
        assert!(rule_allows(&r, 6081, "m", &machine));
        assert!(!rule_allows(&r, 6081, "w", &machine));
        assert!(!rule_allows(&r, 6082, "m", &machine));
        r.protocol = Some("tcp".into());
        assert!(!rule_allows(&r, 6081, "m", &machine));
        r.protocol = None;
        r.port_range_min = None;
        r.port_range_max = None;
        assert!(
            rule_allows(&r, 6081, "m", &machine),
            "any protocol, any port"
        );
        r.direction = "egress".into();
        assert!(!rule_allows(&r, 6081, "m", &machine));
    }
    #[test]
    fn neutron_json_deserialises() {
        let sg: SecurityGroup = serde_json::from_value(json!({
            "id": "m", "name": "c-master",
            "security_group_rules": [{"direction": "ingress", "ethertype": "IPv4", "protocol": "udp",
              "port_range_min": 6081, "port_range_max": 6081, "remote_group_id": "w", "remote_ip_prefix": null}]
        }))
        .unwrap();
        assert_eq!(sg.rules[0].remote_group_id.as_deref(), Some("w"));
    }
}
