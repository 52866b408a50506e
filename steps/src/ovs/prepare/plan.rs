//! What `ovs prepare` plans from (its [`Discovery`]), the user's choices
//! ([`PrepareOptions`]) and the plan itself: pure, tested without I/O.
//!
//! The operations, in order: the Galera's health check (first, so a
//! cluster that cannot be backed up stops the run before any change), P1
//! one canary per enabled compute host (one group, booted together), P3 the
//! DHCP lease duration, P4 the Galera backup (desync the highest-index
//! member, dump, resync), and last the gate that opens a full old lease
//! after P3's outcome. The run's
//! idempotency key (in the discovery, not in its digest) names every canary
//! and the dump's timestamp is the discovery's, so a resume finds both again.

use serde::{Deserialize, Serialize};

use super::galera::member_pod;
use crate::ovs::settings::{NEUTRON_DEFAULT_LEASE_S, REQUIRED_LEASE_S};

/// The user's choices, journaled with the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareOptions {
    /// Seconds a lease handed out before P3 may last (the old `dhcp_lease_duration`).
    pub old_lease_s: u64,
    /// Glance image of the canaries.
    pub image: Option<String>,
    /// Nova flavor of the canaries.
    pub flavor: Option<String>,
    /// Neutron network the canaries are attached to (Nova picks when unset).
    pub network: Option<String>,
    /// The MariaDB client options file in the `mariadb` container, with the
    /// admin credentials (`None`: the client's own defaults).
    pub mysql_defaults_file: Option<String>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            old_lease_s: NEUTRON_DEFAULT_LEASE_S,
            image: None,
            flavor: None,
            network: None,
            mysql_defaults_file: Some(super::exec::MYSQL_DEFAULTS.into()),
        }
    }
}

/// What the plan is made from, journaled in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The run's idempotency key (random; not part of the digest).
    pub key: String,
    /// When discovery ran, `YYYYmmddHHMMSS` UTC: the dump's name (not part of the digest).
    pub stamp: String,
    /// The OpenStackDeployment, `namespace/name`.
    pub deployment: String,
    /// Its `metadata.uid` (the journal is bound to it).
    pub deployment_uid: String,
    /// Its `dhcp_lease_duration`, when it sets one.
    pub lease_duration: Option<u64>,
    /// Hosts of the enabled `nova-compute` services, sorted.
    pub compute_hosts: Vec<String>,
    /// `spec.replicas` of `openstack/mariadb-server`.
    pub galera_replicas: u32,
}

impl Discovery {
    /// Returns what the digest covers: everything but the key and the stamp.
    pub fn digested(&self) -> serde_json::Value {
        serde_json::json!({
            "deployment": self.deployment,
            "deployment_uid": self.deployment_uid,
            "lease_duration": self.lease_duration,
            "compute_hosts": self.compute_hosts,
            "galera_replicas": self.galera_replicas,
        })
    }
}

/// What one operation does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// P1: boot (once) and tag the canary `name` on `host`, wait for ACTIVE.
    BootCanary {
        host: String,
        name: String,
        image: String,
        flavor: String,
        network: Option<String>,
    },
    /// P3: merge-patch the OpenStackDeployment's `dhcp_lease_duration` to `value`.
    SetLeaseDuration { deployment: String, value: u64 },
    /// P4: every member healthy before anything is desynced.
    CheckGalera { replicas: u32 },
    /// P4: `SET GLOBAL wsrep_desync = ON` on `pod`, wait for `Donor/Desynced`.
    Desync { pod: String, replicas: u32 },
    /// P4: `mariadb-dump` of database `neutron` into `path` on `pod`, once.
    Dump { pod: String, path: String },
    /// P4: `SET GLOBAL wsrep_desync = OFF` on `pod`, wait for Synced and the StatefulSet Ready.
    Resync { pod: String, replicas: u32 },
    /// The leases handed out before P3 have expired (`old_lease_s` after P3's outcome).
    OldLeasesExpired { old_lease_s: u64 },
}

