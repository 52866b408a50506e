//! The C4–C22 operations as an explicit dependency graph, planned from the
//! selection and the snapshot; pure.
//!
//! One operation per object where the API is per object (a port, a network,
//! a security group, a finalizer), batched where the API allows: one
//! `remove_subports` per trunk with all of Kuryr's subports, one Octavia
//! cascade delete per load balancer (listeners, pools and members go with
//! it). Edges are per object and follow the spec's "Order": an LB before its
//! KuryrLoadBalancer's finalizer and before the network its VIP is on; a
//! trunk's `remove_subports` before its subports' deletes; every port and
//! router interface of a network before the network; every port using a
//! security group before the group; every network with a subnet from a pool
//! before the pool; all networks before the C19 check; C19 before the
//! KuryrNetwork finalizers; each CR's finalizer before its CRD; the router
//! last. Kubernetes finalizer removals with no OpenStack dependency
//! (C4, C11–C14) start at once. [`Graph::layers`] gives the topological
//! layers, [`Graph::critical_path`] the longest chain of dependent calls
//! (polls included) and [`Graph::digest`] the plan's content address.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::select::{K8sAction, ObjKind, Reason, Selection};
use super::snapshot::{CrKind, Snapshot};
use crate::kuryr::digest::canonical_json;

/// The documented step an operation belongs to (and what it adds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    C4,
    C5,
    C6,
    C7,
    C8,
    C9,
    C10,
    C11,
    C12,
    C13,
    C14,
    C15,
    C16,
    C17,
    C18,
    C19,
    C20,
    C21,
    C22,
    /// Floating IPs Kuryr allocated (not in the documented procedure).
    FloatingIps,
    /// Leftover KuryrNetwork CRs (not in the documented procedure).
    KuryrNetworkCrs,
    /// The Kuryr CRDs (not in the documented procedure).
    Crds,
}

/// One operation: one API call (plus the polls of an asynchronous one).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    /// JSON patch `test`+`remove` of `finalizer` at `index`.
    RemoveFinalizer {
        kind: CrKind,
        namespace: String,
        name: String,
        finalizer: String,
        index: usize,
    },
    /// `DELETE …/openshift-kuryr/services/service-subnet-gateway-ip`.
    DeleteGatewayService,
    /// `DELETE /api/v1/namespaces/openshift-kuryr`, polled to 404.
    DeleteKuryrNamespace,
    /// `DELETE /v2/lbaas/loadbalancers/{id}?cascade=true`, polled to 404.
    DeleteLoadBalancer { id: String },
    /// `PUT /v2.0/routers/{router}/remove_router_interface {"subnet_id"}`.
    RemoveRouterInterface { router: String, subnet: String },
    /// `PUT /v2.0/trunks/{trunk}/remove_subports` with every listed port.
    RemoveSubports { trunk: String, ports: Vec<String> },
    /// `DELETE /v2.0/ports/{id}`.
    DeletePort { id: String },
    /// `DELETE /v2.0/networks/{id}` (its subnets and DHCP ports go with it).
    DeleteNetwork { id: String },
    /// `DELETE /v2.0/security-groups/{id}`.
    DeleteSecurityGroup { id: String },
    /// `DELETE /v2.0/subnetpools/{id}`.
    DeleteSubnetPool { id: String },
    /// C19: `GET /v2.0/networks?tags=<tag>` ∩ these IDs must be empty.
    CheckNetworksGone { tag: String, ids: Vec<String> },
    /// `DELETE /v2.0/floatingips/{id}`.
    DeleteFloatingIp { id: String },
    /// `DELETE` a leftover KuryrNetwork CR.
    DeleteKuryrNetwork { namespace: String, name: String },
    /// `DELETE` a CRD.
    DeleteCrd { name: String },
    /// `DELETE /v2.0/routers/{id}`.
    DeleteRouter { id: String },
}

/// One node of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// A stable ID (`c16/port/<id>`, …).
    pub id: String,
    /// Its documented step.
    pub step: Step,
    /// What it does.
    pub op: Op,
    /// Calls on its chain in the usual case: 1, plus the polls of an asynchronous delete.
    pub calls: u32,
    /// IDs of the nodes that must be done first.
    pub after: Vec<String>,
}

