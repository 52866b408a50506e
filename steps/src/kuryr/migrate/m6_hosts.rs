//! M6: wait until every node runs its desired config and that config is
//! OVN-Kubernetes' (its rendered MachineConfig calls `configure-ovs.sh OVNKubernetes`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{MigrationCx, kube_err};
use crate::engine::{StepError, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::rollout::{HostsState, hosts};

/// Reads the nodes and the rendered configs they want.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let nodes = kube::list_all(&cx.kube, Kind::Node, None, None)
        .await
        .map_err(kube_err)?;
    let mut rendered = BTreeMap::new();
    // The decision says which rendered configs it needs; fetch until it needs none.
    for _ in 0..4 {
        match hosts(&nodes, &rendered) {
            HostsState::NeedConfigs(names) => {
                for name in names {
                    let mc = kube::get(&cx.kube, &ObjectRef::cluster(Kind::MachineConfig, &name))
                        .await
                        .map_err(kube_err)?;
                    rendered.insert(name, mc.unwrap_or(Value::Null));
                }
            }
            _ => break,
        }
    }
    Ok(json!({"nodes": nodes, "rendered": rendered}))
}

/// Met when every node converged on an OVN-K config.
pub fn condition(live: &Value) -> WaitState {
    let nodes = live["nodes"].as_array().cloned().unwrap_or_default();
    let rendered: BTreeMap<String, Value> =
        serde_json::from_value(live["rendered"].clone()).unwrap_or_default();
    match hosts(&nodes, &rendered) {
        HostsState::Done => WaitState::Met("every node runs the OVN-Kubernetes config".into()),
        HostsState::Converging(names) => {
            WaitState::Pending(format!("converging: {}", names.join(", ")))
        }
        HostsState::NotOvnk(pairs) => WaitState::Pending(format!("not OVN-K yet: {pairs:?}")),
        HostsState::NeedConfigs(names) => {
            WaitState::Pending(format!("rendered configs missing: {}", names.join(", ")))
        }
    }
}
