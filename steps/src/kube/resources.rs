//! The table of resource kinds the tool touches, one row per kind.
//!
//! Every access goes through `DynamicObject` and an `ApiResource` built from
//! this table, the way the lab serves kinds from its own table: adding a kind
//! is one row here. [`ObjectRef`] names one object (kind, namespace, name) for
//! requests and error messages.

use std::fmt;

use ::kube::api::ApiResource;

/// One kind of resource: where it lives in the API and whether it is namespaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// PascalCase kind.
    pub kind: &'static str,
    /// Lowercase plural used in URLs.
    pub plural: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident = ($g:expr, $v:expr, $k:expr, $p:expr, $ns:expr);)*) => {
        /// The resource kinds the tool uses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($(#[$doc])* $name,)*
        }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[$(Kind::$name,)*];

            /// Returns the table row of this kind.
            pub const fn info(self) -> ResourceKind {
                match self {
                    $(Kind::$name => ResourceKind {
                        group: $g,
                        version: $v,
                        kind: $k,
                        plural: $p,
                        namespaced: $ns,
                    },)*
                }
            }
        }
    };
}

kinds! {
    /// `networks.config.openshift.io` (cluster-scoped, named `cluster`).
    ConfigNetwork = ("config.openshift.io", "v1", "Network", "networks", false);
    /// `infrastructures.config.openshift.io`.
    Infrastructure = ("config.openshift.io", "v1", "Infrastructure", "infrastructures", false);
    /// `clusteroperators.config.openshift.io`.
    ClusterOperator = ("config.openshift.io", "v1", "ClusterOperator", "clusteroperators", false);
    /// `networks.operator.openshift.io` (cluster-scoped, named `cluster`).
    OperatorNetwork = ("operator.openshift.io", "v1", "Network", "networks", false);
    /// `machineconfigpools.machineconfiguration.openshift.io`.
    MachineConfigPool = ("machineconfiguration.openshift.io", "v1", "MachineConfigPool", "machineconfigpools", false);
    /// `machineconfigs.machineconfiguration.openshift.io`.
    MachineConfig = ("machineconfiguration.openshift.io", "v1", "MachineConfig", "machineconfigs", false);
    /// Core `nodes`.
    Node = ("", "v1", "Node", "nodes", false);
    /// Core `pods`.
    Pod = ("", "v1", "Pod", "pods", true);
    /// Core `services`.
    Service = ("", "v1", "Service", "services", true);
    /// Core `namespaces`.
    Namespace = ("", "v1", "Namespace", "namespaces", false);
    /// Core `configmaps`.
    ConfigMap = ("", "v1", "ConfigMap", "configmaps", true);
    /// `daemonsets.apps`.
    DaemonSet = ("apps", "v1", "DaemonSet", "daemonsets", true);
    /// `statefulsets.apps` (MOSK's Galera, `openstack/mariadb-server`).
    StatefulSet = ("apps", "v1", "StatefulSet", "statefulsets", true);
    /// `networkpolicies.networking.k8s.io`.
    NetworkPolicy = ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true);
    /// `leases.coordination.k8s.io`.
    Lease = ("coordination.k8s.io", "v1", "Lease", "leases", true);
    /// `kuryrnetworks.openstack.org`.
    KuryrNetwork = ("openstack.org", "v1", "KuryrNetwork", "kuryrnetworks", true);
    /// `kuryrports.openstack.org`.
    KuryrPort = ("openstack.org", "v1", "KuryrPort", "kuryrports", true);
    /// `kuryrloadbalancers.openstack.org`.
    KuryrLoadBalancer = ("openstack.org", "v1", "KuryrLoadBalancer", "kuryrloadbalancers", true);
    /// `kuryrnetworkpolicies.openstack.org`.
    KuryrNetworkPolicy = ("openstack.org", "v1", "KuryrNetworkPolicy", "kuryrnetworkpolicies", true);
    /// `customresourcedefinitions.apiextensions.k8s.io`.
    CustomResourceDefinition = ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false);
    /// `openstackdeployments.lcm.mirantis.com` (MOSK; namespace `openstack`).
    OpenStackDeployment = ("lcm.mirantis.com", "v1alpha1", "OpenStackDeployment", "openstackdeployments", true);
}

