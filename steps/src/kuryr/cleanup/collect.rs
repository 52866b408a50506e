//! Reading the C0 snapshot: read-only calls to Kubernetes and OpenStack.
//!
//! Kubernetes first (the cluster id, `kuryr-config`, every Kuryr CR and every
//! Service/Pod/NetworkPolicy carrying a Kuryr finalizer, listed cluster-wide
//! with pagination), then OpenStack in two rounds: the objects the CRs and
//! `kuryr-config` name plus the tagged collections the rules need (LBs and
//! subnet pools by tag, this cluster's trunks, tagged SGs, networks and
//! floating IPs), then what hangs off them (every port on each Kuryr network,
//! each router's interfaces, the project's listeners and pools in two lists
//! and the members of this cluster's pools, subnets of
//! each pool, trunk parent ports). Every OpenStack call takes a permit of one
//! semaphore, so at most `concurrency` are in flight (use 1 against the real
//! services on SQLite). A named object that answers 404 is recorded in
//! [`Snapshot::missing`], never silently dropped. Nothing here writes.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::future::try_join_all;
use tokio::sync::Semaphore;

use super::snapshot::{
    CrKind, KuryrLoadBalancerCr, KuryrNetworkCr, KuryrNetworkPolicyCr, KuryrPortCr,
    LoadBalancerTree, Missing, PoolTree, SNAPSHOT_FORMAT, Snapshot, finalized,
};
use crate::kube::{self, Kind, KubeClient, KubeError, ObjectRef};
use crate::kuryr::identity::{self, IdentityError, KuryrConfig};
use crate::kuryr::names::{
    CLUSTER, KURYR_CONFIGMAP, KURYR_NAMESPACE, MIN_OCTAVIA_VERSION, SERVICE_SUBNET_GATEWAY_SERVICE,
};
use crate::openstack::neutron::{Port, Trunk};
use crate::openstack::octavia::{Listener, Pool};
use crate::openstack::{self, OpenStack, Query};

/// The Kuryr CRDs, by name.
pub const KURYR_CRDS: [&str; 4] = [
    "kuryrnetworks.openstack.org",
    "kuryrports.openstack.org",
    "kuryrloadbalancers.openstack.org",
    "kuryrnetworkpolicies.openstack.org",
];

/// Default number of OpenStack reads in flight.
pub const DEFAULT_READ_CONCURRENCY: usize = 16;

/// Why the snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A Kubernetes read failed.
    #[error("read the cluster for the cleanup snapshot: {0}")]
    Kube(#[from] KubeError),
    /// An OpenStack read failed.
    #[error("read OpenStack for the cleanup snapshot: {0}")]
    OpenStack(#[from] openstack::Error),
    /// The cluster id or `kuryr-config` is missing or unreadable.
    #[error("read Kuryr's identity for the cleanup snapshot: {0}")]
    Identity(#[from] IdentityError),
    /// `kuryr-config` does not exist.
    #[error(
        "read configmaps/{KURYR_CONFIGMAP} in namespace {KURYR_NAMESPACE}: it does not exist; the cleanup needs it to find Kuryr's resources (was the cleanup already run, or is this not a Kuryr cluster?)"
    )]
    NoKuryrConfig,
    /// `infrastructures/cluster` does not exist.
    #[error(
        "read infrastructures.config.openshift.io/cluster: it does not exist; is this an OpenShift cluster?"
    )]
    NoInfrastructure,
}

/// The Kubernetes half of the snapshot.
#[derive(Clone, Debug, Default)]
pub struct KubeSide {
    pub cluster_id: String,
    pub kuryr_conf: String,
    pub kuryr_config: KuryrConfig,
    pub snapshot: Snapshot,
}

