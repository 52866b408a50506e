//! P1: one canary instance on a compute host, booted once.
//!
//! The canary is named with the run's idempotency key and found again by
//! that exact name, so a resume after a crash between Nova's 202 and the
//! outcome sees the server and never boots a second one: the intent then
//! records the server's id and the effect only tags it. It is tagged
//! `openstack.lcm.mirantis.com:prober` (`PUT /servers/{id}/tags/{tag}`,
//! microversion 2.26) and waited to ACTIVE; ERROR fails the step with what
//! to do. Two servers of the one name are for the operator to sort out.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{PrepareCx, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use crate::openstack::Query;
use crate::ovs::inventory::CANARY_TAG;
use journal::OperationSpec;

/// The step.
pub struct Canary {
    pub spec: OperationSpec,
    pub host: String,
    pub name: String,
    pub image: String,
    pub flavor: String,
    pub network: Option<String>,
}

/// A server of the canary's name, as read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub status: String,
    pub host: Option<String>,
    pub tags: Vec<String>,
}

/// Every server of exactly the canary's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub servers: Vec<Seen>,
}

/// What the intent records: the server already booted, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub existing: Option<String>,
}

impl Step for Canary {
    type Cx = PrepareCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(super::plan::CANARY_GROUP.into())
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Observed, StepError> {
        // Nova's `name` filter is a regular expression: the exact match is ours.
        let list = cx
            .openstack
            .list_servers(&Query::new().eq("name", self.name.clone()))
            .await
            .map_err(os_err)?;
        Ok(Observed {
            servers: list
                .into_iter()
                .filter(|s| s.name == self.name)
                .map(|s| Seen {
                    id: s.id,
                    status: s.status,
                    host: s.host,
                    tags: s.tags,
                })
                .collect(),
        })
    }
}

impl Effect for Canary {
    type Params = Params;

    fn params(&self, o: &Observed) -> Params {
        Params {
            existing: o.servers.first().map(|s| s.id.clone()),
        }
    }

    fn classify(&self, o: &Observed, _intent: Option<&Params>) -> Verdict {
        match o.servers.as_slice() {
            [] => Verdict::NotDone(format!("no server named {}", self.name)),
            [s] if s.tags.iter().any(|t| t == CANARY_TAG) => {
                Verdict::Done(format!("canary {} ({}) is there, tagged", self.name, s.id))
            }
            [s] => Verdict::NotDone(format!("canary {} ({}) is not tagged yet", self.name, s.id)),
            many => Verdict::Ambiguous(format!(
                "{} servers are named {} ({}): this run boots one; delete the extra ones, then resume",
                many.len(),
                self.name,
                many.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    async fn act(&self, cx: &PrepareCx, p: &Params) -> Result<Applied, StepError> {
        let (id, status) = match &p.existing {
            Some(id) => (id.clone(), None),
            None => {
                let mut server = json!({
                    "name": self.name,
                    "imageRef": self.image,
                    "flavorRef": self.flavor,
                    "availability_zone": format!("nova:{}", self.host),
                    "metadata": {"ovn-migrate": "canary"},
                });
                if let Some(n) = &self.network {
                    server["networks"] = json!([{"uuid": n}]);
                }
                let out = cx.openstack.create_server(server).await.map_err(os_err)?;
                (out.value.id, Some(out.status))
            }
        };
        cx.openstack
            .add_server_tag(&id, CANARY_TAG)
            .await
            .map_err(os_err)?;
        Ok(Applied {
            http_status: status,
            observed: json!({"id": id, "booted": p.existing.is_none(), "tag": CANARY_TAG}),
        })
    }

    fn settle(&self, o: &Observed, _intent: Option<&Params>) -> Option<WaitState> {
        Some(canary_state(&self.name, &self.host, o))
    }
}

/// Returns the canary's state while it boots.
fn canary_state(name: &str, host: &str, o: &Observed) -> WaitState {
    let Some(s) = o.servers.first() else {
        return WaitState::Failed(format!(
            "the canary {name} is gone (deleted while booting?); look at `openstack server list --name {name}`"
        ));
    };
    match s.status.as_str() {
        "ACTIVE" if s.host.as_deref() == Some(host) => {
            WaitState::Met(format!("canary {name} ({}) ACTIVE on {host}", s.id))
        }
        "ACTIVE" => WaitState::Failed(format!(
            "the canary {name} ({}) is ACTIVE on {} instead of {host}: delete it and check that host {host} is in availability zone nova",
            s.id,
            s.host.as_deref().unwrap_or("an unknown host")
        )),
        "ERROR" => WaitState::Failed(format!(
            "the canary {name} ({}) went to ERROR on host {host}: see `openstack server show {}` (fault) and the host's nova-compute log; \
             delete the server and resume once the host is fixed, or disable the host's compute service and make a new plan",
            s.id, s.id
        )),
        other => WaitState::Pending(format!("canary {name} is {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> Canary {
        Canary {
            spec: super::super::test_spec("p1-canary/c0"),
            host: "c0".into(),
            name: "ovn-migrate-canary-c0-k".into(),
            image: "img".into(),
            flavor: "fl".into(),
            network: None,
        }
    }

    fn seen(id: &str, status: &str, tagged: bool) -> Seen {
        Seen {
            id: id.into(),
            status: status.into(),
            host: Some("c0".into()),
            tags: if tagged {
                vec![CANARY_TAG.into()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn a_found_server_is_never_booted_again_only_tagged() {
        let s = step();
        let none = Observed { servers: vec![] };
        assert!(matches!(s.classify(&none, None), Verdict::NotDone(_)));
        assert_eq!(s.params(&none).existing, None);
        let untagged = Observed {
            servers: vec![seen("i1", "BUILD", false)],
        };
        assert!(matches!(s.classify(&untagged, None), Verdict::NotDone(_)));
        assert_eq!(s.params(&untagged).existing.as_deref(), Some("i1"));
        let tagged = Observed {
            servers: vec![seen("i1", "BUILD", true)],
        };
        assert!(matches!(s.classify(&tagged, None), Verdict::Done(_)));
        let two = Observed {
            servers: vec![seen("i1", "ACTIVE", true), seen("i2", "BUILD", false)],
        };
        match s.classify(&two, None) {
            Verdict::Ambiguous(d) => assert!(d.contains("i1, i2"), "{d}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn the_canary_is_awaited_to_active_on_its_host_and_error_says_what_to_do() {
        let s = step();
        let at = |st: &str| {
            s.settle(
                &Observed {
                    servers: vec![seen("i1", st, true)],
                },
                None,
            )
            .unwrap()
        };
        assert!(matches!(at("ACTIVE"), WaitState::Met(_)));
        assert!(matches!(at("BUILD"), WaitState::Pending(_)));
        match at("ERROR") {
            WaitState::Failed(m) => {
                assert!(
                    m.contains("openstack server show i1") && m.contains("resume"),
                    "{m}"
                )
            }
            w => panic!("{w:?}"),
        }
        let mut elsewhere = seen("i1", "ACTIVE", true);
        elsewhere.host = Some("c9".into());
        assert!(matches!(
            s.settle(
                &Observed {
                    servers: vec![elsewhere]
                },
                None
            ),
            Some(WaitState::Failed(_))
        ));
        assert!(matches!(
            s.settle(&Observed { servers: vec![] }, None),
            Some(WaitState::Failed(_))
        ));
    }
}
