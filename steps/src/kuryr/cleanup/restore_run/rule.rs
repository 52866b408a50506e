//! The step that recreates one security group rule in a restored group: done
//! when the group has a rule with the same direction, ethertype, protocol,
//! ports and remote (the idempotency key; Neutron refuses a duplicate rule
//! anyway, and makes the default egress rules with the group itself), else
//! it is created. A `409 SecurityGroupRuleExists` answer counts as done.

use std::collections::BTreeMap;

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{RestoreCx, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::restore::RestoreStep;
use crate::openstack::Query;
use crate::openstack::neutron::SecurityGroupRule;

/// Creates one rule.
pub struct CreateRule {
    pub spec: OperationSpec,
    pub group: String,
    pub step: RestoreStep,
}

/// What the step reads: the body (group resolved) and the equal rule found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub body: Value,
    pub found: Option<String>,
    pub id_map: BTreeMap<String, String>,
}

/// Returns whether a listed rule is the one the body describes (pure).
pub(crate) fn same_rule(body: &Value, r: &SecurityGroupRule) -> bool {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| body.get(k).and_then(Value::as_u64).map(|x| x as u32);
    s("direction").as_deref() == Some(r.direction.as_str())
        && s("ethertype").as_deref() == Some(r.ethertype.as_str())
        && s("protocol") == r.protocol
        && n("port_range_min") == r.port_range_min
        && n("port_range_max") == r.port_range_max
        && s("remote_ip_prefix") == r.remote_ip_prefix
        && s("remote_group_id") == r.remote_group_id
}

impl Step for CreateRule {
    type Cx = RestoreCx;
    type Observation = Seen;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn observe(&self, cx: &RestoreCx) -> Result<Seen, StepError> {
        let body = cx.map.body(&self.step.create)?;
        let group = body["security_group_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rules = cx
            .openstack
            .list_security_group_rules(&Query::new().eq("security_group_id", group.clone()))
            .await
            .map_err(|e| os_err(&format!("list the rules of security group {group}"), e))?;
        let found = rules
            .iter()
            .find(|r| same_rule(&body, r))
            .map(|r| r.id.clone());
        let mut id_map = BTreeMap::new();
        if let Some(f) = &found {
            id_map.insert(self.step.old_id.clone(), f.clone());
        }
        Ok(Seen {
            body,
            found,
            id_map,
        })
    }
}

impl Effect for CreateRule {
    type Params = Value;

    fn settles(&self) -> bool {
        // Nothing to wait for after the call: its outcome holds what it made.
        false
    }

    fn params(&self, seen: &Seen) -> Value {
        seen.body.clone()
    }

    fn classify(&self, seen: &Seen, _intent: Option<&Value>) -> Verdict {
        match &seen.found {
            Some(id) => Verdict::Done(format!("rule {id} is there")),
            None => Verdict::NotDone("the group has no such rule".into()),
        }
    }

    async fn act(&self, cx: &RestoreCx, body: &Value) -> Result<Applied, StepError> {
        match cx.openstack.create_security_group_rule(body.clone()).await {
            Ok(out) => Ok(Applied {
                http_status: Some(out.status),
                observed: json!({"id_map": {self.step.old_id.clone(): out.value.id}}),
            }),
            Err(e) if e.kind() == Some("SecurityGroupRuleExists") => Ok(Applied {
                http_status: e.status(),
                observed: json!({"exists": true}),
            }),
            Err(e) => Err(os_err(&format!("create rule {}", self.step.old_id), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_matches_on_every_field_that_makes_it() {
        let body = json!({"security_group_id": "G", "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.0.0.0/16"});
        let mut r = SecurityGroupRule {
            id: "R".into(),
            security_group_id: "G".into(),
            direction: "ingress".into(),
            ethertype: "IPv4".into(),
            protocol: Some("tcp".into()),
            port_range_min: Some(8080),
            port_range_max: Some(8080),
            remote_ip_prefix: Some("10.0.0.0/16".into()),
            ..Default::default()
        };
        assert!(same_rule(&body, &r));
        r.port_range_max = Some(8081);
        assert!(!same_rule(&body, &r));
        r.port_range_max = Some(8080);
        r.remote_group_id = Some("G".into());
        assert!(!same_rule(&body, &r), "a remote group makes another rule");
        let egress = json!({"direction": "egress", "ethertype": "IPv6"});
        let default = SecurityGroupRule {
            direction: "egress".into(),
            ethertype: "IPv6".into(),
            ..Default::default()
        };
        assert!(same_rule(&egress, &default));
    }
}
