//! The fix plan: from an assessment (the [`FixDiscovery`]) and the checks
//! asked for ([`FixOptions`]), one operation per object to change, pure.
//!
//! The checks run again on the discovery, and each violation becomes an
//! operation: a subnet gets its servers ([`SetDns`]), the ports blocked from
//! DHCP get a rule on one of their groups ([`AddRule`], groups chosen by
//! [`choose_groups`]), an overlay network gets the Geneve MTU
//! ([`LowerMtu`]). What cannot be fixed that way (a port without a group, a
//! subnet with no server of its IP version) is kept in [`FixPlan::left`]
//! with why, never dropped. Checks without a safe fix, unknown checks, bad
//! DNS servers and checks that cannot decide refuse the plan
//! ([`PlanError`]): nothing runs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Operation;
use super::dns::SetDns;
use super::mtu::LowerMtu;
use super::remedy::{FIXABLE, Remedy, remedy};
use super::rule::{AddRule, RuleSpec};
use super::select::choose_groups;
use crate::ovs::checks::dhcp::{self, Flow};
use crate::ovs::checks::{self, CheckResult};
use crate::ovs::inventory::{Index, Inventory};
use crate::ovs::settings::Settings;

/// What the plan is made from: the inventory and the settings, as `assess` reads them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixDiscovery {
    pub inventory: Inventory,
    pub settings: Settings,
}

/// The user's choices (journaled with the plan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixOptions {
    /// The checks to remedy, in [`FIXABLE`] order, unknown and manual ones after.
    pub checks: Vec<String>,
    /// `--dns`: the servers to give subnets (empty: the OpenStackDeployment's).
    pub dns: Vec<String>,
    /// `--project`: change only objects this project owns (`None`: every project's).
    pub project: Option<String>,
}

impl FixOptions {
    /// Returns the options for `checks` (all of [`FIXABLE`] with `all_safe`),
    /// sorted and deduplicated, for every project or only `project`'s objects.
    pub fn new(
        checks: &[String],
        all_safe: bool,
        dns: &[String],
        project: Option<String>,
    ) -> FixOptions {
        let mut cs: Vec<String> = checks.to_vec();
        if all_safe {
            cs.extend(FIXABLE.iter().map(|c| c.to_string()));
        }
        let rank = |c: &String| FIXABLE.iter().position(|f| f == c).unwrap_or(FIXABLE.len());
        cs.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        cs.dedup();
        FixOptions {
            checks: cs,
            dns: dns.to_vec(),
            project,
        }
    }
}

/// A violation the plan cannot remedy, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    pub check: String,
    /// The violating resource's ID.
    pub resource: String,
    pub why: String,
}

/// The plan, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixPlan {
    /// Digest of the discovery it was made from ([`digest`]).
    pub discovery_digest: String,
    /// The checks it remedies.
    pub checks: Vec<String>,
    /// The MTU overlay networks are lowered to (Geneve's).
    pub target_mtu: u32,
    pub operations: Vec<Operation>,
    /// Violations no operation remedies.
    pub left: Vec<Left>,
    /// The only project whose objects are changed (`None`: every project's).
    pub project: Option<String>,
    /// Changes left out because another project owns the object.
    pub outside_project: usize,
}

/// A check without a safe fix, as the refusal lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualCheck {
    pub check: String,
    /// Why no automatic fix is safe.
    pub why: String,
    /// What to do by hand.
    pub remediation: String,
}

/// Why no plan was made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("plan the fixes: no check was named (give --check ID, or --all-safe)")]
    NoChecks,
    #[error("plan the fixes: there is no check {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("plan the fixes: no safe automatic fix for {}", .0.iter().map(|m| m.check.as_str()).collect::<Vec<_>>().join(", "))]
    Manual(Vec<ManualCheck>),
    #[error(
        "plan the fixes: {source_} gives {value:?} as a DNS server, which is not an IP address"
    )]
    BadDns { source_: String, value: String },
    #[error("plan the fixes: {check} could not decide: {why}")]
    Undecided { check: String, why: String },
}

