//! M0: is the cluster fit to start the migration?
//!
//! From plain readings — the config and operator `networks/cluster`, nodes,
//! ClusterOperators, MachineConfigPools, Octavia's newest API version, and the
//! master/worker security groups as plain data — return one [`Finding`] per
//! check. Geneve needs UDP on the Geneve port between every pair of node
//! security groups (master↔master, master↔worker, worker↔worker): an ingress
//! UDP rule covering the port (see `geneve.rs`). Nothing here does I/O.

use serde_json::Value;

use super::cidr::Cidr;
use super::finding::{Finding, Severity};
use super::geneve::{SecurityGroup, geneve_allowed};
use super::names::{MIN_OCTAVIA_VERSION, NETWORK_TYPE_KURYR, NETWORK_TYPE_OVNK};
use super::readings::{condition_is, condition_message, name_of, not_ready_nodes, str_at};

/// Everything M0 looks at.
#[derive(Debug, Clone, Copy)]
pub struct PrecheckInput<'a> {
    /// `networks.config.openshift.io/cluster`.
    pub config_network: &'a Value,
    /// `networks.operator.openshift.io/cluster`.
    pub operator_network: &'a Value,
    /// All Nodes.
    pub nodes: &'a [Value],
    /// All ClusterOperators.
    pub cluster_operators: &'a [Value],
    /// All MachineConfigPools.
    pub pools: &'a [Value],
    /// Octavia's newest API version (`v2.25`), `None` when unknown.
    pub octavia_max_version: Option<&'a str>,
    /// The master security group, `None` when not found.
    pub master_sg: Option<&'a SecurityGroup>,
    /// The worker security group, `None` when not found.
    pub worker_sg: Option<&'a SecurityGroup>,
    /// The machine networks.
    pub machine_networks: &'a [Cidr],
    /// The Geneve port that will be used.
    pub geneve_port: u16,
}

/// Returns whether every operation's id and target fit what the journal
/// records (`journal::MAX_OP_ID`, `journal::MAX_IDENTIFIER`): checked when the
/// plan is made, so an over-long node name stops the run before anything
/// changes instead of at its reboot, after the network was switched.
/// `ops` holds each operation's (id, target).
pub fn identifiers_fit<'a>(ops: impl IntoIterator<Item = (&'a str, &'a str)>) -> Finding {
    let offenders: Vec<String> = ops
        .into_iter()
        .filter(|(id, target)| {
            id.len() > journal::MAX_OP_ID || target.len() > journal::MAX_IDENTIFIER
        })
        .map(|(_, target)| target.to_string())
        .collect();
    let lens: Vec<String> = offenders
        .iter()
        .map(|t| format!("{} bytes", t.len()))
        .collect();
    let mut f = Finding::from_offenders(
        "identifiers-fit",
        Severity::Blocker,
        offenders,
        "every object name fits the journal",
        "object names too long to journal",
        "",
    );
    if !f.passed {
        f.hint = format!(
            "ovn-migrate journals each operation by an id made of the cluster id and the object's \
             name, at most {} bytes ({}); rename these objects (a node's name is its hostname) \
             or report the need for longer names",
            journal::MAX_OP_ID,
            lens.join(", ")
        );
    }
    f
}

/// Returns the M0 findings, one per check, in a stable order.
pub fn precheck(input: &PrecheckInput<'_>) -> Vec<Finding> {
    vec![
        network_type(input.config_network),
        migration_unset(input.operator_network),
        nodes_ready(input.nodes),
        node_names(input.nodes),
        operators_healthy(input.cluster_operators),
        pools_updated(input.pools),
        octavia_version(input.octavia_max_version),
        geneve_allowed(
            input.master_sg,
            input.worker_sg,
            input.machine_networks,
            input.geneve_port,
        ),
    ]
}

