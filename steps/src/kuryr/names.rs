//! Every name the Kuryr migration reads from the spec, in one place.
//!
//! Finalizer strings, namespaces, object names, annotation keys and the
//! OpenStack names the network operator gave are exact strings from
//! `shared/spec/kuryr-to-ovnk.md`; a typo here would silently match nothing,
//! so the rest of the code refers to these constants only.

/// Finalizer Kuryr puts on Services.
pub const SERVICE_FINALIZER: &str = "kuryr.openstack.org/service-finalizer";
/// Finalizer on KuryrLoadBalancers (note the trailing s).
pub const KURYR_LOADBALANCER_FINALIZER: &str = "kuryr.openstack.org/kuryrloadbalancer-finalizers";
/// Finalizer Kuryr puts on Pods.
pub const POD_FINALIZER: &str = "kuryr.openstack.org/pod-finalizer";
/// Finalizer on KuryrPorts.
pub const KURYR_PORT_FINALIZER: &str = "kuryr.openstack.org/kuryrport-finalizer";
/// Finalizer on NetworkPolicies and KuryrNetworkPolicies.
pub const NETWORK_POLICY_FINALIZER: &str = "kuryr.openstack.org/networkpolicy-finalizer";
/// Finalizer on KuryrNetworks.
pub const KURYR_NETWORK_FINALIZER: &str = "kuryrnetwork.finalizers.kuryr.openstack.org";

/// Every Kuryr finalizer, for recognising pods and objects stuck on Kuryr.
pub const KURYR_FINALIZERS: &[&str] = &[
    SERVICE_FINALIZER,
    KURYR_LOADBALANCER_FINALIZER,
    POD_FINALIZER,
    KURYR_PORT_FINALIZER,
    NETWORK_POLICY_FINALIZER,
    KURYR_NETWORK_FINALIZER,
];

/// The singleton name of the network, infrastructure and operator objects.
pub const CLUSTER: &str = "cluster";
/// Namespace of Kuryr.
pub const KURYR_NAMESPACE: &str = "openshift-kuryr";
/// ConfigMap holding Kuryr's configuration.
pub const KURYR_CONFIGMAP: &str = "kuryr-config";
/// Key of the ini file in that ConfigMap.
pub const KURYR_CONF_KEY: &str = "kuryr.conf";
/// Service Kuryr keeps for the service subnet gateway.
pub const SERVICE_SUBNET_GATEWAY_SERVICE: &str = "service-subnet-gateway-ip";
/// Namespace of multus.
pub const MULTUS_NAMESPACE: &str = "openshift-multus";
/// The multus DaemonSet.
pub const MULTUS_DAEMONSET: &str = "multus";

/// Network type before the migration.
pub const NETWORK_TYPE_KURYR: &str = "Kuryr";
/// Network type after the migration.
pub const NETWORK_TYPE_OVNK: &str = "OVNKubernetes";

/// Node annotation: the MCO's state of the node.
pub const MCO_STATE_ANNOTATION: &str = "machineconfiguration.openshift.io/state";
/// Node annotation: the rendered config the node runs.
pub const MCO_CURRENT_CONFIG: &str = "machineconfiguration.openshift.io/currentConfig";
/// Node annotation: the rendered config the node should run.
pub const MCO_DESIRED_CONFIG: &str = "machineconfiguration.openshift.io/desiredConfig";
/// The MCO state meaning the node runs its desired config.
pub const MCO_STATE_DONE: &str = "Done";
/// What the rendered MachineConfig must contain after M3.
pub const CONFIGURE_OVS_OVNK: &str = "configure-ovs.sh OVNKubernetes";

/// Role label of control-plane nodes (older clusters).
pub const ROLE_MASTER: &str = "node-role.kubernetes.io/master";
/// Role label of control-plane nodes (newer clusters).
pub const ROLE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
/// Role label of worker nodes.
pub const ROLE_WORKER: &str = "node-role.kubernetes.io/worker";

/// Prefix of a Node's providerID on OpenStack.
pub const OPENSTACK_PROVIDER_PREFIX: &str = "openstack:///";

/// Default Geneve port of OVN-Kubernetes.
pub const DEFAULT_GENEVE_PORT: u16 = 6081;
/// VXLAN port, which Geneve must not use.
pub const VXLAN_PORT: u16 = 4789;
/// Default IPv4 internal (join) subnet of OVN-Kubernetes.
pub const DEFAULT_V4_INTERNAL_SUBNET: &str = "100.64.0.0/16";
/// Default IPv6 internal (join) subnet of OVN-Kubernetes (openshift/api documents fd98::/48).
pub const DEFAULT_V6_INTERNAL_SUBNET: &str = "fd98::/48";
/// Overhead of Geneve encapsulation the pod MTU must leave.
pub const GENEVE_OVERHEAD: u32 = 100;
/// Lowest Octavia API version with tags.
pub const MIN_OCTAVIA_VERSION: (u32, u32) = (2, 5);

/// Returns the cluster tag `openshiftClusterID=<id>` put on OpenStack resources.
pub fn cluster_tag(cluster_id: &str) -> String {
    format!("openshiftClusterID={cluster_id}")
}

/// Returns the name of the router the installer made: `<id>-external-router`.
pub fn external_router_name(cluster_id: &str) -> String {
    format!("{cluster_id}-external-router")
}

/// Returns the OpenStack names the network operator gave, prefixed with the cluster id.
pub fn operator_names(cluster_id: &str) -> [String; 5] {
    [
        format!("{cluster_id}-kuryr-service-network"),
        format!("{cluster_id}-kuryr-service-subnet"),
        format!("{cluster_id}-kuryr-service-subnet-router-port"),
        format!("{cluster_id}-kuryr-pod-subnetpool"),
        format!("{cluster_id}-kuryr-pods-security-group"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_follow_the_spec() {
        assert_eq!(cluster_tag("c-1"), "openshiftClusterID=c-1");
        assert_eq!(external_router_name("c-1"), "c-1-external-router");
        assert_eq!(operator_names("c")[4], "c-kuryr-pods-security-group");
        assert!(KURYR_LOADBALANCER_FINALIZER.ends_with('s'));
        assert_eq!(KURYR_FINALIZERS.len(), 6);
    }
}