/// Returns the digest that tells whether the cloud changed for the fixes:
/// the settings they use and every fixable check's result, so a drift is a
/// change in what needs fixing, not any change in a busy cloud.
pub fn digest(d: &FixDiscovery) -> String {
    let all: Vec<String> = FIXABLE.iter().map(|c| c.to_string()).collect();
    let results = checks::run_all(&d.inventory, &d.settings, &all);
    let checks: Vec<_> = results
        .iter()
        .map(|r| json!([r.id, r.violations, r.error]))
        .collect();
    let v = json!({
        "mtu": d.settings.mtu,
        "dns_servers": d.settings.dns_servers,
        "checks": checks,
    });
    crate::kuryr::digest::digest(&v)
}

/// Refuses checks that do not exist or have no safe fix (before anything is read).
pub fn refuse(options: &FixOptions) -> Result<(), PlanError> {
    if options.checks.is_empty() {
        return Err(PlanError::NoChecks);
    }
    let unknown: Vec<String> = options
        .checks
        .iter()
        .filter(|c| remedy(c) == Remedy::Unknown)
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(PlanError::Unknown(unknown));
    }
    let manual: Vec<ManualCheck> = options
        .checks
        .iter()
        .filter_map(|c| match remedy(c) {
            Remedy::Manual(why) => Some(ManualCheck {
                check: c.clone(),
                why: why.into(),
                remediation: checks::by_id(c).map_or("", |k| k.remediation).into(),
            }),
            _ => None,
        })
        .collect();
    if !manual.is_empty() {
        return Err(PlanError::Manual(manual));
    }
    Ok(())
}

/// Returns the DNS servers to use, each an IP address.
fn dns_servers(d: &FixDiscovery, o: &FixOptions) -> Result<Vec<IpAddr>, PlanError> {
    let (list, source) = if o.dns.is_empty() {
        (
            &d.settings.dns_servers,
            "the OpenStackDeployment's features.neutron.dns_servers",
        )
    } else {
        (&o.dns, "--dns")
    };
    list.iter()
        .map(|s| {
            s.trim().parse::<IpAddr>().map_err(|_| PlanError::BadDns {
                source_: source.into(),
                value: s.clone(),
            })
        })
        .collect()
}

/// Makes the plan (pure).
pub fn plan(d: &FixDiscovery, o: &FixOptions) -> Result<FixPlan, PlanError> {
    refuse(o)?;
    let servers = dns_servers(d, o)?;
    let results = checks::run_all(&d.inventory, &d.settings, &o.checks);
    if let Some(r) = results.iter().find(|r| r.error.is_some()) {
        return Err(PlanError::Undecided {
            check: r.id.clone(),
            why: r.error.clone().unwrap_or_default(),
        });
    }
    let ix = Index::new(&d.inventory);
    let mut b = Builder::default();
    // In the options' order (FIXABLE's): DNS and DHCP before the MTU.
    for r in o
        .checks
        .iter()
        .filter_map(|c| results.iter().find(|r| &r.id == c))
    {
        match r.id.as_str() {
            "subnets_without_dns_nameservers_check" => b.dns(&ix, r, &servers),
            "ports_with_blocked_access_to_dhcpv4_check" => {
                b.egress(&ix, r, "IPv4", 67, "0.0.0.0/0")
            }
            "ports_with_blocked_access_to_dhcpv6_check" => b.egress(&ix, r, "IPv6", 547, "::/0"),
            "stateless_security_groups_dhcp_check" => b.stateless(&ix, r)?,
            "networks_mtu_size_check" => b.mtu(&ix, r, d.settings.mtu.geneve()),
            other => unreachable!("{other} passed refuse()"),
        }
    }
    let (operations, left, outside_project) = match &o.project {
        None => (b.ops, b.left, 0),
        Some(p) => {
            let n = b.ops.len() + b.left.len();
            let ops: Vec<Operation> = b
                .ops
                .into_iter()
                .filter(|op| owner(&ix, op) == Some(p))
                .collect();
            let left: Vec<Left> = b
                .left
                .into_iter()
                .filter(|l| left_owner(&ix, l) == Some(p))
                .collect();
            let outside = n - ops.len() - left.len();
            (ops, left, outside)
        }
    };
    Ok(FixPlan {
        discovery_digest: digest(d),
        checks: o.checks.clone(),
        target_mtu: d.settings.mtu.geneve(),
        operations,
        left,
        project: o.project.clone(),
        outside_project,
    })
}

