//! M9: reboot one node, by Nova (server from `spec.providerID`, never a name
//! match) or by the user's ssh command, and wait for a new bootID and Ready.
//! Nodes of one wave run together; waves never take every control-plane node.
//!
//! The intent records the node's bootID just before the reboot (the machine
//! config rollout already rebooted every node once, so the bootID seen at
//! discovery is stale). On resume, a reboot in doubt is done when the bootID
//! differs from the intent's; while Nova reports the server rebooting, or the
//! node is NotReady, it is pending (the engine looks again within its grace
//! period) rather than rebooted twice.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{MigrationCx, kube_err, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::plan::RebootVia;
use crate::kuryr::readings::condition_is;
use crate::kuryr::reboot::{NodeReboot, node_reboot};

/// M9 for one node.
pub struct Reboot {
    pub spec: OperationSpec,
    pub node: String,
    /// Wave index, from 0.
    pub wave: usize,
    /// The bootID at discovery.
    pub boot_id: String,
    pub via: RebootVia,
}

/// The node and, for Nova reboots, its server's status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RebootObservation {
    pub node: Option<Value>,
    pub server_status: Option<String>,
}

/// What the intent records: the node's bootID just before the reboot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootParams {
    pub boot_id: Option<String>,
}

impl Step for Reboot {
    type Cx = MigrationCx;
    type Observation = RebootObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(format!("M9/wave-{}", self.wave))
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<RebootObservation, StepError> {
        let node = kube::get(&cx.kube, &ObjectRef::cluster(Kind::Node, &self.node))
            .await
            .map_err(kube_err)?;
        let server_status = match &self.via {
            RebootVia::Nova(id) => Some(cx.openstack.get_server(id).await.map_err(os_err)?.status),
            RebootVia::Ssh(_) => None,
        };
        Ok(RebootObservation {
            node,
            server_status,
        })
    }
}

impl Effect for Reboot {
    type Params = RebootParams;

    fn params(&self, o: &RebootObservation) -> RebootParams {
        RebootParams {
            boot_id: o
                .node
                .as_ref()
                .and_then(|n| n.pointer("/status/nodeInfo/bootID"))
                .and_then(Value::as_str)
                .map(String::from),
        }
    }

    /// Before any intent: not done (pending while the node is already down).
    /// After one: done once the bootID differs from the intent's; pending
    /// while a reboot is visibly under way.
    fn classify(&self, o: &RebootObservation, intent: Option<&RebootParams>) -> Verdict {
        let node = o.node.as_ref();
        let rebooting = matches!(o.server_status.as_deref(), Some("REBOOT" | "HARD_REBOOT"));
        let not_ready = node.is_some_and(|n| !condition_is(n, "Ready", true));
        let Some(before) = intent.and_then(|p| p.boot_id.as_deref()) else {
            if node.is_none() {
                return Verdict::Ambiguous("the node object is gone".into());
            }
            return if rebooting || not_ready {
                Verdict::Pending("the node is down already; waiting before rebooting it".into())
            } else {
                Verdict::NotDone("not rebooted by this run yet".into())
            };
        };
        match node_reboot(before, node) {
            NodeReboot::Done | NodeReboot::BootedNotReady => {
                Verdict::Done("the node booted again".into())
            }
            NodeReboot::Missing => Verdict::Ambiguous("the node object is gone".into()),
            NodeReboot::NotYet if rebooting => {
                Verdict::Pending("Nova reports the server rebooting".into())
            }
            NodeReboot::NotYet if not_ready => {
                Verdict::Pending("the node is NotReady with its old bootID".into())
            }
            NodeReboot::NotYet => {
                Verdict::NotDone("same bootID as before the reboot, Ready".into())
            }
        }
    }

    /// `journal salvage` put this reboot in doubt: its records (and the
    /// bootID from just before it) may be among the lost ones.
    fn classify_salvaged(&self, _: &RebootObservation, lost: &str) -> Verdict {
        Verdict::Ambiguous(format!(
            "the journal lost records {lost} (journal salvage), and this reboot may be among \
             them: check whether the node rebooted since the damaged run (its uptime), \
             then reboot it yourself if it did not"
        ))
    }

