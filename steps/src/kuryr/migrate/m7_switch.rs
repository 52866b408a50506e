//! M7: switch the plugin: merge-patch `networks.config.openshift.io/cluster`
//! `spec.networkType` (and the cluster network, if the user asked). Done only
//! when the whole patch is in effect, cluster network included.

use journal::OperationSpec;
use serde_json::Value;

use super::MigrationCx;
use super::networks::{self, NetworksObservation};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kube::Kind;
use crate::kuryr::merge::unapplied;

/// M7.
pub struct Switch {
    pub spec: OperationSpec,
    /// The merge patch for `networks.config.openshift.io/cluster`.
    pub patch: Value,
}

impl Step for Switch {
    type Cx = MigrationCx;
    type Observation = NetworksObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<NetworksObservation, StepError> {
        networks::observe(cx).await
    }
}

impl Effect for Switch {
    type Params = ();

    fn params(&self, _: &NetworksObservation) {}

    /// Done when every field of the patch is in effect.
    fn classify(&self, o: &NetworksObservation, _intent: Option<&()>) -> Verdict {
        let missing = unapplied(&self.patch, o.config.as_ref());
        if missing.is_empty() {
            Verdict::Done("the switch patch is in effect".into())
        } else {
            Verdict::NotDone(format!("not in effect yet: {}", missing.join(", ")))
        }
    }

    async fn act(&self, cx: &MigrationCx, _: &()) -> Result<Applied, StepError> {
        networks::patch(cx, Kind::ConfigNetwork, &self.patch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::plan::switch_patch;
    use serde_json::json;

    #[test]
    fn the_cluster_network_counts_too() {
        let s = Switch {
            spec: super::super::test_spec("M7"),
            patch: switch_patch(&[("10.128.0.0/14".into(), 23)]).unwrap(),
        };
        let cfg = |v: Value| NetworksObservation {
            operator: None,
            config: Some(v),
        };
        let switched_only = cfg(json!({"spec": {"networkType": "OVNKubernetes",
            "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 24}]}}));
        assert!(
            matches!(s.classify(&switched_only, None), Verdict::NotDone(m) if m.contains("clusterNetwork"))
        );
        let both = cfg(json!({"spec": {"networkType": "OVNKubernetes",
            "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}]}}));
        assert!(matches!(s.classify(&both, None), Verdict::Done(_)));
    }
}