/// Reads the Kubernetes side: cluster id, `kuryr-config`, Kuryr CRs, finalized objects, CRDs.
pub async fn read_kubernetes(kc: &KubeClient) -> Result<KubeSide, CollectError> {
    let infra = kube::get(kc, &ObjectRef::cluster(Kind::Infrastructure, CLUSTER))
        .await?
        .ok_or(CollectError::NoInfrastructure)?;
    let cluster_id = identity::cluster_id(&infra)?;
    let cm = kube::get(
        kc,
        &ObjectRef::namespaced(Kind::ConfigMap, KURYR_NAMESPACE, KURYR_CONFIGMAP),
    )
    .await?
    .ok_or(CollectError::NoKuryrConfig)?;
    let kuryr_config = KuryrConfig::from_configmap(&cm)?;
    // Kept for the record, never a secret in it: the snapshot is journaled.
    let kuryr_conf =
        crate::redact::ini_secrets(cm["data"]["kuryr.conf"].as_str().unwrap_or_default())
            .into_owned();

    let (kns, kps, klbs, knps, services, pods, nps) = tokio::try_join!(
        kube::list_all(kc, Kind::KuryrNetwork, None, None),
        kube::list_all(kc, Kind::KuryrPort, None, None),
        kube::list_all(kc, Kind::KuryrLoadBalancer, None, None),
        kube::list_all(kc, Kind::KuryrNetworkPolicy, None, None),
        kube::list_all(kc, Kind::Service, None, None),
        kube::list_all(kc, Kind::Pod, None, None),
        kube::list_all(kc, Kind::NetworkPolicy, None, None),
    )?;
    let mut s = Snapshot {
        format: SNAPSHOT_FORMAT,
        cluster_id: cluster_id.clone(),
        kuryr_conf: kuryr_conf.clone(),
        kuryr_config: kuryr_config.clone(),
        kuryr_networks: kns.iter().map(KuryrNetworkCr::of).collect(),
        kuryr_ports: kps.iter().map(KuryrPortCr::of).collect(),
        kuryr_load_balancers: klbs.iter().map(KuryrLoadBalancerCr::of).collect(),
        kuryr_network_policies: knps.iter().map(KuryrNetworkPolicyCr::of).collect(),
        ..Default::default()
    };
    for (kind, items) in [
        (CrKind::Service, &services),
        (CrKind::Pod, &pods),
        (CrKind::NetworkPolicy, &nps),
    ] {
        s.finalized
            .extend(items.iter().filter_map(|o| finalized(kind, o)));
    }
    for crd in KURYR_CRDS {
        if kube::get(kc, &ObjectRef::cluster(Kind::CustomResourceDefinition, crd))
            .await?
            .is_some()
        {
            s.crds.push(crd.to_string());
        }
    }
    s.gateway_service = kube::get(
        kc,
        &ObjectRef::namespaced(
            Kind::Service,
            KURYR_NAMESPACE,
            SERVICE_SUBNET_GATEWAY_SERVICE,
        ),
    )
    .await?
    .is_some();
    s.kuryr_namespace = kube::get(kc, &ObjectRef::cluster(Kind::Namespace, KURYR_NAMESPACE))
        .await?
        .is_some();
    Ok(KubeSide {
        cluster_id,
        kuryr_conf,
        kuryr_config,
        snapshot: s,
    })
}

/// OpenStack reads, each holding one permit of a shared semaphore.
struct Reader<'a> {
    os: &'a OpenStack,
    bound: Bound,
}

/// At most N futures run at once: each holds a permit while it runs (a
/// future does nothing until polled, so the call starts after the permit).
struct Bound(Semaphore);

impl Bound {
    fn new(n: usize) -> Bound {
        Bound(Semaphore::new(n.max(1)))
    }

    async fn run<F: Future>(&self, f: F) -> F::Output {
        let _permit = self
            .0
            .acquire()
            .await
            .expect("the semaphore is never closed");
        f.await
    }
}