    /// Asks Nova for a soft reboot, or runs the ssh command.
    async fn act(&self, cx: &MigrationCx, _: &RebootParams) -> Result<Applied, StepError> {
        match &self.via {
            RebootVia::Nova(id) => {
                let out = cx.openstack.reboot_server(id).await.map_err(os_err)?;
                Ok(Applied {
                    http_status: Some(out.status),
                    observed: json!({"server": id}),
                })
            }
            RebootVia::Ssh(argv) => ssh(argv).await,
        }
    }

    /// Met when the node has a bootID other than the intent's (or, with no
    /// intent, the discovered one) and is Ready.
    fn settle(&self, o: &RebootObservation, intent: Option<&RebootParams>) -> Option<WaitState> {
        let before = intent
            .and_then(|p| p.boot_id.as_deref())
            .unwrap_or(&self.boot_id);
        Some(match node_reboot(before, o.node.as_ref()) {
            NodeReboot::Done => WaitState::Met("new bootID, Ready".into()),
            NodeReboot::BootedNotReady => WaitState::Pending("new bootID, not Ready yet".into()),
            NodeReboot::NotYet => WaitState::Pending("rebooting".into()),
            NodeReboot::Missing => WaitState::Failed("the node object is gone".into()),
        })
    }
}

async fn ssh(argv: &[String]) -> Result<Applied, StepError> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| StepError::fatal("empty reboot command"))?;
    let run = tokio::process::Command::new(prog)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .map_err(|_| StepError::retryable(format!("`{}` did not finish in 120 s", argv.join(" "))))?
        .map_err(|e| StepError::fatal(format!("run `{}`: {e}", argv.join(" "))))?;
    // ssh exits 255 when the connection drops as the node goes down: the
    // engine then re-observes before trying again.
    if !out.status.success() {
        return Err(StepError::retryable(format!(
            "`{}` exited {}: {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(Applied {
        http_status: None,
        observed: json!({"command": argv}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::readings::fixtures::node;

    fn step() -> Reboot {
        Reboot {
            spec: super::super::test_spec("M9"),
            node: "w-0".into(),
            wave: 0,
            boot_id: "b0".into(),
            via: RebootVia::Nova("s".into()),
        }
    }

    fn obs(ready: bool, boot: &str, server: &str) -> RebootObservation {
        RebootObservation {
            node: Some(node("w-0", &["worker"], ready, boot)),
            server_status: Some(server.into()),
        }
    }

    fn intent(boot: &str) -> RebootParams {
        RebootParams {
            boot_id: Some(boot.into()),
        }
    }

    #[test]
    fn a_reboot_is_judged_by_the_intents_boot_id() {
        let s = step();
        assert!(matches!(
            s.classify(&obs(true, "b1", "ACTIVE"), None),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(true, "b1", "ACTIVE"), Some(&intent("b1"))),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(true, "b2", "ACTIVE"), Some(&intent("b1"))),
            Verdict::Done(_)
        ));
        assert!(matches!(
            s.classify(&obs(true, "b1", "REBOOT"), Some(&intent("b1"))),
            Verdict::Pending(_)
        ));
        assert!(matches!(
            s.classify(&obs(false, "b1", "ACTIVE"), None),
            Verdict::Pending(_)
        ));
        assert_eq!(s.params(&obs(true, "b7", "ACTIVE")), intent("b7"));
    }

    #[test]
    fn a_salvaged_intent_is_ambiguous_not_a_second_reboot() {
        let eff = crate::engine::effect(step());
        let eff = eff.as_effect().unwrap();
        let live = serde_json::to_value(obs(true, "b2", "ACTIVE")).unwrap();
        assert!(matches!(eff.classify(&live, None), Ok(Verdict::NotDone(_))));
        let salvaged = json!({"salvaged": true, "lost": "40..=47"});
        match eff.classify(&live, Some(&salvaged)) {
            Ok(Verdict::Ambiguous(why)) => assert!(why.contains("40..=47"), "{why}"),
            other => panic!("expected ambiguous, got {other:?}"),
        }
    }

    #[test]
    fn settles_on_a_new_boot_id_and_ready() {
        let s = step();
        let i = intent("b1");
        assert!(matches!(
            s.settle(&obs(false, "b2", "ACTIVE"), Some(&i)),
            Some(WaitState::Pending(_))
        ));
        assert!(matches!(
            s.settle(&obs(true, "b2", "ACTIVE"), Some(&i)),
            Some(WaitState::Met(_))
        ));
        let gone = RebootObservation::default();
        assert!(matches!(
            s.settle(&gone, Some(&i)),
            Some(WaitState::Failed(_))
        ));
    }
}
