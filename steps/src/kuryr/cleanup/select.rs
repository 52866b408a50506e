//! The pure selection: from the C0 snapshot, every object the cleanup deletes
//! and every object it keeps on purpose, by kind, each with its reason.
//!
//! The rules are the safety rules, and nothing is ever chosen by
//! name or description alone:
//! - networks and subnets only from KuryrNetwork `netId`/`subnetId` (and the
//!   service network of `kuryr-config`'s `service_subnet`, when tagged); ports
//!   only on those networks, and only Kuryr's (the cluster tag, or named by a
//!   snapshot KuryrPort);
//! - subports are removed only from this cluster's (tagged) trunks; trunks
//!   and their parent ports are the installer's and never deleted;
//! - network-policy SGs only from snapshot KuryrNetworkPolicies, or tag *and*
//!   the Kuryr description; the pods SG only when `kuryr-config` names it and
//!   it is tagged; installer SGs never, nor an SG a kept port or kept SG uses;
//! - LBs and subnet pools by the cluster tag (Octavia < 2.5: the tag string in
//!   the description and a KuryrLoadBalancer naming it); a pool stays while a
//!   kept subnet allocates from it;
//! - the router only when named `<CLUSTERID>-external-router`, tagged, and
//!   left with no interface after the cleanup;
//! - a port on a Kuryr network that is not Kuryr's (a user's VM, an
//!   appliance's subport) is kept with its network, subnets and router
//!   interfaces, unless the operator names it (`--delete-foreign-port`);
//! - floating IPs only those a snapshot KuryrLoadBalancer names in
//!   `service_pub_ip_info` with `alloc_method` `pool`.
//!
//! The Kubernetes side (finalizer removals, the gateway Service, the
//! namespace, leftover KuryrNetworks, the CRDs) comes from the snapshot too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::snapshot::{CrKind, Snapshot};
use crate::kuryr::names::{
    self, KURYR_LOADBALANCER_FINALIZER, KURYR_NETWORK_FINALIZER, KURYR_PORT_FINALIZER,
    NETWORK_POLICY_FINALIZER, POD_FINALIZER, SERVICE_FINALIZER,
};
use crate::openstack::neutron::Port;

/// Device owner of a router interface port.
pub const ROUTER_INTERFACE: &str = "network:router_interface";
/// Device owners that are router interfaces (legacy, distributed, HA).
const INTERFACE_OWNERS: &[&str] = &[
    ROUTER_INTERFACE,
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
];
/// Device owner of a DHCP port (Neutron deletes it with its network).
const DHCP: &str = "network:dhcp";
/// How the installer describes what it made.
const INSTALLER_DESCRIPTION: &str = "Created By OpenShift Installer";
/// Kuryr's network-policy SG description: `Kuryr-Kubernetes Network Policy <ns>/<name> SG`.
const NP_SG_PREFIX: &str = "Kuryr-Kubernetes Network Policy ";

/// The kinds of OpenStack objects the selection speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjKind {
    LoadBalancer,
    FloatingIp,
    Subport,
    Port,
    RouterInterface,
    Subnet,
    Network,
    SubnetPool,
    SecurityGroup,
    Trunk,
    Router,
}

impl fmt::Display for ObjKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjKind::LoadBalancer => "load balancer",
            ObjKind::FloatingIp => "floating IP",
            ObjKind::Subport => "trunk subport",
            ObjKind::Port => "port",
            ObjKind::RouterInterface => "router interface",
            ObjKind::Subnet => "subnet",
            ObjKind::Network => "network",
            ObjKind::SubnetPool => "subnet pool",
            ObjKind::SecurityGroup => "security group",
            ObjKind::Trunk => "trunk",
            ObjKind::Router => "router",
        })
    }
}

