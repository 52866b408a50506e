//! Plain readings of cluster objects, shared by the decision files.
//!
//! Helpers that pull the few fields decisions look at out of raw JSON
//! (`metadata.name`, status conditions) and [`NodeReading`], a node reduced
//! to what M0, M6, M9 and M10 need. Missing fields read as absent, never as a
//! panic: the decisions then report them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::names::{
    MCO_CURRENT_CONFIG, MCO_DESIRED_CONFIG, MCO_STATE_ANNOTATION, ROLE_CONTROL_PLANE, ROLE_MASTER,
    ROLE_WORKER,
};

/// Returns `metadata.name`, or `""` when absent.
pub fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Returns the condition of `type_` in `.status.conditions`, if any.
pub fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// Returns the `status` (`True`/`False`/`Unknown`) of a condition, if present.
pub fn condition_status<'a>(object: &'a Value, type_: &str) -> Option<&'a str> {
    condition(object, type_)?.get("status")?.as_str()
}

/// Returns true when the condition is present with status `want`.
pub fn condition_is(object: &Value, type_: &str, want: bool) -> bool {
    condition_status(object, type_) == Some(if want { "True" } else { "False" })
}

/// Returns the condition's message (or reason), for hints.
pub fn condition_message(object: &Value, type_: &str) -> Option<String> {
    let c = condition(object, type_)?;
    c.get("message")
        .or_else(|| c.get("reason"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Returns a string field at a JSON pointer.
pub fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// Returns an integer field at a JSON pointer.
pub fn int_at(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// A node reduced to what the migration decisions need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReading {
    /// Node name.
    pub name: String,
    /// Ready=True.
    pub ready: bool,
    /// Labelled master or control-plane.
    pub control_plane: bool,
    /// Other `node-role.kubernetes.io/<role>` roles, sorted (worker included).
    pub roles: Vec<String>,
    /// `spec.providerID`.
    pub provider_id: Option<String>,
    /// `status.nodeInfo.bootID`.
    pub boot_id: Option<String>,
    /// The first InternalIP address.
    pub internal_ip: Option<IpAddr>,
    /// Annotations, for MCO state.
    pub annotations: BTreeMap<String, String>,
}

impl NodeReading {
    /// Reads a Node object.
    pub fn from_value(node: &Value) -> NodeReading {
        let labels: Vec<&str> = node
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let control_plane = labels.contains(&ROLE_MASTER) || labels.contains(&ROLE_CONTROL_PLANE);
        let mut roles: Vec<String> = labels
            .iter()
            .filter_map(|l| l.strip_prefix("node-role.kubernetes.io/"))
            .filter(|r| !r.is_empty() && *r != "master" && *r != "control-plane")
            .map(str::to_string)
            .collect();
        roles.sort();
        let internal_ip = node
            .pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .filter(|x| x.get("type").and_then(Value::as_str) == Some("InternalIP"))
                    .find_map(|x| x.get("address")?.as_str()?.parse().ok())
            });
        let annotations = node
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        NodeReading {
            name: name_of(node).to_string(),
            ready: condition_is(node, "Ready", true),
            control_plane,
            roles,
            provider_id: str_at(node, "/spec/providerID").map(str::to_string),
            boot_id: str_at(node, "/status/nodeInfo/bootID").map(str::to_string),
            internal_ip,
            annotations,
        }
    }

    /// Returns the MachineConfigPool-style pool name: `master`, a custom role, or `worker`.
    pub fn pool(&self) -> &str {
        if self.control_plane {
            return "master";
        }
        self.roles
            .iter()
            .map(String::as_str)
            .find(|r| *r != "worker")
            .unwrap_or("worker")
    }

    /// Returns true when the node carries the worker role label.
    pub fn is_worker(&self) -> bool {
        self.roles
            .iter()
            .any(|r| format!("node-role.kubernetes.io/{r}") == ROLE_WORKER)
    }

    /// Returns (state, currentConfig, desiredConfig) from the MCO annotations.
    pub fn mco(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let get = |k: &str| self.annotations.get(k).map(String::as_str);
        (
            get(MCO_STATE_ANNOTATION),
            get(MCO_CURRENT_CONFIG),
            get(MCO_DESIRED_CONFIG),
        )
    }
}

/// Returns `nodes/<name>` for every node that is not Ready.
pub fn not_ready_nodes(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .map(NodeReading::from_value)
        .filter(|n| !n.ready)
        .map(|n| format!("nodes/{}", n.name))
        .collect()
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Hand-built objects for the decision tests.
    use serde_json::{Value, json};

    /// Returns a Node with the given role labels, readiness and boot id.
    pub fn node(name: &str, roles: &[&str], ready: bool, boot: &str) -> Value {
        let labels: serde_json::Map<String, Value> = roles
            .iter()
            .map(|r| (format!("node-role.kubernetes.io/{r}"), json!("")))
            .collect();
        json!({
            "metadata": {"name": name, "labels": labels, "annotations": {}},
            "spec": {"providerID": format!("openstack:///0d6d1d8e-7c1a-4b8e-9a61-{:012x}", name.len())},
            "status": {
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                "nodeInfo": {"bootID": boot},
                "addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": "10.0.0.5"}],
            }
        })
    }

    /// Returns an object with the given name and conditions.
    pub fn with_conditions(name: &str, conds: &[(&str, &str)]) -> Value {
        let conditions: Vec<Value> = conds
            .iter()
            .map(|(t, s)| json!({"type": t, "status": s, "message": format!("{t} is {s}")}))
            .collect();
        json!({"metadata": {"name": name}, "status": {"conditions": conditions}})
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn reads_roles_ready_and_addresses() {
        let n = NodeReading::from_value(&node("m-0", &["master", "worker"], true, "b1"));
        assert!(n.control_plane && n.ready);
        assert_eq!(n.pool(), "master");
        assert_eq!(n.boot_id.as_deref(), Some("b1"));
        assert_eq!(n.internal_ip, Some("10.0.0.5".parse().unwrap()));
        let w = NodeReading::from_value(&node("w-0", &["worker"], false, "b"));
        assert!(!w.control_plane && !w.ready && w.is_worker());
        assert_eq!(w.pool(), "worker");
        let i = NodeReading::from_value(&node("i-0", &["worker", "infra"], true, "b"));
        assert_eq!(i.pool(), "infra");
        let cp = NodeReading::from_value(&node("c-0", &["control-plane"], true, "b"));
        assert!(cp.control_plane);
    }

    #[test]
    fn conditions_are_found_by_type() {
        let o = with_conditions("x", &[("Available", "True"), ("Degraded", "False")]);
        assert!(condition_is(&o, "Available", true));
        assert!(condition_is(&o, "Degraded", false));
        assert!(!condition_is(&o, "Progressing", false));
        assert_eq!(
            condition_message(&o, "Degraded").as_deref(),
            Some("Degraded is False")
        );
        assert_eq!(name_of(&o), "x");
        assert_eq!(name_of(&serde_json::json!({})), "");
    }
}
