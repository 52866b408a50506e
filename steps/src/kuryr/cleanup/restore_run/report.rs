//! What a restore run did, from its journal alone ([`read_report`]): how
//! many of its operations are done, the old → new map, what its plan could
//! not restore and why, and what restored objects lose (new IDs, MACs…).
//! [`measure`] then reads the restored objects back by their new IDs and
//! measures the restore share (same name, CIDR, tags and relations,
//! [`crate::kuryr::cleanup::share`]): the one part that reads the cloud.

use std::collections::{BTreeMap, BTreeSet};

use journal::{Event, Journal};
use serde::{Deserialize, Serialize};

use super::idmap::{OP_PREFIX, read_id_map};
use super::plan::{NotRestored, RestorePlanned};
use super::session::{RestoreError, RestoreSession};
use super::source::CleanupSource;
use crate::kuryr::cleanup::restore::{Deleted, Loss};
use crate::kuryr::cleanup::select::ObjKind;
use crate::kuryr::cleanup::share::{Share, restore_share};
use crate::kuryr::cleanup::snapshot::{LoadBalancerTree, PoolTree, Snapshot};
use crate::openstack::{Error, OpenStack, Query};
use crate::workflow::load_run;

/// What the restore never brings back on the Kubernetes side.
pub const KUBERNETES_NOT_RESTORED: &str = "Kubernetes objects the cleanup removed (Kuryr CRs and CRDs, kuryr-config, Kuryr finalizers) are not restored: the cluster runs OVN-Kubernetes now and Kuryr would not use them";

/// A restore run as its journal tells it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    pub restore_run: String,
    pub source_run: String,
    /// Planned operations.
    pub operations: usize,
    /// Of which done (acted on, or found done).
    pub done: usize,
    /// Old → new IDs.
    pub id_map: BTreeMap<String, String>,
    /// Deleted objects the plan does not restore, with why.
    pub not_restored: Vec<NotRestored>,
    /// What restored objects cannot get back.
    pub losses: Vec<Loss>,
    /// [`KUBERNETES_NOT_RESTORED`].
    pub kubernetes: String,
}

/// Reads a restore run's report from its journal alone.
pub async fn read_report(
    journal: Journal,
) -> Result<(RestoreReport, CleanupSource, RestorePlanned), RestoreError> {
    let run = load_run::<RestoreSession>(journal).await?;
    let j = run.journal.clone();
    let (id_map, done) = tokio::task::spawn_blocking(move || {
        let mut done = BTreeSet::new();
        for r in j.iter(1) {
            match r?.event {
                Event::OperationSucceeded { op, .. } | Event::OperationSkipped { op, .. }
                    if op.0.starts_with(OP_PREFIX) =>
                {
                    done.insert(op.0);
                }
                _ => {}
            }
        }
        Ok::<_, journal::Error>((read_id_map(&j)?, done.len()))
    })
    .await
    .map_err(|e| journal::Error::Io {
        what: "read the restore journal",
        path: run.journal.dir().to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })??;
    let report = RestoreReport {
        restore_run: run.run_id.clone(),
        source_run: run.plan.source_run.clone(),
        operations: run.plan.operations.len(),
        done,
        id_map,
        not_restored: run.plan.not_restored.clone(),
        losses: run.plan.losses.clone(),
        kubernetes: KUBERNETES_NOT_RESTORED.into(),
    };
    Ok((report, run.discovery.source, run.plan))
}

fn found<T>(r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads back what the restore made, by the new IDs, in the snapshot's shape.
pub async fn read_after(
    os: &OpenStack,
    before: &Snapshot,
    deleted: &Deleted,
    map: &BTreeMap<String, String>,
) -> Result<Snapshot, Error> {
    let gone = |k: ObjKind, id: &str| deleted.contains(&(k, id.to_string()));
    let m = |id: &str| map.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut a = Snapshot {
        cluster_id: before.cluster_id.clone(),
        ..Snapshot::default()
    };
    for n in before
        .networks
        .iter()
        .filter(|x| gone(ObjKind::Network, &x.id))
    {
        a.networks.extend(found(os.get_network(&m(&n.id)).await)?);
    }
    for x in before
        .subnets
        .iter()
        .filter(|x| gone(ObjKind::Subnet, &x.id))
    {
        a.subnets.extend(found(os.get_subnet(&m(&x.id)).await)?);
    }
    for p in before
        .subnet_pools
        .iter()
        .filter(|x| gone(ObjKind::SubnetPool, &x.id))
    {
        a.subnet_pools
            .extend(found(os.get_subnetpool(&m(&p.id)).await)?);
    }
    for g in before
        .security_groups
        .iter()
        .filter(|x| gone(ObjKind::SecurityGroup, &x.id))
    {
        a.security_groups
            .extend(found(os.get_security_group(&m(&g.id)).await)?);
    }
    for r in before
        .routers
        .iter()
        .filter(|x| gone(ObjKind::Router, &x.id))
    {
        a.routers.extend(found(os.get_router(&m(&r.id)).await)?);
    }
    for p in before.ports.iter().filter(|x| gone(ObjKind::Port, &x.id)) {
        if map.contains_key(&p.id) {
            a.ports.extend(found(os.get_port(&m(&p.id)).await)?);
        }
    }
    // Router interfaces: every port of the routers the snapshot's interfaces were on.
    let routers: BTreeSet<String> = before
        .ports
        .iter()
        .filter(|p| p.device_owner.starts_with("network:router_interface"))
        .map(|p| m(&p.device_id))
        .collect();
    for r in routers {
        a.ports
            .extend(os.list_ports(&Query::new().eq("device_id", r)).await?);
    }
    for t in &before.trunks {
        a.trunks.extend(found(os.get_trunk(&m(&t.id)).await)?);
    }
    for f in before
        .floating_ips
        .iter()
        .filter(|x| gone(ObjKind::FloatingIp, &x.id))
    {
        a.floating_ips
            .extend(found(os.get_floating_ip(&m(&f.id)).await)?);
    }
    for t in before
        .load_balancers
        .iter()
        .filter(|x| gone(ObjKind::LoadBalancer, &x.lb.id))
    {
        let Some(lb) = found(os.get_load_balancer(&m(&t.lb.id)).await)? else {
            continue;
        };
        let by_lb = Query::new().eq("loadbalancer_id", lb.id.clone());
        let listeners = os.list_listeners(&by_lb).await?;
        let mut pools = Vec::new();
        for pool in os.list_pools(&by_lb).await? {
            let members = os.list_members(&pool.id).await?;
            pools.push(PoolTree { pool, members });
        }
        a.load_balancers.push(LoadBalancerTree {
            lb,
            listeners,
            pools,
        });
    }
    Ok(a)
}

/// Measures the restore share of a run: its objects read back by the new IDs.
pub async fn measure(
    os: &OpenStack,
    source: &CleanupSource,
    map: &BTreeMap<String, String>,
) -> Result<Share, Error> {
    let deleted: Deleted = source.deleted.iter().cloned().collect();
    let after = read_after(os, &source.snapshot, &deleted, map).await?;
    Ok(restore_share(&source.snapshot, &deleted, &after, map))
}
