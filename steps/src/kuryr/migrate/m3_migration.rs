//! M3: set the migration field on the operator network and wait until the
//! config network reports it.

use journal::OperationSpec;
use serde_json::Value;

use super::MigrationCx;
use super::networks::{self, NetworksObservation};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use crate::kube::Kind;
use crate::kuryr::merge::unapplied;
use crate::kuryr::names::NETWORK_TYPE_OVNK;

/// M3.
pub struct SetMigration {
    pub spec: OperationSpec,
    /// The merge patch for `networks.operator.openshift.io/cluster`.
    pub patch: Value,
}

impl Step for SetMigration {
    type Cx = MigrationCx;
    type Observation = NetworksObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<NetworksObservation, StepError> {
        networks::observe(cx).await
    }
}

impl Effect for SetMigration {
    type Params = ();

    fn params(&self, _: &NetworksObservation) {}

    /// Done when the whole patch is in effect; ambiguous when another
    /// migration target is set.
    fn classify(&self, o: &NetworksObservation, _intent: Option<&()>) -> Verdict {
        let set = o
            .operator
            .as_ref()
            .and_then(|op| op.pointer("/spec/migration/networkType"))
            .and_then(Value::as_str);
        if let Some(other) = set.filter(|t| *t != NETWORK_TYPE_OVNK) {
            return Verdict::Ambiguous(format!(
                "spec.migration.networkType is {other}, not OVNKubernetes"
            ));
        }
        let missing = unapplied(&self.patch, o.operator.as_ref());
        if missing.is_empty() {
            Verdict::Done("spec.migration.networkType is OVNKubernetes".into())
        } else {
            Verdict::NotDone(format!("not set yet: {}", missing.join(", ")))
        }
    }

    async fn act(&self, cx: &MigrationCx, _: &()) -> Result<Applied, StepError> {
        networks::patch(cx, Kind::OperatorNetwork, &self.patch).await
    }

    /// Met when the config network's `status.migration.networkType` is OVNKubernetes.
    fn settle(&self, o: &NetworksObservation, _intent: Option<&()>) -> Option<WaitState> {
        let reported = o
            .config
            .as_ref()
            .and_then(|c| c.pointer("/status/migration/networkType"))
            .and_then(Value::as_str);
        Some(match reported {
            Some(NETWORK_TYPE_OVNK) => {
                WaitState::Met("status.migration.networkType = OVNKubernetes".into())
            }
            Some(other) => WaitState::Pending(format!("status.migration.networkType = {other}")),
            None => WaitState::Pending("status.migration not reported yet".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step() -> SetMigration {
        SetMigration {
            spec: super::super::test_spec("M3"),
            patch: json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}}),
        }
    }

    fn obs(op: Value, cfg: Value) -> NetworksObservation {
        NetworksObservation {
            operator: Some(op),
            config: Some(cfg),
        }
    }

    #[test]
    fn classify_and_settle() {
        let s = step();
        let unset = obs(json!({"spec": {}}), json!({}));
        assert!(matches!(s.classify(&unset, None), Verdict::NotDone(_)));
        let set = obs(
            json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}}),
            json!({"status": {"migration": {"networkType": "OVNKubernetes"}}}),
        );
        assert!(matches!(s.classify(&set, None), Verdict::Done(_)));
        assert!(matches!(s.settle(&set, None), Some(WaitState::Met(_))));
        assert!(matches!(
            s.settle(&unset, None),
            Some(WaitState::Pending(_))
        ));
        let other = obs(
            json!({"spec": {"migration": {"networkType": "Kuryr"}}}),
            json!({}),
        );
        assert!(matches!(s.classify(&other, None), Verdict::Ambiguous(_)));
    }
}
