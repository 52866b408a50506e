//! M9: plan the reboot of every node in safe waves, and tell when each is back.
//!
//! The server to reboot comes from the Node's `spec.providerID`
//! (`openstack:///<uuid>`) and nothing else: a name regex can hit another
//! cluster's servers. Waves hold nodes of one pool; control-plane nodes go
//! first, at most one at a time by default and never more than a minority of
//! them (etcd keeps quorum); other pools follow, each with its own
//! `--max-unavailable`. A node is rebooted when its bootID differs from the
//! recorded one and it is Ready. The ssh command template lives in `ssh.rs`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::names::OPENSTACK_PROVIDER_PREFIX;
use super::readings::NodeReading;

/// The pool of control-plane nodes.
pub const CONTROL_PLANE_POOL: &str = "master";

/// Errors of reboot planning; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RebootError {
    /// The providerID is absent or not `openstack:///<uuid>`.
    #[error(
        "find the server of node {node}: providerID {provider_id:?} is not openstack:///<uuid>; this tool never matches servers by name"
    )]
    BadProviderId {
        /// The node.
        node: String,
        /// What it has.
        provider_id: String,
    },
    /// The node has no bootID to compare against.
    #[error("record the boot of node {0}: it reports no status.nodeInfo.bootID")]
    NoBootId(String),
    /// A limit of zero would never reboot anything.
    #[error("plan reboots of pool {0}: max-unavailable must be at least 1")]
    ZeroLimit(String),
    /// The control-plane limit would lose etcd quorum.
    #[error(
        "plan reboots of the control plane: {asked} at once of {total} nodes would lose etcd quorum; use at most {max}"
    )]
    QuorumAtRisk {
        /// The limit asked for.
        asked: usize,
        /// Control-plane nodes.
        total: usize,
        /// The largest safe limit.
        max: usize,
    },
}

/// A node as the reboot plan sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootTarget {
    /// Node name.
    pub name: String,
    /// Pool (`master`, `worker`, or a custom role).
    pub pool: String,
    /// Nova server id from the providerID.
    pub server_id: String,
    /// InternalIP, for ssh.
    pub internal_ip: Option<IpAddr>,
    /// bootID before the reboot.
    pub boot_id: String,
}

/// Returns the server id of `openstack:///<uuid>`, checking the uuid's shape.
pub fn server_id(node: &str, provider_id: Option<&str>) -> Result<String, RebootError> {
    let bad = || RebootError::BadProviderId {
        node: node.to_string(),
        provider_id: provider_id.unwrap_or("").to_string(),
    };
    let id = provider_id
        .and_then(|p| p.strip_prefix(OPENSTACK_PROVIDER_PREFIX))
        .ok_or_else(bad)?;
    let groups: Vec<&str> = id.split('-').collect();
    let shape = groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12];
    if shape
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(bad())
    }
}

/// Returns the reboot targets of the nodes, recording their bootIDs.
pub fn targets(nodes: &[Value]) -> Result<Vec<RebootTarget>, RebootError> {
    nodes
        .iter()
        .map(NodeReading::from_value)
        .map(|n| {
            Ok(RebootTarget {
                server_id: server_id(&n.name, n.provider_id.as_deref())?,
                boot_id: n
                    .boot_id
                    .clone()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| RebootError::NoBootId(n.name.clone()))?,
                pool: n.pool().to_string(),
                internal_ip: n.internal_ip,
                name: n.name,
            })
        })
        .collect()
}

/// How many nodes of each pool may be down at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootLimits {
    /// Per pool; pools not listed use `default`.
    pub per_pool: BTreeMap<String, usize>,
    /// For pools not listed (the control plane excepted: 1).
    pub default: usize,
}

impl Default for RebootLimits {
    fn default() -> Self {
        RebootLimits {
            per_pool: BTreeMap::new(),
            default: 1,
        }
    }
}

impl RebootLimits {
    fn of(&self, pool: &str) -> usize {
        match self.per_pool.get(pool) {
            Some(n) => *n,
            None if pool == CONTROL_PLANE_POOL => 1,
            None => self.default,
        }
    }
}

/// One wave: nodes of one pool rebooted together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    /// The pool.
    pub pool: String,
    /// Node names, sorted.
    pub nodes: Vec<String>,
}

/// Returns the largest number of control-plane nodes that may be down at once.
pub fn control_plane_max(total: usize) -> usize {
    // A minority keeps quorum; a single-node control plane has no choice.
    ((total.saturating_sub(1)) / 2).max(1)
}

