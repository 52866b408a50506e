//! Seeded, deterministic scenarios: the same seed gives the same objects.
//!
//! A [`Scenario`] holds every Kubernetes object the tool reads (full JSON with
//! apiVersion/kind, for the Kubernetes store's `Store::seed`) and every
//! OpenStack object (JSON per collection, for [`crate::openstack::Cloud::seed`]).
//! [`kuryr_cluster`] builds a Kuryr cluster with a second cluster's resources
//! beside it; [`ovs_deployment`] builds an OVS-era Neutron with violations of
//! each readiness check next to clean objects.

mod ids;
mod kuryr;
mod kuryr_k8s;
mod ovs;
mod shared_project;

use std::collections::BTreeMap;

use serde_json::Value;

pub use ids::Ids;
pub use kuryr::{
    KuryrIds, ScenarioConfig, kuryr_cluster, kuryr_cluster_byo_router, kuryr_cluster_with_ids,
};
pub use ovs::{CANARY_TAG, DEPLOYMENT, OvsConfig, OvsExpected, ovs_deployment};
pub use shared_project::{SharedProjectIds, shared_project};

/// Objects to load into the lab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scenario {
    /// Kubernetes objects (apiVersion, kind, metadata, spec, status).
    pub k8s: Vec<Value>,
    /// OpenStack objects per collection: Neutron's URL collections (`networks`,
    /// `subnets`, `ports`, `trunks`, `routers`, `subnetpools`, `security-groups`,
    /// `security-group-rules`, `floatingips`, `address-groups`), extra Neutron
    /// `extensions` (`{"alias": …}`), Octavia's (`loadbalancers`, `listeners`,
    /// `pools`, `members`), Nova's `servers` and compute services (`os-services`).
    pub openstack: BTreeMap<String, Vec<Value>>,
}

impl Scenario {
    /// Adds an OpenStack object to a collection.
    pub fn add(&mut self, collection: &str, obj: Value) {
        self.openstack
            .entry(collection.to_string())
            .or_default()
            .push(obj);
    }

    /// Returns the objects of a collection.
    pub fn objects(&self, collection: &str) -> &[Value] {
        self.openstack
            .get(collection)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Returns the Kubernetes objects of one kind.
    pub fn k8s_of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.k8s.iter().filter(move |o| o["kind"] == kind)
    }
}
