//! `dhcp_lease_duration_check` (major; not in the reference): instances keep
//! the DNS resolver and MTU of their lease until they renew it, so the
//! migration wants leases of at least [`REQUIRED_LEASE_S`] (72 h) set a full
//! old lease before it. Flagged: the OpenStackDeployment (or the flag) when
//! `dhcp_lease_duration` is below that; unknown fails the check.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::{REQUIRED_LEASE_S, Settings, Source};

/// The check.
pub const CHECK: Check = Check {
    id: "dhcp_lease_duration_check",
    severity: Severity::Major,
    reference: false,
    description: "dhcp_lease_duration is below 259200 s: instances would not renew through the migration window with the new DNS and MTU settings",
    remediation: "set spec.services.networking.neutron.values.conf.dhcp_agent.DEFAULT.dhcp_lease_duration: 259200 in the OpenStackDeployment (ovn-migrate ovs prepare does it), then wait a full old lease",
    run,
};

fn run(_: &Index<'_>, settings: &Settings) -> Verdict {
    let lease = settings.dhcp_lease_duration.as_ref().ok_or(
        "the DHCP lease duration is unknown: no OpenStackDeployment was read (pass --kubeconfig) and --dhcp-lease-duration was not given",
    )?;
    if lease.value >= REQUIRED_LEASE_S {
        return Ok(vec![]);
    }
    let at = match &lease.source {
        Source::Deployment(path) => format!(
            "{}:{path}",
            settings
                .deployment
                .as_deref()
                .unwrap_or("OpenStackDeployment")
        ),
        Source::Flag(f) => f.clone(),
        Source::Default => format!(
            "{}:dhcp_lease_duration (unset: Neutron's default)",
            settings.deployment.as_deref().unwrap_or("neutron")
        ),
    };
    Ok(vec![format!("{at}={}", lease.value)])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;
    use crate::ovs::settings::Flags;
    use serde_json::json;

    #[test]
    fn short_leases_fail() {
        let cr = |lease: Option<u64>| {
            let mut c = json!({"metadata": {"name": "osh", "namespace": "openstack"}, "spec": {}});
            if let Some(l) = lease {
                c["spec"] = json!({"services": {"networking": {"neutron": {"values": {"conf": {"dhcp_agent": {"DEFAULT": {"dhcp_lease_duration": l}}}}}}}});
            }
            Settings::resolve(Some(&c), &Flags::default())
        };
        let inv = Inventory::default();
        assert_eq!(
            run_with(&CHECK, &inv, &cr(Some(86_400))).violations,
            vec![
                "openstack/osh:spec.services.networking.neutron.values.conf.dhcp_agent.DEFAULT.dhcp_lease_duration=86400"
            ]
        );
        assert!(run_with(&CHECK, &inv, &cr(Some(259_200))).passed);
        assert_eq!(
            run_with(&CHECK, &inv, &cr(None)).violations,
            vec!["openstack/osh:dhcp_lease_duration (unset: Neutron's default)=86400"]
        );
        let r = run_default(&CHECK, &inv);
        assert!(!r.passed && r.error.unwrap().contains("unknown"));
    }
}
