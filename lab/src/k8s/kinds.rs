//! The table of resource kinds the lab's API server knows.
//!
//! One row per kind: group, version, plural, kind, scope and whether it has a
//! `status` subresource. Discovery, routing, the store's keys and
//! [`Store::seed`](super::Store::seed) are all driven by this table, so adding a
//! kind is adding one row to [`KINDS`]; no behaviour is written per kind.
//!
//! As on a real apiserver, a `CustomResourceDefinition` adds kinds at run
//! time ([`super::crd::register_crd`]): they are appended after the static rows (process
//! wide, never removed) and served like every other kind; [`all`] and
//! [`at`] see both.

use std::sync::RwLock;

/// One resource kind: where it is served and how it behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// Plural resource name used in URLs.
    pub plural: &'static str,
    /// The `kind` of its objects.
    pub kind: &'static str,
    /// True when its objects live in a namespace.
    pub namespaced: bool,
    /// True when it has a `status` subresource (main-resource writes then keep
    /// the stored status, and status writes keep everything else).
    pub status: bool,
    /// Short names kubectl accepts (`po`, `ns`, …).
    pub short_names: &'static [&'static str],
}

impl Kind {
    /// Returns the `apiVersion` of its objects (`v1`, `apps/v1`, …).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Returns the group-qualified resource name (`pods`, `daemonsets.apps`),
    /// the key the store files objects under.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Returns the URL prefix of its group-version (`/api/v1`, `/apis/apps/v1`).
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

pub(super) const fn row(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    status: bool,
    short_names: &'static [&'static str],
) -> Kind {
    Kind {
        group,
        version,
        plural,
        kind,
        namespaced,
        status,
        short_names,
    }
}

/// Every kind the lab serves. Adding a kind is adding a row here.
pub static KINDS: &[Kind] = &[
    row("", "v1", "namespaces", "Namespace", false, true, &["ns"]),
    row("", "v1", "pods", "Pod", true, true, &["po"]),
    row("", "v1", "services", "Service", true, true, &["svc"]),
    row("", "v1", "nodes", "Node", false, true, &["no"]),
    row("", "v1", "configmaps", "ConfigMap", true, false, &["cm"]),
    row("", "v1", "events", "Event", true, false, &["ev"]),
    row(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        false,
        &["netpol"],
    ),
    row("apps", "v1", "daemonsets", "DaemonSet", true, true, &["ds"]),
    row(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        true,
        &["sts"],
    ),
    row(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        true,
        &["deploy"],
    ),
    row(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        false,
        &[],
    ),
    row(
        "config.openshift.io",
        "v1",
        "infrastructures",
        "Infrastructure",
        false,
        true,
        &[],
    ),
    row(
        "config.openshift.io",
        "v1",
        "networks",
        "Network",
        false,
        true,
        &[],
    ),
    row(
        "config.openshift.io",
        "v1",
        "clusteroperators",
        "ClusterOperator",
        false,
        true,
        &["co"],
    ),
    row(
        "operator.openshift.io",
        "v1",
        "networks",
        "Network",
        false,
        true,
        &[],
    ),
    row(
        "machineconfiguration.openshift.io",
        "v1",
        "machineconfigpools",
        "MachineConfigPool",
        false,
        true,
        &["mcp"],
    ),
    row(
        "machineconfiguration.openshift.io",
        "v1",
        "machineconfigs",
        "MachineConfig",
        false,
        false,
        &["mc"],
    ),
    row(
        "openstack.org",
        "v1",
        "kuryrnetworks",
        "KuryrNetwork",
        true,
        false,
        &[],
    ),
    row(
        "openstack.org",
        "v1",
        "kuryrports",
        "KuryrPort",
        true,
        false,
        &[],
    ),
    row(
        "openstack.org",
        "v1",
        "kuryrloadbalancers",
        "KuryrLoadBalancer",
        true,
        false,
        &["klb"],
    ),
    row(
        "openstack.org",
        "v1",
        "kuryrnetworkpolicies",
        "KuryrNetworkPolicy",
        true,
        false,
        &["knp"],
    ),
    row(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        true,
        &["crd", "crds"],
    ),
    row(
        "lcm.mirantis.com",
        "v1alpha1",
        "openstackdeployments",
        "OpenStackDeployment",
        true,
        true,
        &["osdpl"],
    ),
];

/// Kinds added by CustomResourceDefinitions, after the static table.
pub(super) static CUSTOM: RwLock<Vec<&'static Kind>> = RwLock::new(Vec::new());

/// The most kinds a store holds (the static table and every CRD's).
pub const MAX_KINDS: usize = 512;

fn custom() -> std::sync::RwLockReadGuard<'static, Vec<&'static Kind>> {
    CUSTOM.read().unwrap_or_else(|e| e.into_inner())
}

/// Returns every kind: the static table, then those CRDs added.
pub fn all() -> Vec<&'static Kind> {
    KINDS.iter().chain(custom().iter().copied()).collect()
}

/// Returns the kind at an index of [`all`].
pub fn at(i: usize) -> &'static Kind {
    KINDS.get(i).unwrap_or_else(|| custom()[i - KINDS.len()])
}

/// Returns the index of a kind in [`all`].
pub fn index_of(k: &'static Kind) -> usize {
    KINDS
        .iter()
        .position(|x| std::ptr::eq(x, k))
        .or_else(|| {
            custom()
                .iter()
                .position(|x| std::ptr::eq(*x, k))
                .map(|i| i + KINDS.len())
        })
        .expect("kind from the table")
}

fn find(pred: impl Fn(&Kind) -> bool) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| pred(k))
        .or_else(|| custom().iter().copied().find(|k| pred(k)))
}

/// Returns the kind served at `group`/`version` under `plural`.
pub fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static Kind> {
    find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// Returns the kind of objects with this `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Kind> {
    let (group, version) = split_api_version(api_version);
    find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// Returns the kind filed under a group-qualified resource name (`pods`,
/// `networks.config.openshift.io`).
pub fn by_resource(resource: &str) -> Option<&'static Kind> {
    let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
    find(|k| k.group == group && k.plural == plural)
}

/// Splits an `apiVersion` into group and version (`v1` → `("", "v1")`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Returns the distinct API groups (core excluded) in table order, each with its versions.
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for k in all().into_iter().filter(|k| !k.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == k.group) {
            Some((_, versions)) if !versions.contains(&k.version) => versions.push(k.version),
            Some(_) => {}
            None => out.push((k.group, vec![k.version])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree() {
        for k in KINDS {
            assert_eq!(by_plural(k.group, k.version, k.plural), Some(k));
            assert_eq!(by_kind(&k.api_version(), k.kind), Some(k));
            assert_eq!(by_resource(&k.resource()), Some(k));
        }
    }

    #[test]
    fn same_plural_in_two_groups_is_two_resources() {
        let a = by_kind("config.openshift.io/v1", "Network").unwrap();
        let b = by_kind("operator.openshift.io/v1", "Network").unwrap();
        assert_ne!(a.resource(), b.resource());
        assert_eq!(by_resource("networks.operator.openshift.io"), Some(b));
    }
}
