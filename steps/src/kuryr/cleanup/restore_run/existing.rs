//! What exists in the project when the restore is planned: the IDs of the
//! objects a restore step could mistake for its own (same name), and the
//! floating IP addresses taken. A step that looks for its object again
//! after a crash never takes one of these; a floating IP whose address is
//! taken is not restored (the plan says so). Read-only.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::openstack::{OpenStack, Query, Service};

/// The Neutron collections whose objects a restore step finds again by name.
pub const NAMED: [&str; 4] = ["subnetpools", "networks", "routers", "security-groups"];

/// The objects that existed before the restore created anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Existing {
    /// IDs by collection (`networks`, …, `loadbalancers`).
    pub ids: BTreeMap<String, BTreeSet<String>>,
    /// Floating IP address → the ID of the floating IP that holds it.
    pub floating_ips: BTreeMap<String, String>,
}

impl Existing {
    /// Returns whether `id` of `collection` existed before the restore.
    pub fn has(&self, collection: &str, id: &str) -> bool {
        self.ids.get(collection).is_some_and(|s| s.contains(id))
    }
}

fn ids_of(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

/// Reads what exists now (one listing per collection, IDs and names only).
pub async fn read_existing(os: &OpenStack) -> Result<Existing, crate::openstack::Error> {
    let fields = |fs: &[&str]| {
        fs.iter()
            .fold(Query::new(), |q, f| q.eq("fields", f.to_string()))
    };
    let mut ids = BTreeMap::new();
    for coll in NAMED {
        let items: Vec<Value> = os
            .list(
                Service::Network,
                &format!("/{coll}"),
                coll,
                &fields(&["id", "name"]),
            )
            .await?;
        ids.insert(coll.to_string(), ids_of(&items));
    }
    let lbs: Vec<Value> = os
        .list(
            Service::LoadBalancer,
            "/lbaas/loadbalancers",
            "loadbalancers",
            &Query::new(),
        )
        .await?;
    ids.insert("loadbalancers".into(), ids_of(&lbs));
    let fips: Vec<Value> = os
        .list(
            Service::Network,
            "/floatingips",
            "floatingips",
            &fields(&["id", "floating_ip_address"]),
        )
        .await?;
    ids.insert("floatingips".into(), ids_of(&fips));
    let floating_ips = fips
        .iter()
        .filter_map(|f| {
            Some((
                f["floating_ip_address"].as_str()?.to_string(),
                f["id"].as_str()?.to_string(),
            ))
        })
        .collect();
    Ok(Existing { ids, floating_ips })
}
