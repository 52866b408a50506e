//! The target a journal belongs to: one cluster and the cloud it runs on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies what a run acts on; a journal refuses to be opened for another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The cluster's infrastructure name (`infrastructures/cluster .status.infrastructureName`).
    pub cluster_id: String,
    /// The Kubernetes API server URL.
    pub api_server: String,
    /// The Keystone auth URL.
    pub openstack_auth_url: String,
    /// The OpenStack project (name or id) the cluster lives in.
    pub openstack_project: String,
}

impl Target {
    /// Returns the blake3 fingerprint of the target (part of the chain's genesis).
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"journal/v1/target");
        for part in [
            &self.cluster_id,
            &self.api_server,
            &self.openstack_auth_url,
            &self.openstack_project,
        ] {
            h.update(&(part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        *h.finalize().as_bytes()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cluster {} (API {}; OpenStack {} project {})",
            self.cluster_id, self.api_server, self.openstack_auth_url, self.openstack_project
        )
    }
}
