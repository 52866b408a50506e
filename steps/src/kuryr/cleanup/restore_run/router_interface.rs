//! The step that puts a restored subnet back on its router: done when the
//! router has an interface port on the subnet (the idempotency key is the
//! router and the subnet), else `add_router_interface`. Neutron makes a new
//! interface port; its ID is not the old one's (the plan reports that loss).

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{RestoreCx, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::restore::{Create, RestoreStep};
use crate::openstack::Query;

/// Adds a router interface on a restored subnet.
pub struct AddInterface {
    pub spec: OperationSpec,
    pub group: String,
    pub step: RestoreStep,
}

/// What the step reads: the router, the subnet, and the interface port found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub router: String,
    pub subnet: String,
    pub port: Option<String>,
}

impl Step for AddInterface {
    type Cx = RestoreCx;
    type Observation = Seen;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn observe(&self, cx: &RestoreCx) -> Result<Seen, StepError> {
        let Create::RouterInterface { router, .. } = &self.step.create else {
            return Err(StepError::fatal(
                "a router interface step without its create",
            ));
        };
        let subnet = cx.map.body(&self.step.create)?["subnet_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let router = router.resolve(&cx.map.snapshot()).ok_or_else(|| {
            StepError::fatal(format!(
                "add the interface of {}: its router has not been restored",
                self.spec.target
            ))
        })?;
        let ports = cx
            .openstack
            .list_ports(&Query::new().eq("device_id", router.clone()))
            .await
            .map_err(|e| os_err(&format!("list the ports of router {router}"), e))?;
        let port = ports
            .iter()
            .find(|p| {
                p.device_owner.starts_with("network:router_interface")
                    && p.fixed_ips.iter().any(|f| f.subnet_id == subnet)
            })
            .map(|p| p.id.clone());
        Ok(Seen {
            router,
            subnet,
            port,
        })
    }
}

impl Effect for AddInterface {
    type Params = Seen;

    fn settles(&self) -> bool {
        // Nothing to wait for after the call: its outcome holds what it made.
        false
    }

    fn params(&self, seen: &Seen) -> Seen {
        seen.clone()
    }

    fn classify(&self, seen: &Seen, _intent: Option<&Seen>) -> Verdict {
        match &seen.port {
            Some(p) => Verdict::Done(format!("interface port {p} is on the subnet")),
            None => Verdict::NotDone("the router has no interface on the subnet".into()),
        }
    }

    async fn act(&self, cx: &RestoreCx, p: &Seen) -> Result<Applied, StepError> {
        let out = cx
            .openstack
            .add_router_interface(&p.router, "subnet_id", &p.subnet)
            .await
            .map_err(|e| {
                os_err(
                    &format!("add subnet {} to router {}", p.subnet, p.router),
                    e,
                )
            })?;
        Ok(Applied {
            http_status: Some(out.status),
            observed: json!({"port_id": out.value.port_id, "subnet_id": p.subnet, "router": p.router}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_when_the_router_has_a_port_on_the_subnet() {
        let s = AddInterface {
            spec: super::super::test_spec(),
            group: "g".into(),
            step: RestoreStep {
                kind: crate::kuryr::cleanup::select::ObjKind::RouterInterface,
                old_id: "sub".into(),
                create: Create::RouterInterface {
                    router: crate::kuryr::cleanup::restore::Ref::Same("r".into()),
                    subnet: crate::kuryr::cleanup::restore::Ref::New("sub".into()),
                },
                maps_id: false,
                after: vec![],
            },
        };
        let mut seen = Seen {
            router: "r".into(),
            subnet: "S".into(),
            port: None,
        };
        assert!(matches!(s.classify(&seen, None), Verdict::NotDone(_)));
        seen.port = Some("P".into());
        assert!(matches!(s.classify(&seen, None), Verdict::Done(_)));
    }
}
