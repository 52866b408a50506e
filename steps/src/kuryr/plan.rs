//! The migration phase as an ordered list of operations (M0…M11), as plain data.
//!
//! [`build_plan`] turns the discovery and the user's options into the
//! operations the engine will journal and run, each with its step id, action,
//! target resource and an idempotency key that stays the same on every run
//! against the same cluster. Reboots expand into one operation per node in
//! wave order (see `reboot.rs`). The plan carries the digest of the discovery
//! (see `digest.rs`) so a resumed run can tell whether the cluster changed
//! under it. Whether an operation is already done is decided when it runs
//! (M3 skips when the migration field is set, M7 when the type is switched).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

use super::cidr::{Cidr, CidrError};
use super::digest::digest;
use super::finding::Finding;
use super::identity::{IdentityError, cluster_id};
use super::names::{CLUSTER, MULTUS_DAEMONSET, MULTUS_NAMESPACE, NETWORK_TYPE_OVNK};
use super::precheck::identifiers_fit;
use super::reboot::{RebootError, RebootLimits, plan_waves, targets};
use super::settings::SettingsDecision;
use super::ssh::{SshTemplate, TemplateError};

/// A step of the migration phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StepId {
    /// Precheck.
    M0,
    /// Back up the network config.
    M1,
    /// Read the cluster id.
    M2,
    /// Set the migration field.
    M3,
    /// Optional OVN-K settings.
    M4,
    /// Machine config rollout.
    M5,
    /// New config on hosts.
    M6,
    /// Switch the plugin.
    M7,
    /// Multus rollout.
    M8,
    /// Reboot every node.
    M9,
    /// Verify.
    M10,
    /// Remove the migration config.
    M11,
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How a node is rebooted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RebootVia {
    /// Run this argv (rendered from the ssh template).
    Ssh(Vec<String>),
    /// Nova soft reboot of this server.
    Nova(String),
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Run the M0 checks.
    Precheck,
    /// Store the config network in the journal, once.
    BackupNetworkConfig,
    /// Read the infrastructure name.
    ReadClusterId,
    /// Merge-patch this, then wait for `status.migration.networkType`.
    SetMigration(Value),
    /// Merge-patch these OVN-K settings.
    ApplyOvnSettings(Value),
    /// Wait for every pool to take a new rendered config.
    WaitMachineConfigRollout,
    /// Wait for every node to run it, with `configure-ovs.sh OVNKubernetes`.
    WaitHostsConfig,
    /// Merge-patch the network type (and cluster network).
    SwitchNetworkType(Value),
    /// Wait for the multus DaemonSet.
    WaitMultus,
    /// Reboot one node and wait for a new bootID and Ready.
    RebootNode {
        /// Wave index, from 0.
        wave: usize,
        /// The bootID recorded before.
        boot_id: String,
        /// How.
        via: RebootVia,
    },
    /// Run the M10 checks.
    Verify,
    /// Merge-patch the migration field away, then wait for `status.migration` to go.
    RemoveMigration(Value),
}

/// One planned operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The step.
    pub step: StepId,
    /// What to do.
    pub action: Action,
    /// The resource it concerns, e.g. `networks.operator.openshift.io/cluster`.
    pub target: String,
    /// Stable key for the journal: the same on every run of the same cluster.
    pub key: String,
}

/// The migration phase of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The cluster id.
    pub cluster_id: String,
    /// blake3 of the canonical discovery.
    pub discovery_digest: String,
    /// The operations, in order.
    pub operations: Vec<Operation>,
}

/// What discovery read, by reference.
#[derive(Debug, Clone, Copy)]
pub struct Discovery<'a> {
    /// `infrastructures/cluster`.
    pub infrastructure: &'a Value,
    /// `networks.config.openshift.io/cluster`.
    pub config_network: &'a Value,
    /// `networks.operator.openshift.io/cluster`.
    pub operator_network: &'a Value,
    /// All Nodes.
    pub nodes: &'a [Value],
    /// All MachineConfigPools.
    pub pools: &'a [Value],
}

impl Discovery<'_> {
    /// Returns the discovery as one JSON document (what the digest covers).
    pub fn to_value(&self) -> Value {
        json!({
            "infrastructure": self.infrastructure,
            "configNetwork": self.config_network,
            "operatorNetwork": self.operator_network,
            "nodes": self.nodes,
            "machineConfigPools": self.pools,
        })
    }
}