/// Returns the project owning the object an operation changes.
fn owner<'a>(ix: &Index<'a>, op: &Operation) -> Option<&'a String> {
    match op {
        Operation::SetDns(s) => ix.subnets.get(s.subnet_id.as_str()).map(|x| &x.project_id),
        Operation::AddRule(r) => ix.groups.get(r.group_id.as_str()).map(|x| &x.project_id),
        Operation::LowerMtu(m) => ix
            .networks
            .get(m.network_id.as_str())
            .map(|x| &x.project_id),
    }
}

/// Returns the project owning a violation left unfixed (a subnet or a port).
fn left_owner<'a>(ix: &Index<'a>, l: &Left) -> Option<&'a String> {
    ix.subnets
        .get(l.resource.as_str())
        .map(|s| &s.project_id)
        .or_else(|| {
            ix.inv
                .ports
                .iter()
                .find(|p| p.id == l.resource)
                .map(|p| &p.project_id)
        })
}

#[derive(Default)]
struct Builder {
    ops: Vec<Operation>,
    /// Index of each operation by its id, to merge the ports of one rule.
    by_key: BTreeMap<String, usize>,
    left: Vec<Left>,
}

impl Builder {
    fn push(&mut self, op: Operation) {
        let key = op.spec().op.0;
        if let Some(&i) = self.by_key.get(&key) {
            if let (Operation::AddRule(have), Operation::AddRule(new)) = (&mut self.ops[i], op) {
                have.ports.extend(new.ports);
                have.ports.sort();
                have.ports.dedup();
            }
            return;
        }
        self.by_key.insert(key, self.ops.len());
        self.ops.push(op);
    }

    fn leave(&mut self, check: &str, resource: &str, why: String) {
        self.left.push(Left {
            check: check.into(),
            resource: resource.into(),
            why,
        });
    }

