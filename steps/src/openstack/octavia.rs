//! Octavia v2 calls the tool makes: version discovery (tags need API ≥ 2.5),
//! load balancers (list by tags, get, cascade delete) and their listeners,
//! pools and members; creates for tests and seeding.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Error;
use super::client::{OpenStack, Outcome, Query, Service};

const L: Service = Service::LoadBalancer;

/// An `{"id": …}` reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdRef {
    pub id: String,
}

/// An Octavia load balancer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancer {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provisioning_status: String,
    pub operating_status: String,
    pub vip_address: Option<String>,
    pub vip_port_id: Option<String>,
    pub vip_subnet_id: Option<String>,
    pub vip_network_id: Option<String>,
    pub provider: String,
    pub listeners: Vec<IdRef>,
    pub pools: Vec<IdRef>,
    pub tags: Vec<String>,
}

/// A listener.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Listener {
    pub id: String,
    pub name: String,
    pub protocol: String,
    pub protocol_port: u32,
    pub default_pool_id: Option<String>,
    pub loadbalancers: Vec<IdRef>,
    pub provisioning_status: String,
}

/// A pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub protocol: String,
    pub lb_algorithm: String,
    pub loadbalancers: Vec<IdRef>,
    pub listeners: Vec<IdRef>,
    pub members: Vec<IdRef>,
    pub provisioning_status: String,
}

/// A pool member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub address: String,
    pub protocol_port: u32,
    pub subnet_id: Option<String>,
    pub provisioning_status: String,
}

/// Returns the highest `vMAJOR.MINOR` in an Octavia version document.
pub fn max_version(doc: &Value) -> Option<(u32, u32)> {
    doc["versions"]
        .as_array()?
        .iter()
        .filter_map(|v| {
            let id = v["id"].as_str()?.trim_start_matches('v');
            let (a, b) = id.split_once('.').unwrap_or((id, "0"));
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .max()
}

impl OpenStack {
    /// Returns Octavia's highest API version (from `GET /` of its endpoint).
    pub async fn octavia_max_version(&self) -> Result<(u32, u32), Error> {
        let base = self.endpoint(L).await?;
        let root = base
            .trim_end_matches("/v2.0")
            .trim_end_matches("/v2")
            .to_string();
        let (_, bytes) = self.send_root(&root).await?;
        let doc: Value = serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            method: "GET".into(),
            url: root.clone(),
            source,
        })?;
        max_version(&doc).ok_or_else(|| Error::Unexpected {
            method: "GET".into(),
            url: root,
            message: "no versions in Octavia's version document".into(),
        })
    }

    /// Lists load balancers (all pages) matching the query (`tags=…` needs API ≥ 2.5).
    pub async fn list_load_balancers(&self, query: &Query) -> Result<Vec<LoadBalancer>, Error> {
        self.list(L, "/lbaas/loadbalancers", "loadbalancers", query)
            .await
    }

    /// Returns one load balancer.
    pub async fn get_load_balancer(&self, id: &str) -> Result<LoadBalancer, Error> {
        self.get_one(L, &format!("/lbaas/loadbalancers/{id}"), "loadbalancer")
            .await
    }

    /// Deletes a load balancer and everything under it (`?cascade=true`); 204, asynchronous.
    pub async fn delete_load_balancer_cascade(&self, id: &str) -> Result<Outcome<()>, Error> {
        let (status, _) = self
            .send(
                L,
                Method::DELETE,
                &format!("/lbaas/loadbalancers/{id}"),
                &Query::new().eq("cascade", "true"),
                None,
            )
            .await?;
        Ok(Outcome { status, value: () })
    }

    /// Lists listeners matching the query (e.g. `loadbalancer_id`).
    pub async fn list_listeners(&self, query: &Query) -> Result<Vec<Listener>, Error> {
        self.list(L, "/lbaas/listeners", "listeners", query).await
    }

    /// Returns one listener.
    pub async fn get_listener(&self, id: &str) -> Result<Listener, Error> {
        self.get_one(L, &format!("/lbaas/listeners/{id}"), "listener")
            .await
    }

    /// Lists pools matching the query (e.g. `loadbalancer_id`).
    pub async fn list_pools(&self, query: &Query) -> Result<Vec<Pool>, Error> {
        self.list(L, "/lbaas/pools", "pools", query).await
    }

    /// Returns one pool.
    pub async fn get_pool(&self, id: &str) -> Result<Pool, Error> {
        self.get_one(L, &format!("/lbaas/pools/{id}"), "pool").await
    }

    /// Lists the members of a pool.
    pub async fn list_members(&self, pool_id: &str) -> Result<Vec<Member>, Error> {
        self.list(
            L,
            &format!("/lbaas/pools/{pool_id}/members"),
            "members",
            &Query::new(),
        )
        .await
    }

    /// Creates a load balancer from the fields of `body`.
    pub async fn create_load_balancer(&self, body: Value) -> Result<Outcome<LoadBalancer>, Error> {
        self.write_one(
            L,
            Method::POST,
            "/lbaas/loadbalancers",
            "loadbalancer",
            body,
        )
        .await
    }

    /// Creates a listener.
    pub async fn create_listener(&self, body: Value) -> Result<Outcome<Listener>, Error> {
        self.write_one(L, Method::POST, "/lbaas/listeners", "listener", body)
            .await
    }

    /// Creates a pool.
    pub async fn create_pool(&self, body: Value) -> Result<Outcome<Pool>, Error> {
        self.write_one(L, Method::POST, "/lbaas/pools", "pool", body)
            .await
    }

    /// Creates a member of a pool.
    pub async fn create_member(
        &self,
        pool_id: &str,
        body: Value,
    ) -> Result<Outcome<Member>, Error> {
        self.write_one(
            L,
            Method::POST,
            &format!("/lbaas/pools/{pool_id}/members"),
            "member",
            body,
        )
        .await
    }
}