/// How the user wants nodes rebooted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebootMethod {
    /// ssh with this template.
    Ssh(SshTemplate),
    /// Nova soft reboot by providerID.
    Nova,
}

/// The user's options for the migration phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// M4's decision (from `settings::decide`).
    pub settings: SettingsDecision,
    /// New cluster networks for M7: (cidr, hostPrefix); empty keeps the current ones.
    pub cluster_network: Vec<(String, u32)>,
    /// How to reboot.
    pub reboot: RebootMethod,
    /// Reboot parallelism per pool.
    pub limits: RebootLimits,
}

/// Errors of planning; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    /// No cluster id.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Reboot planning failed.
    #[error(transparent)]
    Reboot(#[from] RebootError),
    /// The ssh template did not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A cluster network does not parse.
    #[error("plan the cluster network: {0}")]
    ClusterNetwork(#[source] CidrError),
    /// An object's name is too long to be journaled (a precheck finding,
    /// raised when the plan is made, before anything changes).
    #[error("plan the migration: {}: {}", .0.detail, .0.hint)]
    Identifiers(Box<Finding>),
    /// A hostPrefix does not fit its cluster network.
    #[error(
        "plan the cluster network {cidr}: hostPrefix {host_prefix} must be longer than the prefix and at most {max}"
    )]
    HostPrefix {
        /// The network.
        cidr: String,
        /// The prefix asked for.
        host_prefix: u32,
        /// Its family's width.
        max: u32,
    },
}

const OPERATOR_NETWORK: &str = "networks.operator.openshift.io/cluster";
const CONFIG_NETWORK: &str = "networks.config.openshift.io/cluster";

/// Returns M7's merge patch: the network type and, if given, the cluster networks.
pub fn switch_patch(cluster_network: &[(String, u32)]) -> Result<Value, PlanError> {
    let mut spec = json!({"networkType": NETWORK_TYPE_OVNK});
    if !cluster_network.is_empty() {
        let mut entries = Vec::new();
        for (text, host_prefix) in cluster_network {
            let cidr: Cidr = text.parse().map_err(PlanError::ClusterNetwork)?;
            let max = if cidr.is_ipv4() { 32 } else { 128 };
            if *host_prefix <= u32::from(cidr.prefix()) || *host_prefix > max {
                return Err(PlanError::HostPrefix {
                    cidr: text.clone(),
                    host_prefix: *host_prefix,
                    max,
                });
            }
            entries.push(json!({"cidr": cidr.to_string(), "hostPrefix": host_prefix}));
        }
        spec["clusterNetwork"] = Value::Array(entries);
    }
    Ok(json!({ "spec": spec }))
}

