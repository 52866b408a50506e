//! M5/M6: has the machine-config rollout that M3 triggers finished?
//!
//! Pools read Updated before the operator starts rendering, so "Updated" alone
//! means nothing: before M3 record each pool's `spec.configuration.name`
//! ([`baseline`]); a pool is done only when a *new* rendered name is in its
//! spec and status, and it is Updated=True, Updating=False, Degraded=False. A
//! Degraded pool stops the migration with its message. Nodes are done when
//! the MCO state is `Done` and `currentConfig == desiredConfig`, and the
//! rendered config contains `configure-ovs.sh OVNKubernetes`. Results are
//! small values that change only when the situation does, so the engine can
//! journal changes rather than polls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::names::{CONFIGURE_OVS_OVNK, MCO_STATE_DONE};
use super::readings::{NodeReading, condition_is, condition_message, int_at, name_of, str_at};

/// Returns each pool's `spec.configuration.name`, to record before M3.
pub fn baseline(pools: &[Value]) -> BTreeMap<String, String> {
    pools
        .iter()
        .filter_map(|p| {
            Some((
                name_of(p).to_string(),
                str_at(p, "/spec/configuration/name")?.to_string(),
            ))
        })
        .collect()
}

/// Where one pool is in the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolState {
    /// The MCO has not rendered a new config for the pool yet.
    WaitingForRender,
    /// A new config is rendered and machines are moving to it.
    Updating {
        /// `status.updatedMachineCount`.
        updated: i64,
        /// `status.machineCount`.
        machines: i64,
    },
    /// The new config is on every machine of the pool.
    Done,
    /// The pool is degraded: stop and show the message.
    Degraded {
        /// The Degraded (or NodeDegraded/RenderDegraded) message.
        message: String,
    },
    /// A pool from the baseline is gone.
    Missing,
}

/// Returns one pool's state against its recorded rendered name (`None` for pools created since).
pub fn pool_state(before: Option<&str>, pool: &Value) -> PoolState {
    if condition_is(pool, "Degraded", true) {
        let message = ["Degraded", "NodeDegraded", "RenderDegraded"]
            .iter()
            .filter(|t| condition_is(pool, t, true))
            .find_map(|t| condition_message(pool, t))
            .unwrap_or_else(|| "no message".into());
        return PoolState::Degraded { message };
    }
    let spec = str_at(pool, "/spec/configuration/name");
    if spec.is_none() || spec == before {
        return PoolState::WaitingForRender;
    }
    let settled = str_at(pool, "/status/configuration/name") == spec
        && condition_is(pool, "Updated", true)
        && condition_is(pool, "Updating", false)
        && condition_is(pool, "Degraded", false);
    if settled {
        PoolState::Done
    } else {
        PoolState::Updating {
            updated: int_at(pool, "/status/updatedMachineCount").unwrap_or(0),
            machines: int_at(pool, "/status/machineCount").unwrap_or(0),
        }
    }
}

/// The rollout as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rollout {
    /// Every pool is done.
    Done,
    /// Some pools are still moving; their states by name.
    InProgress(BTreeMap<String, PoolState>),
    /// A pool is degraded or gone: needs the operator.
    Stuck {
        /// The pool.
        pool: String,
        /// Its state.
        state: PoolState,
    },
}

/// Returns the state of the whole rollout from the baseline and the pools now.
pub fn rollout(before: &BTreeMap<String, String>, pools: &[Value]) -> Rollout {
    let mut states: BTreeMap<String, PoolState> = pools
        .iter()
        .map(|p| {
            (
                name_of(p).to_string(),
                pool_state(before.get(name_of(p)).map(String::as_str), p),
            )
        })
        .collect();
    for name in before.keys() {
        states.entry(name.clone()).or_insert(PoolState::Missing);
    }
    if let Some((pool, state)) = states
        .iter()
        .find(|(_, s)| matches!(s, PoolState::Degraded { .. } | PoolState::Missing))
    {
        return Rollout::Stuck {
            pool: pool.clone(),
            state: state.clone(),
        };
    }
    if states.values().all(|s| *s == PoolState::Done) {
        Rollout::Done
    } else {
        Rollout::InProgress(
            states
                .into_iter()
                .filter(|(_, s)| *s != PoolState::Done)
                .collect(),
        )
    }
}

