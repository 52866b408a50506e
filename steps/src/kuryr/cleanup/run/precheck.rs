//! The cleanup's standalone precheck: is this a cluster whose Kuryr
//! leftovers may go? It reads the cluster alone (not this tool's migration
//! journal, so a cluster migrated by hand or by another tool is cleaned up
//! too) and needs no Node objects: the network type is OVNKubernetes, no
//! migration is in progress (`spec.migration` of the operator's Network is
//! unset), and Kuryr's leftovers are there to be found (`kuryr-config` and
//! the KuryrNetwork CRD with its CRs). [`read`] is the I/O, [`findings`] the
//! pure decision; the [`Precheck`] step is read-only.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CleanupCx, kube_err};
use crate::engine::{Step, StepError, WaitState, Watch};
use crate::kube::{self, Kind, KubeClient, KubeError, ObjectRef};
use crate::kuryr::names::{CLUSTER, KURYR_CONFIGMAP, KURYR_NAMESPACE, NETWORK_TYPE_OVNK};
use crate::kuryr::{Finding, Severity};

/// The CRD the cleanup finds Kuryr's networks through.
const KURYR_NETWORK_CRD: &str = "kuryrnetworks.openstack.org";

/// What the precheck reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecheckReadings {
    /// `networks.config.openshift.io/cluster` `status.networkType`.
    pub network_type: Option<String>,
    /// `networks.operator.openshift.io/cluster` `spec.migration`, as JSON text (`None`: unset).
    pub migration: Option<String>,
    /// Whether `openshift-kuryr/kuryr-config` exists.
    pub kuryr_config: bool,
    /// Whether the KuryrNetwork CRD exists.
    pub kuryr_network_crd: bool,
    /// How many KuryrNetwork CRs exist.
    pub kuryr_networks: usize,
}

/// Reads what the precheck decides on.
pub async fn read(kc: &KubeClient) -> Result<PrecheckReadings, KubeError> {
    let config = kube::get(kc, &ObjectRef::cluster(Kind::ConfigNetwork, CLUSTER)).await?;
    let operator = kube::get(kc, &ObjectRef::cluster(Kind::OperatorNetwork, CLUSTER)).await?;
    let cm = kube::get(
        kc,
        &ObjectRef::namespaced(Kind::ConfigMap, KURYR_NAMESPACE, KURYR_CONFIGMAP),
    )
    .await?;
    let crd = kube::get(
        kc,
        &ObjectRef::cluster(Kind::CustomResourceDefinition, KURYR_NETWORK_CRD),
    )
    .await?;
    let kuryr_networks = if crd.is_some() {
        kube::list_all(kc, Kind::KuryrNetwork, None, None)
            .await?
            .len()
    } else {
        0
    };
    Ok(PrecheckReadings {
        network_type: config
            .as_ref()
            .and_then(|c| c.pointer("/status/networkType"))
            .and_then(Value::as_str)
            .map(str::to_string),
        migration: operator
            .as_ref()
            .and_then(|o| o.pointer("/spec/migration"))
            .filter(|m| !m.is_null())
            .map(Value::to_string),
        kuryr_config: cm.is_some(),
        kuryr_network_crd: crd.is_some(),
        kuryr_networks,
    })
}