/// Why an object is deleted or kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reason {
    // Deleted.
    /// `status.netId`/`subnetId` of the KuryrNetwork of this namespace.
    KuryrNetwork { namespace: String },
    /// The network/subnet of `kuryr-config` `service_subnet`, tagged.
    ServiceNetwork,
    /// On a Kuryr network and tagged with the cluster tag.
    TaggedPort,
    /// Named by the KuryrPort of this pod (namespace/name).
    KuryrPort { pod: String },
    /// A port the operator named with `--delete-foreign-port`.
    OperatorNamed,
    /// A Kuryr port that is a subport of this cluster's trunk.
    KuryrSubport,
    /// The router interface of a Kuryr subnet.
    KuryrInterface,
    /// Deleted by Neutron with its network (DHCP port).
    WithNetwork,
    /// Deleted by Octavia's cascade delete of this load balancer.
    WithLoadBalancer { lb: String },
    /// Tagged with the cluster tag (Octavia ≥ 2.5 / subnet pools).
    Tagged,
    /// Octavia < 2.5: a KuryrLoadBalancer names it and its description is the tag.
    NamedAndDescribed,
    /// `kuryr-config` `pod_security_groups` names it and it is tagged.
    PodsSecurityGroup,
    /// `status.securityGroupId` of this KuryrNetworkPolicy (namespace/name).
    KuryrNetworkPolicy { policy: String },
    /// Tagged and described as Kuryr's network-policy SG.
    TaggedAndDescribed,
    /// `service_pub_ip_info` of this KuryrLoadBalancer (namespace/name), allocated by Kuryr.
    KuryrFloatingIp { service: String },
    /// Named `<CLUSTERID>-external-router`, tagged, no interface left.
    KuryrRouter,
    // Kept.
    /// Made by the installer (machines network, node SGs, …).
    Installer,
    /// Trunks belong to the nodes; only Kuryr's subports are removed.
    NodeTrunk,
    /// A trunk that is not this cluster's (untagged, or another cluster's).
    NotThisClustersTrunk,
    /// The parent port of a trunk.
    TrunkParent,
    /// On a Kuryr network, but neither tagged nor named by a KuryrPort.
    ForeignPort,
    /// A subport of a trunk that is not this cluster's.
    SubportOfOtherTrunk { trunk: String },
    /// Kuryr's port, but not on a Kuryr network.
    NotOnKuryrNetwork,
    /// Kept because these kept ports are on it.
    BlockedBy { ports: Vec<String> },
    /// A subnet on a Kuryr network that no KuryrNetwork names.
    UnnamedSubnet,
    /// A network that no KuryrNetwork names (tagged: the installer's or unknown).
    NotKuryrNetwork,
    /// An external (provider) network.
    ExternalNetwork,
    /// Named by Kuryr but not tagged with the cluster tag.
    NotTagged,
    /// Tagged, but neither the pods SG nor a network-policy SG.
    TaggedNotKuryr,
    /// A port that is kept uses it.
    UsedByKeptPort { port: String },
    /// A rule of this kept security group refers to it.
    ReferencedBy { security_group: String },
    /// Octavia < 2.5 and its description is not the cluster tag, or no KuryrLoadBalancer names it.
    NotProvenKuryrs,
    /// These kept subnets allocate from it.
    PoolInUse { subnets: Vec<String> },
    /// The user gave this floating IP (`alloc_method` `user`).
    UsersFloatingIp,
    /// No KuryrLoadBalancer names it.
    NotNamedByKuryr,
    /// Not named `<CLUSTERID>-external-router` (a bring-your-own-network router).
    RouterNotNamed { expected: String },
    /// These interfaces stay on the router.
    InterfacesLeft { subnets: Vec<String> },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Reason::*;
        match self {
            KuryrNetwork { namespace } => write!(f, "named by the KuryrNetwork of namespace {namespace}"),
            ServiceNetwork => f.write_str("kuryr-config service_subnet (tagged)"),
            TaggedPort => f.write_str("on a Kuryr network, tagged with the cluster tag"),
            KuryrPort { pod } => write!(f, "named by the KuryrPort of pod {pod}"),
            OperatorNamed => f.write_str("named by the operator with --delete-foreign-port"),
            KuryrSubport => f.write_str("Kuryr's subport on this cluster's trunk"),
            KuryrInterface => f.write_str("router interface of a Kuryr subnet"),
            WithNetwork => f.write_str("DHCP port, deleted by Neutron with its network"),
            WithLoadBalancer { lb } => write!(f, "deleted with load balancer {lb} (Octavia cascade)"),
            Tagged => f.write_str("tagged with the cluster tag"),
            NamedAndDescribed => f.write_str("Octavia < 2.5: a KuryrLoadBalancer names it and its description is the cluster tag"),
            PodsSecurityGroup => f.write_str("kuryr-config pod_security_groups names it and it is tagged"),
            KuryrNetworkPolicy { policy } => write!(f, "named by KuryrNetworkPolicy {policy}"),
            TaggedAndDescribed => f.write_str("tagged and described as a Kuryr network-policy group"),
            KuryrFloatingIp { service } => write!(f, "allocated by Kuryr for LoadBalancer service {service}"),
            KuryrRouter => f.write_str("named <CLUSTERID>-external-router, tagged, no interface left"),
            Installer => f.write_str("made by the installer; never deleted"),
            NodeTrunk => f.write_str("a node's trunk; only Kuryr's subports are removed"),
            NotThisClustersTrunk => f.write_str("a trunk that is not this cluster's"),
            TrunkParent => f.write_str("a trunk's parent port; never deleted"),
            ForeignPort => f.write_str("not Kuryr's (no cluster tag, no KuryrPort); name it with --delete-foreign-port to delete it"),
            SubportOfOtherTrunk { trunk } => write!(f, "a subport of trunk {trunk}, which is not this cluster's"),
            NotOnKuryrNetwork => f.write_str("Kuryr's port, but not on a KuryrNetwork's network"),
            BlockedBy { ports } => write!(f, "kept ports are on it: {}", ports.join(", ")),
            UnnamedSubnet => f.write_str("on a Kuryr network, but no KuryrNetwork names it"),
            NotKuryrNetwork => f.write_str("no KuryrNetwork names it"),
            ExternalNetwork => f.write_str("an external network"),
            NotTagged => f.write_str("Kuryr names it, but it lacks the cluster tag"),
            TaggedNotKuryr => f.write_str("tagged, but neither the pods group nor a network-policy group"),
            UsedByKeptPort { port } => write!(f, "kept port {port} uses it"),
            ReferencedBy { security_group } => write!(f, "a rule of kept security group {security_group} refers to it"),
            NotProvenKuryrs => f.write_str("not proven Kuryr's (Octavia < 2.5 needs a KuryrLoadBalancer naming it and the tag in its description)"),
            PoolInUse { subnets } => write!(f, "kept subnets allocate from it: {}", subnets.join(", ")),
            UsersFloatingIp => f.write_str("the user's floating IP (alloc_method user)"),
            NotNamedByKuryr => f.write_str("no KuryrLoadBalancer names it"),
            RouterNotNamed { expected } => write!(f, "not named {expected} (the user's router)"),
            InterfacesLeft { subnets } => write!(f, "interfaces stay on it: {}", subnets.join(", ")),
        }
    }
}

