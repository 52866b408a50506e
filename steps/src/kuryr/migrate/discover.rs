//! Discovery: the cluster objects the plan is made from, read once before
//! anything changes, recorded in the journal and read back from it on resume
//! (never re-read: after M3 the live cluster is no longer what was planned).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kube::{self, Kind, KubeClient, KubeError, ObjectRef};
use crate::kuryr::names::{CLUSTER, MULTUS_DAEMONSET, MULTUS_NAMESPACE};
use crate::kuryr::plan::Discovery;

/// What discovery read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discovered {
    /// `infrastructures.config.openshift.io/cluster`.
    pub infrastructure: Value,
    /// `networks.config.openshift.io/cluster`.
    pub config_network: Value,
    /// `networks.operator.openshift.io/cluster`.
    pub operator_network: Value,
    /// Every node.
    pub nodes: Vec<Value>,
    /// Every machine config pool.
    pub pools: Vec<Value>,
    /// `openshift-multus/daemonsets/multus`, if present.
    pub multus: Option<Value>,
    /// CIDRs of the machines subnet(s) (`<cluster id>-nodes` in Neutron).
    #[serde(default)]
    pub machine_networks: Vec<String>,
    /// MTU of the machines network (`<cluster id>-openshift`), if Neutron reports it.
    #[serde(default)]
    pub machine_mtu: Option<u32>,
}

impl Discovered {
    /// Returns the borrowed view the planner takes.
    pub fn as_discovery(&self) -> Discovery<'_> {
        Discovery {
            infrastructure: &self.infrastructure,
            config_network: &self.config_network,
            operator_network: &self.operator_network,
            nodes: &self.nodes,
            pools: &self.pools,
        }
    }

    /// Returns the multus DaemonSet's generation at discovery (0 when absent).
    pub fn multus_generation(&self) -> i64 {
        self.multus
            .as_ref()
            .and_then(|d| d.pointer("/metadata/generation"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }
}

async fn required(kc: &KubeClient, r: ObjectRef) -> Result<Value, KubeError> {
    let what = r.to_string();
    kube::get(kc, &r).await?.ok_or(KubeError::Api {
        verb: "get",
        target: what,
        code: 404,
        reason: "NotFound".into(),
        message: "not found".into(),
        hint: "is this an OpenShift cluster, and the right context?",
    })
}

/// Reads the objects the plan is made from.
pub async fn discover(kc: &KubeClient) -> Result<Discovered, KubeError> {
    Ok(Discovered {
        infrastructure: required(kc, ObjectRef::cluster(Kind::Infrastructure, CLUSTER)).await?,
        config_network: required(kc, ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER)).await?,
        operator_network: required(kc, ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER)).await?,
        nodes: kube::list_all(kc, Kind::Node, None, None).await?,
        pools: kube::list_all(kc, Kind::MachineConfigPool, None, None).await?,
        multus: kube::get(
            kc,
            &ObjectRef::namespaced(Kind::DaemonSet, MULTUS_NAMESPACE, MULTUS_DAEMONSET),
        )
        .await?,
        machine_networks: Vec::new(),
        machine_mtu: None,
    })
}