/// Planning parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Polls until an Octavia cascade delete answers 404.
    pub lb_polls: u32,
    /// Polls until the `openshift-kuryr` namespace answers 404.
    pub namespace_polls: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            lb_polls: 1,
            namespace_polls: 1,
        }
    }
}

/// The plan: nodes in a topological order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

/// The finalizer step of each kind.
fn finalizer_step(kind: CrKind) -> Step {
    match kind {
        CrKind::Service => Step::C4,
        CrKind::KuryrLoadBalancer => Step::C7,
        CrKind::Pod => Step::C11,
        CrKind::KuryrPort => Step::C12,
        CrKind::NetworkPolicy => Step::C13,
        CrKind::KuryrNetworkPolicy => Step::C14,
        CrKind::KuryrNetwork => Step::C21,
    }
}

/// The CRD of a Kuryr kind.
fn crd_of(kind: CrKind) -> Option<&'static str> {
    match kind {
        CrKind::KuryrNetwork => Some("kuryrnetworks.openstack.org"),
        CrKind::KuryrPort => Some("kuryrports.openstack.org"),
        CrKind::KuryrLoadBalancer => Some("kuryrloadbalancers.openstack.org"),
        CrKind::KuryrNetworkPolicy => Some("kuryrnetworkpolicies.openstack.org"),
        _ => None,
    }
}

struct Builder {
    nodes: BTreeMap<String, Node>,
}

impl Builder {
    fn add(&mut self, id: String, step: Step, op: Op, calls: u32) -> String {
        self.nodes.insert(
            id.clone(),
            Node {
                id: id.clone(),
                step,
                op,
                calls,
                after: Vec::new(),
            },
        );
        id
    }

    fn edge(&mut self, before: &str, after: &str) {
        if before == after || !self.nodes.contains_key(before) {
            return;
        }
        if let Some(n) = self.nodes.get_mut(after)
            && !n.after.iter().any(|a| a == before)
        {
            n.after.push(before.to_string());
        }
    }
}

fn lb_id(id: &str) -> String {
    format!("c6/lb/{id}")
}
fn port_id(id: &str) -> String {
    format!("c16/port/{id}")
}
fn net_id(id: &str) -> String {
    format!("c16/network/{id}")
}
fn iface_id(router: &str, subnet: &str) -> String {
    format!("c16/interface/{router}/{subnet}")
}
fn trunk_id(id: &str) -> String {
    format!("c15/trunk/{id}")
}
fn sg_id(id: &str) -> String {
    format!("sg/{id}")
}
fn fin_id(kind: CrKind, ns: &str, name: &str) -> String {
    format!("finalizer/{kind:?}/{ns}/{name}")
}

