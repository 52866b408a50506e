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

use serde_json::{Value, json};

use super::{MigrationCx, kube_err, os_err};
use crate::engine::{Effect, StepError, Verdict, WaitState};
use crate::kube::{self, Kind, ObjectRef};
use crate::kuryr::plan::RebootVia;
use crate::kuryr::readings::condition_is;
use crate::kuryr::reboot::{NodeReboot, node_reboot};

/// Reads the node and, for Nova reboots, its server.
pub async fn observe(cx: &MigrationCx, node: &str, via: &RebootVia) -> Result<Value, StepError> {
    let n = kube::get(&cx.kube, &ObjectRef::cluster(Kind::Node, node))
        .await
        .map_err(kube_err)?;
    let server = match via {
        RebootVia::Nova(id) => Some(cx.openstack.get_server(id).await.map_err(os_err)?.status),
        RebootVia::Ssh(_) => None,
    };
    Ok(json!({"node": n, "server_status": server}))
}

/// Returns what the intent records: the node's bootID now.
pub fn params(live: &Value) -> Value {
    json!({"boot_id": live.pointer("/node/status/nodeInfo/bootID")})
}

fn recorded(intent: Option<&Value>) -> Option<&str> {
    intent?.get("boot_id")?.as_str()
}

/// Before any intent: not done (pending while the node is already down).
/// After one: done once the bootID differs from the intent's; pending while a
/// reboot is visibly under way.
pub fn classify(intent: Option<&Value>, live: &Value) -> Verdict {
    let node = live.get("node").filter(|v| !v.is_null());
    let rebooting = matches!(
        live["server_status"].as_str(),
        Some("REBOOT" | "HARD_REBOOT")
    );
    let not_ready = node.is_some_and(|n| !condition_is(n, "Ready", true));
    let Some(before) = recorded(intent) else {
        if let Some(lost) = intent.and_then(|i| i.get("salvaged").and(i.get("lost"))) {
            // `journal salvage` put this reboot in doubt: its records (and the
            // bootID from just before it) may be among the lost ones.
            return Verdict::Ambiguous(format!(
                "the journal lost records {} (journal salvage), and this reboot may be among \
                 them: check whether the node rebooted since the damaged run (its uptime), \
                 then reboot it yourself if it did not",
                lost.as_str().unwrap_or("?")
            ));
        }
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
        NodeReboot::NotYet => Verdict::NotDone("same bootID as before the reboot, Ready".into()),
    }
}

/// Met when the node has a bootID other than the intent's (or, with no
/// intent, the planned one) and is Ready.
pub fn condition(intent: Option<&Value>, planned: &str, live: &Value) -> WaitState {
    let before = recorded(intent).unwrap_or(planned);
    match node_reboot(before, live.get("node").filter(|v| !v.is_null())) {
        NodeReboot::Done => WaitState::Met("new bootID, Ready".into()),
        NodeReboot::BootedNotReady => WaitState::Pending("new bootID, not Ready yet".into()),
        NodeReboot::NotYet => WaitState::Pending("rebooting".into()),
        NodeReboot::Missing => WaitState::Failed("the node object is gone".into()),
    }
}

/// Asks Nova for a soft reboot, or runs the ssh command.
pub async fn act(cx: &MigrationCx, via: &RebootVia) -> Result<Effect, StepError> {
    match via {
        RebootVia::Nova(id) => {
            let out = cx.openstack.reboot_server(id).await.map_err(os_err)?;
            Ok(Effect {
                http_status: Some(out.status),
                observed: json!({"server": id}),
            })
        }
        RebootVia::Ssh(argv) => {
            let (prog, args) = argv
                .split_first()
                .ok_or_else(|| StepError::fatal("empty reboot command"))?;
            let run = tokio::process::Command::new(prog)
                .args(args)
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
                .await
                .map_err(|_| {
                    StepError::retryable(format!("`{}` did not finish in 120 s", argv.join(" ")))
                })?
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
            Ok(Effect {
                http_status: None,
                observed: json!({"command": argv}),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_salvaged_intent_is_ambiguous_not_a_second_reboot() {
        let live = json!({
            "node": {"status": {"nodeInfo": {"bootID": "b2"},
                     "conditions": [{"type": "Ready", "status": "True"}]}},
            "server_status": "ACTIVE",
        });
        assert!(matches!(classify(None, &live), Verdict::NotDone(_)));
        let salvaged = json!({"salvaged": true, "lost": "40..=47"});
        match classify(Some(&salvaged), &live) {
            Verdict::Ambiguous(why) => assert!(why.contains("40..=47"), "{why}"),
            other => panic!("expected ambiguous, got {other:?}"),
        }
    }
}
