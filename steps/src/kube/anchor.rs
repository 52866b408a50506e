//! The external anchor of sealed runs: each sealed run's head (its seal's
//! seq and chain hash) recorded in the cluster, as one annotation per run on
//! the ConfigMap `kube-system/ovn-migrate-anchors`, so that a journal
//! rewritten and re-sealed on the operator's machine no longer matches what
//! the cluster holds (`journal verify --against-cluster`).
//!
//! An anchor, once written, is never replaced: a second anchor for the same
//! run with another head is refused ([`AnchorError::Conflict`]), since a
//! sealed run's head cannot change (a reset refuses sealed runs).

use ::kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::KubeClient;
use super::error::KubeError;
use super::resources::Kind;

/// The ConfigMap holding the anchors.
pub const ANCHORS: &str = "ovn-migrate-anchors";
/// Its namespace.
pub const NAMESPACE: &str = "kube-system";
/// The annotation prefix; the run id follows it.
pub const PREFIX: &str = "anchors.ovn-migrate.io/";

/// What the cluster records of one sealed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub run_id: String,
    pub workflow: String,
    pub cluster_id: String,
    /// The seq of the seal record.
    pub seal_seq: u64,
    /// The chain hash of the seal record (the journal's head), hex.
    pub head: String,
}

/// Why an anchor could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// The cluster already anchors this run at another head.
    #[error(
        "record the anchor of run {run_id} in {NAMESPACE}/configmaps/{ANCHORS}: the cluster already \
         anchors it at record {seal_seq}, head {head}, and an anchor is never replaced"
    )]
    Conflict {
        run_id: String,
        seal_seq: u64,
        head: String,
    },
    /// The annotation is there but does not parse.
    #[error("read the anchor of run {run_id} in {NAMESPACE}/configmaps/{ANCHORS}: {reason}")]
    Unreadable { run_id: String, reason: String },
}

/// Returns the annotation key of run `run_id`.
pub fn key(run_id: &str) -> String {
    format!("{PREFIX}{run_id}")
}

fn api(kc: &KubeClient) -> Api<DynamicObject> {
    Api::namespaced_with(
        kc.client.clone(),
        NAMESPACE,
        &Kind::ConfigMap.api_resource(),
    )
}

fn target() -> String {
    format!("{NAMESPACE}/configmaps/{ANCHORS}")
}

fn err(verb: &'static str, e: ::kube::Error) -> KubeError {
    KubeError::from_kube(verb, target(), e)
}

/// Reads the anchor of `run_id`, if the cluster has one.
pub async fn read(kc: &KubeClient, run_id: &str) -> Result<Option<Anchor>, AnchorError> {
    let Some(cm) = api(kc).get_opt(ANCHORS).await.map_err(|e| err("get", e))? else {
        return Ok(None);
    };
    let Some(text) = cm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(&key(run_id)))
    else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| AnchorError::Unreadable {
            run_id: run_id.into(),
            reason: format!("annotation {} is not an anchor: {e}", key(run_id)),
        })
}

/// Records `anchor` (creating the ConfigMap if needed); an equal anchor
/// already there is fine, another one is [`AnchorError::Conflict`].
pub async fn record(kc: &KubeClient, anchor: &Anchor) -> Result<(), AnchorError> {
    let text = serde_json::to_string(anchor).expect("an anchor serialises");
    for _ in 0..3 {
        if let Some(old) = read(kc, &anchor.run_id).await? {
            if &old == anchor {
                return Ok(());
            }
            return Err(AnchorError::Conflict {
                run_id: old.run_id,
                seal_seq: old.seal_seq,
                head: old.head,
            });
        }
        let api = api(kc);
        let patch = json!({"metadata": {"annotations": {key(&anchor.run_id): text}}});
        match api.get_opt(ANCHORS).await.map_err(|e| err("get", e))? {
            Some(cm) => {
                // Guarded by the resourceVersion read: a concurrent write retries.
                let mut p = patch.clone();
                p["metadata"]["resourceVersion"] =
                    Value::String(cm.metadata.resource_version.unwrap_or_default());
                match api
                    .patch(ANCHORS, &PatchParams::default(), &Patch::Merge(&p))
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(e) if status(&e) == Some(409) => continue,
                    Err(e) => return Err(err("patch", e).into()),
                }
            }
            None => {
                let obj: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": ANCHORS,
                        "namespace": NAMESPACE,
                        "annotations": {key(&anchor.run_id): text},
                    },
                }))
                .expect("a ConfigMap");
                match api.create(&PostParams::default(), &obj).await {
                    Ok(_) => return Ok(()),
                    Err(e) if status(&e) == Some(409) => continue,
                    Err(e) => return Err(err("create", e).into()),
                }
            }
        }
    }
    Err(err(
        "patch",
        ::kube::Error::Service("the anchors ConfigMap kept changing under three writes".into()),
    )
    .into())
}

fn status(e: &::kube::Error) -> Option<u16> {
    match e {
        ::kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_round_trip_as_annotation_values() {
        let a = Anchor {
            run_id: "20261202T080000Z-abcd".into(),
            workflow: "kuryr-migrate".into(),
            cluster_id: "c".into(),
            seal_seq: 91,
            head: "ab".repeat(32),
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Anchor>(&text).unwrap(), a);
        assert_eq!(
            key(&a.run_id),
            "anchors.ovn-migrate.io/20261202T080000Z-abcd"
        );
        // An annotation name is at most 63 characters.
        assert!(key(&a.run_id).len() - PREFIX.len() <= 63);
    }
}