/// One planned operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Its id in the journal (also its idempotency key within the run).
    pub id: String,
    /// P1, P3, P4, P5.
    pub step: String,
    /// What it acts on, for people.
    pub target: String,
    pub action: Action,
}

/// The plan, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub discovery_digest: String,
    pub deployment: String,
    pub key: String,
    pub operations: Vec<Operation>,
}

/// The ids of the operations other code names.
pub const LEASE_OP: &str = "p3-dhcp-lease";
pub const DESYNC_OP: &str = "p4-desync";
pub const RESYNC_OP: &str = "p4-resync";
pub const DUMP_OP: &str = "p4-dump";
pub const GATE_OP: &str = "p5-old-leases-expired";
/// The group the canaries boot in.
pub const CANARY_GROUP: &str = "p1-canaries";

/// Why a plan cannot be made.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "plan the canaries: {missing} not given; pass --image and --flavor (the image and flavor of typical workloads)"
    )]
    CanaryImage { missing: &'static str },
    #[error(
        "plan the canaries: no enabled nova-compute service was found; check `openstack compute service list`"
    )]
    NoComputeHosts,
    #[error(
        "plan the backup: the StatefulSet openstack/mariadb-server has 0 replicas; Neutron's database is not there"
    )]
    NoGalera,
}

/// Returns the name of the canary of `host` in the run of `key`.
pub fn canary_name(key: &str, host: &str) -> String {
    format!("ovn-migrate-canary-{host}-{key}")
}

/// Returns the dump's path in the member's data directory.
pub fn dump_path(stamp: &str) -> String {
    format!("/var/lib/mysql/neutron-ovs-ovn-migration-{stamp}.sql")
}

