//! Adds one DHCP rule to a security group (the DHCPv4 and DHCPv6 egress
//! checks, and the stateless groups' reply rules).
//!
//! The rule is UDP to one port (67 or 547 egress; 68 or 546 ingress for
//! stateless groups) with a remote prefix. The operation is done when the
//! group has a rule that covers it, whoever added it: same direction and
//! ethertype, no remote group, protocol any or UDP, a port range holding the
//! port, and remote prefixes whose union covers the wanted one (rules naming
//! an address group are not counted, so a covering group rule may add one
//! more rule; never less). Neutron's 409 `SecurityGroupRuleExists` is done as
//! well: the identical rule is there. The rule created says in its
//! description that `ovs fix` added it, for the operator who looks later.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Change, FixCx, os_err, spec};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::ovs::checks::dhcp::{covers, covers_port, parse_cidr, udp_or_any};
use crate::ovs::inventory::SecurityGroupRule;

/// The rule to add: UDP to `port`, `direction`, from or to `remote_ip_prefix`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `egress` or `ingress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// The UDP port (the range is this one port).
    pub port: u32,
    pub remote_ip_prefix: String,
}

impl RuleSpec {
    /// Returns the rule as people read it, e.g. `egress IPv4 udp/67 to 0.0.0.0/0`.
    pub fn describe(&self) -> String {
        let dir = if self.direction == "egress" {
            "to"
        } else {
            "from"
        };
        format!(
            "{} {} udp/{} {dir} {}",
            self.direction, self.ethertype, self.port, self.remote_ip_prefix
        )
    }

    /// Returns the short form used in operation ids.
    fn key(&self) -> String {
        format!(
            "{}-{}-udp-{}-{}",
            self.direction, self.ethertype, self.port, self.remote_ip_prefix
        )
    }

    /// Returns the rule a group needs covering this one, if any of `rules` does.
    pub fn covered_by<'a>(&self, rules: &'a [SecurityGroupRule]) -> Option<Vec<&'a str>> {
        let (_, want) = parse_cidr(&self.remote_ip_prefix)?;
        let v4 = self.ethertype == "IPv4";
        let any = if v4 {
            (0, u128::from(u32::MAX))
        } else {
            (0, u128::MAX)
        };
        let mut ranges = Vec::new();
        let mut ids = Vec::new();
        for r in rules {
            if r.direction != self.direction
                || r.ethertype != self.ethertype
                || r.remote_group_id.is_some()
                || r.remote_address_group_id.is_some()
                || !udp_or_any(r)
                || !covers_port(r, self.port)
            {
                continue;
            }
            let range = match r.remote_ip_prefix.as_deref().filter(|s| !s.is_empty()) {
                None => Some(any),
                Some(p) => parse_cidr(p)
                    .filter(|(is_v4, _)| *is_v4 == v4)
                    .map(|(_, r)| r),
            };
            if let Some(range) = range {
                ranges.push(range);
                ids.push(r.id.as_str());
            }
        }
        covers(&ranges, want).then_some(ids)
    }
}

/// Add one DHCP rule to a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddRule {
    /// The check this remedies.
    pub check: String,
    pub group_id: String,
    pub group_name: String,
    pub rule: RuleSpec,
    /// The offending ports the rule lets through (for people; sorted).
    pub ports: Vec<String>,
}

/// What the step reads of the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleObservation {
    /// False when the group is gone (404).
    pub exists: bool,
    pub rules: Vec<SecurityGroupRule>,
}

/// What an intent records: the rule's body and how many rules the group had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleParams {
    pub rule: RuleSpec,
    pub rules_before: usize,
}

/// Neutron's error type for a rule identical to an existing one.
pub const DUPLICATE: &str = "SecurityGroupRuleExists";

impl AddRule {
    /// Returns the operation's journal spec.
    pub fn op_spec(&self) -> OperationSpec {
        spec(
            format!("ovs-fix/rule/{}/{}", self.group_id, self.rule.key()),
            "dhcp-rule",
            "add-security-group-rule",
            format!("security-groups/{}", self.group_id),
        )
    }