/// One object deleted or kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// Its kind.
    pub kind: ObjKind,
    /// Its ID (for a subport the port; for a router interface the subnet).
    pub id: String,
    /// Its name, for the report.
    pub name: String,
    /// The trunk of a subport, the router of an interface.
    pub parent: Option<String>,
    /// Why.
    pub reason: Reason,
    /// Deleted as a consequence of another delete (no call of its own).
    pub implicit: bool,
}

/// A Kubernetes action of the cleanup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum K8sAction {
    /// Remove `finalizer` (at `index` in the snapshot) from an object.
    RemoveFinalizer {
        kind: CrKind,
        namespace: String,
        name: String,
        finalizer: String,
        index: usize,
    },
    /// Delete `openshift-kuryr/service-subnet-gateway-ip` (C5).
    DeleteGatewayService,
    /// Delete the `openshift-kuryr` namespace (C8).
    DeleteKuryrNamespace,
    /// Delete a leftover KuryrNetwork CR.
    DeleteKuryrNetwork { namespace: String, name: String },
    /// Delete a Kuryr CRD.
    DeleteCrd { name: String },
}

/// What the selection needs besides the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectOptions {
    /// The cluster id (must be the snapshot's).
    pub cluster_id: String,
    /// Octavia's highest API version.
    pub octavia_version: (u32, u32),
    /// Ports the operator named with `--delete-foreign-port`.
    pub delete_foreign_ports: BTreeSet<String>,
}

/// Why no selection could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The snapshot is another cluster's.
    #[error(
        "select the cleanup: the snapshot is of cluster {snapshot}, not {given}; take a new snapshot of this cluster"
    )]
    WrongCluster { snapshot: String, given: String },
    /// `--delete-foreign-port` named a port that is not a foreign port on a Kuryr network.
    #[error(
        "use --delete-foreign-port {id}: {why}; name only ports the plan lists as kept foreign ports"
    )]
    BadForeignPort { id: String, why: String },
}

/// The whole selection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The cluster tag.
    pub tag: String,
    /// OpenStack objects to delete (including implicit ones).
    pub delete: Vec<Entry>,
    /// OpenStack objects kept on purpose.
    pub keep: Vec<Entry>,
    /// Kubernetes actions.
    pub k8s: Vec<K8sAction>,
}