/// Returns the waves: control plane first, then the other pools by name.
pub fn plan_waves(
    targets: &[RebootTarget],
    limits: &RebootLimits,
) -> Result<Vec<Wave>, RebootError> {
    let mut pools: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in targets {
        pools
            .entry(t.pool.as_str())
            .or_default()
            .push(t.name.as_str());
    }
    let mut order: Vec<&str> = pools.keys().copied().collect();
    order.sort_by_key(|p| (*p != CONTROL_PLANE_POOL, *p));
    let mut waves = Vec::new();
    for pool in order {
        let mut names = pools[pool].clone();
        names.sort();
        let limit = limits.of(pool);
        if limit == 0 {
            return Err(RebootError::ZeroLimit(pool.to_string()));
        }
        if pool == CONTROL_PLANE_POOL {
            let max = control_plane_max(names.len());
            if limit > max {
                return Err(RebootError::QuorumAtRisk {
                    asked: limit,
                    total: names.len(),
                    max,
                });
            }
        }
        for chunk in names.chunks(limit) {
            waves.push(Wave {
                pool: pool.to_string(),
                nodes: chunk.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    Ok(waves)
}

/// Where one node is after its reboot was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeReboot {
    /// Same bootID: not rebooted yet.
    NotYet,
    /// New bootID, not Ready yet.
    BootedNotReady,
    /// New bootID and Ready.
    Done,
    /// The node object is gone.
    Missing,
}

/// Returns a node's reboot state against its recorded bootID.
pub fn node_reboot(recorded_boot_id: &str, node: Option<&Value>) -> NodeReboot {
    let Some(node) = node else {
        return NodeReboot::Missing;
    };
    let n = NodeReading::from_value(node);
    match n.boot_id.as_deref() {
        Some(b) if !b.is_empty() && b != recorded_boot_id => {
            if n.ready {
                NodeReboot::Done
            } else {
                NodeReboot::BootedNotReady
            }
        }
        _ => NodeReboot::NotYet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;

    const UUID: &str = "0d6d1d8e-7c1a-4b8e-9a61-00000000000a";

    fn target(name: &str, pool: &str) -> RebootTarget {
        RebootTarget {
            name: name.into(),
            pool: pool.into(),
            server_id: UUID.into(),
            internal_ip: None,
            boot_id: "b".into(),
        }
    }

    #[test]
    fn server_id_only_from_openstack_provider_ids() {
        assert_eq!(
            server_id("n", Some(&format!("openstack:///{UUID}"))).unwrap(),
            UUID
        );
        for bad in [
            "",
            "openstack:///",
            "openstack:///ostest-master-0",
            "aws:///us-east-1a/i-0abc",
            "openstack://0d6d1d8e-7c1a-4b8e-9a61-00000000000a",
            "openstack:///0d6d1d8e-7c1a-4b8e-9a61-00000000000g",
        ] {
            assert!(
                matches!(
                    server_id("n", Some(bad)),
                    Err(RebootError::BadProviderId { .. })
                ),
                "{bad}"
            );
        }
        assert!(server_id("n", None).is_err());
    }

    #[test]
    fn targets_read_pools_ids_and_boot_ids() {
        let t = targets(&[
            node("m-0", &["master", "worker"], true, "b1"),
            node("w-0", &["worker"], true, "b2"),
        ])
        .unwrap();
        assert_eq!(t[0].pool, "master");
        assert_eq!(t[1].pool, "worker");
        assert_eq!(t[1].boot_id, "b2");
        assert_eq!(t[0].internal_ip, Some("10.0.0.5".parse().unwrap()));
        let mut bad = node("w-1", &["worker"], true, "b");
        bad["spec"]["providerID"] = serde_json::json!("openstack:///w-1");
        assert!(matches!(
            targets(&[bad]),
            Err(RebootError::BadProviderId { .. })
        ));
        assert_eq!(
            targets(&[node("w-2", &["worker"], true, "")]),
            Err(RebootError::NoBootId("w-2".into()))
        );
    }

    #[test]
    fn control_plane_goes_first_one_at_a_time() {
        let t = [
            target("w-1", "worker"),
            target("m-2", "master"),
            target("w-0", "worker"),
            target("m-0", "master"),
            target("m-1", "master"),
            target("w-2", "worker"),
            target("i-0", "infra"),
        ];
        let limits = RebootLimits {
            per_pool: BTreeMap::from([("worker".to_string(), 2)]),
            default: 1,
        };
        let waves = plan_waves(&t, &limits).unwrap();
        let flat: Vec<(&str, Vec<&str>)> = waves
            .iter()
            .map(|w| {
                (
                    w.pool.as_str(),
                    w.nodes.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            flat,
            vec![
                ("master", vec!["m-0"]),
                ("master", vec!["m-1"]),
                ("master", vec!["m-2"]),
                ("infra", vec!["i-0"]),
                ("worker", vec!["w-0", "w-1"]),
                ("worker", vec!["w-2"]),
            ]
        );
    }

    #[test]
    fn control_plane_never_loses_quorum() {
        let three: Vec<RebootTarget> = (0..3)
            .map(|i| target(&format!("m-{i}"), "master"))
            .collect();
        let limits = RebootLimits {
            per_pool: BTreeMap::from([("master".to_string(), 2)]),
            default: 5,
        };
        assert_eq!(
            plan_waves(&three, &limits),
            Err(RebootError::QuorumAtRisk {
                asked: 2,
                total: 3,
                max: 1
            })
        );
        let five: Vec<RebootTarget> = (0..5)
            .map(|i| target(&format!("m-{i}"), "master"))
            .collect();
        assert_eq!(plan_waves(&five, &limits).unwrap().len(), 3);
        assert_eq!(control_plane_max(1), 1);
        assert_eq!(control_plane_max(3), 1);
        assert_eq!(control_plane_max(5), 2);
        let default_workers = RebootLimits {
            default: 10,
            ..Default::default()
        };
        assert!(
            plan_waves(&three, &default_workers)
                .unwrap()
                .iter()
                .all(|w| w.nodes.len() == 1),
            "control plane defaults to 1"
        );
    }

    #[test]
    fn zero_limit_is_refused() {
        let limits = RebootLimits {
            default: 0,
            ..Default::default()
        };
        assert_eq!(
            plan_waves(&[target("w-0", "worker")], &limits),
            Err(RebootError::ZeroLimit("worker".into()))
        );
    }

    #[test]
    fn reboot_done_needs_new_boot_and_ready() {
        assert_eq!(
            node_reboot("b1", Some(&node("w", &["worker"], true, "b1"))),
            NodeReboot::NotYet
        );
        assert_eq!(
            node_reboot("b1", Some(&node("w", &["worker"], false, "b2"))),
            NodeReboot::BootedNotReady
        );
        assert_eq!(
            node_reboot("b1", Some(&node("w", &["worker"], true, "b2"))),
            NodeReboot::Done
        );
        assert_eq!(node_reboot("b1", None), NodeReboot::Missing);
    }
}
