//! `neutron_tenant_network_types_check` (major): while `vxlan` is among the
//! tenant network types, new tenant networks are still created as VXLAN.
//! The violation names where the setting came from (the OpenStackDeployment
//! or the flag); unknown types fail the check rather than pass it.

use super::{Check, Severity, Verdict};
use crate::ovs::inventory::Index;
use crate::ovs::settings::{Settings, Source};

/// The check.
pub const CHECK: Check = Check {
    id: "neutron_tenant_network_types_check",
    severity: Severity::Major,
    reference: true,
    description: "vxlan is among Neutron's tenant network types: new tenant networks would still be VXLAN",
    remediation: "set features:neutron:tenant_network_types to [geneve] in the OpenStackDeployment as part of the migration",
    run,
};

fn run(_: &Index<'_>, settings: &Settings) -> Verdict {
    let types = settings.tenant_network_types.as_ref().ok_or(
        "the tenant network types are unknown: no OpenStackDeployment was read (pass --kubeconfig) and --tenant-network-types was not given",
    )?;
    if !types.value.iter().any(|t| t == "vxlan") {
        return Ok(vec![]);
    }
    Ok(vec![match &types.source {
        Source::Deployment(path) => format!(
            "{}:{path}",
            settings
                .deployment
                .as_deref()
                .unwrap_or("OpenStackDeployment")
        ),
        other => other.to_string(),
    }])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::ovs::inventory::Inventory;
    use crate::ovs::settings::{Flags, Sourced};
    use serde_json::json;

    #[test]
    fn vxlan_among_tenant_types_fails() {
        let cr = json!({"metadata": {"name": "osh", "namespace": "openstack"}, "spec": {"features": {"neutron": {"tenant_network_types": ["vxlan", "geneve"]}}}});
        let s = Settings::resolve(Some(&cr), &Flags::default());
        let r = run_with(&CHECK, &Inventory::default(), &s);
        assert_eq!(
            r.violations,
            vec!["openstack/osh:spec.features.neutron.tenant_network_types"]
        );
        let s = Settings {
            tenant_network_types: Some(Sourced {
                value: vec!["geneve".into()],
                source: Source::Flag("--tenant-network-types".into()),
            }),
            ..Settings::default()
        };
        assert!(run_with(&CHECK, &Inventory::default(), &s).passed);
        let s = Settings {
            tenant_network_types: Some(Sourced {
                value: vec!["vxlan".into()],
                source: Source::Flag("--tenant-network-types".into()),
            }),
            ..Settings::default()
        };
        assert_eq!(
            run_with(&CHECK, &Inventory::default(), &s).violations,
            vec!["--tenant-network-types"]
        );
        let r = run_default(&CHECK, &Inventory::default());
        assert!(!r.passed && r.error.unwrap().contains("unknown"));
    }
}
