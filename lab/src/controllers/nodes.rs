//! Simulated kubelets: node reboots.
//!
//! A reboot makes the node's Ready condition False (NotReady) for
//! `reboot_ms`, then gives it a new `status.nodeInfo.bootID` and Ready=True,
//! as a real node does after `shutdown -r`. Reboots come from three places:
//! the machine config operator (awaiting [`reboot_node`]), the HTTP hook
//! `POST /_lab/nodes/{name}/reboot` (the tool's ssh-command path in tests) and
//! Nova server reboots (server IDs on a broadcast channel, matched to nodes by
//! `spec.providerID == openstack:///<id>`, never by name).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Busy, ControllerConfig, ms, set_condition};
use crate::k8s::{ApiError, Store};

const NODES: &str = "nodes";

/// Reboots a node and returns once it is Ready again with a new bootID. A
/// reboot of a node that is already rebooting waits for that one instead.
pub async fn reboot_node(store: &Store, name: &str, reboot_ms: u64) -> Result<(), ApiError> {
    store.mutate(NODES, "", name, true, |n| {
        set_condition(n, "Ready", "False", "KubeletNotReady", "node is rebooting");
    })?;
    tracing::debug!(node = name, "rebooting");
    tokio::time::sleep(ms(reboot_ms)).await;
    store.mutate(NODES, "", name, true, |n| {
        n["status"]["nodeInfo"]["bootID"] = json!(uuid::Uuid::new_v4().to_string());
        set_condition(
            n,
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        );
    })?;
    tracing::debug!(node = name, "rebooted");
    Ok(())
}

#[derive(Clone)]
struct HookState {
    store: Store,
    cfg: ControllerConfig,
    busy: Busy,
}

/// Returns the `POST /_lab/nodes/{name}/reboot` route: 202 and the reboot
/// starts, or 404 when there is no such node.
pub fn hook_routes(store: Store, cfg: ControllerConfig) -> Router {
    shared_hook_routes(store, cfg, Busy::default())
}

/// [`hook_routes`] with the reboot guard shared with the Nova listener, so one
/// node never runs two reboots at once.
pub(super) fn shared_hook_routes(store: Store, cfg: ControllerConfig, busy: Busy) -> Router {
    async fn reboot(State(h): State<HookState>, Path(name): Path<String>) -> Response {
        if let Err(e) = h.store.get(NODES, "", &name) {
            return (StatusCode::NOT_FOUND, axum::Json(e.status())).into_response();
        }
        spawn_reboot(&h.store, &h.busy, &name, h.cfg.reboot_ms);
        (
            StatusCode::ACCEPTED,
            axum::Json(json!({"node": name, "rebooting": true})),
        )
            .into_response()
    }
    Router::new()
        .route("/_lab/nodes/{name}/reboot", post(reboot))
        .with_state(HookState { store, cfg, busy })
}

fn spawn_reboot(store: &Store, busy: &Busy, name: &str, reboot_ms: u64) {
    let (store, node) = (store.clone(), name.to_string());
    busy.spawn(format!("reboot/{name}"), async move {
        if let Err(e) = reboot_node(&store, &node, reboot_ms).await {
            tracing::warn!(node, error = %e, "reboot failed");
        }
    });
}

/// Returns the name of the node whose providerID is `openstack:///<server_id>`.
pub fn node_for_server(store: &Store, server_id: &str) -> Option<String> {
    let want = format!("openstack:///{server_id}");
    let nodes = store.list_all(NODES, None).ok()?;
    nodes
        .iter()
        .find(|n| n.pointer("/spec/providerID").and_then(Value::as_str) == Some(want.as_str()))
        .and_then(|n| n.pointer("/metadata/name")?.as_str().map(String::from))
}

/// Reboots the node of every Nova server ID received.
pub(super) async fn run_nova_listener(
    store: Store,
    cfg: ControllerConfig,
    mut rx: broadcast::Receiver<String>,
    busy: Busy,
) {
    loop {
        match rx.recv().await {
            Ok(server_id) => match node_for_server(&store, &server_id) {
                Some(node) => spawn_reboot(&store, &busy, &node, cfg.reboot_ms),
                None => tracing::debug!(server_id, "nova reboot of a server that is no node"),
            },
            Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(n, "missed nova reboots"),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