    /// Returns the change for a dry run.
    pub fn change(&self) -> Change {
        Change {
            op: self.op_spec().op.0,
            check: self.check.clone(),
            object: format!("security-groups/{} ({})", self.group_id, self.group_name),
            field: "security_group_rules".into(),
            before: format!("no rule allowing {}", self.rule.describe()),
            after: format!(
                "+ {} (for {} port{})",
                self.rule.describe(),
                self.ports.len(),
                if self.ports.len() == 1 { "" } else { "s" }
            ),
        }
    }
}

impl Step for AddRule {
    type Cx = FixCx;
    type Observation = RuleObservation;

    fn spec(&self) -> OperationSpec {
        self.op_spec()
    }

    fn group(&self) -> Option<String> {
        Some("dhcp-rule".into())
    }

    async fn observe(&self, cx: &FixCx) -> Result<RuleObservation, StepError> {
        match cx.openstack.get_security_group(&self.group_id).await {
            Ok(g) => Ok(RuleObservation {
                exists: true,
                rules: g
                    .security_group_rules
                    .into_iter()
                    .map(|r| SecurityGroupRule {
                        id: r.id,
                        security_group_id: r.security_group_id,
                        direction: r.direction,
                        ethertype: r.ethertype,
                        protocol: r.protocol,
                        port_range_min: r.port_range_min,
                        port_range_max: r.port_range_max,
                        remote_ip_prefix: r.remote_ip_prefix,
                        remote_group_id: r.remote_group_id,
                        remote_address_group_id: r.remote_address_group_id,
                    })
                    .collect(),
            }),
            Err(e) if e.is_not_found() => Ok(RuleObservation {
                exists: false,
                rules: Vec::new(),
            }),
            Err(e) => Err(os_err("read the security group", e)),
        }
    }
}

impl Effect for AddRule {
    type Params = RuleParams;

    fn params(&self, o: &RuleObservation) -> RuleParams {
        RuleParams {
            rule: self.rule.clone(),
            rules_before: o.rules.len(),
        }
    }

    fn classify(&self, o: &RuleObservation, _intent: Option<&RuleParams>) -> Verdict {
        if !o.exists {
            return Verdict::Done(format!(
                "security group {} no longer exists: nothing to add",
                self.group_id
            ));
        }
        match self.rule.covered_by(&o.rules) {
            Some(ids) => Verdict::Done(format!(
                "the group allows {} (rule {})",
                self.rule.describe(),
                ids.join(", ")
            )),
            None => Verdict::NotDone(format!("the group blocks {}", self.rule.describe())),
        }
    }

