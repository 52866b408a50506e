//! P3: the OpenStackDeployment's `dhcp_lease_duration` raised to 72 h.
//!
//! A JSON merge patch of
//! `spec.services.networking.neutron.values.conf.dhcp_agent.DEFAULT.dhcp_lease_duration`
//! (MOSK's controller rolls it out to the DHCP agents). Done when the value
//! is at least the one asked for. The outcome's journaled time starts the
//! gate of the old leases ([`super::gate`]): leases handed out before it
//! may last the old duration, so the migration waits that long.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PrepareCx, kube_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kube;
use journal::OperationSpec;

/// The step.
pub struct SetLease {
    pub spec: OperationSpec,
    pub value: u64,
}

/// The deployment's lease duration, as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// `namespace/name` of the OpenStackDeployment.
    pub deployment: String,
    /// Its `dhcp_lease_duration`, when it sets one (Neutron's default is 86400).
    pub lease_duration: Option<u64>,
}

/// What the intent records: the value before the patch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub previous: Option<u64>,
}

/// Returns the lease duration an OpenStackDeployment sets.
pub fn lease_of(cr: &Value) -> Option<u64> {
    cr.pointer(
        "/spec/services/networking/neutron/values/conf/dhcp_agent/DEFAULT/dhcp_lease_duration",
    )
    .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
}

/// Returns the merge patch that sets it to `value`.
pub fn lease_patch(value: u64) -> Value {
    json!({"spec": {"services": {"networking": {"neutron": {"values": {"conf": {
        "dhcp_agent": {"DEFAULT": {"dhcp_lease_duration": value}}}}}}}}})
}

/// Reads the deployment's lease duration.
pub async fn read_lease(cx: &PrepareCx) -> Result<Observed, StepError> {
    let cr = kube::get(&cx.kube, &cx.deployment)
        .await
        .map_err(kube_err)?
        .ok_or_else(|| {
            StepError::fatal(format!(
                "read {}: it no longer exists; was the OpenStackDeployment replaced? Make a new plan",
                cx.deployment
            ))
        })?;
    Ok(Observed {
        deployment: format!(
            "{}/{}",
            cx.deployment.namespace.clone().unwrap_or_default(),
            cx.deployment.name
        ),
        lease_duration: lease_of(&cr),
    })
}

impl Step for SetLease {
    type Cx = PrepareCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Observed, StepError> {
        read_lease(cx).await
    }
}

impl Effect for SetLease {
    type Params = Params;

    fn params(&self, o: &Observed) -> Params {
        Params {
            previous: o.lease_duration,
        }
    }

    fn classify(&self, o: &Observed, _intent: Option<&Params>) -> Verdict {
        match o.lease_duration {
            Some(v) if v >= self.value => Verdict::Done(format!(
                "{} already sets dhcp_lease_duration {v} (≥ {}); the old leases' gate starts now, as when it was set is unknown",
                o.deployment, self.value
            )),
            Some(v) => Verdict::NotDone(format!("dhcp_lease_duration is {v}")),
            None => {
                Verdict::NotDone("dhcp_lease_duration is unset (Neutron's default, 86400)".into())
            }
        }
    }

    async fn act(&self, cx: &PrepareCx, _p: &Params) -> Result<Applied, StepError> {
        let after = kube::merge_patch(&cx.kube, &cx.deployment, &lease_patch(self.value))
            .await
            .map_err(kube_err)?;
        Ok(Applied {
            http_status: None,
            observed: json!({"dhcp_lease_duration": lease_of(&after)}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_sets_exactly_the_path_the_value_is_read_from() {
        let mut cr = json!({"metadata": {"name": "osh"}, "spec": {"services": {"networking": {"neutron": {"values": {"conf": {"neutron": {"DEFAULT": {"x": 1}}}}}}}}});
        assert_eq!(lease_of(&cr), None);
        json_patch::merge(&mut cr, &lease_patch(259_200));
        assert_eq!(lease_of(&cr), Some(259_200));
        // The merge keeps the deployment's other settings.
        assert_eq!(
            cr["spec"]["services"]["networking"]["neutron"]["values"]["conf"]["neutron"]["DEFAULT"]
                ["x"],
            1
        );
        assert_eq!(
            lease_of(
                &json!({"spec": {"services": {"networking": {"neutron": {"values": {"conf": {"dhcp_agent": {"DEFAULT": {"dhcp_lease_duration": "3600"}}}}}}}}})
            ),
            Some(3600)
        );
    }

    #[test]
    fn done_at_or_above_the_value() {
        let s = SetLease {
            spec: super::super::test_spec("p3"),
            value: 259_200,
        };
        let at = |v: Option<u64>| {
            s.classify(
                &Observed {
                    deployment: "openstack/osh".into(),
                    lease_duration: v,
                },
                None,
            )
        };
        assert!(matches!(at(None), Verdict::NotDone(_)));
        assert!(matches!(at(Some(86_400)), Verdict::NotDone(_)));
        assert!(matches!(at(Some(259_200)), Verdict::Done(_)));
        assert!(matches!(at(Some(604_800)), Verdict::Done(_)));
    }
}
