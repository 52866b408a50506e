//! The C0 snapshot: everything the cleanup will touch, read before anything
//! is deleted, as one typed, content-addressed value.
//!
//! It holds the Kuryr CRs (reduced to the fields that point at OpenStack and
//! their finalizers), `kuryr-config`, the Services/Pods/NetworkPolicies that
//! carry Kuryr finalizers, and every OpenStack object those reference. Every
//! later cleanup step and the restore plan read IDs from here, never from
//! objects an earlier step deleted. [`Snapshot::to_bytes`] is a stable
//! serialisation (canonical JSON: sorted keys, every list sorted by ID) and
//! [`Snapshot::digest`] its blake3, so the same cloud gives the same digest.
//! JSON rather than bincode because the OpenStack types carry optional
//! `serde_json::Value`s and added fields, which bincode's serde mode mishandles.
//! Building the CR records from Kubernetes JSON is pure and lives here too;
//! the reads are in `collect.rs`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kube::Kind;
use crate::kuryr::digest::canonical_json;
use crate::kuryr::identity::KuryrConfig;
use crate::openstack::neutron::{
    FloatingIp, Network, Port, Router, SecurityGroup, Subnet, SubnetPool, Trunk,
};
use crate::openstack::octavia::{Listener, LoadBalancer, Member, Pool};

/// Version of the snapshot format.
///
/// Changelog: 1 — first version.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The Kubernetes kinds the snapshot records objects of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CrKind {
    /// Core Service.
    Service,
    /// Core Pod.
    Pod,
    /// networking.k8s.io NetworkPolicy.
    NetworkPolicy,
    /// openstack.org KuryrNetwork.
    KuryrNetwork,
    /// openstack.org KuryrPort.
    KuryrPort,
    /// openstack.org KuryrLoadBalancer.
    KuryrLoadBalancer,
    /// openstack.org KuryrNetworkPolicy.
    KuryrNetworkPolicy,
}

impl CrKind {
    /// Returns the row of the client's kind table.
    pub fn kind(self) -> Kind {
        match self {
            CrKind::Service => Kind::Service,
            CrKind::Pod => Kind::Pod,
            CrKind::NetworkPolicy => Kind::NetworkPolicy,
            CrKind::KuryrNetwork => Kind::KuryrNetwork,
            CrKind::KuryrPort => Kind::KuryrPort,
            CrKind::KuryrLoadBalancer => Kind::KuryrLoadBalancer,
            CrKind::KuryrNetworkPolicy => Kind::KuryrNetworkPolicy,
        }
    }
}

/// The metadata of a recorded Kubernetes object.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Meta {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
    /// Finalizers, in the object's order (the JSON patch indexes them).
    pub finalizers: Vec<String>,
    /// Whether a deletionTimestamp was set.
    pub deleting: bool,
}

impl Meta {
    /// Returns the metadata of a JSON object.
    pub fn of(object: &Value) -> Meta {
        let m = &object["metadata"];
        let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        Meta {
            namespace: s("namespace"),
            name: s("name"),
            uid: s("uid"),
            finalizers: crate::kube::finalizers(object)
                .into_iter()
                .map(str::to_string)
                .collect(),
            deleting: m.get("deletionTimestamp").is_some_and(|t| !t.is_null()),
        }
    }
}

/// A Service, Pod or NetworkPolicy that carries a Kuryr finalizer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finalized {
    /// Its kind.
    pub kind: CrKind,
    /// Its metadata.
    pub meta: Meta,
}

/// A KuryrNetwork: one namespace's network and subnet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KuryrNetworkCr {
    pub meta: Meta,
    /// `status.netId`.
    pub net_id: Option<String>,
    /// `status.subnetId`.
    pub subnet_id: Option<String>,
    /// `status.routerId`.
    pub router_id: Option<String>,
    /// `status.subnetCIDR`.
    pub subnet_cidr: Option<String>,
}

/// A KuryrPort: the Neutron ports of one pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KuryrPortCr {
    pub meta: Meta,
    /// `status.vifs[*].vif["versioned_object.data"].id`, sorted.
    pub port_ids: Vec<String>,
}

/// `status.service_pub_ip_info` of a KuryrLoadBalancer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubIpInfo {
    /// The floating IP's ID.
    pub ip_id: String,
    /// Its address.
    pub ip_addr: String,
    /// `pool` when Kuryr allocated it, `user` when the user gave it.
    pub alloc_method: String,
}