impl ResourceKind {
    /// Returns `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Returns `plural` or `plural.group`, as `oc get` spells it.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

impl Kind {
    /// Returns the `ApiResource` for `DynamicObject` access.
    pub fn api_resource(self) -> ApiResource {
        let info = self.info();
        ApiResource {
            group: info.group.to_string(),
            version: info.version.to_string(),
            api_version: info.api_version(),
            kind: info.kind.to_string(),
            plural: info.plural.to_string(),
        }
    }

    /// Returns whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        self.info().namespaced
    }
}

/// One object's address: kind, namespace (for namespaced kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The kind.
    pub kind: Kind,
    /// The namespace, `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// Returns a reference to a cluster-scoped object.
    pub fn cluster(kind: Kind, name: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            namespace: None,
            name: name.into(),
        }
    }

    /// Returns a reference to a namespaced object.
    pub fn namespaced(kind: Kind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// Returns the reference of a JSON object of `kind` (from its metadata).
    pub fn of(kind: Kind, object: &serde_json::Value) -> Option<Self> {
        let meta = object.get("metadata")?;
        let name = meta.get("name")?.as_str()?.to_string();
        let namespace = meta
            .get("namespace")
            .and_then(|n| n.as_str())
            .map(str::to_string);
        Some(ObjectRef {
            kind,
            namespace,
            name,
        })
    }

    /// Returns a problem when the namespace does not fit the kind's scope.
    pub fn scope_problem(&self) -> Option<&'static str> {
        match (self.kind.namespaced(), &self.namespace) {
            (true, None) => Some("this kind is namespaced but no namespace was given"),
            (false, Some(_)) => Some("this kind is cluster-scoped but a namespace was given"),
            _ => None,
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = self.kind.info().qualified_plural();
        match &self.namespace {
            Some(ns) => write!(f, "{plural}/{} in namespace {ns}", self.name),
            None => write!(f, "{plural}/{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_build_api_resources() {
        let ar = Kind::KuryrPort.api_resource();
        assert_eq!(ar.api_version, "openstack.org/v1");
        assert_eq!(ar.plural, "kuryrports");
        assert_eq!(Kind::Node.api_resource().api_version, "v1");
        assert!(Kind::Pod.namespaced());
        assert!(!Kind::ConfigNetwork.namespaced());
        assert_eq!(Kind::ALL.len(), 21);
    }

    #[test]
    fn config_and_operator_networks_differ_by_group() {
        assert_ne!(
            Kind::ConfigNetwork.info().group,
            Kind::OperatorNetwork.info().group
        );
        assert_eq!(
            Kind::OperatorNetwork.info().qualified_plural(),
            "networks.operator.openshift.io"
        );
    }

    #[test]
    fn scope_is_checked() {
        let bad = ObjectRef::cluster(Kind::Pod, "p");
        assert!(bad.scope_problem().is_some());
        let bad = ObjectRef::namespaced(Kind::Node, "ns", "n");
        assert!(bad.scope_problem().is_some());
        assert!(
            ObjectRef::namespaced(Kind::Pod, "ns", "p")
                .scope_problem()
                .is_none()
        );
    }

    #[test]
    fn refs_read_from_metadata_and_display() {
        let obj = serde_json::json!({"metadata": {"name": "p", "namespace": "ns"}});
        let r = ObjectRef::of(Kind::Pod, &obj).unwrap();
        assert_eq!(r, ObjectRef::namespaced(Kind::Pod, "ns", "p"));
        assert_eq!(r.to_string(), "pods/p in namespace ns");
        assert!(ObjectRef::of(Kind::Pod, &serde_json::json!({})).is_none());
    }
}