/// Longest node name M0 accepts: the reboot's operation id is
/// `<cluster id>/M9/reboot/nodes/<name>`, and the journal bounds ids at
/// `journal::MAX_OP_ID` bytes; 50 bytes are left for the rest of the id.
pub const MAX_NODE_NAME: usize = journal::MAX_OP_ID - 50;

fn node_names(nodes: &[Value]) -> Finding {
    let offenders: Vec<String> = nodes
        .iter()
        .map(name_of)
        .filter(|n| n.len() > MAX_NODE_NAME)
        .map(|n| format!("nodes/{n}"))
        .collect();
    Finding::from_offenders(
        "node-names-fit",
        Severity::Blocker,
        offenders,
        "every node name fits the journal",
        &format!("node names over {MAX_NODE_NAME} bytes"),
        "ovn-migrate journals each reboot by the node's name: rename these nodes, or report the need for longer names",
    )
}

fn network_type(config_network: &Value) -> Finding {
    let name = "network-type-kuryr";
    match str_at(config_network, "/status/networkType") {
        Some(NETWORK_TYPE_KURYR) => Finding::pass(name, Severity::Blocker, "network type is Kuryr"),
        Some(NETWORK_TYPE_OVNK) => Finding::fail(
            name,
            Severity::Blocker,
            vec!["networks.config.openshift.io/cluster".into()],
            "network type is already OVNKubernetes",
            "the migration phase is done; run the cleanup phase if Kuryr's resources remain",
        ),
        other => Finding::fail(
            name,
            Severity::Blocker,
            vec!["networks.config.openshift.io/cluster".into()],
            format!("network type is {}", other.unwrap_or("unset")),
            "this workflow migrates Kuryr clusters only",
        ),
    }
}

fn migration_unset(operator_network: &Value) -> Finding {
    let migration = operator_network.pointer("/spec/migration");
    if migration.is_none_or(Value::is_null) {
        return Finding::pass(
            "migration-unset",
            Severity::Blocker,
            "no migration in progress",
        );
    }
    Finding::fail(
        "migration-unset",
        Severity::Blocker,
        vec!["networks.operator.openshift.io/cluster".into()],
        format!(
            "spec.migration is already set: {}",
            migration.map(Value::to_string).unwrap_or_default()
        ),
        "a migration is in progress: resume the run that started it, or clear spec.migration after checking why it is set",
    )
}

fn nodes_ready(nodes: &[Value]) -> Finding {
    if nodes.is_empty() {
        return Finding::fail(
            "nodes-ready",
            Severity::Blocker,
            vec![],
            "no nodes found",
            "check the kubeconfig points at the right cluster",
        );
    }
    let offenders = not_ready_nodes(nodes);
    Finding::from_offenders(
        "nodes-ready",
        Severity::Blocker,
        offenders,
        "every node is Ready",
        "nodes not Ready",
        "fix or remove these nodes first (`oc describe node`); a reboot wave would wait on them forever",
    )
}

fn operators_healthy(operators: &[Value]) -> Finding {
    let offenders = operators
        .iter()
        .filter(|co| !condition_is(co, "Available", true) || !condition_is(co, "Degraded", false))
        .map(|co| {
            let why =
                condition_message(co, "Degraded").filter(|_| !condition_is(co, "Degraded", false));
            match why {
                Some(m) => format!("clusteroperators/{} ({m})", name_of(co)),
                None => format!("clusteroperators/{}", name_of(co)),
            }
        })
        .collect();
    Finding::from_offenders(
        "clusteroperators-healthy",
        Severity::Blocker,
        offenders,
        "every ClusterOperator is Available and not Degraded",
        "ClusterOperators unavailable or degraded",
        "wait for them to settle or fix them (`oc get co`); a migration on an unhealthy cluster is hard to tell apart from a failed one",
    )
}