/// Returns the precheck's findings (pure).
pub fn findings(r: &PrecheckReadings) -> Vec<Finding> {
    let mut out = Vec::new();
    let net = "networks.config.openshift.io/cluster".to_string();
    out.push(match r.network_type.as_deref() {
        Some(NETWORK_TYPE_OVNK) => Finding::pass(
            "network-type-ovnk",
            Severity::Blocker,
            "network type is OVNKubernetes",
        ),
        other => Finding::fail(
            "network-type-ovnk",
            Severity::Blocker,
            vec![net],
            format!("network type is {}", other.unwrap_or("unset")),
            "the cleanup deletes Kuryr's resources only after the cluster runs on OVN-Kubernetes: finish the migration first (`ovn-migrate kuryr run`)",
        ),
    });
    out.push(match &r.migration {
        None => Finding::pass(
            "migration-finished",
            Severity::Blocker,
            "no migration in progress",
        ),
        Some(m) => Finding::fail(
            "migration-finished",
            Severity::Blocker,
            vec!["networks.operator.openshift.io/cluster".into()],
            format!("spec.migration is still set: {m}"),
            "a migration is in progress: let it finish (its last step removes spec.migration), then run the cleanup",
        ),
    });
    out.push(if r.kuryr_config {
        Finding::pass(
            "kuryr-config-present",
            Severity::Blocker,
            "kuryr-config is there",
        )
    } else {
        Finding::fail(
            "kuryr-config-present",
            Severity::Blocker,
            vec![format!("{KURYR_NAMESPACE}/configmaps/{KURYR_CONFIGMAP}")],
            "kuryr-config does not exist",
            "the cleanup finds Kuryr's resources through kuryr-config; if a cleanup already ran, `ovn-migrate kuryr cleanup status` shows it",
        )
    });
    out.push(if r.kuryr_network_crd && r.kuryr_networks > 0 {
        Finding::pass(
            "kuryr-crs-present",
            Severity::Blocker,
            format!("{} KuryrNetwork CRs", r.kuryr_networks),
        )
    } else {
        Finding::fail(
            "kuryr-crs-present",
            Severity::Blocker,
            vec![format!("customresourcedefinitions/{KURYR_NETWORK_CRD}")],
            if r.kuryr_network_crd {
                "no KuryrNetwork CR exists".to_string()
            } else {
                "the KuryrNetwork CRD does not exist".to_string()
            },
            "the cleanup takes Kuryr's networks from the KuryrNetwork CRs only; without them it cannot prove which networks are Kuryr's (was the cleanup already run?)",
        )
    });
    out
}

/// The precheck step.
pub struct Precheck {
    pub spec: OperationSpec,
}

impl Step for Precheck {
    type Cx = CleanupCx;
    type Observation = PrecheckReadings;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &CleanupCx) -> Result<PrecheckReadings, StepError> {
        read(&cx.kube).await.map_err(kube_err)
    }
}

impl Watch for Precheck {
    /// Met when every blocker passed; failed with the failed findings as JSON.
    fn condition(&self, r: &PrecheckReadings) -> WaitState {
        let failed: Vec<Finding> = findings(r)
            .into_iter()
            .filter(|f| !f.passed && f.severity == Severity::Blocker)
            .collect();
        if failed.is_empty() {
            WaitState::Met("the cluster runs OVN-Kubernetes and Kuryr's leftovers are there".into())
        } else {
            WaitState::Failed(serde_json::to_string(&failed).unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> PrecheckReadings {
        PrecheckReadings {
            network_type: Some("OVNKubernetes".into()),
            migration: None,
            kuryr_config: true,
            kuryr_network_crd: true,
            kuryr_networks: 3,
        }
    }

    fn failed(r: &PrecheckReadings) -> Vec<String> {
        findings(r)
            .into_iter()
            .filter(|f| !f.passed)
            .map(|f| f.name)
            .collect()
    }

    #[test]
    fn a_migrated_cluster_with_kuryr_leftovers_passes() {
        assert!(failed(&ready()).is_empty());
        let p = Precheck {
            spec: super::super::test_spec("precheck"),
        };
        assert!(matches!(p.condition(&ready()), WaitState::Met(_)));
    }

    #[test]
    fn each_blocker_fails_on_its_own_with_a_hint() {
        let mut r = ready();
        r.network_type = Some("Kuryr".into());
        assert_eq!(failed(&r), ["network-type-ovnk"]);
        let mut r = ready();
        r.migration = Some(r#"{"networkType":"OVNKubernetes"}"#.into());
        assert_eq!(failed(&r), ["migration-finished"]);
        let mut r = ready();
        r.kuryr_config = false;
        assert_eq!(failed(&r), ["kuryr-config-present"]);
        let mut r = ready();
        r.kuryr_networks = 0;
        assert_eq!(failed(&r), ["kuryr-crs-present"]);
        let mut r = ready();
        r.kuryr_network_crd = false;
        r.kuryr_networks = 0;
        assert_eq!(failed(&r), ["kuryr-crs-present"]);
        let none = PrecheckReadings {
            migration: Some("{}".into()),
            ..Default::default()
        };
        for f in findings(&none) {
            assert!(!f.passed && !f.hint.is_empty(), "{f:?}");
        }
        let p = Precheck {
            spec: super::super::test_spec("precheck"),
        };
        let WaitState::Failed(detail) = p.condition(&none) else {
            panic!("an empty cluster must fail");
        };
        let back: Vec<Finding> = serde_json::from_str(&detail).unwrap();
        assert_eq!(back.len(), 4);
    }
}