/// A KuryrLoadBalancer: one Service's Octavia objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KuryrLoadBalancerCr {
    pub meta: Meta,
    /// `status.loadbalancer.id`.
    pub lb_id: Option<String>,
    /// `status.loadbalancer.port_id` (the VIP port).
    pub vip_port_id: Option<String>,
    /// `status.loadbalancer.subnet_id`.
    pub subnet_id: Option<String>,
    /// `status.listeners[].id`, `status.pools[].id`, `status.members[].id`.
    pub listener_ids: Vec<String>,
    pub pool_ids: Vec<String>,
    pub member_ids: Vec<String>,
    /// `status.service_pub_ip_info`.
    pub pub_ip: Option<PubIpInfo>,
}

/// A KuryrNetworkPolicy: one NetworkPolicy's security group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KuryrNetworkPolicyCr {
    pub meta: Meta,
    /// `status.securityGroupId`.
    pub sg_id: Option<String>,
    /// `status.securityGroupRules[].id`.
    pub rule_ids: Vec<String>,
}

/// A pool with its members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolTree {
    pub pool: Pool,
    pub members: Vec<Member>,
}

/// A load balancer with its listeners, pools and members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerTree {
    pub lb: LoadBalancer,
    pub listeners: Vec<Listener>,
    pub pools: Vec<PoolTree>,
}

/// An object a CR or `kuryr-config` names that the cloud answered 404 for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Missing {
    /// The collection (`networks`, `loadbalancers`, …).
    pub collection: String,
    /// The ID asked for.
    pub id: String,
    /// Who named it (e.g. `KuryrNetwork ns-1/ns-1 status.netId`).
    pub named_by: String,
}

/// Everything the cleanup reads, before it deletes anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`].
    pub format: u32,
    /// The cluster id (infrastructure name).
    pub cluster_id: String,
    /// The project of the token the snapshot was read with.
    pub project_id: String,
    /// Octavia's highest API version (tags need 2.5).
    pub octavia_version: (u32, u32),
    /// The `kuryr.conf` text of `kuryr-config`, its secret options masked
    /// ([`crate::redact::ini_secrets`]).
    pub kuryr_conf: String,
    /// The IDs `kuryr.conf` names.
    pub kuryr_config: KuryrConfig,
    pub kuryr_networks: Vec<KuryrNetworkCr>,
    pub kuryr_ports: Vec<KuryrPortCr>,
    pub kuryr_load_balancers: Vec<KuryrLoadBalancerCr>,
    pub kuryr_network_policies: Vec<KuryrNetworkPolicyCr>,
    /// Services, Pods and NetworkPolicies carrying a Kuryr finalizer.
    pub finalized: Vec<Finalized>,
    /// Names of the Kuryr CRDs present (`kuryrnetworks.openstack.org`, …).
    pub crds: Vec<String>,
    /// Whether `openshift-kuryr/service-subnet-gateway-ip` existed.
    pub gateway_service: bool,
    /// Whether the `openshift-kuryr` namespace existed.
    pub kuryr_namespace: bool,
    pub networks: Vec<Network>,
    pub subnets: Vec<Subnet>,
    pub ports: Vec<Port>,
    pub trunks: Vec<Trunk>,
    pub routers: Vec<Router>,
    pub subnet_pools: Vec<SubnetPool>,
    pub security_groups: Vec<SecurityGroup>,
    pub load_balancers: Vec<LoadBalancerTree>,
    pub floating_ips: Vec<FloatingIp>,
    /// Referenced objects the cloud no longer has.
    pub missing: Vec<Missing>,
}

/// Why stored snapshot bytes could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not JSON of the snapshot's shape.
    #[error("decode the cleanup snapshot: {0}; the journal blob is damaged or not a snapshot")]
    Decode(#[from] serde_json::Error),
    /// A format this build does not know.
    #[error(
        "read cleanup snapshot format {found}: this build reads format {SNAPSHOT_FORMAT}; use the ovn-migrate version that wrote it"
    )]
    Format { found: u32 },
    /// The bytes are not what their digest says.
    #[error("verify the cleanup snapshot: its digest is {actual}, the journal recorded {expected}")]
    Digest { expected: String, actual: String },
}

