//! `canary_instances_check` (major; not in the reference): the migration is
//! watched through one canary instance per compute host, tagged
//! [`CANARY_TAG`]; a host without an ACTIVE one is blind. Flagged: the hosts
//! of enabled `nova-compute` services without an ACTIVE canary on them.
//! Nova not being readable fails the check.

use std::collections::BTreeSet;

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::{CANARY_TAG, Index};
use crate::ovs::settings::Settings;

/// The check.
pub const CHECK: Check = Check {
    id: "canary_instances_check",
    severity: Severity::Major,
    reference: false,
    description: "compute hosts without an ACTIVE canary instance (tag openstack.lcm.mirantis.com:prober): their connectivity cannot be watched through the migration",
    remediation: "boot one canary per host (ovn-migrate ovs prepare does it: availability zone nova:<host>, tagged openstack.lcm.mirantis.com:prober)",
    run,
};

fn run(ix: &Index<'_>, _: &Settings) -> Verdict {
    let services = ix.inv.compute_services.get()?;
    let canaries = ix.inv.canaries.get()?;
    let covered: BTreeSet<&str> = canaries
        .iter()
        .filter(|s| s.status == "ACTIVE" && s.tags.iter().any(|t| t == CANARY_TAG))
        .filter_map(|s| s.host.as_deref())
        .collect();
    Ok(services
        .iter()
        .filter(|s| s.status == "enabled")
        .filter(|s| !covered.contains(s.host.as_str()))
        .map(|s| s.host.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::{ComputeService, Inventory, Part, Server};

    #[test]
    fn hosts_without_an_active_canary_fail() {
        let svc = |h: &str, status: &str| ComputeService {
            host: h.into(),
            state: "up".into(),
            status: status.into(),
        };
        let server = |h: &str, status: &str, tagged: bool| Server {
            id: format!("{h}-{status}"),
            name: "canary".into(),
            status: status.into(),
            host: Some(h.into()),
            tags: if tagged {
                vec![CANARY_TAG.into()]
            } else {
                vec![]
            },
        };
        let mut inv = Inventory {
            compute_services: Part::Read(vec![
                svc("c0", "enabled"),
                svc("c1", "enabled"),
                svc("c2", "enabled"),
                svc("c3", "disabled"),
            ]),
            canaries: Part::Read(vec![
                server("c0", "ACTIVE", true),
                server("c1", "ERROR", true),
                server("c2", "ACTIVE", false),
            ]),
            ..Inventory::default()
        };
        assert_eq!(violations(&CHECK, &inv), vec!["c1", "c2"]);
        inv.compute_services = Part::Unavailable("no compute endpoint in the catalog".into());
        let r = run_default(&CHECK, &inv);
        assert!(!r.passed && r.error.unwrap().contains("no compute endpoint"));
    }
}