/// Makes the plan (pure).
pub fn build(d: &Discovery, o: &PrepareOptions, digest: &str) -> Result<Plan, PlanError> {
    let (image, flavor) = match (&o.image, &o.flavor) {
        (Some(i), Some(f)) => (i.clone(), f.clone()),
        (None, Some(_)) => return Err(PlanError::CanaryImage { missing: "--image" }),
        (Some(_), None) => {
            return Err(PlanError::CanaryImage {
                missing: "--flavor",
            });
        }
        (None, None) => {
            return Err(PlanError::CanaryImage {
                missing: "--image and --flavor",
            });
        }
    };
    if d.compute_hosts.is_empty() {
        return Err(PlanError::NoComputeHosts);
    }
    if d.galera_replicas == 0 {
        return Err(PlanError::NoGalera);
    }
    let replicas = d.galera_replicas;
    let pod = member_pod(replicas - 1);
    let sts = "statefulsets/openstack/mariadb-server".to_string();
    // The Galera's health first: a cluster that cannot be backed up stops
    // the run before anything is changed (the desync checks it again).
    let mut ops = Vec::new();
    ops.push(Operation {
        id: "p4-galera-check".into(),
        step: "P4".into(),
        target: sts,
        action: Action::CheckGalera { replicas },
    });
    for host in &d.compute_hosts {
        let name = canary_name(&d.key, host);
        ops.push(Operation {
            id: format!("p1-canary/{host}"),
            step: "P1".into(),
            target: format!("servers/{name}"),
            action: Action::BootCanary {
                host: host.clone(),
                name,
                image: image.clone(),
                flavor: flavor.clone(),
                network: o.network.clone(),
            },
        });
    }
    ops.push(Operation {
        id: LEASE_OP.into(),
        step: "P3".into(),
        target: format!("openstackdeployments/{}", d.deployment),
        action: Action::SetLeaseDuration {
            deployment: d.deployment.clone(),
            value: REQUIRED_LEASE_S,
        },
    });
    ops.push(Operation {
        id: DESYNC_OP.into(),
        step: "P4".into(),
        target: format!("pods/openstack/{pod}"),
        action: Action::Desync {
            pod: pod.clone(),
            replicas,
        },
    });
    let path = dump_path(&d.stamp);
    ops.push(Operation {
        id: DUMP_OP.into(),
        step: "P4".into(),
        target: format!("pods/openstack/{pod}:{path}"),
        action: Action::Dump {
            pod: pod.clone(),
            path,
        },
    });
    ops.push(Operation {
        id: RESYNC_OP.into(),
        step: "P4".into(),
        target: format!("pods/openstack/{pod}"),
        action: Action::Resync { pod, replicas },
    });
    ops.push(Operation {
        id: GATE_OP.into(),
        step: "P5".into(),
        target: format!("openstackdeployments/{}", d.deployment),
        action: Action::OldLeasesExpired {
            old_lease_s: o.old_lease_s,
        },
    });
    Ok(Plan {
        discovery_digest: digest.to_string(),
        deployment: d.deployment.clone(),
        key: d.key.clone(),
        operations: ops,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn discovery() -> Discovery {
        Discovery {
            key: "k3y".into(),
            stamp: "20261202083000".into(),
            deployment: "openstack/osh-dev".into(),
            deployment_uid: "u1".into(),
            lease_duration: Some(86_400),
            compute_hosts: vec!["compute-0".into(), "compute-1".into()],
            galera_replicas: 3,
        }
    }

    pub(crate) fn options() -> PrepareOptions {
        PrepareOptions {
            image: Some("cirros".into()),
            flavor: Some("m1.tiny".into()),
            ..PrepareOptions::default()
        }
    }

    #[test]
    fn the_plan_checks_the_galera_first_then_canaries_lease_backup_and_gate() {
        let p = build(&discovery(), &options(), "d1").unwrap();
        let ids: Vec<&str> = p.operations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "p4-galera-check",
                "p1-canary/compute-0",
                "p1-canary/compute-1",
                "p3-dhcp-lease",
                "p4-desync",
                "p4-dump",
                "p4-resync",
                "p5-old-leases-expired"
            ]
        );
        assert_eq!(
            p.operations[1].action,
            Action::BootCanary {
                host: "compute-0".into(),
                name: "ovn-migrate-canary-compute-0-k3y".into(),
                image: "cirros".into(),
                flavor: "m1.tiny".into(),
                network: None
            }
        );
        // The highest-index member, and the discovery's stamp in the dump's name.
        assert_eq!(
            p.operations[5].action,
            Action::Dump {
                pod: "mariadb-server-2".into(),
                path: "/var/lib/mysql/neutron-ovs-ovn-migration-20261202083000.sql".into()
            }
        );
        assert_eq!(
            p.operations[7].action,
            Action::OldLeasesExpired {
                old_lease_s: 86_400
            }
        );
    }

    #[test]
    fn missing_inputs_are_refused_with_what_to_pass() {
        let mut o = options();
        o.flavor = None;
        assert_eq!(
            build(&discovery(), &o, "d").unwrap_err().to_string(),
            "plan the canaries: --flavor not given; pass --image and --flavor (the image and flavor of typical workloads)"
        );
        let mut d = discovery();
        d.compute_hosts.clear();
        assert_eq!(
            build(&d, &options(), "d").unwrap_err(),
            PlanError::NoComputeHosts
        );
        let mut d = discovery();
        d.galera_replicas = 0;
        assert_eq!(build(&d, &options(), "d").unwrap_err(), PlanError::NoGalera);
    }

    #[test]
    fn the_digest_ignores_the_key_and_stamp_only() {
        let a = discovery();
        let mut b = discovery();
        b.key = "other".into();
        b.stamp = "20300101000000".into();
        assert_eq!(a.digested(), b.digested());
        b.compute_hosts.push("compute-9".into());
        assert_ne!(a.digested(), b.digested());
    }
}