fn sort_by_id<T>(items: &mut [T], id: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| id(a).cmp(id(b)));
}

fn sort_meta<T>(items: &mut [T], meta: impl Fn(&T) -> &Meta) {
    items.sort_by(|a, b| {
        let (a, b) = (meta(a), meta(b));
        (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))
    });
}

impl Snapshot {
    /// Sorts every list (by ID, or namespace/name), so equal content gives equal bytes.
    pub fn normalize(&mut self) {
        sort_meta(&mut self.kuryr_networks, |c| &c.meta);
        sort_meta(&mut self.kuryr_ports, |c| &c.meta);
        sort_meta(&mut self.kuryr_load_balancers, |c| &c.meta);
        sort_meta(&mut self.kuryr_network_policies, |c| &c.meta);
        self.finalized.sort();
        self.crds.sort();
        sort_by_id(&mut self.networks, |o| &o.id);
        sort_by_id(&mut self.subnets, |o| &o.id);
        sort_by_id(&mut self.ports, |o| &o.id);
        sort_by_id(&mut self.trunks, |o| &o.id);
        for t in &mut self.trunks {
            t.sub_ports.sort_by(|a, b| a.port_id.cmp(&b.port_id));
        }
        sort_by_id(&mut self.routers, |o| &o.id);
        sort_by_id(&mut self.subnet_pools, |o| &o.id);
        sort_by_id(&mut self.security_groups, |o| &o.id);
        for sg in &mut self.security_groups {
            sort_by_id(&mut sg.security_group_rules, |r| &r.id);
        }
        sort_by_id(&mut self.load_balancers, |o| &o.lb.id);
        for lb in &mut self.load_balancers {
            sort_by_id(&mut lb.listeners, |l| &l.id);
            sort_by_id(&mut lb.pools, |p| &p.pool.id);
            for p in &mut lb.pools {
                sort_by_id(&mut p.members, |m| &m.id);
            }
        }
        sort_by_id(&mut self.floating_ips, |o| &o.id);
        self.missing.sort();
        self.missing.dedup();
    }