impl Reader<'_> {
    async fn run<T>(
        &self,
        f: impl Future<Output = Result<T, openstack::Error>>,
    ) -> Result<T, openstack::Error> {
        self.bound.run(f).await
    }

    /// Lists the ports with `key=value`.
    async fn ports_where(&self, key: &str, value: &str) -> Result<Vec<Port>, openstack::Error> {
        let q = Query::new().eq(key, value);
        self.run(self.os.list_ports(&q)).await
    }

    /// Lists the subnets with `key=value`.
    async fn subnets_where(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<crate::openstack::neutron::Subnet>, openstack::Error> {
        let q = Query::new().eq(key, value);
        self.run(self.os.list_subnets(&q)).await
    }

    /// Runs a GET of one object; 404 becomes `None`.
    async fn get_opt<T>(
        &self,
        f: impl Future<Output = Result<T, openstack::Error>>,
    ) -> Result<Option<T>, openstack::Error> {
        match self.run(f).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Who named an ID, for [`Missing`] records.
type Named = BTreeMap<String, String>;

fn name(map: &mut Named, id: &Option<String>, by: String) {
    if let Some(id) = id {
        map.entry(id.clone()).or_insert(by);
    }
}

/// Reads the OpenStack side for a Kubernetes side, with at most `concurrency` calls in flight.
pub async fn read_openstack(
    os: &OpenStack,
    kube_side: KubeSide,
    concurrency: usize,
) -> Result<Snapshot, CollectError> {
    let r = Reader {
        os,
        bound: Bound::new(concurrency),
    };
    let mut s = kube_side.snapshot;
    s.project_id = r.run(os.project_id()).await?;
    s.octavia_version = r.run(os.octavia_max_version()).await?;
    let tag = s.tag();
    let cfg = kube_side.kuryr_config;

    // Who names what.
    let (mut nets, mut subnets, mut routers, mut sgs, mut lbs, mut fips, mut pools) = (
        Named::new(),
        Named::new(),
        Named::new(),
        Named::new(),
        Named::new(),
        Named::new(),
        Named::new(),
    );
    for kn in &s.kuryr_networks {
        let who = |f: &str| {
            format!(
                "KuryrNetwork {}/{} status.{f}",
                kn.meta.namespace, kn.meta.name
            )
        };
        name(&mut nets, &kn.net_id, who("netId"));
        name(&mut subnets, &kn.subnet_id, who("subnetId"));
        name(&mut routers, &kn.router_id, who("routerId"));
    }
    let conf = |k: &str| format!("{KURYR_CONFIGMAP} {k}");
    name(
        &mut routers,
        &Some(cfg.pod_router.clone()),
        conf("pod_router"),
    );
    name(
        &mut subnets,
        &Some(cfg.service_subnet.clone()),
        conf("service_subnet"),
    );
    name(&mut pools, &cfg.pod_subnet_pool, conf("pod_subnet_pool"));
    for sg in &cfg.pod_security_groups {
        name(&mut sgs, &Some(sg.clone()), conf("pod_security_groups"));
    }
    for knp in &s.kuryr_network_policies {
        let by = format!(
            "KuryrNetworkPolicy {}/{} status.securityGroupId",
            knp.meta.namespace, knp.meta.name
        );
        name(&mut sgs, &knp.sg_id, by);
    }
    for klb in &s.kuryr_load_balancers {
        let who = |f: &str| {
            format!(
                "KuryrLoadBalancer {}/{} status.{f}",
                klb.meta.namespace, klb.meta.name
            )
        };
        name(&mut lbs, &klb.lb_id, who("loadbalancer.id"));
        name(
            &mut fips,
            &klb.pub_ip.as_ref().map(|p| p.ip_id.clone()),
            who("service_pub_ip_info.ip_id"),
        );
    }
    let tagged = Query::new().tags(&[&tag]);
    let lb_query = if s.octavia_version >= MIN_OCTAVIA_VERSION {
        tagged.clone()
    } else {
        Query::new()
    };

    let every = Query::new();

    // Round one: named objects and tagged collections.
    let (n_named, s_named, r_named, sg_named, p_named, f_named) = tokio::try_join!(
        try_join_all(nets.keys().map(|id| r.get_opt(os.get_network(id)))),
        try_join_all(subnets.keys().map(|id| r.get_opt(os.get_subnet(id)))),
        try_join_all(routers.keys().map(|id| r.get_opt(os.get_router(id)))),
        try_join_all(sgs.keys().map(|id| r.get_opt(os.get_security_group(id)))),
        try_join_all(pools.keys().map(|id| r.get_opt(os.get_subnetpool(id)))),
        try_join_all(fips.keys().map(|id| r.get_opt(os.get_floating_ip(id)))),
    )?;
    let (n_tag, sg_tag, p_tag, f_tag, lb_list, trunks_all) = tokio::try_join!(
        r.run(os.list_networks(&tagged)),
        r.run(os.list_security_groups(&tagged)),
        r.run(os.list_subnetpools(&tagged)),
        r.run(os.list_floating_ips(&tagged)),
        r.run(os.list_load_balancers(&lb_query)),
        r.run(os.list_trunks(&every)),
    )?;
    let mut lost = Vec::new();
    let n_named = found("networks", &nets, n_named, &mut lost);
    let s_named = found("subnets", &subnets, s_named, &mut lost);
    let r_named = found("routers", &routers, r_named, &mut lost);
    let sg_named = found("security-groups", &sgs, sg_named, &mut lost);
    let p_named = found("subnetpools", &pools, p_named, &mut lost);
    let f_named = found("floatingips", &fips, f_named, &mut lost);
    s.missing.extend(lost);

    let mut networks: BTreeMap<String, _> = BTreeMap::new();
    for n in n_named.into_iter().chain(n_tag) {
        networks.insert(n.id.clone(), n);
    }
    let mut subnet_map: BTreeMap<String, _> = BTreeMap::new();
    for x in s_named {
        subnet_map.insert(x.id.clone(), x);
    }
    // The service network is the service subnet's.
    let mut kuryr_nets: BTreeSet<String> = nets.keys().cloned().collect();
    if let Some(svc) = subnet_map.get(&cfg.service_subnet) {
        kuryr_nets.insert(svc.network_id.clone());
        if !networks.contains_key(&svc.network_id)
            && let Some(n) = r.get_opt(os.get_network(&svc.network_id)).await?
        {
            networks.insert(n.id.clone(), n);
        }
    }
    kuryr_nets.retain(|id| networks.contains_key(id));
    let router_list = r_named;
    let mut sg_map: BTreeMap<String, _> = BTreeMap::new();
    for x in sg_named.into_iter().chain(sg_tag) {
        sg_map.insert(x.id.clone(), x);
    }
    let mut pool_map: BTreeMap<String, _> = BTreeMap::new();
    for x in p_named.into_iter().chain(p_tag) {
        pool_map.insert(x.id.clone(), x);
    }
    let mut fip_map: BTreeMap<String, _> = BTreeMap::new();
    for x in f_named.into_iter().chain(f_tag) {
        fip_map.insert(x.id.clone(), x);
    }
    // Load balancers: the listed ones that are tagged (or, before 2.5, carry the
    // tag string in their description), plus every one a KuryrLoadBalancer names.
    let mut lb_map: BTreeMap<String, _> = BTreeMap::new();
    for lb in lb_list {
        if lb.tags.contains(&tag) || lb.description.contains(&tag) || lbs.contains_key(&lb.id) {
            lb_map.insert(lb.id.clone(), lb);
        }
    }
    let unlisted: Vec<&String> = lbs.keys().filter(|id| !lb_map.contains_key(*id)).collect();
    let got = try_join_all(
        unlisted
            .iter()
            .map(|id| r.get_opt(os.get_load_balancer(id))),
    )
    .await?;
    for (id, lb) in unlisted.into_iter().zip(got) {
        match lb {
            Some(lb) => {
                lb_map.insert(lb.id.clone(), lb);
            }
            None => s.missing.push(Missing {
                collection: "loadbalancers".into(),
                id: id.clone(),
                named_by: lbs[id].clone(),
            }),
        }
    }

    // Round two: what hangs off the named objects.
    let router_ids: Vec<String> = router_list.iter().map(|x| x.id.clone()).collect();
    let pool_ids: Vec<String> = pool_map.keys().cloned().collect();
    let lb_ids: Vec<String> = lb_map.keys().cloned().collect();
    let (ports_by_net, subnets_by_net, router_ports, pool_subnets, listeners, lb_pools) = tokio::try_join!(
        try_join_all(kuryr_nets.iter().map(|id| r.ports_where("network_id", id))),
        try_join_all(
            kuryr_nets
                .iter()
                .map(|id| r.subnets_where("network_id", id))
        ),
        try_join_all(router_ids.iter().map(|id| r.ports_where("device_id", id))),
        try_join_all(
            pool_ids
                .iter()
                .map(|id| r.subnets_where("subnetpool_id", id))
        ),
        // Every listener and pool of the project in two paginated lists, not two per LB.
        r.run(os.list_listeners(&every)),
        r.run(os.list_pools(&every)),
    )?;
    let lb_trees = lb_trees(&r, &lb_ids, listeners, lb_pools).await?;
    let mut port_map: BTreeMap<String, Port> = BTreeMap::new();
    for p in ports_by_net
        .into_iter()
        .flatten()
        .chain(router_ports.into_iter().flatten())
    {
        port_map.insert(p.id.clone(), p);
    }
    for x in subnets_by_net
        .into_iter()
        .flatten()
        .chain(pool_subnets.into_iter().flatten())
    {
        subnet_map.insert(x.id.clone(), x);
    }
    // Trunks: this cluster's (tagged) and any holding a port we recorded or a KuryrPort names.
    let kuryr_ports: BTreeSet<String> =
        s.kuryr_port_ids().into_iter().map(str::to_string).collect();
    let trunks: Vec<Trunk> = trunks_all
        .into_iter()
        .filter(|t| {
            t.tags.contains(&tag)
                || t.sub_ports.iter().any(|sp| {
                    port_map.contains_key(&sp.port_id) || kuryr_ports.contains(&sp.port_id)
                })
        })
        .collect();
    // Ports not yet seen: trunk parents, subports, KuryrPort ports, LB VIP ports.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for t in &trunks {
        wanted.insert(t.port_id.clone());
        wanted.extend(t.sub_ports.iter().map(|sp| sp.port_id.clone()));
    }
    wanted.extend(kuryr_ports.iter().cloned());
    wanted.extend(lb_map.values().filter_map(|lb| lb.vip_port_id.clone()));
    wanted.retain(|id| !port_map.contains_key(id));
    let got = try_join_all(wanted.iter().map(|id| r.get_opt(os.get_port(id)))).await?;
    for (id, p) in wanted.iter().zip(got) {
        match p {
            Some(p) => {
                port_map.insert(p.id.clone(), p);
            }
            None if kuryr_ports.contains(id) => s.missing.push(Missing {
                collection: "ports".into(),
                id: id.clone(),
                named_by: "a KuryrPort status.vifs".into(),
            }),
            None => {}
        }
    }

    s.networks = networks.into_values().collect();
    s.subnets = subnet_map.into_values().collect();
    s.ports = port_map.into_values().collect();
    s.trunks = trunks;
    s.routers = router_list;
    s.subnet_pools = pool_map.into_values().collect();
    s.security_groups = sg_map.into_values().collect();
    s.load_balancers = lb_map
        .into_values()
        .zip(lb_trees)
        .map(|(lb, mut tree)| {
            tree.lb = lb;
            tree
        })
        .collect();
    s.floating_ips = fip_map.into_values().collect();
    s.normalize();
    Ok(s)
}

/// Returns the objects found, recording a [`Missing`] for each named ID that answered 404.
fn found<T>(
    collection: &str,
    named: &Named,
    got: Vec<Option<T>>,
    lost: &mut Vec<Missing>,
) -> Vec<T> {
    named
        .iter()
        .zip(got)
        .filter_map(|((id, by), g)| {
            if g.is_none() {
                lost.push(Missing {
                    collection: collection.into(),
                    id: id.clone(),
                    named_by: by.clone(),
                });
            }
            g
        })
        .collect()
}

/// Returns each load balancer's tree (in `lb_ids` order) from the project's
/// listeners and pools, reading the members of this cluster's pools only.
async fn lb_trees(
    r: &Reader<'_>,
    lb_ids: &[String],
    listeners: Vec<Listener>,
    pools: Vec<Pool>,
) -> Result<Vec<LoadBalancerTree>, openstack::Error> {
    let mut trees: BTreeMap<&str, LoadBalancerTree> = lb_ids
        .iter()
        .map(|id| (id.as_str(), LoadBalancerTree::default()))
        .collect();
    let owner = |lbs: &[crate::openstack::octavia::IdRef]| -> Option<String> {
        lbs.iter()
            .map(|x| x.id.clone())
            .find(|id| trees.contains_key(id.as_str()))
    };
    let listeners: Vec<(String, Listener)> = listeners
        .into_iter()
        .filter_map(|l| Some((owner(&l.loadbalancers)?, l)))
        .collect();
    let pools: Vec<(String, Pool)> = pools
        .into_iter()
        .filter_map(|p| Some((owner(&p.loadbalancers)?, p)))
        .collect();
    let members = try_join_all(pools.iter().map(|(_, p)| async {
        match r.run(r.os.list_members(&p.id)).await {
            Ok(m) => Ok(m),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }))
    .await?;
    for (lb, l) in listeners {
        if let Some(t) = trees.get_mut(lb.as_str()) {
            t.listeners.push(l);
        }
    }
    for ((lb, pool), members) in pools.into_iter().zip(members) {
        if let Some(t) = trees.get_mut(lb.as_str()) {
            t.pools.push(PoolTree { pool, members });
        }
    }
    Ok(lb_ids
        .iter()
        .map(|id| trees.remove(id.as_str()).unwrap_or_default())
        .collect())
}

/// Reads the whole snapshot: Kubernetes, then OpenStack with at most `concurrency` calls in flight.
pub async fn collect(
    kc: &KubeClient,
    os: &OpenStack,
    concurrency: usize,
) -> Result<Snapshot, CollectError> {
    let kube_side = read_kubernetes(kc).await?;
    read_openstack(os, kube_side, concurrency).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn most_in_flight(bound: usize, tasks: usize) -> usize {
        let b = Bound::new(bound);
        let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
        futures::future::join_all((0..tasks).map(|_| {
            b.run(async {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                }
                now.fetch_sub(1, Ordering::SeqCst);
            })
        }))
        .await;
        max.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn no_more_reads_than_the_bound_are_in_flight() {
        assert_eq!(most_in_flight(2, 10).await, 2);
        assert_eq!(
            most_in_flight(16, 10).await,
            10,
            "without a tighter bound all run at once"
        );
        assert_eq!(
            most_in_flight(0, 4).await,
            1,
            "a bound of 0 still makes progress, one at a time"
        );
    }
}
