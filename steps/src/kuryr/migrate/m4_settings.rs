//! M4: the optional OVN-Kubernetes settings (validated when the plan was
//! made), patched only when the operator config does not have them yet.

use journal::OperationSpec;
use serde_json::Value;

use super::MigrationCx;
use super::networks::{self, NetworksObservation};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kube::Kind;
use crate::kuryr::merge::unapplied;

/// M4.
pub struct ApplySettings {
    pub spec: OperationSpec,
    /// The merge patch for `networks.operator.openshift.io/cluster`.
    pub patch: Value,
}

impl Step for ApplySettings {
    type Cx = MigrationCx;
    type Observation = NetworksObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<NetworksObservation, StepError> {
        networks::observe(cx).await
    }
}

impl Effect for ApplySettings {
    type Params = ();

    fn params(&self, _: &NetworksObservation) {}

    /// Done when every key of the patch already has its value.
    fn classify(&self, o: &NetworksObservation, _intent: Option<&()>) -> Verdict {
        let missing = unapplied(&self.patch, o.operator.as_ref());
        if missing.is_empty() {
            Verdict::Done("every setting is in place".into())
        } else {
            Verdict::NotDone(format!("not yet set: {}", missing.join(", ")))
        }
    }

    async fn act(&self, cx: &MigrationCx, _: &()) -> Result<Applied, StepError> {
        networks::patch(cx, Kind::OperatorNetwork, &self.patch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn done_when_every_setting_is_in_place() {
        let s = ApplySettings {
            spec: super::super::test_spec("M4"),
            patch: json!({"spec": {"defaultNetwork": {"ovnKubernetesConfig": {"mtu": 1350, "genevePort": 6082}}}}),
        };
        let with = |cfg: Value| NetworksObservation {
            operator: Some(json!({"spec": {"defaultNetwork": {"ovnKubernetesConfig": cfg}}})),
            config: None,
        };
        assert!(
            matches!(s.classify(&with(json!({"mtu": 1350})), None), Verdict::NotDone(m) if m.contains("genevePort"))
        );
        assert!(matches!(
            s.classify(
                &with(json!({"mtu": 1350, "genevePort": 6082, "x": 1})),
                None
            ),
            Verdict::Done(_)
        ));
    }
}