impl Selection {
    /// Returns the IDs deleted, of one kind.
    pub fn deleted(&self, kind: ObjKind) -> BTreeSet<&str> {
        self.delete
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.id.as_str())
            .collect()
    }

    /// Returns the IDs kept, of one kind.
    pub fn kept(&self, kind: ObjKind) -> BTreeSet<&str> {
        self.keep
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.id.as_str())
            .collect()
    }

    /// Returns the entry of an ID in either list.
    pub fn entry(&self, kind: ObjKind, id: &str) -> Option<(&Entry, bool)> {
        self.delete
            .iter()
            .map(|e| (e, true))
            .chain(self.keep.iter().map(|e| (e, false)))
            .find(|(e, _)| e.kind == kind && e.id == id)
    }

    /// Returns counts by kind: (deleted, of which implicit, kept).
    pub fn counts(&self) -> BTreeMap<ObjKind, (usize, usize, usize)> {
        let mut c: BTreeMap<ObjKind, (usize, usize, usize)> = BTreeMap::new();
        for e in &self.delete {
            let x = c.entry(e.kind).or_default();
            x.0 += 1;
            x.1 += usize::from(e.implicit);
        }
        for e in &self.keep {
            c.entry(e.kind).or_default().2 += 1;
        }
        c
    }

    /// Returns the report: one line per object, deleted then kept, with the reason.
    pub fn report(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, (d, i, k)) in self.counts() {
            out.push(format!(
                "{kind}: {d} to delete ({i} with another object), {k} kept"
            ));
        }
        for (verb, list) in [("delete", &self.delete), ("keep", &self.keep)] {
            for e in list {
                let parent = e
                    .parent
                    .as_deref()
                    .map(|p| format!(" on {p}"))
                    .unwrap_or_default();
                out.push(format!(
                    "{verb} {} {} {:?}{parent}: {}",
                    e.kind, e.id, e.name, e.reason
                ));
            }
        }
        out
    }
}

fn entry(kind: ObjKind, id: &str, name: &str, reason: Reason) -> Entry {
    Entry {
        kind,
        id: id.to_string(),
        name: name.to_string(),
        parent: None,
        reason,
        implicit: false,
    }
}

fn is_installer(cluster: &str, name: &str, description: &str) -> bool {
    description.starts_with(INSTALLER_DESCRIPTION)
        || [
            format!("{cluster}-openshift"),
            format!("{cluster}-nodes"),
            format!("{cluster}-master"),
            format!("{cluster}-worker"),
        ]
        .iter()
        .any(|n| n == name)
}

fn is_np_description(description: &str) -> bool {
    description.starts_with(NP_SG_PREFIX) && description.ends_with(" SG")
}

