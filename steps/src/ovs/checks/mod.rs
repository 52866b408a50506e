//! The readiness checks, one file each: a pure function of the inventory and
//! the settings that returns the IDs of the violating resources.
//!
//! The first twelve of [`ALL`] are the reference's (`osctl-ovs-ovn-migrate
//! preflight_checks`), with its ids and severities and the logic of
//! `spec/ovs-to-ovn.md`; the rest are what it misses. A check that fails to
//! decide (a panic, or a part of the inventory that could not be read) is
//! recorded as failed with the reason as its violation, as the reference
//! records a check that raises: a check never passes on data it lacks.

mod canary_instances;
pub(crate) mod dhcp;
mod dhcp_lease_duration;
mod networks_mtu_size;
mod networks_provider_type;
mod networks_provider_type_routing;
mod neutron_tenant_network_types;
mod ports_with_blocked_access_to_dhcpv4;
mod ports_with_blocked_access_to_dhcpv6;
mod routers_gateway_mtu;
mod routers_internal_mtu;
mod sriov_ports_floating_ip;
mod stateless_security_groups_dhcp;
mod subnets_ip_address_availability;
mod subnets_metadata_port_ip;
mod subnets_without_dns_nameservers;
mod subnets_without_enabled_dhcp;
#[cfg(test)]
pub(crate) mod testkit;
mod unsupported_features;

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

use super::inventory::{Index, Inventory};
use super::settings::Settings;

/// How bad a failed check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// The migration would break something: any one fails the assessment.
    Critical,
    /// Worth fixing first; the migration can go on.
    Major,
}

impl Severity {
    /// Returns the reference's report state of a failed check (`ERROR`, `WARNING`).
    pub fn state(self) -> &'static str {
        match self {
            Severity::Critical => "ERROR",
            Severity::Major => "WARNING",
        }
    }

    /// Returns the lowercase name (`critical`, `major`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
        }
    }
}

/// What a check returns: the violating resource IDs, or why it could not decide.
pub type Verdict = Result<Vec<String>, String>;

/// One check: its id, severity, texts, and the pure function that runs it.
#[derive(Clone, Copy)]
pub struct Check {
    /// The report id (the reference's where it has one).
    pub id: &'static str,
    /// Severity of a failure.
    pub severity: Severity,
    /// True for the reference's twelve.
    pub reference: bool,
    /// What a violation means.
    pub description: &'static str,
    /// What to do about the violations.
    pub remediation: &'static str,
    /// The check.
    pub run: fn(&Index<'_>, &Settings) -> Verdict,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub severity: Severity,
    /// True for the reference's twelve.
    pub reference: bool,
    /// True when there is no violation and no error.
    pub passed: bool,
    /// IDs of the violating resources, sorted (or the error, see `error`).
    pub violations: Vec<String>,
    pub description: String,
    pub remediation: String,
    /// Why the check could not decide; it then counts as failed.
    pub error: Option<String>,
}

impl CheckResult {
    /// Returns the report state: `OK`, or the severity's (`WARNING`, `ERROR`).
    pub fn state(&self) -> &'static str {
        if self.passed {
            "OK"
        } else {
            self.severity.state()
        }
    }
}

/// Every check, the reference's twelve first.
pub const ALL: &[Check] = &[
    subnets_ip_address_availability::CHECK,
    networks_mtu_size::CHECK,
    networks_provider_type::CHECK,
    networks_provider_type_routing::CHECK,
    neutron_tenant_network_types::CHECK,
    subnets_without_enabled_dhcp::CHECK,
    subnets_without_dns_nameservers::CHECK,
    sriov_ports_floating_ip::CHECK,
    ports_with_blocked_access_to_dhcpv4::CHECK,
    routers_gateway_mtu::CHECK,
    routers_internal_mtu::CHECK,
    unsupported_features::CHECK,
    ports_with_blocked_access_to_dhcpv6::CHECK,
    stateless_security_groups_dhcp::CHECK,
    subnets_metadata_port_ip::CHECK,
    canary_instances::CHECK,
    dhcp_lease_duration::CHECK,
];

/// Returns the check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    ALL.iter().find(|c| c.id == id)
}