    /// Returns the stable serialisation: canonical JSON of the normalized snapshot.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = self.clone();
        s.normalize();
        let value = serde_json::to_value(&s).expect("a snapshot always serializes to JSON");
        canonical_json(&value).into_bytes()
    }

    /// Returns the hex blake3 of [`Snapshot::to_bytes`]: the snapshot's content address.
    pub fn digest(&self) -> String {
        blake3::hash(&self.to_bytes()).to_hex().to_string()
    }

    /// Reads stored bytes back, checking the format and, when given, the digest.
    pub fn from_bytes(
        bytes: &[u8],
        expected_digest: Option<&str>,
    ) -> Result<Snapshot, SnapshotError> {
        if let Some(expected) = expected_digest {
            let actual = blake3::hash(bytes).to_hex().to_string();
            if actual != expected {
                return Err(SnapshotError::Digest {
                    expected: expected.to_string(),
                    actual,
                });
            }
        }
        let s: Snapshot = serde_json::from_slice(bytes)?;
        if s.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { found: s.format });
        }
        Ok(s)
    }

    /// Returns the cluster tag `openshiftClusterID=<id>`.
    pub fn tag(&self) -> String {
        crate::kuryr::names::cluster_tag(&self.cluster_id)
    }

    /// Returns the network with this ID.
    pub fn network(&self, id: &str) -> Option<&Network> {
        self.networks.iter().find(|o| o.id == id)
    }

    /// Returns the subnet with this ID.
    pub fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|o| o.id == id)
    }

    /// Returns the port with this ID.
    pub fn port(&self, id: &str) -> Option<&Port> {
        self.ports.iter().find(|o| o.id == id)
    }

    /// Returns the router with this ID.
    pub fn router(&self, id: &str) -> Option<&Router> {
        self.routers.iter().find(|o| o.id == id)
    }

    /// Returns the security group with this ID.
    pub fn security_group(&self, id: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|o| o.id == id)
    }

    /// Returns the load balancer with this ID.
    pub fn load_balancer(&self, id: &str) -> Option<&LoadBalancerTree> {
        self.load_balancers.iter().find(|o| o.lb.id == id)
    }

    /// Returns every port ID a snapshot KuryrPort names.
    pub fn kuryr_port_ids(&self) -> BTreeSet<&str> {
        self.kuryr_ports
            .iter()
            .flat_map(|k| k.port_ids.iter().map(String::as_str))
            .collect()
    }

    /// Returns the number of OpenStack objects recorded.
    pub fn openstack_objects(&self) -> usize {
        self.networks.len()
            + self.subnets.len()
            + self.ports.len()
            + self.trunks.len()
            + self.routers.len()
            + self.subnet_pools.len()
            + self.security_groups.len()
            + self
                .load_balancers
                .iter()
                .map(|l| {
                    1 + l.listeners.len()
                        + l.pools.iter().map(|p| 1 + p.members.len()).sum::<usize>()
                })
                .sum::<usize>()
            + self.floating_ips.len()
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn ids_of(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .map(|a| a.iter().filter_map(|x| opt(&x["id"])).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

impl KuryrNetworkCr {
    /// Reads a KuryrNetwork object.
    pub fn of(object: &Value) -> Self {
        let s = &object["status"];
        KuryrNetworkCr {
            meta: Meta::of(object),
            net_id: opt(&s["netId"]),
            subnet_id: opt(&s["subnetId"]),
            router_id: opt(&s["routerId"]),
            subnet_cidr: opt(&s["subnetCIDR"]),
        }
    }
}

impl KuryrPortCr {
    /// Reads a KuryrPort object: the port IDs of every VIF.
    pub fn of(object: &Value) -> Self {
        let mut port_ids: Vec<String> = object["status"]["vifs"]
            .as_object()
            .map(|vifs| {
                vifs.values()
                    .filter_map(|v| opt(&v["vif"]["versioned_object.data"]["id"]))
                    .collect()
            })
            .unwrap_or_default();
        port_ids.sort();
        port_ids.dedup();
        KuryrPortCr {
            meta: Meta::of(object),
            port_ids,
        }
    }
}

impl KuryrLoadBalancerCr {
    /// Reads a KuryrLoadBalancer object.
    pub fn of(object: &Value) -> Self {
        let s = &object["status"];
        let lb = &s["loadbalancer"];
        let pub_ip = s
            .get("service_pub_ip_info")
            .filter(|p| p.is_object())
            .and_then(|p| {
                Some(PubIpInfo {
                    ip_id: opt(&p["ip_id"])?,
                    ip_addr: p["ip_addr"].as_str().unwrap_or_default().to_string(),
                    alloc_method: p["alloc_method"].as_str().unwrap_or_default().to_string(),
                })
            });
        KuryrLoadBalancerCr {
            meta: Meta::of(object),
            lb_id: opt(&lb["id"]),
            vip_port_id: opt(&lb["port_id"]),
            subnet_id: opt(&lb["subnet_id"]),
            listener_ids: ids_of(&s["listeners"]),
            pool_ids: ids_of(&s["pools"]),
            member_ids: ids_of(&s["members"]),
            pub_ip,
        }
    }
}

impl KuryrNetworkPolicyCr {
    /// Reads a KuryrNetworkPolicy object.
    pub fn of(object: &Value) -> Self {
        let s = &object["status"];
        KuryrNetworkPolicyCr {
            meta: Meta::of(object),
            sg_id: opt(&s["securityGroupId"]),
            rule_ids: ids_of(&s["securityGroupRules"]),
        }
    }
}

/// Returns the record of an object carrying any of the Kuryr finalizers.
pub fn finalized(kind: CrKind, object: &Value) -> Option<Finalized> {
    let meta = Meta::of(object);
    meta.finalizers
        .iter()
        .any(|f| crate::kuryr::names::KURYR_FINALIZERS.contains(&f.as_str()))
        .then_some(Finalized { kind, meta })
}

/// Returns the strings of a JSON array (tags, security groups).
pub fn string_list(v: &Value) -> Vec<String> {
    strings(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            cluster_id: "c1".into(),
            networks: vec![
                Network {
                    id: "n2".into(),
                    ..Default::default()
                },
                Network {
                    id: "n1".into(),
                    tags: vec!["openshiftClusterID=c1".into()],
                    ..Default::default()
                },
            ],
            routers: vec![Router {
                id: "r".into(),
                external_gateway_info: Some(json!({"network_id": "ext", "enable_snat": true})),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn bytes_round_trip_and_digest_is_stable_under_reordering() {
        let s = sample();
        let bytes = s.to_bytes();
        let back = Snapshot::from_bytes(&bytes, Some(&s.digest())).unwrap();
        let mut norm = s.clone();
        norm.normalize();
        assert_eq!(back, norm);
        let mut swapped = s.clone();
        swapped.networks.reverse();
        assert_eq!(swapped.digest(), s.digest());
        let mut changed = s.clone();
        changed.networks[0].name = "x".into();
        assert_ne!(changed.digest(), s.digest());
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let s = sample();
        let mut bytes = s.to_bytes();
        let digest = s.digest();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x20;
        let e = Snapshot::from_bytes(&bytes, Some(&digest)).unwrap_err();
        assert!(matches!(e, SnapshotError::Digest { .. }), "{e}");
        let truncated = &s.to_bytes()[..10];
        assert!(matches!(
            Snapshot::from_bytes(truncated, None),
            Err(SnapshotError::Decode(_))
        ));
        let mut future = s.clone();
        future.format = 99;
        let e = Snapshot::from_bytes(&future.to_bytes(), None).unwrap_err();
        assert!(e.to_string().contains("format 99"), "{e}");
    }

    #[test]
    fn crs_are_read_from_kuryr_json() {
        let kn = json!({"metadata": {"name": "ns-1", "namespace": "ns-1", "uid": "u", "finalizers": ["kuryrnetwork.finalizers.kuryr.openstack.org"]},
            "status": {"netId": "n", "subnetId": "s", "routerId": "r", "subnetCIDR": "10.0.0.0/23"}});
        let k = KuryrNetworkCr::of(&kn);
        assert_eq!(k.net_id.as_deref(), Some("n"));
        assert_eq!(k.subnet_id.as_deref(), Some("s"));
        assert_eq!(k.meta.finalizers.len(), 1);
        assert!(!k.meta.deleting);

        let kp = json!({"metadata": {"name": "p", "namespace": "ns", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "status": {"vifs": {"eth0": {"default": true, "vif": {"versioned_object.data": {"id": "port-b"}}},
                                 "eth1": {"default": false, "vif": {"versioned_object.data": {"id": "port-a"}}}}}});
        let k = KuryrPortCr::of(&kp);
        assert_eq!(k.port_ids, vec!["port-a", "port-b"]);
        assert!(k.meta.deleting);

        let klb = json!({"metadata": {"name": "s", "namespace": "ns"},
            "status": {"loadbalancer": {"id": "lb", "port_id": "vip", "subnet_id": "ss"},
                "listeners": [{"id": "l2"}, {"id": "l1"}], "pools": [{"id": "p"}], "members": [{"id": "m"}],
                "service_pub_ip_info": {"ip_id": "fip", "ip_addr": "198.51.100.7", "alloc_method": "pool"}}});
        let k = KuryrLoadBalancerCr::of(&klb);
        assert_eq!(k.lb_id.as_deref(), Some("lb"));
        assert_eq!(k.listener_ids, vec!["l1", "l2"]);
        assert_eq!(k.pub_ip.as_ref().unwrap().alloc_method, "pool");
        let no_fip = json!({"status": {"loadbalancer": {"id": "lb"}, "service_pub_ip_info": null}});
        assert!(KuryrLoadBalancerCr::of(&no_fip).pub_ip.is_none());

        let knp = json!({"metadata": {"name": "np"}, "status": {"securityGroupId": "sg", "securityGroupRules": [{"id": "r"}]}});
        let k = KuryrNetworkPolicyCr::of(&knp);
        assert_eq!(k.sg_id.as_deref(), Some("sg"));
        assert_eq!(k.rule_ids, vec!["r"]);
    }

    #[test]
    fn only_kuryr_finalizers_make_an_object_recorded() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns", "finalizers": ["kuryr.openstack.org/pod-finalizer"]}});
        assert!(finalized(CrKind::Pod, &pod).is_some());
        let other = json!({"metadata": {"name": "p", "namespace": "ns", "finalizers": ["example.com/keep"]}});
        assert!(finalized(CrKind::Pod, &other).is_none());
        let near = json!({"metadata": {"name": "p", "finalizers": ["kuryr.openstack.org/pod-finalizer-x"]}});
        assert!(finalized(CrKind::Pod, &near).is_none());
    }
}