/// Returns true when a rendered MachineConfig runs `configure-ovs.sh OVNKubernetes`.
pub fn renders_ovnk(machine_config: &Value) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => {
                s.contains(CONFIGURE_OVS_OVNK) || s.contains("configure-ovs.sh%20OVNKubernetes")
            }
            Value::Array(a) => a.iter().any(walk),
            Value::Object(o) => o.values().any(walk),
            _ => false,
        }
    }
    machine_config.get("spec").is_some_and(walk)
}

/// Where the nodes are in taking the new config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostsState {
    /// Every node runs its desired config and each such config is OVN-K's.
    Done,
    /// Nodes still converging, by name.
    Converging(Vec<String>),
    /// Nodes run a desired config that is not OVN-K's: (node, config).
    NotOvnk(Vec<(String, String)>),
    /// Rendered configs the caller must fetch before deciding.
    NeedConfigs(Vec<String>),
}

/// Returns the M6 state from the nodes and the rendered configs fetched so far (by name).
pub fn hosts(nodes: &[Value], rendered: &BTreeMap<String, Value>) -> HostsState {
    let mut converging = Vec::new();
    let mut need = Vec::new();
    let mut not_ovnk = Vec::new();
    for node in nodes.iter().map(NodeReading::from_value) {
        let (state, current, desired) = node.mco();
        if state != Some(MCO_STATE_DONE) || current.is_none() || current != desired {
            converging.push(node.name.clone());
            continue;
        }
        let config = desired.unwrap_or_default().to_string();
        match rendered.get(&config) {
            None => need.push(config),
            Some(mc) if !renders_ovnk(mc) => not_ovnk.push((node.name.clone(), config)),
            Some(_) => {}
        }
    }
    if !converging.is_empty() {
        return HostsState::Converging(converging);
    }
    if !need.is_empty() {
        need.sort();
        need.dedup();
        return HostsState::NeedConfigs(need);
    }
    if !not_ovnk.is_empty() {
        return HostsState::NotOvnk(not_ovnk);
    }
    HostsState::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(name: &str, spec: &str, status: &str, conds: &[(&str, &str)]) -> Value {
        let conditions: Vec<Value> = conds
            .iter()
            .map(|(t, s)| json!({"type": t, "status": s, "message": format!("{t} msg")}))
            .collect();
        json!({
            "metadata": {"name": name},
            "spec": {"configuration": {"name": spec}},
            "status": {"configuration": {"name": status}, "conditions": conditions, "machineCount": 3, "updatedMachineCount": 1}
        })
    }

    const SETTLED: &[(&str, &str)] = &[
        ("Updated", "True"),
        ("Updating", "False"),
        ("Degraded", "False"),
    ];
    const MOVING: &[(&str, &str)] = &[
        ("Updated", "False"),
        ("Updating", "True"),
        ("Degraded", "False"),
    ];

    fn before() -> BTreeMap<String, String> {
        baseline(&[
            pool(
                "master",
                "rendered-master-old",
                "rendered-master-old",
                SETTLED,
            ),
            pool(
                "worker",
                "rendered-worker-old",
                "rendered-worker-old",
                SETTLED,
            ),
        ])
    }

    #[test]
    fn updated_pools_with_old_config_are_not_done() {
        let pools = [
            pool(
                "master",
                "rendered-master-old",
                "rendered-master-old",
                SETTLED,
            ),
            pool(
                "worker",
                "rendered-worker-old",
                "rendered-worker-old",
                SETTLED,
            ),
        ];
        let Rollout::InProgress(states) = rollout(&before(), &pools) else {
            panic!("must wait for render")
        };
        assert_eq!(states["master"], PoolState::WaitingForRender);
    }

    #[test]
    fn pools_progress_to_done() {
        let moving = pool(
            "worker",
            "rendered-worker-new",
            "rendered-worker-old",
            MOVING,
        );
        assert_eq!(
            pool_state(Some("rendered-worker-old"), &moving),
            PoolState::Updating {
                updated: 1,
                machines: 3
            }
        );
        let status_lags = pool(
            "worker",
            "rendered-worker-new",
            "rendered-worker-old",
            SETTLED,
        );
        assert!(matches!(
            pool_state(Some("rendered-worker-old"), &status_lags),
            PoolState::Updating { .. }
        ));
        let pools = [
            pool(
                "master",
                "rendered-master-new",
                "rendered-master-new",
                SETTLED,
            ),
            pool(
                "worker",
                "rendered-worker-new",
                "rendered-worker-new",
                SETTLED,
            ),
        ];
        assert_eq!(rollout(&before(), &pools), Rollout::Done);
    }

    #[test]
    fn degraded_or_missing_pools_stop() {
        let pools = [
            pool(
                "master",
                "rendered-master-new",
                "rendered-master-old",
                &[("Degraded", "True"), ("NodeDegraded", "True")],
            ),
            pool(
                "worker",
                "rendered-worker-new",
                "rendered-worker-new",
                SETTLED,
            ),
        ];
        assert_eq!(
            rollout(&before(), &pools),
            Rollout::Stuck {
                pool: "master".into(),
                state: PoolState::Degraded {
                    message: "Degraded msg".into()
                }
            }
        );
        let only_master = [pool(
            "master",
            "rendered-master-new",
            "rendered-master-new",
            SETTLED,
        )];
        assert_eq!(
            rollout(&before(), &only_master),
            Rollout::Stuck {
                pool: "worker".into(),
                state: PoolState::Missing
            }
        );
    }

    #[test]
    fn state_is_stable_across_identical_polls() {
        let pools = [
            pool(
                "master",
                "rendered-master-new",
                "rendered-master-old",
                MOVING,
            ),
            pool(
                "worker",
                "rendered-worker-old",
                "rendered-worker-old",
                SETTLED,
            ),
        ];
        assert_eq!(rollout(&before(), &pools), rollout(&before(), &pools));
    }

    fn node(name: &str, state: &str, current: &str, desired: &str) -> Value {
        json!({"metadata": {"name": name, "annotations": {
            "machineconfiguration.openshift.io/state": state,
            "machineconfiguration.openshift.io/currentConfig": current,
            "machineconfiguration.openshift.io/desiredConfig": desired}}})
    }

    fn mc(unit: &str) -> Value {
        json!({"spec": {"config": {"systemd": {"units": [{"name": "ovs-configuration.service", "contents": unit}]}}}})
    }

    #[test]
    fn hosts_need_done_state_matching_configs_and_ovnk() {
        let ovnk = mc("[Service]\nExecStart=/usr/local/bin/configure-ovs.sh OVNKubernetes\n");
        let mut rendered = BTreeMap::new();
        let nodes = [node("w-0", "Working", "a", "b")];
        assert_eq!(
            hosts(&nodes, &rendered),
            HostsState::Converging(vec!["w-0".into()])
        );
        let nodes = [node("w-0", "Done", "b", "b"), node("w-1", "Done", "b", "b")];
        assert_eq!(
            hosts(&nodes, &rendered),
            HostsState::NeedConfigs(vec!["b".into()])
        );
        rendered.insert(
            "b".to_string(),
            mc("ExecStart=/usr/local/bin/configure-ovs.sh OpenShiftSDN"),
        );
        assert!(matches!(hosts(&nodes, &rendered), HostsState::NotOvnk(v) if v.len() == 2));
        rendered.insert("b".to_string(), ovnk);
        assert_eq!(hosts(&nodes, &rendered), HostsState::Done);
    }

    #[test]
    fn renders_ovnk_looks_only_under_spec() {
        assert!(!renders_ovnk(
            &json!({"metadata": {"annotations": {"x": CONFIGURE_OVS_OVNK}}})
        ));
        assert!(renders_ovnk(
            &json!({"spec": {"config": {"storage": {"files": [{"contents": {"source": "data:,configure-ovs.sh%20OVNKubernetes"}}]}}}})
        ));
    }
}
