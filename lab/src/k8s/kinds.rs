//! The table of resource kinds the lab's API server knows.
//!
//! One row per kind: group, version, plural, kind, scope and whether it has a
//! `status` subresource. Discovery, routing, the store's keys and
//! [`Store::seed`](super::Store::seed) are all driven by this table, so adding a
//! kind is adding one row to [`KINDS`]; no behaviour is written per kind.
//!
//! As on a real apiserver, a `CustomResourceDefinition` adds kinds at run
//! time ([`register_crd`]): they are appended after the static rows (process
//! wide, never removed) and served like every other kind; [`all`] and
//! [`at`] see both.

use std::sync::RwLock;

use serde_json::{Value, json};

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

const fn row(
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
];

/// Kinds added by CustomResourceDefinitions, after the static table.
static CUSTOM: RwLock<Vec<&'static Kind>> = RwLock::new(Vec::new());

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

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Reads a CustomResourceDefinition (apiextensions.k8s.io/v1) and adds a
/// kind for each served version the table does not have yet. Returns the
/// field and reason of the first problem, as the apiserver's 422 names it.
/// With `commit` false it only validates (a dry run).
pub fn register_crd(crd: &Value, commit: bool) -> Result<Vec<&'static Kind>, (String, String)> {
    let spec = &crd["spec"];
    let text = |path: &str| {
        spec.pointer(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                (
                    format!("spec{}", path.replace('/', ".")),
                    "Required value".to_string(),
                )
            })
    };
    let group = text("/group")?;
    let plural = text("/names/plural")?;
    let kind = text("/names/kind")?;
    let namespaced = match text("/scope")? {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err((
                "spec.scope".into(),
                format!(
                    "Unsupported value: {other:?}: supported values: \"Cluster\", \"Namespaced\""
                ),
            ));
        }
    };
    let expected = format!("{plural}.{group}");
    if let Some(name) = crd.pointer("/metadata/name").and_then(Value::as_str)
        && name != expected
    {
        return Err((
            "metadata.name".into(),
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = spec["versions"]
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            (
                "spec.versions".to_string(),
                "Invalid value: null: must have exactly one version marked as storage version"
                    .to_string(),
            )
        })?;
    let shorts: Vec<&'static str> = spec
        .pointer("/names/shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(leak)
        .collect();
    let shorts: &'static [&'static str] = Box::leak(shorts.into_boxed_slice());
    let mut added = Vec::new();
    let mut table = CUSTOM.write().unwrap_or_else(|e| e.into_inner());
    for v in versions {
        let Some(version) = v["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(("spec.versions[].name".into(), "Required value".into()));
        };
        if v["served"] == Value::Bool(false) {
            continue;
        }
        let same = |k: &&Kind| k.group == group && k.version == version && k.plural == plural;
        if KINDS.iter().any(|k| same(&k)) || table.iter().any(same) {
            continue;
        }
        if !commit {
            continue;
        }
        if KINDS.len() + table.len() >= MAX_KINDS {
            return Err((
                "spec".into(),
                format!("the lab serves at most {MAX_KINDS} kinds"),
            ));
        }
        let k: &'static Kind = Box::leak(Box::new(row(
            leak(group),
            leak(version),
            leak(plural),
            leak(kind),
            namespaced,
            v.pointer("/subresources/status").is_some(),
            shorts,
        )));
        table.push(k);
        added.push(k);
    }
    Ok(added)
}

/// Returns a CustomResourceDefinition for a kind of the table, as a cluster
/// running it would have (used to seed an empty lab with the Kuryr and
/// OpenShift CRDs).
pub fn crd_for(k: &Kind) -> Value {
    let mut version = json!({"name": k.version, "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
    if k.status {
        version["subresources"] = json!({"status": {}});
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", k.plural, k.group)},
        "spec": {
            "group": k.group,
            "names": {"plural": k.plural, "singular": k.kind.to_lowercase(), "kind": k.kind,
                      "listKind": format!("{}List", k.kind), "shortNames": k.short_names},
            "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version],
        }
    })
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
    fn a_crd_adds_a_kind_once_and_bad_ones_are_refused() {
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wg"]}, "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v0", "served": false}]}});
        let added = register_crd(&crd, true).unwrap();
        assert!(added.len() <= 1, "another test may have added it first");
        let k = by_kind("example.com/v1", "Widget").expect("registered");
        assert!(k.namespaced && k.status);
        assert_eq!(k.short_names, ["wg"]);
        assert!(by_kind("example.com/v0", "Widget").is_none(), "not served");
        assert!(register_crd(&crd, true).unwrap().is_empty(), "once");
        assert_eq!(at(index_of(k)), k);
        let mut bad = crd.clone();
        bad["spec"]["scope"] = json!("Galaxy");
        assert_eq!(register_crd(&bad, true).unwrap_err().0, "spec.scope");
        bad["metadata"]["name"] = json!("wrong");
        bad["spec"]["scope"] = json!("Cluster");
        assert_eq!(register_crd(&bad, true).unwrap_err().0, "metadata.name");
        // The table's own CRDs register nothing new.
        let kn = by_resource("kuryrnetworks.openstack.org").unwrap();
        assert!(register_crd(&crd_for(kn), true).unwrap().is_empty());
    }

    #[test]
    fn same_plural_in_two_groups_is_two_resources() {
        let a = by_kind("config.openshift.io/v1", "Network").unwrap();
        let b = by_kind("operator.openshift.io/v1", "Network").unwrap();
        assert_ne!(a.resource(), b.resource());
        assert_eq!(by_resource("networks.operator.openshift.io"), Some(b));
    }
}
