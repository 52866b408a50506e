//! M0: precheck. Reads the cluster and the cloud and runs the pure checks of
//! `kuryr::precheck`; any blocking finding stops the run before the first
//! change, with every finding shown. Read-only: it has no `act`.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MigrationCx, kube_err, os_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::cidr::Cidr;
use crate::kuryr::geneve::SecurityGroup;
use crate::kuryr::identity::cluster_id;
use crate::kuryr::names::CLUSTER;
use crate::kuryr::precheck::{PrecheckInput, precheck};
use crate::kuryr::{Severity, any_blocks};
use crate::openstack::Query;

/// M0.
pub struct Precheck {
    pub spec: OperationSpec,
}

/// Everything M0 looks at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrecheckObservation {
    pub config_network: Option<Value>,
    pub operator_network: Option<Value>,
    pub nodes: Vec<Value>,
    pub cluster_operators: Vec<Value>,
    pub pools: Vec<Value>,
    /// `vMAJOR.MINOR`.
    pub octavia_version: String,
    pub master_sg: Option<SecurityGroup>,
    pub worker_sg: Option<SecurityGroup>,
    pub machine_networks: Vec<String>,
    pub geneve_port: u16,
}

impl Step for Precheck {
    type Cx = MigrationCx;
    type Observation = PrecheckObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<PrecheckObservation, StepError> {
        let kc = &cx.kube;
        let get = |kind, name: &str| {
            let r = ObjectRef::cluster(kind, name);
            async move { kube::get(kc, &r).await.map_err(kube_err) }
        };
        let id = cluster_id(&cx.discovered.infrastructure)
            .map_err(|e| StepError::fatal(e.to_string()))?;
        let os = &cx.openstack;
        let octavia = os.octavia_max_version().await.map_err(os_err)?;
        let sg = |name: String| async move {
            let found = os
                .list_security_groups(&Query::new().eq("name", name))
                .await
                .map_err(os_err)?;
            Ok::<Option<SecurityGroup>, StepError>(
                found
                    .into_iter()
                    .next()
                    .and_then(|g| serde_json::from_value(serde_json::to_value(g).ok()?).ok()),
            )
        };
        let machine_networks = os
            .list_subnets(&Query::new().eq("name", format!("{id}-nodes")))
            .await
            .map_err(os_err)?
            .into_iter()
            .map(|s| s.cidr)
            .collect();
        Ok(PrecheckObservation {
            config_network: get(Kind::ConfigNetwork, CLUSTER).await?,
            operator_network: get(Kind::OperatorNetwork, CLUSTER).await?,
            nodes: kube::list_all(kc, Kind::Node, None, None)
                .await
                .map_err(kube_err)?,
            cluster_operators: kube::list_all(kc, Kind::ClusterOperator, None, None)
                .await
                .map_err(kube_err)?,
            pools: kube::list_all(kc, Kind::MachineConfigPool, None, None)
                .await
                .map_err(kube_err)?,
            octavia_version: format!("v{}.{}", octavia.0, octavia.1),
            master_sg: sg(format!("{id}-master")).await?,
            worker_sg: sg(format!("{id}-worker")).await?,
            machine_networks,
            geneve_port: cx.geneve_port,
        })
    }
}

impl Watch for Precheck {
    /// Met when no finding blocks; failed with the findings otherwise.
    fn condition(&self, o: &PrecheckObservation) -> WaitState {
        let networks: Vec<Cidr> = o
            .machine_networks
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        let null = Value::Null;
        let input = PrecheckInput {
            config_network: o.config_network.as_ref().unwrap_or(&null),
            operator_network: o.operator_network.as_ref().unwrap_or(&null),
            nodes: &o.nodes,
            cluster_operators: &o.cluster_operators,
            pools: &o.pools,
            octavia_max_version: Some(o.octavia_version.as_str()),
            master_sg: o.master_sg.as_ref(),
            worker_sg: o.worker_sg.as_ref(),
            machine_networks: &networks,
            geneve_port: o.geneve_port,
        };
        let findings = precheck(&input);
        let report = serde_json::to_string(&findings).unwrap_or_default();
        if any_blocks(&findings) {
            WaitState::Failed(report)
        } else {
            let warnings = findings
                .iter()
                .filter(|f| !f.passed && f.severity == Severity::Warning)
                .count();
            WaitState::Met(format!(
                "{} checks passed, {warnings} warnings: {report}",
                findings.len() - warnings
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;
    use serde_json::json;

    fn step() -> Precheck {
        Precheck {
            spec: super::super::test_spec("M0"),
        }
    }

    fn kuryr_cluster() -> PrecheckObservation {
        PrecheckObservation {
            config_network: Some(
                json!({"spec": {"networkType": "Kuryr"}, "status": {"networkType": "Kuryr"}}),
            ),
            operator_network: Some(json!({"spec": {}})),
            nodes: vec![node("m-0", &["master"], true, "b0")],
            octavia_version: "v2.5".into(),
            geneve_port: 6081,
            ..Default::default()
        }
    }

    #[test]
    fn a_not_ready_node_blocks() {
        let mut o = kuryr_cluster();
        o.nodes.push(node("w-0", &["worker"], false, "b1"));
        assert!(matches!(step().condition(&o), WaitState::Failed(r) if r.contains("w-0")));
    }

    #[test]
    fn the_decision_is_the_same_from_the_journaled_json() {
        let o = kuryr_cluster();
        let back: PrecheckObservation =
            serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(back, o);
        assert_eq!(step().condition(&back), step().condition(&o));
    }
}