/// Runs one check; a panic or an error becomes a failed result naming it.
pub fn run_one(check: &Check, ix: &Index<'_>, settings: &Settings) -> CheckResult {
    let verdict =
        catch_unwind(AssertUnwindSafe(|| (check.run)(ix, settings))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("the check panicked: {msg}"))
        });
    let (violations, error) = match verdict {
        Ok(mut v) => {
            v.sort();
            v.dedup();
            (v, None)
        }
        Err(e) => (vec![format!("check failed: {e}")], Some(e)),
    };
    CheckResult {
        id: check.id.into(),
        severity: check.severity,
        reference: check.reference,
        passed: violations.is_empty() && error.is_none(),
        violations,
        description: check.description.into(),
        remediation: check.remediation.into(),
        error,
    }
}

/// Runs every check of [`ALL`] (or those of `only`) over an inventory.
pub fn run_all(inv: &Inventory, settings: &Settings, only: &[String]) -> Vec<CheckResult> {
    let ix = Index::new(inv);
    ALL.iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c.id))
        .map(|c| run_one(c, &ix, settings))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_the_reference_has_twelve() {
        let mut ids: Vec<&str> = ALL.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        let reference: Vec<&str> = ALL.iter().filter(|c| c.reference).map(|c| c.id).collect();
        assert_eq!(
            reference,
            [
                "subnets_ip_address_availability_check",
                "networks_mtu_size_check",
                "networks_provider_type_check",
                "networks_provider_type_routing_check",
                "neutron_tenant_network_types_check",
                "subnets_without_enabled_dhcp_check",
                "subnets_without_dns_nameservers_check",
                "sriov_ports_floating_ip_check",
                "ports_with_blocked_access_to_dhcpv4_check",
                "routers_gateway_mtu_check",
                "routers_internal_mtu_check",
                "unsupported_features_check",
            ]
        );
        let major: Vec<&str> = ALL
            .iter()
            .filter(|c| c.reference && c.severity == Severity::Major)
            .map(|c| c.id)
            .collect();
        assert_eq!(
            major,
            [
                "subnets_ip_address_availability_check",
                "networks_provider_type_check",
                "neutron_tenant_network_types_check",
                "routers_gateway_mtu_check",
            ]
        );
        assert!(ALL.iter().all(|c| c.id.ends_with("_check")));
        assert!(
            ALL.iter()
                .all(|c| !c.description.is_empty() && !c.remediation.is_empty())
        );
    }

    fn panics(_: &Index<'_>, _: &Settings) -> Verdict {
        panic!("boom")
    }

    #[test]
    fn a_panic_or_an_error_is_a_violation() {
        let inv = Inventory::default();
        let ix = Index::new(&inv);
        let c = Check {
            run: panics,
            ..ALL[0]
        };
        let r = run_one(&c, &ix, &Settings::default());
        assert!(!r.passed);
        assert_eq!(r.state(), "WARNING");
        assert_eq!(r.violations, vec!["check failed: the check panicked: boom"]);
        let c = Check {
            run: |_, _| Err("no data".into()),
            severity: Severity::Critical,
            ..ALL[0]
        };
        let r = run_one(&c, &ix, &Settings::default());
        assert_eq!((r.state(), r.error.as_deref()), ("ERROR", Some("no data")));
        let c = Check {
            run: |_, _| Ok(vec!["b".into(), "a".into(), "b".into()]),
            ..ALL[0]
        };
        assert_eq!(
            run_one(&c, &ix, &Settings::default()).violations,
            vec!["a", "b"]
        );
    }

    #[test]
    fn an_empty_cloud_passes_what_it_can_decide() {
        let r = run_all(&Inventory::default(), &Settings::default(), &[]);
        assert_eq!(r.len(), ALL.len());
        let failed: Vec<&str> = r
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.id.as_str())
            .collect();
        // Unknown settings are failures, never passes.
        assert_eq!(
            failed,
            [
                "neutron_tenant_network_types_check",
                "dhcp_lease_duration_check"
            ]
        );
        let only = run_all(
            &Inventory::default(),
            &Settings::default(),
            &["routers_internal_mtu_check".into()],
        );
        assert_eq!(only.len(), 1);
    }
}
