//! Collects the [`Inventory`] through the tool's OpenStack client, and reads
//! the OpenStackDeployment through the Kubernetes client.
//!
//! Every collection is one paginated listing (`limit`, then the `next`
//! links) asking only for the fields the checks read ([`fields_of`]). The
//! listings run concurrently, at most `concurrency` at a time (1 makes the
//! collection one call at a time: against services on SQLite, and as the
//! benchmark's baseline). Neutron's core collections must be read, or the
//! assessment stops; address groups and IP availabilities (extensions) and
//! Nova (maybe absent from the catalog) are kept as [`Part::Unavailable`]
//! with the reason, which fails only the checks that need them.

use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::inventory::{CANARY_TAG, Inventory, Part, fields_of};
use crate::kube::{Kind, KubeClient, KubeError, list_all};
use crate::openstack::neutron_read::Listing;
use crate::openstack::{Error, OpenStack};

/// How to collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectOptions {
    /// Listings in flight at once (≥ 1).
    pub concurrency: usize,
    /// Page size (`limit`) of every listing.
    pub page_size: usize,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            concurrency: 8,
            page_size: 1000,
        }
    }
}

/// What one collection took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionStats {
    pub collection: String,
    pub items: usize,
    pub calls: u64,
    pub millis: u64,
    /// Why it could not be read, for the optional parts.
    pub unavailable: Option<String>,
}

/// What the whole collection took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectStats {
    pub collections: Vec<CollectionStats>,
    /// API calls in all (Keystone's token request not counted).
    pub calls: u64,
    pub millis: u64,
}

/// Called as each collection finishes: `(collection, items)`.
pub type OnCollected<'a> = &'a (dyn Fn(&str, usize) + Sync);

struct Run<'a> {
    os: &'a OpenStack,
    permits: Arc<Semaphore>,
    page_size: usize,
    on: OnCollected<'a>,
}

impl Run<'_> {
    async fn neutron<T: DeserializeOwned>(
        &self,
        collection: &'static str,
    ) -> (Result<Vec<T>, Error>, CollectionStats) {
        let fields = fields_of(collection);
        self.timed(
            collection,
            self.os
                .list_neutron_fields(collection, fields, self.page_size),
        )
        .await
    }

    async fn timed<T>(
        &self,
        collection: &'static str,
        f: impl Future<Output = Result<Listing<T>, Error>>,
    ) -> (Result<Vec<T>, Error>, CollectionStats) {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let t = Instant::now();
        let r = f.await;
        let mut stats = CollectionStats {
            collection: collection.into(),
            millis: t.elapsed().as_millis() as u64,
            ..CollectionStats::default()
        };
        let r = r.map(|l| {
            stats.items = l.items.len();
            stats.calls = l.calls;
            l.items
        });
        if r.is_err() {
            // A failed listing made at least one call.
            stats.calls = 1;
        }
        (self.on)(collection, stats.items);
        (r, stats)
    }
}

/// Turns an optional part's error into [`Part::Unavailable`] with the reason.
fn optional<T>(r: Result<Vec<T>, Error>, stats: &mut CollectionStats, what: &str) -> Part<Vec<T>> {
    match r {
        Ok(v) => Part::Read(v),
        Err(e) => {
            let why = if e.is_not_found() {
                format!("{what} is not available (404: the extension is not enabled): {e}")
            } else {
                format!("{what} could not be read: {e}")
            };
            stats.unavailable = Some(why.clone());
            Part::Unavailable(why)
        }
    }
}

/// Collects the inventory; fails only when a core Neutron collection cannot be read.
pub async fn collect(
    os: &OpenStack,
    options: CollectOptions,
    on: OnCollected<'_>,
) -> Result<(Inventory, CollectStats), Error> {
    let t = Instant::now();
    let run = Run {
        os,
        permits: Arc::new(Semaphore::new(options.concurrency.max(1))),
        page_size: options.page_size,
        on,
    };
    // The longest listing (ports) first: join! polls, and so takes permits, in order.
    let (
        (ports, s_ports),
        (networks, s_networks),
        (subnets, s_subnets),
        (rules, s_rules),
        (groups, s_groups),
        (ags, mut s6),
        (routers, s7),
        (fips, s8),
        (avail, mut s9),
        (exts, s10),
        (services, mut s11),
        (servers, mut s12),
    ) = tokio::join!(
        run.neutron("ports"),
        run.neutron("networks"),
        run.neutron("subnets"),
        run.neutron("security-group-rules"),
        run.neutron("security-groups"),
        run.neutron("address-groups"),
        run.neutron("routers"),
        run.neutron("floatingips"),
        run.neutron("network-ip-availabilities"),
        run.timed(
            "extensions",
            os.list_neutron_fields("extensions", &["alias"], 0)
        ),
        run.timed("os-services", os.list_compute_services()),
        run.timed(
            "servers",
            os.list_tagged_servers(CANARY_TAG, options.page_size)
        ),
    );
    let inv = Inventory {
        networks: networks?,
        subnets: subnets?,
        ports: ports?,
        security_groups: groups?,
        security_group_rules: rules?,
        address_groups: optional(ags, &mut s6, "the address-group API"),
        routers: routers?,
        floating_ips: fips?,
        ip_availabilities: optional(avail, &mut s9, "the network-ip-availability API"),
        extensions: exts?,
        compute_services: optional(services, &mut s11, "Nova's compute services"),
        canaries: optional(servers, &mut s12, "Nova's servers"),
    };
    let collections = vec![
        s_networks, s_subnets, s_ports, s_groups, s_rules, s6, s7, s8, s9, s10, s11, s12,
    ];
    let stats = CollectStats {
        calls: collections.iter().map(|c| c.calls).sum(),
        millis: t.elapsed().as_millis() as u64,
        collections,
    };
    Ok((inv, stats))
}

/// Reads the OpenStackDeployment of namespace `openstack`: `Ok(None)` when
/// there is none or its kind is not served (with the reason), an error when
/// there are several.
pub async fn read_deployment(kc: &KubeClient) -> Result<Result<Value, String>, KubeError> {
    match list_all(kc, Kind::OpenStackDeployment, Some("openstack"), None).await {
        Ok(mut items) => match items.len() {
            0 => Ok(Err("there is no OpenStackDeployment in namespace openstack".into())),
            1 => Ok(Ok(items.remove(0))),
            n => {
                let names: Vec<&str> = items
                    .iter()
                    .filter_map(|i| i["metadata"]["name"].as_str())
                    .collect();
                Ok(Err(format!(
                    "there are {n} OpenStackDeployments in namespace openstack ({}); MOSK runs one, so none is used",
                    names.join(", ")
                )))
            }
        },
        Err(e) if e.is_not_found() => Ok(Err(
            "the cluster does not serve openstackdeployments.lcm.mirantis.com (not a MOSK cluster?)".into(),
        )),
        Err(e) => Err(e),
    }
}