    fn dns(&mut self, ix: &Index<'_>, r: &CheckResult, servers: &[IpAddr]) {
        for id in &r.violations {
            let Some(s) = ix.subnets.get(id.as_str()) else {
                continue;
            };
            let mine: Vec<String> = servers
                .iter()
                .filter(|ip| ip.is_ipv4() == (s.ip_version == 4))
                .map(|ip| ip.to_string())
                .collect();
            if servers.is_empty() {
                self.leave(&r.id, id, "no DNS server to set: pass --dns IP (repeatable), or set features.neutron.dns_servers in the OpenStackDeployment".into());
            } else if mine.is_empty() {
                self.leave(&r.id, id, format!("no IPv{} DNS server among those given ({}); Neutron accepts only servers of the subnet's IP version: add one with --dns", s.ip_version, servers.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")));
            } else {
                self.push(Operation::SetDns(SetDns {
                    check: r.id.clone(),
                    subnet_id: s.id.clone(),
                    cidr: s.cidr.clone(),
                    servers: mine,
                }));
            }
        }
    }

    /// One rule per chosen group for the ports of `need`.
    fn rules(
        &mut self,
        ix: &Index<'_>,
        check: &str,
        spec: RuleSpec,
        ports: &[(String, Vec<String>)],
    ) {
        let choice = choose_groups(ports);
        for (g, covered) in choice.groups {
            let group_name = ix
                .groups
                .get(g.as_str())
                .map_or_else(String::new, |x| x.name.clone());
            self.push(Operation::AddRule(AddRule {
                check: check.into(),
                group_id: g,
                group_name,
                rule: spec.clone(),
                ports: covered,
            }));
        }
        for p in choice.groupless {
            self.leave(check, &p, "the port has port security on and no security group to add a rule to: give it a group, then run the fix again".into());
        }
    }

    fn ports_of(ix: &Index<'_>, ids: &[String]) -> Vec<(String, Vec<String>)> {
        ids.iter()
            .filter_map(|id| ix.inv.ports.iter().find(|p| &p.id == id))
            .map(|p| (p.id.clone(), p.security_groups.clone()))
            .collect()
    }

    fn egress(&mut self, ix: &Index<'_>, r: &CheckResult, ethertype: &str, port: u32, to: &str) {
        let spec = RuleSpec {
            direction: "egress".into(),
            ethertype: ethertype.into(),
            port,
            remote_ip_prefix: to.into(),
        };
        let ports = Self::ports_of(ix, &r.violations);
        self.rules(ix, &r.id, spec, &ports);
    }

    fn stateless(&mut self, ix: &Index<'_>, r: &CheckResult) -> Result<(), PlanError> {
        let undecided = |why: String| PlanError::Undecided {
            check: r.id.clone(),
            why,
        };
        let v4_reply = Flow {
            direction: "ingress",
            ethertype: "IPv4",
            port: 68,
        };
        let v6_reply = Flow {
            direction: "ingress",
            ethertype: "IPv6",
            port: 546,
        };
        let link_local = "fe80::/10";
        let range = |c: &str| dhcp::parse_cidr(c).map(|(_, r)| r);
        let mut needs: BTreeMap<RuleSpec, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for id in &r.violations {
            let Some(p) = ix.inv.ports.iter().find(|p| &p.id == id) else {
                continue;
            };
            let allowed4 = dhcp::allowed(ix, p, &v4_reply).map_err(undecided)?;
            let allowed6 = dhcp::allowed(ix, p, &v6_reply).map_err(undecided)?;
            for s in ix.subnets_of(&p.network_id) {
                let spec = if s.ip_version == 4 && s.enable_dhcp {
                    let covered = range(&s.cidr).is_some_and(|c| dhcp::covers(&allowed4, c));
                    (!covered).then(|| RuleSpec {
                        direction: "ingress".into(),
                        ethertype: "IPv4".into(),
                        port: 68,
                        remote_ip_prefix: s.cidr.clone(),
                    })
                } else if s.ip_version == 6
                    && s.enable_dhcp
                    && matches!(
                        s.ipv6_address_mode.as_deref(),
                        Some("dhcpv6-stateful" | "dhcpv6-stateless")
                    )
                {
                    let ll = range(link_local).expect("constant");
                    (!dhcp::covers(&allowed6, ll)).then(|| RuleSpec {
                        direction: "ingress".into(),
                        ethertype: "IPv6".into(),
                        port: 546,
                        remote_ip_prefix: link_local.into(),
                    })
                } else {
                    None
                };
                if let Some(spec) = spec {
                    needs
                        .entry(spec)
                        .or_default()
                        .push((p.id.clone(), p.security_groups.clone()));
                }
            }
        }
        for (spec, ports) in needs {
            self.rules(ix, &r.id, spec, &ports);
        }
        Ok(())
    }

    fn mtu(&mut self, ix: &Index<'_>, r: &CheckResult, target: u32) {
        for id in &r.violations {
            let Some(n) = ix.networks.get(id.as_str()) else {
                continue;
            };
            let Some(mtu) = n.mtu else { continue };
            self.push(Operation::LowerMtu(LowerMtu {
                check: r.id.clone(),
                network_id: n.id.clone(),
                name: n.name.clone(),
                network_type: n.network_type.clone().unwrap_or_default(),
                planned_mtu: mtu,
                target_mtu: target,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovs::checks::testkit::*;
    use crate::ovs::inventory::SecurityGroup;

    /// A cloud with one violation of each fixable check.
    fn cloud() -> FixDiscovery {
        let mut s6 = subnet("s6", "dual", "2001:db8::/64", true, &["2001:db8::53"]);
        s6.ipv6_address_mode = Some("dhcpv6-stateful".into());
        let mut dual_port = port("p-dual", "dual", "s4", "compute:nova", &["v4only"]);
        dual_port.fixed_ips.push(crate::ovs::inventory::FixedIp {
            subnet_id: "s6".into(),
            ip_address: String::new(),
        });
        let inventory = Inventory {
            networks: vec![
                net("legacy", "vxlan", 1450),
                net("gre", "gre", 1458),
                net("ok", "vxlan", 1442),
                net("dual", "vxlan", 1442),
                net("sl", "vxlan", 1442),
            ],
            subnets: vec![
                subnet("s-legacy", "legacy", "10.0.0.0/24", true, &[]),
                subnet("s-ok", "ok", "10.0.1.0/24", true, &["192.0.2.53"]),
                subnet("s4", "dual", "10.0.2.0/24", true, &["192.0.2.53"]),
                s6,
                subnet("s-sl", "sl", "10.0.3.0/24", true, &["192.0.2.53"]),
            ],
            ports: vec![
                port(
                    "p-web",
                    "legacy",
                    "s-legacy",
                    "compute:nova",
                    &["web", "shared"],
                ),
                port("p-web2", "ok", "s-ok", "compute:nova", &["shared"]),
                port("p-bare", "ok", "s-ok", "compute:nova", &[]),
                dual_port,
                port("p-sl", "sl", "s-sl", "compute:nova", &["stateless"]),
            ],
            security_groups: vec![
                group("web"),
                group("shared"),
                group("v4only"),
                SecurityGroup {
                    stateful: Some(false),
                    ..group("stateless")
                },
            ],
            security_group_rules: vec![
                rule("web", "egress", "IPv4", Some("tcp"), Some((443, 443)), None),
                rule("v4only", "egress", "IPv4", None, None, None),
                rule("stateless", "egress", "IPv4", None, None, None),
            ],
            ..Inventory::default()
        };
        let settings = Settings {
            dns_servers: vec!["192.0.2.53".into()],
            ..Settings::default()
        };
        FixDiscovery {
            inventory,
            settings,
        }
    }

    fn all() -> FixOptions {
        FixOptions::new(&[], true, &[], None)
    }

    fn keys(p: &FixPlan) -> Vec<String> {
        p.operations.iter().map(|o| o.spec().op.0).collect()
    }

    #[test]
    fn every_safe_check_becomes_its_operations() {
        let p = plan(&cloud(), &all()).unwrap();
        assert_eq!(
            keys(&p),
            [
                "ovs-fix/dns/s-legacy",
                // p-web and p-web2 share one group; p-bare has none (left).
                "ovs-fix/rule/shared/egress-IPv4-udp-67-0.0.0.0/0",
                "ovs-fix/rule/v4only/egress-IPv6-udp-547-::/0",
                "ovs-fix/rule/stateless/ingress-IPv4-udp-68-10.0.3.0/24",
                "ovs-fix/mtu/gre",
                "ovs-fix/mtu/legacy",
            ]
        );
        assert_eq!(p.target_mtu, 1442);
        let Operation::AddRule(r) = &p.operations[1] else {
            panic!()
        };
        assert_eq!(r.ports, ["p-web", "p-web2"]);
        assert_eq!(
            p.left,
            vec![Left {
                check: "ports_with_blocked_access_to_dhcpv4_check".into(),
                resource: "p-bare".into(),
                why: p.left[0].why.clone(),
            }]
        );
        assert!(p.left[0].why.contains("no security group"));
        let Operation::LowerMtu(m) = &p.operations[4] else {
            panic!()
        };
        assert_eq!((m.planned_mtu, m.target_mtu), (1458, 1442));
    }

    #[test]
    fn only_the_checks_asked_for() {
        let o = FixOptions::new(&["networks_mtu_size_check".into()], false, &[], None);
        let p = plan(&cloud(), &o).unwrap();
        assert_eq!(keys(&p), ["ovs-fix/mtu/gre", "ovs-fix/mtu/legacy"]);
        assert!(p.left.is_empty());
        // The options are normalised: order and repeats do not matter.
        let twice = FixOptions::new(
            &[
                "networks_mtu_size_check".into(),
                "subnets_without_dns_nameservers_check".into(),
                "networks_mtu_size_check".into(),
            ],
            false,
            &[],
            None,
        );
        assert_eq!(
            twice.checks,
            [
                "subnets_without_dns_nameservers_check",
                "networks_mtu_size_check"
            ]
        );
    }

    #[test]
    fn dns_servers_come_from_the_flag_or_the_deployment_by_ip_version() {
        let d = cloud();
        let o = FixOptions::new(
            &["subnets_without_dns_nameservers_check".into()],
            false,
            &["2001:db8::53".into(), "198.51.100.53".into()],
            None,
        );
        let p = plan(&d, &o).unwrap();
        let Operation::SetDns(s) = &p.operations[0] else {
            panic!()
        };
        assert_eq!(s.servers, ["198.51.100.53"]);
        // Only IPv6 servers for an IPv4 subnet: left, saying why.
        let o6 = FixOptions {
            dns: vec!["2001:db8::53".into()],
            ..o.clone()
        };
        let p = plan(&d, &o6).unwrap();
        assert!(p.operations.is_empty());
        assert!(p.left[0].why.contains("no IPv4 DNS server"), "{:?}", p.left);
        // None at all.
        let mut bare = d.clone();
        bare.settings.dns_servers.clear();
        let none = FixOptions {
            dns: vec![],
            ..o.clone()
        };
        let p = plan(&bare, &none).unwrap();
        assert!(p.left[0].why.contains("pass --dns"));
        // Not an address.
        let bad = FixOptions {
            dns: vec!["dns.example".into()],
            ..o
        };
        assert!(matches!(
            plan(&d, &bad),
            Err(PlanError::BadDns { value, .. }) if value == "dns.example"
        ));
    }

    #[test]
    fn manual_unknown_and_undecided_checks_refuse_the_plan() {
        let d = cloud();
        let e = plan(
            &d,
            &FixOptions::new(
                &[
                    "routers_internal_mtu_check".into(),
                    "networks_mtu_size_check".into(),
                ],
                false,
                &[],
                None,
            ),
        )
        .unwrap_err();
        let PlanError::Manual(m) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(m[0].check, "routers_internal_mtu_check");
        assert!(m[0].why.contains("design choice") && !m[0].remediation.is_empty());
        assert!(matches!(
            plan(&d, &FixOptions::new(&["nope_check".into()], false, &[], None)),
            Err(PlanError::Unknown(u)) if u == ["nope_check"]
        ));
        assert_eq!(
            plan(&d, &FixOptions::new(&[], false, &[], None)),
            Err(PlanError::NoChecks)
        );
        let mut small = d.clone();
        small.settings.mtu.max_header_size = 30;
        assert!(matches!(
            plan(&small, &all()),
            Err(PlanError::Undecided { check, .. }) if check == "networks_mtu_size_check"
        ));
    }

    #[test]
    fn a_project_scope_changes_only_that_projects_objects() {
        let mut d = cloud();
        // The shared group and the GRE network belong to another project.
        for g in &mut d.inventory.security_groups {
            if g.id == "shared" {
                g.project_id = "p-other".into();
            }
        }
        for n in &mut d.inventory.networks {
            if n.id == "gre" {
                n.project_id = "p-other".into();
            }
        }
        for p in &mut d.inventory.ports {
            if p.id == "p-bare" {
                p.project_id = "p-other".into();
            }
        }
        let mine = FixOptions::new(&[], true, &[], Some("p-test".into()));
        let p = plan(&d, &mine).unwrap();
        assert_eq!(
            keys(&p),
            [
                "ovs-fix/dns/s-legacy",
                "ovs-fix/rule/v4only/egress-IPv6-udp-547-::/0",
                "ovs-fix/rule/stateless/ingress-IPv4-udp-68-10.0.3.0/24",
                "ovs-fix/mtu/legacy",
            ]
        );
        assert!(p.left.is_empty());
        assert_eq!(p.outside_project, 3);
        let none = FixOptions::new(&[], true, &[], Some("p-nobody".into()));
        let p = plan(&d, &none).unwrap();
        assert!(p.operations.is_empty() && p.left.is_empty());
        assert_eq!(p.outside_project, 7);
    }

    #[test]
    fn a_fixed_cloud_plans_nothing_and_its_digest_moves() {
        let d = cloud();
        let before = digest(&d);
        let mut fixed = d.clone();
        fixed.inventory.subnets[0].dns_nameservers = vec!["192.0.2.53".into()];
        for n in &mut fixed.inventory.networks {
            n.mtu = n.mtu.map(|m| m.min(1442));
        }
        fixed.inventory.security_group_rules.extend([
            rule("shared", "egress", "IPv4", None, None, None),
            rule("v4only", "egress", "IPv6", None, None, None),
            rule(
                "stateless",
                "ingress",
                "IPv4",
                Some("udp"),
                Some((68, 68)),
                Some("10.0.3.0/24"),
            ),
        ]);
        fixed.inventory.ports.retain(|p| p.id != "p-bare");
        let p = plan(&fixed, &all()).unwrap();
        assert!(p.operations.is_empty() && p.left.is_empty(), "{p:?}");
        assert_ne!(digest(&fixed), before);
        // A change that needs no fix leaves the digest alone.
        let mut busy = d.clone();
        busy.inventory.networks.push(net("new", "vxlan", 1442));
        assert_eq!(digest(&busy), before);
    }
}