/// Plans the graph of a selection; pure.
pub fn plan(s: &Snapshot, x: &Selection, opts: PlanOptions) -> Graph {
    let mut b = Builder {
        nodes: BTreeMap::new(),
    };
    let svc_net = s
        .subnet(&s.kuryr_config.service_subnet)
        .map(|x| x.network_id.clone());

    // Kubernetes: finalizers, the gateway service, the namespace, CRs, CRDs.
    for a in &x.k8s {
        match a {
            K8sAction::RemoveFinalizer {
                kind,
                namespace,
                name,
                finalizer,
                index,
            } => {
                b.add(
                    fin_id(*kind, namespace, name),
                    finalizer_step(*kind),
                    Op::RemoveFinalizer {
                        kind: *kind,
                        namespace: namespace.clone(),
                        name: name.clone(),
                        finalizer: finalizer.clone(),
                        index: *index,
                    },
                    1,
                );
            }
            K8sAction::DeleteGatewayService => {
                b.add(
                    "c5/gateway-service".into(),
                    Step::C5,
                    Op::DeleteGatewayService,
                    1,
                );
            }
            K8sAction::DeleteKuryrNamespace => {
                b.add(
                    "c8/namespace".into(),
                    Step::C8,
                    Op::DeleteKuryrNamespace,
                    1 + opts.namespace_polls,
                );
            }
            K8sAction::DeleteKuryrNetwork { namespace, name } => {
                b.add(
                    format!("kn/{namespace}/{name}"),
                    Step::KuryrNetworkCrs,
                    Op::DeleteKuryrNetwork {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    },
                    1,
                );
            }
            K8sAction::DeleteCrd { name } => {
                b.add(
                    format!("crd/{name}"),
                    Step::Crds,
                    Op::DeleteCrd { name: name.clone() },
                    1,
                );
            }
        }
    }

    // OpenStack.
    let mut subports: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in x.delete.iter().filter(|e| !e.implicit) {
        match e.kind {
            ObjKind::LoadBalancer => {
                b.add(
                    lb_id(&e.id),
                    Step::C6,
                    Op::DeleteLoadBalancer { id: e.id.clone() },
                    1 + opts.lb_polls,
                );
            }
            ObjKind::FloatingIp => {
                b.add(
                    format!("fip/{}", e.id),
                    Step::FloatingIps,
                    Op::DeleteFloatingIp { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::Subport => {
                if let Some(t) = &e.parent {
                    subports.entry(t.as_str()).or_default().push(e.id.clone());
                }
            }
            ObjKind::Port => {
                b.add(
                    port_id(&e.id),
                    Step::C16,
                    Op::DeletePort { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::RouterInterface => {
                let router = e.parent.clone().unwrap_or_default();
                let step = if Some(&e.id) == Some(&s.kuryr_config.service_subnet) {
                    Step::C9
                } else {
                    Step::C16
                };
                b.add(
                    iface_id(&router, &e.id),
                    step,
                    Op::RemoveRouterInterface {
                        router,
                        subnet: e.id.clone(),
                    },
                    1,
                );
            }
            ObjKind::Network => {
                let step = if svc_net.as_deref() == Some(e.id.as_str()) {
                    Step::C10
                } else {
                    Step::C16
                };
                b.add(
                    net_id(&e.id),
                    step,
                    Op::DeleteNetwork { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::SubnetPool => {
                b.add(
                    format!("c18/pool/{}", e.id),
                    Step::C18,
                    Op::DeleteSubnetPool { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::SecurityGroup => {
                let step = if matches!(e.reason, Reason::PodsSecurityGroup) {
                    Step::C17
                } else {
                    Step::C20
                };
                b.add(
                    sg_id(&e.id),
                    step,
                    Op::DeleteSecurityGroup { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::Router => {
                b.add(
                    format!("c22/router/{}", e.id),
                    Step::C22,
                    Op::DeleteRouter { id: e.id.clone() },
                    1,
                );
            }
            ObjKind::Subnet | ObjKind::Trunk => {}
        }
    }
    for (trunk, mut ports) in subports {
        ports.sort();
        b.add(
            trunk_id(trunk),
            Step::C15,
            Op::RemoveSubports {
                trunk: trunk.to_string(),
                ports,
            },
            1,
        );
    }
    let deleted_nets: Vec<String> = x
        .deleted(ObjKind::Network)
        .into_iter()
        .map(str::to_string)
        .collect();
    if !deleted_nets.is_empty() {
        b.add(
            "c19/check".into(),
            Step::C19,
            Op::CheckNetworksGone {
                tag: x.tag.clone(),
                ids: deleted_nets.clone(),
            },
            1,
        );
    }

    // Edges.
    let ids: Vec<String> = b.nodes.keys().cloned().collect();
    let lb_of_port: BTreeMap<&str, &str> = x
        .delete
        .iter()
        .filter_map(|e| match &e.reason {
            Reason::WithLoadBalancer { lb } => Some((e.id.as_str(), lb.as_str())),
            _ => None,
        })
        .collect();
    for id in &ids {
        let op = b.nodes[id].op.clone();
        match &op {
            Op::RemoveFinalizer {
                kind: CrKind::KuryrLoadBalancer,
                namespace,
                name,
                ..
            } => {
                if let Some(lb) = s
                    .kuryr_load_balancers
                    .iter()
                    .find(|k| k.meta.namespace == *namespace && k.meta.name == *name)
                    .and_then(|k| k.lb_id.as_deref())
                {
                    b.edge(&lb_id(lb), id);
                }
            }
            Op::RemoveFinalizer {
                kind: CrKind::KuryrNetwork,
                ..
            } => b.edge("c19/check", id),
            Op::DeleteKuryrNamespace => b.edge("c5/gateway-service", id),
            Op::DeletePort { id: p } => {
                if let Some(t) = s
                    .trunks
                    .iter()
                    .find(|t| t.sub_ports.iter().any(|sp| sp.port_id == *p))
                {
                    b.edge(&trunk_id(&t.id), id);
                }
            }
            Op::DeleteNetwork { id: n } => {
                for p in s.ports.iter().filter(|p| p.network_id == *n) {
                    b.edge(&port_id(&p.id), id);
                    if let Some(lb) = lb_of_port.get(p.id.as_str()) {
                        b.edge(&lb_id(lb), id);
                    }
                    if !p.device_id.is_empty() {
                        for f in &p.fixed_ips {
                            b.edge(&iface_id(&p.device_id, &f.subnet_id), id);
                        }
                    }
                }
            }
            Op::DeleteSecurityGroup { id: g } => {
                for p in s
                    .ports
                    .iter()
                    .filter(|p| p.security_groups.iter().any(|x| x == g))
                {
                    b.edge(&port_id(&p.id), id);
                    if let Some(lb) = lb_of_port.get(p.id.as_str()) {
                        b.edge(&lb_id(lb), id);
                    }
                }
                // A group referring to this one goes first (unless they refer to each other).
                for other in s.security_groups.iter().filter(|o| o.id != *g) {
                    let refers = |a: &crate::openstack::neutron::SecurityGroup, to: &str| {
                        a.security_group_rules
                            .iter()
                            .any(|r| r.remote_group_id.as_deref() == Some(to))
                    };
                    let this = s.security_group(g);
                    if refers(other, g) && !this.is_some_and(|t| refers(t, &other.id)) {
                        b.edge(&sg_id(&other.id), id);
                    }
                }
            }
            Op::DeleteSubnetPool { id: pool } => {
                for sub in s
                    .subnets
                    .iter()
                    .filter(|x| x.subnetpool_id.as_deref() == Some(pool.as_str()))
                {
                    b.edge(&net_id(&sub.network_id), id);
                }
            }
            Op::CheckNetworksGone { ids: nets, .. } => {
                for n in nets {
                    b.edge(&net_id(n), id);
                }
            }
            Op::DeleteKuryrNetwork { namespace, name } => {
                b.edge(&fin_id(CrKind::KuryrNetwork, namespace, name), id);
            }
            Op::DeleteCrd { name } => {
                for other in &ids {
                    let n = &b.nodes[other];
                    let belongs = match &n.op {
                        Op::RemoveFinalizer { kind, .. } => crd_of(*kind) == Some(name.as_str()),
                        Op::DeleteKuryrNetwork { .. } => name == "kuryrnetworks.openstack.org",
                        _ => false,
                    };
                    if belongs {
                        let o = other.clone();
                        b.edge(&o, id);
                    }
                }
            }
            Op::DeleteRouter { id: r } => {
                for other in &ids {
                    if matches!(&b.nodes[other].op, Op::RemoveRouterInterface { router, .. } if router == r)
                    {
                        let o = other.clone();
                        b.edge(&o, id);
                    }
                }
                b.edge("c19/check", id);
            }
            _ => {}
        }
    }
    for n in b.nodes.values_mut() {
        n.after.sort();
    }
    topo(b.nodes)
}

/// Orders nodes by layer, then ID; a cycle (a planning bug) panics in tests, never in a run.
fn topo(nodes: BTreeMap<String, Node>) -> Graph {
    let layer = layers_of(&nodes);
    let mut v: Vec<Node> = nodes.into_values().collect();
    v.sort_by(|a, b| (layer[&a.id], &a.id).cmp(&(layer[&b.id], &b.id)));
    Graph { nodes: v }
}

/// Returns each node's layer: 0 without dependencies, else 1 + the highest of its dependencies'.
fn layers_of(nodes: &BTreeMap<String, Node>) -> BTreeMap<String, usize> {
    let mut layer: BTreeMap<String, usize> = BTreeMap::new();
    let mut left: BTreeSet<&str> = nodes.keys().map(String::as_str).collect();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|id| nodes[*id].after.iter().all(|a| layer.contains_key(a)))
            .collect();
        assert!(
            !ready.is_empty(),
            "the cleanup graph has a cycle among {left:?}"
        );
        for id in ready {
            let l = nodes[id]
                .after
                .iter()
                .map(|a| layer[a] + 1)
                .max()
                .unwrap_or(0);
            layer.insert(id.to_string(), l);
            left.remove(id);
        }
    }
    layer
}

impl Graph {
    /// Returns the node with this ID.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Returns the topological layers: every node of a layer depends only on earlier layers.
    pub fn layers(&self) -> Vec<Vec<&Node>> {
        let map: BTreeMap<String, Node> = self
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.clone()))
            .collect();
        let layer = layers_of(&map);
        let depth = layer.values().copied().max().map_or(0, |d| d + 1);
        let mut out: Vec<Vec<&Node>> = vec![Vec::new(); depth];
        for n in &self.nodes {
            out[layer[&n.id]].push(n);
        }
        out
    }

    /// Returns the total number of calls (polls included).
    pub fn calls(&self) -> u64 {
        self.nodes.iter().map(|n| u64::from(n.calls)).sum()
    }

    /// Returns the critical path: the most calls along one chain of dependencies, and that chain.
    pub fn critical_path(&self) -> (u64, Vec<&str>) {
        let mut best: BTreeMap<&str, (u64, Option<&str>)> = BTreeMap::new();
        for n in &self.nodes {
            let prev = n
                .after
                .iter()
                .map(|a| (best[a.as_str()].0, a.as_str()))
                .max();
            let (len, from) = match prev {
                Some((l, a)) => (l, Some(a)),
                None => (0, None),
            };
            best.insert(n.id.as_str(), (len + u64::from(n.calls), from));
        }
        let Some((&end, &(len, _))) = best
            .iter()
            .max_by_key(|(id, (l, _))| (*l, std::cmp::Reverse(**id)))
        else {
            return (0, Vec::new());
        };
        let mut chain = vec![end];
        let mut at = end;
        while let Some(prev) = best[at].1 {
            chain.push(prev);
            at = prev;
        }
        chain.reverse();
        (len, chain)
    }

    /// Returns the number of nodes per step.
    pub fn per_step(&self) -> BTreeMap<Step, usize> {
        let mut m = BTreeMap::new();
        for n in &self.nodes {
            *m.entry(n.step).or_default() += 1;
        }
        m
    }

    /// Returns the hex blake3 of the canonical JSON of the plan.
    pub fn digest(&self) -> String {
        let v = serde_json::to_value(self).expect("a graph always serializes");
        blake3::hash(canonical_json(&v).as_bytes())
            .to_hex()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;
    use crate::kuryr::cleanup::select::{SelectOptions, select};

    fn graph_of(s: &Snapshot) -> Graph {
        let x = select(
            s,
            &SelectOptions {
                cluster_id: "c1".into(),
                octavia_version: (2, 26),
                ..Default::default()
            },
        )
        .unwrap();
        plan(s, &x, PlanOptions::default())
    }

    fn before(g: &Graph, a: &str, b: &str) -> bool {
        // a is a (transitive) dependency of b.
        let mut stack = vec![b];
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            let n = g.node(id).unwrap_or_else(|| panic!("no node {id}"));
            for d in &n.after {
                if d == a {
                    return true;
                }
                if seen.insert(d.as_str()) {
                    stack.push(d);
                }
            }
        }
        false
    }

    #[test]
    fn one_remove_subports_per_trunk_and_one_cascade_delete_per_lb() {
        let g = graph_of(&fixture::snapshot());
        let subports: Vec<&Node> = g.nodes.iter().filter(|n| n.step == Step::C15).collect();
        assert_eq!(subports.len(), 1);
        assert_eq!(
            subports[0].op,
            Op::RemoveSubports {
                trunk: "trunk-1".into(),
                ports: vec!["pod-a1".into(), "pod-a2".into(), "pod-b1".into()]
            }
        );
        assert_eq!(g.per_step()[&Step::C6], 2);
        assert!(g.nodes.iter().all(|n| !matches!(&n.op, Op::DeletePort { id } if id.starts_with("vip") || id.starts_with("dhcp"))));
        assert_eq!(
            g.node("c6/lb/lb-1").unwrap().calls,
            2,
            "delete plus one poll"
        );
    }

    #[test]
    fn the_spec_order_holds_per_object() {
        let mut s = fixture::snapshot();
        s.ports.retain(|p| p.id != "ri-nodes");
        let g = graph_of(&s);
        assert!(before(
            &g,
            "c6/lb/lb-1",
            "finalizer/KuryrLoadBalancer/a/svc-1"
        ));
        assert!(before(&g, "c6/lb/lb-1", "c16/network/svc-net"));
        assert!(before(
            &g,
            "c16/interface/router/svc-sub",
            "c16/network/svc-net"
        ));
        assert_eq!(
            g.node("c16/interface/router/svc-sub").unwrap().step,
            Step::C9
        );
        assert_eq!(g.node("c16/network/svc-net").unwrap().step, Step::C10);
        assert!(before(&g, "c15/trunk/trunk-1", "c16/port/pod-a1"));
        assert!(before(&g, "c16/port/pod-a1", "c16/network/net-a"));
        assert!(before(
            &g,
            "c16/interface/router/sub-a",
            "c16/network/net-a"
        ));
        assert!(before(&g, "c16/port/pod-b1", "sg/pods-sg"));
        assert!(before(&g, "c16/port/pod-a1", "sg/np-sg-a"));
        assert!(before(&g, "c16/network/net-b", "c18/pool/pool"));
        assert!(before(&g, "c16/network/net-a", "c19/check"));
        assert!(before(&g, "c19/check", "finalizer/KuryrNetwork/a/a"));
        assert!(before(&g, "finalizer/KuryrNetwork/a/a", "kn/a/a"));
        assert!(before(&g, "kn/b/b", "crd/kuryrnetworks.openstack.org"));
        assert!(before(
            &g,
            "finalizer/KuryrPort/a/pod-a1",
            "crd/kuryrports.openstack.org"
        ));
        assert!(before(
            &g,
            "c16/interface/router/sub-b",
            "c22/router/router"
        ));
        assert!(before(&g, "c19/check", "c22/router/router"));
        assert!(before(&g, "c5/gateway-service", "c8/namespace"));
        // Finalizers with no OpenStack dependency start at once.
        for id in [
            "finalizer/Service/a/svc-1",
            "finalizer/Pod/a/pod-a1",
            "finalizer/KuryrPort/a/pod-a1",
            "c15/trunk/trunk-1",
            "fip/fip-1",
        ] {
            assert!(g.node(id).unwrap().after.is_empty(), "{id}");
        }
        let layers = g.layers();
        let pos: BTreeMap<&str, usize> = layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.iter().map(move |n| (n.id.as_str(), i)))
            .collect();
        for n in &g.nodes {
            for d in &n.after {
                assert!(pos[d.as_str()] < pos[n.id.as_str()], "{d} before {}", n.id);
            }
        }
    }

    #[test]
    fn critical_path_counts_dependent_calls_with_polls() {
        let mut s = fixture::snapshot();
        s.ports.retain(|p| p.id != "ri-nodes");
        let g = graph_of(&s);
        let (len, chain) = g.critical_path();
        // lb (1 + 1 poll) → service network → C19 → KN finalizer → KN delete → CRD.
        assert_eq!(len, 7, "{chain:?}");
        assert!(chain[0].starts_with("c6/lb/"), "{chain:?}");
        assert_eq!(chain.len(), 6, "{chain:?}");
        assert_eq!(chain.last(), Some(&"crd/kuryrnetworks.openstack.org"));
        let slow = plan(
            &s,
            &select(
                &s,
                &SelectOptions {
                    cluster_id: "c1".into(),
                    octavia_version: (2, 26),
                    ..Default::default()
                },
            )
            .unwrap(),
            PlanOptions {
                lb_polls: 10,
                namespace_polls: 1,
            },
        );
        assert_eq!(slow.critical_path().0, 16);
        assert!(g.calls() >= g.nodes.len() as u64);
    }

    #[test]
    fn the_digest_changes_with_the_plan_only() {
        let s = fixture::snapshot();
        let a = graph_of(&s);
        assert_eq!(a.digest(), graph_of(&s).digest());
        let mut t = s.clone();
        t.ports.retain(|p| p.id != "pod-b1");
        assert_ne!(graph_of(&t).digest(), a.digest());
    }

    #[test]
    fn a_kept_network_has_no_delete_and_no_c19_entry() {
        let mut s = fixture::snapshot();
        s.ports.push(fixture::port(
            "vm",
            "net-a",
            "sub-a",
            "compute:nova",
            "x",
            vec![],
        ));
        s.normalize();
        let g = graph_of(&s);
        assert!(g.node("c16/network/net-a").is_none());
        assert!(g.node("c16/interface/router/sub-a").is_none());
        let Op::CheckNetworksGone { ids, .. } = &g.node("c19/check").unwrap().op else {
            panic!()
        };
        assert!(!ids.contains(&"net-a".to_string()));
        assert!(g.node("c16/port/vm").is_none());
    }
}