    async fn act(&self, cx: &FixCx, p: &RuleParams) -> Result<Applied, StepError> {
        let body = json!({
            "security_group_id": self.group_id,
            "direction": p.rule.direction,
            "ethertype": p.rule.ethertype,
            "protocol": "udp",
            "port_range_min": p.rule.port,
            "port_range_max": p.rule.port,
            "remote_ip_prefix": p.rule.remote_ip_prefix,
            "description": format!("ovn-migrate ovs fix ({}): DHCP under OVN", self.check),
        });
        match cx.openstack.create_security_group_rule(body).await {
            Ok(out) => Ok(Applied {
                http_status: Some(out.status),
                observed: json!({"rule_id": out.value.id, "group_id": self.group_id}),
            }),
            Err(e) if e.is_conflict() && e.kind() == Some(DUPLICATE) => Ok(Applied {
                http_status: Some(409),
                observed: json!({"duplicate": e.message().unwrap_or_default(), "group_id": self.group_id}),
            }),
            Err(e) => Err(os_err("add the security group rule", e)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ovs::checks::testkit::rule;

    pub(crate) fn sample() -> AddRule {
        AddRule {
            check: "ports_with_blocked_access_to_dhcpv4_check".into(),
            group_id: "g".into(),
            group_name: "web-only".into(),
            rule: RuleSpec {
                direction: "egress".into(),
                ethertype: "IPv4".into(),
                port: 67,
                remote_ip_prefix: "0.0.0.0/0".into(),
            },
            ports: vec!["p".into()],
        }
    }

    fn seen(rules: Vec<SecurityGroupRule>) -> RuleObservation {
        RuleObservation {
            exists: true,
            rules,
        }
    }

    #[test]
    fn done_when_a_rule_covers_it() {
        let s = sample();
        let web = rule("g", "egress", "IPv4", Some("tcp"), Some((443, 443)), None);
        assert!(matches!(
            s.classify(&seen(vec![web.clone()]), None),
            Verdict::NotDone(_)
        ));
        assert_eq!(s.params(&seen(vec![web.clone()])).rules_before, 1);
        let covering = [
            rule("g", "egress", "IPv4", None, None, None),
            rule("g", "egress", "IPv4", Some("udp"), Some((67, 68)), None),
            rule(
                "g",
                "egress",
                "IPv4",
                Some("17"),
                Some((1, 1024)),
                Some("0.0.0.0/0"),
            ),
        ];
        for c in covering {
            assert!(
                matches!(
                    s.classify(&seen(vec![web.clone(), c.clone()]), None),
                    Verdict::Done(_)
                ),
                "{c:?}"
            );
        }
        // Two halves cover the whole.
        let halves = vec![
            rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((67, 67)),
                Some("0.0.0.0/1"),
            ),
            rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((67, 67)),
                Some("128.0.0.0/1"),
            ),
        ];
        assert!(matches!(s.classify(&seen(halves), None), Verdict::Done(_)));
    }

    #[test]
    fn near_misses_are_not_done() {
        let s = sample();
        let mut remote_group = rule("g", "egress", "IPv4", None, None, None);
        remote_group.remote_group_id = Some("other".into());
        let mut address_group = rule("g", "egress", "IPv4", Some("udp"), Some((67, 67)), None);
        address_group.remote_address_group_id = Some("ag".into());
        for r in [
            rule("g", "ingress", "IPv4", None, None, None),
            rule("g", "egress", "IPv6", None, None, None),
            rule("g", "egress", "IPv4", Some("udp"), Some((68, 68)), None),
            rule(
                "g",
                "egress",
                "IPv4",
                Some("udp"),
                Some((67, 67)),
                Some("10.0.0.0/8"),
            ),
            remote_group,
            address_group,
        ] {
            assert!(
                matches!(
                    s.classify(&seen(vec![r.clone()]), None),
                    Verdict::NotDone(_)
                ),
                "{r:?}"
            );
        }
        let gone = RuleObservation {
            exists: false,
            rules: vec![],
        };
        assert!(matches!(s.classify(&gone, None), Verdict::Done(_)));
    }

    #[test]
    fn ingress_replies_from_a_subnet_and_link_local() {
        let mut s = sample();
        s.rule = RuleSpec {
            direction: "ingress".into(),
            ethertype: "IPv6".into(),
            port: 546,
            remote_ip_prefix: "fe80::/10".into(),
        };
        assert_eq!(s.rule.describe(), "ingress IPv6 udp/546 from fe80::/10");
        let any = rule("g", "ingress", "IPv6", Some("udp"), Some((546, 546)), None);
        assert!(matches!(
            s.classify(&seen(vec![any]), None),
            Verdict::Done(_)
        ));
        let narrow = rule(
            "g",
            "ingress",
            "IPv6",
            Some("udp"),
            Some((546, 546)),
            Some("fe80::/64"),
        );
        assert!(matches!(
            s.classify(&seen(vec![narrow]), None),
            Verdict::NotDone(_)
        ));
        assert_eq!(
            s.op_spec().op.0,
            "ovs-fix/rule/g/ingress-IPv6-udp-546-fe80::/10"
        );
    }
}