/// Returns the migration phase's operations for this discovery and these options.
pub fn build_plan(discovery: &Discovery<'_>, options: &PlanOptions) -> Result<Plan, PlanError> {
    let id = cluster_id(discovery.infrastructure)?;
    let mut ops = Vec::new();
    let mut push = |step: StepId, action: Action, target: &str, verb: &str| {
        ops.push(Operation {
            step,
            key: format!("{id}/{step}/{verb}/{target}"),
            action,
            target: target.to_string(),
        });
    };
    push(StepId::M0, Action::Precheck, CONFIG_NETWORK, "precheck");
    push(
        StepId::M1,
        Action::BackupNetworkConfig,
        CONFIG_NETWORK,
        "backup",
    );
    push(
        StepId::M2,
        Action::ReadClusterId,
        &format!("infrastructures.config.openshift.io/{CLUSTER}"),
        "read",
    );
    let migration = json!({"spec": {"migration": {"networkType": NETWORK_TYPE_OVNK}}});
    push(
        StepId::M3,
        Action::SetMigration(migration),
        OPERATOR_NETWORK,
        "set-migration",
    );
    if let SettingsDecision::Patch(patch) = &options.settings {
        push(
            StepId::M4,
            Action::ApplyOvnSettings(patch.clone()),
            OPERATOR_NETWORK,
            "ovn-settings",
        );
    }
    push(
        StepId::M5,
        Action::WaitMachineConfigRollout,
        "machineconfigpools.machineconfiguration.openshift.io",
        "wait",
    );
    push(StepId::M6, Action::WaitHostsConfig, "nodes", "wait");
    push(
        StepId::M7,
        Action::SwitchNetworkType(switch_patch(&options.cluster_network)?),
        CONFIG_NETWORK,
        "switch",
    );
    push(
        StepId::M8,
        Action::WaitMultus,
        &format!("daemonsets.apps/{MULTUS_DAEMONSET} in namespace {MULTUS_NAMESPACE}"),
        "wait",
    );
    let nodes = targets(discovery.nodes)?;
    let waves = plan_waves(&nodes, &options.limits)?;
    for (wave, members) in waves.iter().enumerate() {
        for name in &members.nodes {
            let node = nodes
                .iter()
                .find(|n| &n.name == name)
                .expect("waves hold planned nodes");
            let via = match &options.reboot {
                RebootMethod::Ssh(t) => RebootVia::Ssh(t.render(node)?),
                RebootMethod::Nova => RebootVia::Nova(node.server_id.clone()),
            };
            let action = Action::RebootNode {
                wave,
                boot_id: node.boot_id.clone(),
                via,
            };
            push(StepId::M9, action, &format!("nodes/{name}"), "reboot");
        }
    }
    push(StepId::M10, Action::Verify, CONFIG_NETWORK, "verify");
    push(
        StepId::M11,
        Action::RemoveMigration(json!({"spec": {"migration": null}})),
        OPERATOR_NETWORK,
        "remove-migration",
    );
    let fit = identifiers_fit(ops.iter().map(|o| (o.key.as_str(), o.target.as_str())));
    if !fit.passed {
        return Err(PlanError::Identifiers(Box::new(fit)));
    }
    Ok(Plan {
        cluster_id: id,
        discovery_digest: digest(&discovery.to_value()),
        operations: ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;

    struct World {
        infra: Value,
        config: Value,
        operator: Value,
        nodes: Vec<Value>,
    }

    fn world() -> World {
        World {
            infra: json!({"status": {"infrastructureName": "c-1"}}),
            config: json!({"metadata": {"resourceVersion": "1"}, "status": {"networkType": "Kuryr"}}),
            operator: json!({"spec": {}}),
            nodes: vec![
                node("w-1", &["worker"], true, "bw1"),
                node("m-0", &["master"], true, "bm0"),
                node("w-0", &["worker"], true, "bw0"),
            ],
        }
    }

    fn discovery(w: &World) -> Discovery<'_> {
        Discovery {
            infrastructure: &w.infra,
            config_network: &w.config,
            operator_network: &w.operator,
            nodes: &w.nodes,
            pools: &[],
        }
    }

    fn options() -> PlanOptions {
        PlanOptions {
            settings: SettingsDecision::NothingToSet,
            cluster_network: vec![],
            reboot: RebootMethod::Nova,
            limits: RebootLimits::default(),
        }
    }

    #[test]
    fn operations_run_m0_to_m11_with_one_reboot_per_node() {
        let w = world();
        let plan = build_plan(&discovery(&w), &options()).unwrap();
        let steps: Vec<String> = plan
            .operations
            .iter()
            .map(|o| format!("{} {}", o.step, o.target))
            .collect();
        assert_eq!(
            steps,
            vec![
                "M0 networks.config.openshift.io/cluster",
                "M1 networks.config.openshift.io/cluster",
                "M2 infrastructures.config.openshift.io/cluster",
                "M3 networks.operator.openshift.io/cluster",
                "M5 machineconfigpools.machineconfiguration.openshift.io",
                "M6 nodes",
                "M7 networks.config.openshift.io/cluster",
                "M8 daemonsets.apps/multus in namespace openshift-multus",
                "M9 nodes/m-0",
                "M9 nodes/w-0",
                "M9 nodes/w-1",
                "M10 networks.config.openshift.io/cluster",
                "M11 networks.operator.openshift.io/cluster",
            ]
        );
        let m9 = &plan.operations[8];
        assert_eq!(m9.key, "c-1/M9/reboot/nodes/m-0");
        assert!(
            matches!(&m9.action, Action::RebootNode { wave: 0, boot_id, via: RebootVia::Nova(id) } if boot_id == "bm0" && id.starts_with("0d6d1d8e"))
        );
        assert_eq!(plan.cluster_id, "c-1");
    }

    #[test]
    fn keys_are_unique_and_stable() {
        let w = world();
        let a = build_plan(&discovery(&w), &options()).unwrap();
        let b = build_plan(&discovery(&w), &options()).unwrap();
        assert_eq!(a, b);
        let mut keys: Vec<&str> = a.operations.iter().map(|o| o.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), a.operations.len());
    }

    #[test]
    fn settings_and_ssh_reboots_appear_when_asked() {
        let w = world();
        let patch = json!({"spec": {"defaultNetwork": {"ovnKubernetesConfig": {"mtu": 1350}}}});
        let opts = PlanOptions {
            settings: SettingsDecision::Patch(patch.clone()),
            reboot: RebootMethod::Ssh(SshTemplate::default()),
            ..options()
        };
        let plan = build_plan(&discovery(&w), &opts).unwrap();
        assert!(
            plan.operations.iter().any(
                |o| o.step == StepId::M4 && o.action == Action::ApplyOvnSettings(patch.clone())
            )
        );
        let ssh = plan.operations.iter().find_map(|o| match &o.action {
            Action::RebootNode {
                via: RebootVia::Ssh(argv),
                ..
            } => Some(argv.clone()),
            _ => None,
        });
        assert_eq!(ssh.unwrap()[1], "core@10.0.0.5");
    }

    #[test]
    fn digest_ignores_resource_versions_but_not_changes() {
        let w = world();
        let a = build_plan(&discovery(&w), &options()).unwrap();
        let mut w2 = world();
        w2.config["metadata"]["resourceVersion"] = json!("2");
        assert_eq!(
            a.discovery_digest,
            build_plan(&discovery(&w2), &options())
                .unwrap()
                .discovery_digest
        );
        w2.config["status"]["networkType"] = json!("OVNKubernetes");
        assert_ne!(
            a.discovery_digest,
            build_plan(&discovery(&w2), &options())
                .unwrap()
                .discovery_digest
        );
    }

    #[test]
    fn bad_inputs_fail_the_plan() {
        let mut w = world();
        w.nodes[0]["spec"]["providerID"] = json!("openstack:///w-1");
        assert!(matches!(
            build_plan(&discovery(&w), &options()),
            Err(PlanError::Reboot(_))
        ));
        let w = World {
            infra: json!({}),
            ..world()
        };
        assert!(matches!(
            build_plan(&discovery(&w), &options()),
            Err(PlanError::Identity(_))
        ));
    }

    #[test]
    fn an_over_long_node_name_is_a_finding_when_the_plan_is_made() {
        let mut w = world();
        let long = "w".repeat(204);
        w.nodes.push(node(&long, &["worker"], true, "bwl"));
        match build_plan(&discovery(&w), &options()) {
            Err(PlanError::Identifiers(f)) => {
                assert!(f.blocks());
                assert_eq!(f.objects, vec![format!("nodes/{long}")]);
                assert!(f.hint.contains("200 bytes"), "{}", f.hint);
            }
            other => panic!("expected an identifier finding, got {other:?}"),
        }
        // The longest name M0 accepts still plans.
        let mut w = world();
        let ok = "w".repeat(crate::kuryr::precheck::MAX_NODE_NAME);
        w.nodes.push(node(&ok, &["worker"], true, "bwo"));
        build_plan(&discovery(&w), &options()).unwrap();
    }

    #[test]
    fn switch_patch_checks_host_prefix() {
        assert_eq!(
            switch_patch(&[]).unwrap(),
            json!({"spec": {"networkType": "OVNKubernetes"}})
        );
        let p = switch_patch(&[("10.128.0.0/14".into(), 23)]).unwrap();
        assert_eq!(p["spec"]["clusterNetwork"][0]["hostPrefix"], json!(23));
        assert!(matches!(
            switch_patch(&[("10.128.0.0/14".into(), 14)]),
            Err(PlanError::HostPrefix { .. })
        ));
        assert!(matches!(
            switch_patch(&[("10.128.0.0/14".into(), 33)]),
            Err(PlanError::HostPrefix { .. })
        ));
        assert!(matches!(
            switch_patch(&[("10.128.0.1/14".into(), 23)]),
            Err(PlanError::ClusterNetwork(_))
        ));
    }
}