fn pools_updated(pools: &[Value]) -> Finding {
    let offenders = pools
        .iter()
        .filter(|p| !condition_is(p, "Updated", true) || !condition_is(p, "Degraded", false))
        .map(|p| format!("machineconfigpools/{}", name_of(p)))
        .collect();
    Finding::from_offenders(
        "machineconfigpools-updated",
        Severity::Blocker,
        offenders,
        "every MachineConfigPool is Updated and not Degraded",
        "pools not updated or degraded",
        "wait for the pools to finish updating (`oc get mcp`); M5 tells the migration's rollout apart from a running one only when they start settled",
    )
}

/// Parses `v2.25` or `2.25` into (major, minor).
pub fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let t = text.trim().trim_start_matches(['v', 'V']);
    let (major, minor) = t.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn octavia_version(max: Option<&str>) -> Finding {
    let name = "octavia-tags";
    let (want_major, want_minor) = MIN_OCTAVIA_VERSION;
    let hint = "Octavia before 2.5 has no tags: the cleanup will find load balancers only through the snapshot's KuryrLoadBalancer IDs";
    match max.and_then(parse_api_version) {
        Some(v) if v >= MIN_OCTAVIA_VERSION => Finding::pass(
            name,
            Severity::Warning,
            format!("Octavia API v{}.{}", v.0, v.1),
        ),
        Some(v) => Finding::fail(
            name,
            Severity::Warning,
            vec![],
            format!("Octavia API v{}.{} < v{want_major}.{want_minor}", v.0, v.1),
            hint,
        ),
        None => Finding::fail(
            name,
            Severity::Warning,
            vec![],
            format!(
                "Octavia API version unknown ({})",
                max.unwrap_or("not reported")
            ),
            hint,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::geneve::SgRule;
    use crate::kuryr::readings::fixtures::{node, with_conditions};
    use serde_json::json;

    fn geneve_from(group: &str) -> SgRule {
        SgRule {
            direction: "ingress".into(),
            ethertype: "IPv4".into(),
            protocol: Some("udp".into()),
            port_range_min: Some(6081),
            port_range_max: Some(6081),
            remote_group_id: Some(group.into()),
            remote_ip_prefix: None,
        }
    }

    fn sgs() -> (SecurityGroup, SecurityGroup) {
        let rules = vec![geneve_from("m"), geneve_from("w")];
        (
            SecurityGroup {
                id: "m".into(),
                name: "c-master".into(),
                rules: rules.clone(),
            },
            SecurityGroup {
                id: "w".into(),
                name: "c-worker".into(),
                rules,
            },
        )
    }

    struct World {
        config: Value,
        operator: Value,
        nodes: Vec<Value>,
        cos: Vec<Value>,
        pools: Vec<Value>,
        master: SecurityGroup,
        worker: SecurityGroup,
        machine: Vec<Cidr>,
    }

    fn healthy() -> World {
        let (master, worker) = sgs();
        World {
            config: json!({"status": {"networkType": "Kuryr"}}),
            operator: json!({"spec": {"migration": null}}),
            nodes: vec![
                node("m-0", &["master"], true, "b"),
                node("w-0", &["worker"], true, "b"),
            ],
            cos: vec![with_conditions(
                "dns",
                &[("Available", "True"), ("Degraded", "False")],
            )],
            pools: vec![with_conditions(
                "worker",
                &[("Updated", "True"), ("Degraded", "False")],
            )],
            master,
            worker,
            machine: vec!["10.0.0.0/16".parse().unwrap()],
        }
    }

    fn run(w: &World, octavia: Option<&str>) -> Vec<Finding> {
        precheck(&PrecheckInput {
            config_network: &w.config,
            operator_network: &w.operator,
            nodes: &w.nodes,
            cluster_operators: &w.cos,
            pools: &w.pools,
            octavia_max_version: octavia,
            master_sg: Some(&w.master),
            worker_sg: Some(&w.worker),
            machine_networks: &w.machine,
            geneve_port: 6081,
        })
    }

    fn failed(findings: &[Finding]) -> Vec<&str> {
        findings
            .iter()
            .filter(|f| !f.passed)
            .map(|f| f.name.as_str())
            .collect()
    }

    #[test]
    fn healthy_cluster_passes_everything() {
        let f = run(&healthy(), Some("v2.25"));
        assert_eq!(f.len(), 8);
        assert!(failed(&f).is_empty(), "{f:#?}");
    }

    #[test]
    fn each_problem_fails_its_own_check() {
        let mut w = healthy();
        w.config = json!({"status": {"networkType": "OVNKubernetes"}});
        w.operator = json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}});
        w.nodes.push(node("w-1", &["worker"], false, "b"));
        w.cos.push(with_conditions(
            "etcd",
            &[("Available", "True"), ("Degraded", "True")],
        ));
        w.pools.push(with_conditions(
            "master",
            &[("Updated", "False"), ("Degraded", "False")],
        ));
        let f = run(&w, Some("2.4"));
        assert_eq!(
            failed(&f),
            vec![
                "network-type-kuryr",
                "migration-unset",
                "nodes-ready",
                "clusteroperators-healthy",
                "machineconfigpools-updated",
                "octavia-tags",
            ]
        );
        let nodes = f.iter().find(|x| x.name == "nodes-ready").unwrap();
        assert_eq!(nodes.objects, vec!["nodes/w-1"]);
        assert!(
            f.iter()
                .find(|x| x.name == "clusteroperators-healthy")
                .unwrap()
                .objects[0]
                .contains("Degraded is True")
        );
        let octavia = f.iter().find(|x| x.name == "octavia-tags").unwrap();
        assert!(!octavia.blocks(), "old Octavia is a warning");
    }

    #[test]
    fn an_over_long_node_name_blocks() {
        let mut w = healthy();
        let long = "n".repeat(204);
        w.nodes.push(node(&long, &["worker"], true, "b"));
        let f = run(&w, Some("v2.25"));
        assert_eq!(failed(&f), vec!["node-names-fit"]);
        let n = f.iter().find(|x| x.name == "node-names-fit").unwrap();
        assert!(n.blocks());
        assert_eq!(n.objects, vec![format!("nodes/{long}")]);
        let ids = [("c/M9/reboot/nodes/x", "nodes/x")];
        assert!(identifiers_fit(ids).passed);
        let id = format!("c/M9/reboot/nodes/{long}");
        let target = format!("nodes/{long}");
        let bad = identifiers_fit([(id.as_str(), target.as_str())]);
        assert!(bad.blocks() && bad.hint.contains("rename"), "{bad:?}");
    }

    #[test]
    fn missing_geneve_rule_names_the_pair() {
        let mut w = healthy();
        w.worker
            .rules
            .retain(|r| r.remote_group_id.as_deref() != Some("m"));
        let f = run(&w, Some("v2.5"));
        let g = f.iter().find(|x| x.name == "geneve-allowed").unwrap();
        assert!(g.blocks());
        assert_eq!(g.objects, vec!["security-groups/c-worker (from c-master)"]);
    }

    #[test]
    fn missing_groups_and_no_nodes_block() {
        let w = healthy();
        let f = precheck(&PrecheckInput {
            config_network: &w.config,
            operator_network: &w.operator,
            nodes: &[],
            cluster_operators: &w.cos,
            pools: &w.pools,
            octavia_max_version: None,
            master_sg: None,
            worker_sg: Some(&w.worker),
            machine_networks: &w.machine,
            geneve_port: 6081,
        });
        assert_eq!(
            failed(&f),
            vec!["nodes-ready", "octavia-tags", "geneve-allowed"]
        );
    }

    #[test]
    fn api_versions_parse() {
        assert_eq!(parse_api_version("v2.25"), Some((2, 25)));
        assert_eq!(parse_api_version("2.5"), Some((2, 5)));
        assert_eq!(parse_api_version("two"), None);
    }
}