/// Returns the selection for a snapshot; pure.
pub fn select(s: &Snapshot, opts: &SelectOptions) -> Result<Selection, SelectError> {
    if s.cluster_id != opts.cluster_id {
        return Err(SelectError::WrongCluster {
            snapshot: s.cluster_id.clone(),
            given: opts.cluster_id.clone(),
        });
    }
    let cluster = &opts.cluster_id;
    let tag = names::cluster_tag(cluster);
    let tagged = |tags: &[String]| tags.contains(&tag);
    let mut out = Selection {
        tag: tag.clone(),
        ..Default::default()
    };
    let mut keep = |e: Entry| out.keep.push(e);
    let mut delete: Vec<Entry> = Vec::new();

    // Networks and subnets named by KuryrNetworks, and the service network.
    let mut net_reason: BTreeMap<String, Reason> = BTreeMap::new();
    let mut subnet_reason: BTreeMap<String, Reason> = BTreeMap::new();
    for kn in &s.kuryr_networks {
        let why = Reason::KuryrNetwork {
            namespace: kn.meta.namespace.clone(),
        };
        if let Some(n) = &kn.net_id {
            net_reason.entry(n.clone()).or_insert(why.clone());
            if let Some(sub) = &kn.subnet_id
                && s.subnet(sub).is_some_and(|x| x.network_id == *n)
            {
                subnet_reason.entry(sub.clone()).or_insert(why);
            }
        }
    }
    if let Some(svc) = s.subnet(&s.kuryr_config.service_subnet)
        && tagged(&svc.tags)
        && s.network(&svc.network_id).is_some_and(|n| tagged(&n.tags))
    {
        net_reason
            .entry(svc.network_id.clone())
            .or_insert(Reason::ServiceNetwork);
        subnet_reason
            .entry(svc.id.clone())
            .or_insert(Reason::ServiceNetwork);
    }
    // Guards: never an external or installer network.
    let mut kuryr_nets: BTreeMap<String, Reason> = BTreeMap::new();
    for n in &s.networks {
        match net_reason.get(&n.id) {
            Some(_) if n.router_external == Some(true) => keep(entry(
                ObjKind::Network,
                &n.id,
                &n.name,
                Reason::ExternalNetwork,
            )),
            Some(_) if is_installer(cluster, &n.name, &n.description) => {
                keep(entry(ObjKind::Network, &n.id, &n.name, Reason::Installer))
            }
            Some(r) => {
                kuryr_nets.insert(n.id.clone(), r.clone());
            }
            None if is_installer(cluster, &n.name, &n.description) => {
                keep(entry(ObjKind::Network, &n.id, &n.name, Reason::Installer))
            }
            None if tagged(&n.tags) => keep(entry(
                ObjKind::Network,
                &n.id,
                &n.name,
                Reason::NotKuryrNetwork,
            )),
            None => {}
        }
    }
    subnet_reason.retain(|id, _| {
        s.subnet(id)
            .is_some_and(|x| kuryr_nets.contains_key(&x.network_id))
    });

    // Trunks: this cluster's are the tagged ones.
    let my_trunks: BTreeSet<&str> = s
        .trunks
        .iter()
        .filter(|t| tagged(&t.tags))
        .map(|t| t.id.as_str())
        .collect();
    let mut trunk_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut parents: BTreeSet<&str> = BTreeSet::new();
    for t in &s.trunks {
        parents.insert(t.port_id.as_str());
        for sp in &t.sub_ports {
            trunk_of.insert(sp.port_id.as_str(), t.id.as_str());
        }
        let why = if my_trunks.contains(t.id.as_str()) {
            Reason::NodeTrunk
        } else {
            Reason::NotThisClustersTrunk
        };
        keep(entry(ObjKind::Trunk, &t.id, &t.name, why));
    }
    let kuryr_port_of: BTreeMap<&str, String> = s
        .kuryr_ports
        .iter()
        .flat_map(|k| {
            let pod = format!("{}/{}", k.meta.namespace, k.meta.name);
            k.port_ids.iter().map(move |p| (p.as_str(), pod.clone()))
        })
        .collect();

    // Load balancers (decided before ports: their VIP ports go with them).
    let klb_names: BTreeSet<&str> = s
        .kuryr_load_balancers
        .iter()
        .filter_map(|k| k.lb_id.as_deref())
        .collect();
    let mut lb_delete: BTreeSet<&str> = BTreeSet::new();
    for t in &s.load_balancers {
        let lb = &t.lb;
        let why = if opts.octavia_version >= names::MIN_OCTAVIA_VERSION {
            if tagged(&lb.tags) {
                Ok(Reason::Tagged)
            } else if klb_names.contains(lb.id.as_str()) {
                Err(Reason::NotTagged)
            } else {
                Err(Reason::NotProvenKuryrs)
            }
        } else if klb_names.contains(lb.id.as_str()) && lb.description.contains(&tag) {
            Ok(Reason::NamedAndDescribed)
        } else {
            Err(Reason::NotProvenKuryrs)
        };
        match why {
            Ok(r) => {
                lb_delete.insert(lb.id.as_str());
                delete.push(entry(ObjKind::LoadBalancer, &lb.id, &lb.name, r));
            }
            Err(r) => keep(entry(ObjKind::LoadBalancer, &lb.id, &lb.name, r)),
        }
    }
    let lb_of_port = |p: &Port| -> Option<&str> {
        s.load_balancers
            .iter()
            .map(|t| &t.lb)
            .filter(|lb| lb_delete.contains(lb.id.as_str()))
            .find(|lb| {
                lb.vip_port_id.as_deref() == Some(p.id.as_str())
                    || (p.device_owner.starts_with("Octavia")
                        && p.device_id.contains(lb.id.as_str()))
            })
            .map(|lb| lb.id.as_str())
    };

    // Named foreign ports must be foreign ports on a Kuryr network.
    for id in &opts.delete_foreign_ports {
        let bad = |why: &str| SelectError::BadForeignPort {
            id: id.clone(),
            why: why.to_string(),
        };
        let p = s
            .port(id)
            .ok_or_else(|| bad("the snapshot has no such port"))?;
        if !kuryr_nets.contains_key(&p.network_id) {
            return Err(bad("it is not on a network the cleanup deletes"));
        }
        if tagged(&p.tags) || kuryr_port_of.contains_key(p.id.as_str()) {
            return Err(bad("it is Kuryr's own port, deleted anyway"));
        }
        if parents.contains(p.id.as_str()) {
            return Err(bad("it is a trunk's parent port"));
        }
        if let Some(t) = trunk_of.get(p.id.as_str()) {
            return Err(bad(&format!(
                "it is a subport of trunk {t}; remove it from that trunk first"
            )));
        }
        if INTERFACE_OWNERS.contains(&p.device_owner.as_str()) {
            return Err(bad("it is a router interface"));
        }
    }

    // Ports on Kuryr networks.
    let mut blockers: BTreeMap<String, Vec<String>> = BTreeMap::new(); // network -> kept ports
    let mut interfaces: Vec<&Port> = Vec::new();
    let mut deleted_ports: BTreeSet<&str> = BTreeSet::new();
    let mut kept_ports: BTreeSet<&str> = BTreeSet::new();
    for p in &s.ports {
        let on_kuryr = kuryr_nets.contains_key(&p.network_id);
        let kuryrs = tagged(&p.tags) || kuryr_port_of.contains_key(p.id.as_str());
        if parents.contains(p.id.as_str()) {
            if tagged(&p.tags) || on_kuryr {
                keep(entry(ObjKind::Port, &p.id, &p.name, Reason::TrunkParent));
                kept_ports.insert(&p.id);
            }
            if on_kuryr {
                blockers
                    .entry(p.network_id.clone())
                    .or_default()
                    .push(p.id.clone());
            }
            continue;
        }
        if !on_kuryr {
            if kuryrs {
                keep(entry(
                    ObjKind::Port,
                    &p.id,
                    &p.name,
                    Reason::NotOnKuryrNetwork,
                ));
                kept_ports.insert(&p.id);
            }
            continue;
        }
        if INTERFACE_OWNERS.contains(&p.device_owner.as_str()) {
            interfaces.push(p);
            continue;
        }
        if p.device_owner == DHCP {
            delete.push(Entry {
                implicit: true,
                ..entry(ObjKind::Port, &p.id, &p.name, Reason::WithNetwork)
            });
            continue;
        }
        if let Some(lb) = lb_of_port(p) {
            delete.push(Entry {
                implicit: true,
                ..entry(
                    ObjKind::Port,
                    &p.id,
                    &p.name,
                    Reason::WithLoadBalancer { lb: lb.to_string() },
                )
            });
            continue;
        }
        let trunk = trunk_of.get(p.id.as_str()).copied();
        let why = if opts.delete_foreign_ports.contains(&p.id) {
            Ok(Reason::OperatorNamed)
        } else if !kuryrs {
            Err(Reason::ForeignPort)
        } else if let Some(t) = trunk.filter(|t| !my_trunks.contains(t)) {
            Err(Reason::SubportOfOtherTrunk {
                trunk: t.to_string(),
            })
        } else if tagged(&p.tags) {
            Ok(Reason::TaggedPort)
        } else {
            Ok(Reason::KuryrPort {
                pod: kuryr_port_of[p.id.as_str()].clone(),
            })
        };
        match why {
            Ok(r) => {
                if let Some(t) = trunk {
                    delete.push(Entry {
                        parent: Some(t.to_string()),
                        ..entry(ObjKind::Subport, &p.id, &p.name, Reason::KuryrSubport)
                    });
                }
                delete.push(entry(ObjKind::Port, &p.id, &p.name, r));
                deleted_ports.insert(&p.id);
            }
            Err(r) => {
                if let Some(t) = trunk {
                    let mut e = entry(ObjKind::Subport, &p.id, &p.name, r.clone());
                    e.parent = Some(t.to_string());
                    keep(e);
                }
                keep(entry(ObjKind::Port, &p.id, &p.name, r));
                kept_ports.insert(&p.id);
                blockers
                    .entry(p.network_id.clone())
                    .or_default()
                    .push(p.id.clone());
            }
        }
    }
    // Subnets on Kuryr networks that no KuryrNetwork names block their network.
    for x in &s.subnets {
        if kuryr_nets.contains_key(&x.network_id) && !subnet_reason.contains_key(&x.id) {
            keep(entry(
                ObjKind::Subnet,
                &x.id,
                &x.name,
                Reason::UnnamedSubnet,
            ));
            blockers.entry(x.network_id.clone()).or_default();
        }
    }
    let blocked = |net: &str| {
        blockers.get(net).map(|ports| Reason::BlockedBy {
            ports: ports.clone(),
        })
    };

    // Networks, subnets, router interfaces.
    let mut deleted_subnets: BTreeSet<&str> = BTreeSet::new();
    for n in &s.networks {
        let Some(r) = kuryr_nets.get(&n.id) else {
            continue;
        };
        match blocked(&n.id) {
            Some(b) => keep(entry(ObjKind::Network, &n.id, &n.name, b)),
            None => delete.push(entry(ObjKind::Network, &n.id, &n.name, r.clone())),
        }
    }
    for x in &s.subnets {
        let Some(r) = subnet_reason.get(&x.id) else {
            continue;
        };
        match blocked(&x.network_id) {
            Some(b) => keep(entry(ObjKind::Subnet, &x.id, &x.name, b)),
            None => {
                deleted_subnets.insert(&x.id);
                delete.push(Entry {
                    implicit: true,
                    ..entry(ObjKind::Subnet, &x.id, &x.name, r.clone())
                });
            }
        }
    }
    let mut removed_interfaces: BTreeSet<(&str, &str)> = BTreeSet::new();
    for p in &interfaces {
        let subnet = p
            .fixed_ips
            .first()
            .map(|f| f.subnet_id.as_str())
            .unwrap_or_default();
        let mut e = entry(
            ObjKind::RouterInterface,
            subnet,
            &p.name,
            Reason::KuryrInterface,
        );
        e.parent = Some(p.device_id.clone());
        if deleted_subnets.contains(subnet) {
            removed_interfaces.insert((p.device_id.as_str(), subnet));
            delete.push(e);
        } else {
            e.reason = blocked(&p.network_id).unwrap_or(Reason::UnnamedSubnet);
            keep(e);
        }
    }

    // Floating IPs: only those a KuryrLoadBalancer names, allocated by Kuryr.
    let mut fip_named: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for k in &s.kuryr_load_balancers {
        if let Some(p) = &k.pub_ip {
            fip_named.insert(
                p.ip_id.as_str(),
                (
                    p.alloc_method.as_str(),
                    format!("{}/{}", k.meta.namespace, k.meta.name),
                ),
            );
        }
    }
    for f in &s.floating_ips {
        match fip_named.get(f.id.as_str()) {
            Some(("pool", svc)) => delete.push(entry(
                ObjKind::FloatingIp,
                &f.id,
                &f.floating_ip_address,
                Reason::KuryrFloatingIp {
                    service: svc.clone(),
                },
            )),
            Some(_) => keep(entry(
                ObjKind::FloatingIp,
                &f.id,
                &f.floating_ip_address,
                Reason::UsersFloatingIp,
            )),
            None => keep(entry(
                ObjKind::FloatingIp,
                &f.id,
                &f.floating_ip_address,
                Reason::NotNamedByKuryr,
            )),
        }
    }

    // Subnet pools: tagged, and no kept subnet allocates from them.
    for pool in &s.subnet_pools {
        if !tagged(&pool.tags) {
            keep(entry(
                ObjKind::SubnetPool,
                &pool.id,
                &pool.name,
                Reason::NotTagged,
            ));
            continue;
        }
        let users: Vec<String> = s
            .subnets
            .iter()
            .filter(|x| {
                x.subnetpool_id.as_deref() == Some(pool.id.as_str())
                    && !deleted_subnets.contains(x.id.as_str())
            })
            .map(|x| x.id.clone())
            .collect();
        if users.is_empty() {
            delete.push(entry(
                ObjKind::SubnetPool,
                &pool.id,
                &pool.name,
                Reason::Tagged,
            ));
        } else {
            keep(entry(
                ObjKind::SubnetPool,
                &pool.id,
                &pool.name,
                Reason::PoolInUse { subnets: users },
            ));
        }
    }

    // Security groups.
    let np_sg: BTreeMap<&str, String> = s
        .kuryr_network_policies
        .iter()
        .filter_map(|k| {
            Some((
                k.sg_id.as_deref()?,
                format!("{}/{}", k.meta.namespace, k.meta.name),
            ))
        })
        .collect();
    let pods_sgs: BTreeSet<&str> = s
        .kuryr_config
        .pod_security_groups
        .iter()
        .map(String::as_str)
        .collect();
    let mut sg_delete: BTreeMap<&str, Reason> = BTreeMap::new();
    let mut sg_keep: BTreeMap<&str, Reason> = BTreeMap::new();
    for g in &s.security_groups {
        let why = if is_installer(cluster, &g.name, &g.description) {
            Err(Reason::Installer)
        } else if let Some(policy) = np_sg.get(g.id.as_str()) {
            Ok(Reason::KuryrNetworkPolicy {
                policy: policy.clone(),
            })
        } else if pods_sgs.contains(g.id.as_str()) {
            if tagged(&g.tags) {
                Ok(Reason::PodsSecurityGroup)
            } else {
                Err(Reason::NotTagged)
            }
        } else if tagged(&g.tags) && is_np_description(&g.description) {
            Ok(Reason::TaggedAndDescribed)
        } else if tagged(&g.tags) {
            Err(Reason::TaggedNotKuryr)
        } else {
            Err(Reason::NotTagged)
        };
        match why {
            Ok(r) => sg_delete.insert(&g.id, r),
            Err(r) => sg_keep.insert(&g.id, r),
        };
    }
    // A group a kept port uses, or a kept group's rule refers to, stays (to a fixed point).
    loop {
        let mut moved = Vec::new();
        for id in sg_delete.keys() {
            if let Some(p) = s.ports.iter().find(|p| {
                kept_ports.contains(p.id.as_str()) && p.security_groups.iter().any(|g| g == id)
            }) {
                moved.push((*id, Reason::UsedByKeptPort { port: p.id.clone() }));
            } else if let Some(g) = s.security_groups.iter().find(|g| {
                sg_keep.contains_key(g.id.as_str())
                    && g.security_group_rules
                        .iter()
                        .any(|r| r.remote_group_id.as_deref() == Some(id))
            }) {
                moved.push((
                    *id,
                    Reason::ReferencedBy {
                        security_group: g.id.clone(),
                    },
                ));
            }
        }
        if moved.is_empty() {
            break;
        }
        for (id, r) in moved {
            sg_delete.remove(id);
            sg_keep.insert(id, r);
        }
    }
    for g in &s.security_groups {
        if let Some(r) = sg_delete.get(g.id.as_str()) {
            delete.push(entry(ObjKind::SecurityGroup, &g.id, &g.name, r.clone()));
        } else if let Some(r) = sg_keep.get(g.id.as_str())
            && (tagged(&g.tags)
                || np_sg.contains_key(g.id.as_str())
                || pods_sgs.contains(g.id.as_str()))
        {
            keep(entry(ObjKind::SecurityGroup, &g.id, &g.name, r.clone()));
        }
    }

    // The router, last.
    let expected = names::external_router_name(cluster);
    for r in &s.routers {
        let left: Vec<String> = s
            .ports
            .iter()
            .filter(|p| p.device_id == r.id && INTERFACE_OWNERS.contains(&p.device_owner.as_str()))
            .filter_map(|p| {
                let sub = p
                    .fixed_ips
                    .first()
                    .map(|f| f.subnet_id.as_str())
                    .unwrap_or_default();
                (!removed_interfaces.contains(&(r.id.as_str(), sub))).then(|| sub.to_string())
            })
            .collect();
        let why = if r.name != expected {
            Err(Reason::RouterNotNamed {
                expected: expected.clone(),
            })
        } else if !tagged(&r.tags) {
            Err(Reason::NotTagged)
        } else if !left.is_empty() {
            Err(Reason::InterfacesLeft { subnets: left })
        } else {
            Ok(Reason::KuryrRouter)
        };
        match why {
            Ok(reason) => delete.push(entry(ObjKind::Router, &r.id, &r.name, reason)),
            Err(reason) => keep(entry(ObjKind::Router, &r.id, &r.name, reason)),
        }
    }

    // Kubernetes.
    let fin = |kind: CrKind, meta: &super::snapshot::Meta, f: &str| {
        meta.finalizers
            .iter()
            .position(|x| x == f)
            .map(|index| K8sAction::RemoveFinalizer {
                kind,
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                finalizer: f.to_string(),
                index,
            })
    };
    let mut k8s: Vec<K8sAction> = Vec::new();
    for o in &s.finalized {
        let f = match o.kind {
            CrKind::Service => SERVICE_FINALIZER,
            CrKind::Pod => POD_FINALIZER,
            _ => NETWORK_POLICY_FINALIZER,
        };
        k8s.extend(fin(o.kind, &o.meta, f));
    }
    k8s.extend(s.kuryr_load_balancers.iter().filter_map(|k| {
        fin(
            CrKind::KuryrLoadBalancer,
            &k.meta,
            KURYR_LOADBALANCER_FINALIZER,
        )
    }));
    k8s.extend(
        s.kuryr_ports
            .iter()
            .filter_map(|k| fin(CrKind::KuryrPort, &k.meta, KURYR_PORT_FINALIZER)),
    );
    k8s.extend(s.kuryr_network_policies.iter().filter_map(|k| {
        fin(
            CrKind::KuryrNetworkPolicy,
            &k.meta,
            NETWORK_POLICY_FINALIZER,
        )
    }));
    k8s.extend(
        s.kuryr_networks
            .iter()
            .filter_map(|k| fin(CrKind::KuryrNetwork, &k.meta, KURYR_NETWORK_FINALIZER)),
    );
    if s.gateway_service {
        k8s.push(K8sAction::DeleteGatewayService);
    }
    if s.kuryr_namespace {
        k8s.push(K8sAction::DeleteKuryrNamespace);
    }
    k8s.extend(
        s.kuryr_networks
            .iter()
            .map(|k| K8sAction::DeleteKuryrNetwork {
                namespace: k.meta.namespace.clone(),
                name: k.meta.name.clone(),
            }),
    );
    k8s.extend(
        s.crds
            .iter()
            .map(|c| K8sAction::DeleteCrd { name: c.clone() }),
    );

    out.delete = delete;
    out.delete.sort();
    out.keep.sort();
    out.keep.dedup();
    out.k8s = k8s;
    Ok(out)
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
