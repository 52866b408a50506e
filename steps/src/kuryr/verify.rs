//! M10: is the cluster running OVN-Kubernetes and healthy?
//!
//! The network type in `networks.config/cluster .status` is OVNKubernetes,
//! every node is Ready, and every ClusterOperator is Available=True,
//! Progressing=False, Degraded=False. Pods stuck Terminating on Kuryr
//! finalizers are expected at this point (the cleanup phase removes the
//! finalizers); they are reported as information, never as failures.

use serde_json::Value;

use super::finding::{Finding, Severity};
use super::names::{KURYR_FINALIZERS, NETWORK_TYPE_OVNK};
use super::readings::{condition_is, name_of, not_ready_nodes, str_at};

/// Everything M10 looks at.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// `networks.config.openshift.io/cluster`.
    pub config_network: &'a Value,
    /// All Nodes.
    pub nodes: &'a [Value],
    /// All ClusterOperators.
    pub cluster_operators: &'a [Value],
    /// All Pods (only terminating ones matter).
    pub pods: &'a [Value],
}

/// Returns the M10 findings in a stable order.
pub fn verify(input: &VerifyInput<'_>) -> Vec<Finding> {
    vec![
        network_type(input.config_network),
        nodes_ready(input.nodes),
        operators_settled(input.cluster_operators),
        kuryr_terminating_pods(input.pods),
    ]
}

fn network_type(config_network: &Value) -> Finding {
    match str_at(config_network, "/status/networkType") {
        Some(NETWORK_TYPE_OVNK) => Finding::pass(
            "network-type-ovnk",
            Severity::Blocker,
            "network type is OVNKubernetes",
        ),
        other => Finding::fail(
            "network-type-ovnk",
            Severity::Blocker,
            vec!["networks.config.openshift.io/cluster".into()],
            format!("status.networkType is {}", other.unwrap_or("unset")),
            "the network operator has not finished the switch: check `oc get co network` and the reboots of M9",
        ),
    }
}

fn nodes_ready(nodes: &[Value]) -> Finding {
    let offenders = not_ready_nodes(nodes);
    Finding::from_offenders(
        "nodes-ready",
        Severity::Blocker,
        offenders,
        "every node is Ready",
        "nodes not Ready",
        "check the ovnkube-node pods on these nodes (`oc -n openshift-ovn-kubernetes get pods -o wide`)",
    )
}

fn operators_settled(operators: &[Value]) -> Finding {
    let offenders = operators
        .iter()
        .filter_map(|co| {
            let mut wrong = Vec::new();
            if !condition_is(co, "Available", true) {
                wrong.push("not Available");
            }
            if !condition_is(co, "Progressing", false) {
                wrong.push("Progressing");
            }
            if !condition_is(co, "Degraded", false) {
                wrong.push("Degraded");
            }
            (!wrong.is_empty())
                .then(|| format!("clusteroperators/{} ({})", name_of(co), wrong.join(", ")))
        })
        .collect();
    Finding::from_offenders(
        "clusteroperators-settled",
        Severity::Blocker,
        offenders,
        "every ClusterOperator is Available, not Progressing, not Degraded",
        "ClusterOperators not settled",
        "wait and verify again; operators often settle minutes after the last reboot",
    )
}

/// Returns the Kuryr finalizers a pod still carries.
fn kuryr_finalizers(pod: &Value) -> Vec<&str> {
    pod.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|f| KURYR_FINALIZERS.contains(f))
                .collect()
        })
        .unwrap_or_default()
}

fn kuryr_terminating_pods(pods: &[Value]) -> Finding {
    let stuck: Vec<String> = pods
        .iter()
        .filter(|p| {
            p.pointer("/metadata/deletionTimestamp")
                .is_some_and(|t| !t.is_null())
        })
        .filter(|p| !kuryr_finalizers(p).is_empty())
        .map(|p| {
            let ns = str_at(p, "/metadata/namespace").unwrap_or("");
            format!("pods/{} in namespace {ns}", name_of(p))
        })
        .collect();
    let detail = if stuck.is_empty() {
        "no pods are held by Kuryr finalizers".to_string()
    } else {
        format!(
            "{} pods are Terminating on Kuryr finalizers, as expected before the cleanup",
            stuck.len()
        )
    };
    Finding {
        name: "kuryr-terminating-pods".into(),
        passed: true,
        severity: Severity::Info,
        objects: stuck,
        detail,
        hint: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::finding::any_blocks;
    use crate::kuryr::names::POD_FINALIZER;
    use crate::kuryr::readings::fixtures::{node, with_conditions};
    use serde_json::json;

    const SETTLED: &[(&str, &str)] = &[
        ("Available", "True"),
        ("Progressing", "False"),
        ("Degraded", "False"),
    ];

    fn pod(name: &str, finalizers: &[&str], deleting: bool) -> Value {
        let mut p =
            json!({"metadata": {"name": name, "namespace": "app", "finalizers": finalizers}});
        if deleting {
            p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        }
        p
    }

    #[test]
    fn migrated_cluster_passes_and_stuck_pods_are_information() {
        let config = json!({"status": {"networkType": "OVNKubernetes"}});
        let nodes = [node("w-0", &["worker"], true, "b")];
        let cos = [with_conditions("network", SETTLED)];
        let pods = [
            pod("a", &[POD_FINALIZER], true),
            pod("b", &[POD_FINALIZER], false),
            pod("c", &["other/f"], true),
        ];
        let f = verify(&VerifyInput {
            config_network: &config,
            nodes: &nodes,
            cluster_operators: &cos,
            pods: &pods,
        });
        assert!(f.iter().all(|x| x.passed), "{f:#?}");
        assert!(!any_blocks(&f));
        let stuck = f
            .iter()
            .find(|x| x.name == "kuryr-terminating-pods")
            .unwrap();
        assert_eq!(stuck.objects, vec!["pods/a in namespace app"]);
        assert_eq!(stuck.severity, Severity::Info);
    }

    #[test]
    fn unmigrated_or_unsettled_cluster_fails() {
        let config = json!({"status": {"networkType": "Kuryr"}});
        let nodes = [node("w-0", &["worker"], false, "b")];
        let cos = [
            with_conditions(
                "network",
                &[
                    ("Available", "True"),
                    ("Progressing", "True"),
                    ("Degraded", "False"),
                ],
            ),
            with_conditions("dns", SETTLED),
        ];
        let f = verify(&VerifyInput {
            config_network: &config,
            nodes: &nodes,
            cluster_operators: &cos,
            pods: &[],
        });
        let failed: Vec<&str> = f
            .iter()
            .filter(|x| !x.passed)
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(
            failed,
            vec![
                "network-type-ovnk",
                "nodes-ready",
                "clusteroperators-settled"
            ]
        );
        let co = f
            .iter()
            .find(|x| x.name == "clusteroperators-settled")
            .unwrap();
        assert_eq!(co.objects, vec!["clusteroperators/network (Progressing)"]);
        assert!(any_blocks(&f));
    }

    #[test]
    fn missing_conditions_count_as_unsettled() {
        let config = json!({"status": {"networkType": "OVNKubernetes"}});
        let cos = [json!({"metadata": {"name": "bare"}})];
        let f = verify(&VerifyInput {
            config_network: &config,
            nodes: &[],
            cluster_operators: &cos,
            pods: &[],
        });
        assert!(
            f[2].objects[0].contains("not Available, Progressing, Degraded"),
            "{:?}",
            f[2]
        );
    }
}
