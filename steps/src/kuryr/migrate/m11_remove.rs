//! M11: remove the migration config (`spec.migration: null`) and wait until
//! the config network's `status.migration` is gone.

use journal::OperationSpec;
use serde_json::Value;

use super::MigrationCx;
use super::networks::{self, NetworksObservation};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use crate::kube::Kind;
use crate::kuryr::merge::unapplied;

/// M11.
pub struct RemoveMigration {
    pub spec: OperationSpec,
    /// The merge patch for `networks.operator.openshift.io/cluster`.
    pub patch: Value,
}

impl Step for RemoveMigration {
    type Cx = MigrationCx;
    type Observation = NetworksObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<NetworksObservation, StepError> {
        networks::observe(cx).await
    }
}

impl Effect for RemoveMigration {
    type Params = ();

    fn params(&self, _: &NetworksObservation) {}

    /// Done when `spec.migration` is absent.
    fn classify(&self, o: &NetworksObservation, _intent: Option<&()>) -> Verdict {
        if unapplied(&self.patch, o.operator.as_ref()).is_empty() {
            Verdict::Done("spec.migration is absent".into())
        } else {
            Verdict::NotDone("spec.migration is still set".into())
        }
    }

    async fn act(&self, cx: &MigrationCx, _: &()) -> Result<Applied, StepError> {
        networks::patch(cx, Kind::OperatorNetwork, &self.patch).await
    }

    /// Met when `status.migration` is absent.
    fn settle(&self, o: &NetworksObservation, _intent: Option<&()>) -> Option<WaitState> {
        Some(
            match o
                .config
                .as_ref()
                .and_then(|c| c.pointer("/status/migration"))
            {
                None | Some(Value::Null) => WaitState::Met("status.migration is gone".into()),
                Some(m) => WaitState::Pending(format!("status.migration = {m}")),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removed_and_gone() {
        let s = RemoveMigration {
            spec: super::super::test_spec("M11"),
            patch: json!({"spec": {"migration": null}}),
        };
        let o = |op: Value, cfg: Value| NetworksObservation {
            operator: Some(op),
            config: Some(cfg),
        };
        let set = o(
            json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}}),
            json!({"status": {"migration": {"networkType": "OVNKubernetes"}}}),
        );
        assert!(matches!(s.classify(&set, None), Verdict::NotDone(_)));
        assert!(matches!(s.settle(&set, None), Some(WaitState::Pending(_))));
        let gone = o(json!({"spec": {}}), json!({"status": {}}));
        assert!(matches!(s.classify(&gone, None), Verdict::Done(_)));
        assert!(matches!(s.settle(&gone, None), Some(WaitState::Met(_))));
    }
}
