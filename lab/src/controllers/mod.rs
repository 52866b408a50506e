//! Simulated cluster controllers: the network operator, the machine config
//! operator and the nodes (kubelets), as small tokio tasks beside the store.
//!
//! Like kwok's fake kubelet next to a real apiserver, each controller reads
//! and writes the store only through its public API, reacts to changes
//! (the store's change channel, plus a short resync tick so nothing is missed),
//! and changes status the way the real controller would after configurable
//! delays ([`ControllerConfig`], fast by default). Controllers are
//! level-triggered: each pass compares desired and observed state, and work
//! that takes time (a rollout, a reboot) runs in its own task guarded so it
//! is never started twice.

mod mco;
mod network;
mod nodes;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::k8s::Store;

pub use nodes::{hook_routes, reboot_node};

/// Delays of the simulated controllers, in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ControllerConfig {
    /// Network operator: from a spec change to its reaction (status.migration,
    /// machine configs, plugin switch).
    pub operator_delay_ms: u64,
    /// Network operator: how long the multus DaemonSet rollout takes.
    pub multus_rollout_ms: u64,
    /// Machine config operator: time spent on one node before it reboots.
    pub mco_node_ms: u64,
    /// Nodes: how long a rebooting node stays NotReady.
    pub reboot_ms: u64,
    /// Resync period of every controller (a pass even without changes).
    pub resync_ms: u64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            operator_delay_ms: 30,
            multus_rollout_ms: 50,
            mco_node_ms: 20,
            reboot_ms: 40,
            resync_ms: 200,
        }
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// The running controllers; dropping this stops them.
pub struct Controllers {
    tasks: Vec<JoinHandle<()>>,
    routes: Router,
}

impl Controllers {
    /// Starts every controller on `store`. `nova_reboots` carries the IDs of
    /// Nova servers that were rebooted (the node with providerID
    /// `openstack:///<id>` reboots).
    pub fn start(
        store: Store,
        cfg: ControllerConfig,
        nova_reboots: broadcast::Receiver<String>,
    ) -> Self {
        let reboots = Busy::default();
        let tasks = vec![
            tokio::spawn(network::run(store.clone(), cfg.clone())),
            tokio::spawn(mco::run(store.clone(), cfg.clone())),
            tokio::spawn(nodes::run_nova_listener(
                store.clone(),
                cfg.clone(),
                nova_reboots,
                reboots.clone(),
            )),
        ];
        Self {
            tasks,
            routes: nodes::shared_hook_routes(store, cfg, reboots),
        }
    }

    /// Returns the lab hook routes (`POST /_lab/nodes/{name}/reboot`) to merge
    /// into the API server.
    pub fn routes(&self) -> Router {
        self.routes.clone()
    }

    /// Stops every controller.
    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Names of work in progress, so a level-triggered pass never starts it twice.
#[derive(Clone, Default)]
struct Busy(Arc<Mutex<HashSet<String>>>);

impl Busy {
    /// Marks `name` busy; returns false when it already was.
    fn claim(&self, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string())
    }

    fn release(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// Runs `fut` in its own task under the `name` guard, unless already running.
    fn spawn<F>(&self, name: String, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if !self.claim(&name) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            fut.await;
            me.release(&name);
        });
    }
}

/// Waits for the next store change or the resync tick.
async fn next_pass(changes: &mut tokio::sync::watch::Receiver<u64>, resync: Duration) {
    let _ = tokio::time::timeout(resync, changes.changed()).await;
}

/// Returns a string at a JSON pointer.
fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Sets (or adds) a condition in `obj.status.conditions`, touching
/// `lastTransitionTime` only when the status changes.
fn set_condition(obj: &mut Value, kind: &str, status: &str, reason: &str, message: &str) {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"]["conditions"].is_array() {
        obj["status"]["conditions"] = json!([]);
    }
    let now = crate::k8s::now();
    let conds = obj["status"]["conditions"].as_array_mut().expect("array");
    match conds.iter_mut().find(|c| c["type"] == kind) {
        Some(c) => {
            if c["status"] != status {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
            if c.get("lastHeartbeatTime").is_some() {
                c["lastHeartbeatTime"] = json!(now);
            }
        }
        None => conds.push(json!({
            "type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": now,
        })),
    }
}

/// Returns a condition's status (`"True"`, `"False"`, …).
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?
        .get("status")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_set_once_per_type() {
        let mut o = json!({});
        set_condition(&mut o, "Ready", "False", "R", "m");
        set_condition(&mut o, "Ready", "True", "R2", "m2");
        set_condition(&mut o, "Updated", "True", "", "");
        assert_eq!(condition(&o, "Ready"), Some("True"));
        assert_eq!(o["status"]["conditions"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn busy_runs_work_once() {
        let busy = Busy::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..3 {
            let tx = tx.clone();
            busy.spawn("x".into(), async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.send(()).unwrap();
            });
        }
        drop(tx);
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, 1);
    }
}
