//! A `coordination.k8s.io/v1` Lease in the cluster itself, held and renewed
//! while a run is alive, so a second machine migrating the same cluster is
//! refused (the journal's file lock only covers this machine).
//!
//! The holder identity is `ovn-migrate/<host>/<run id>`: the same run resumed
//! on the same host after a crash takes its own lease back at once (the
//! journal lock already keeps a second process on this host out); anyone
//! else waits until the lease expires or is released. Renewal runs in its own
//! task; if the lease is lost (taken over after expiry, or deleted), the run
//! is cancelled, so it pauses instead of acting without it.

use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::kube::{Kind, KubeClient};

/// Where the lease lives.
pub const LEASE_NAMESPACE: &str = "kube-system";
/// The lease's name.
pub const LEASE_NAME: &str = "ovn-migrate";

/// Why the lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it.
    #[error(
        "take the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME}: it is held by {holder} (renewed {renewed}, \
         expires in {expires_in_s} s); another ovn-migrate is working on this cluster"
    )]
    Held {
        holder: String,
        renewed: String,
        expires_in_s: i64,
    },
    /// The API refused.
    #[error("take the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME}: {0}")]
    Api(String),
}

/// A held lease; renews itself until released.
pub struct LeaseGuard {
    stop: CancellationToken,
    task: JoinHandle<()>,
    api: Api<DynamicObject>,
    holder: String,
}

/// Returns the identity this run holds the lease under.
pub fn identity(run_id: &str) -> String {
    format!("ovn-migrate/{}/{run_id}", journal::lock::hostname())
}

fn micro_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn body(holder: &str, duration: Duration, acquired: Option<&str>) -> Value {
    let now = micro_time(chrono::Utc::now());
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE_NAME, "namespace": LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration.as_secs().max(1),
            "acquireTime": acquired.map(str::to_string).unwrap_or_else(|| now.clone()),
            "renewTime": now,
        }
    })
}

/// Decides from a lease's spec whether `me` may take it now: Ok, or who holds it.
pub fn may_take(
    spec: &Value,
    me: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), LeaseError> {
    let holder = spec
        .get("holderIdentity")
        .and_then(Value::as_str)
        .unwrap_or("");
    if holder.is_empty() || holder == me {
        return Ok(());
    }
    let renewed = spec.get("renewTime").and_then(Value::as_str).unwrap_or("");
    let secs = spec
        .get("leaseDurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(renewed) else {
        return Ok(()); // never renewed: nobody holds it
    };
    let expires = at.with_timezone(&chrono::Utc) + chrono::Duration::seconds(secs);
    if expires <= now {
        return Ok(());
    }
    Err(LeaseError::Held {
        holder: holder.to_string(),
        renewed: renewed.to_string(),
        expires_in_s: (expires - now).num_seconds(),
    })
}

fn api_err(e: kube::Error) -> LeaseError {
    LeaseError::Api(e.to_string())
}

/// Takes the lease for `holder` and starts renewing it every `duration / 3`;
/// `lost` is cancelled if the lease is lost.
pub async fn acquire(
    kc: &KubeClient,
    holder: &str,
    duration: Duration,
    lost: CancellationToken,
) -> Result<LeaseGuard, LeaseError> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        kc.client.clone(),
        LEASE_NAMESPACE,
        &Kind::Lease.api_resource(),
    );
    take(&api, holder, duration).await?;
    let stop = CancellationToken::new();
    let task = {
        let (api, holder, stop) = (api.clone(), holder.to_string(), stop.clone());
        tokio::spawn(async move {
            let every = (duration / 3).max(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.cancelled() => return,
                }
                match take(&api, &holder, duration).await {
                    Ok(()) => {}
                    Err(LeaseError::Held { holder: other, .. }) => {
                        tracing::error!(%other, "the cluster lease was taken over; pausing the run");
                        lost.cancel();
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the cluster lease; retrying")
                    }
                }
            }
        })
    };
    Ok(LeaseGuard {
        stop,
        task,
        api,
        holder: holder.to_string(),
    })
}

/// Creates or updates the lease for `holder`, if it may.
async fn take(
    api: &Api<DynamicObject>,
    holder: &str,
    duration: Duration,
) -> Result<(), LeaseError> {
    match api.get_opt(LEASE_NAME).await.map_err(api_err)? {
        None => {
            let obj: DynamicObject =
                serde_json::from_value(body(holder, duration, None)).expect("lease body");
            match api.create(&PostParams::default(), &obj).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    Box::pin(take(api, holder, duration)).await
                }
                Err(e) => Err(api_err(e)),
            }
        }
        Some(current) => {
            let spec = current.data.get("spec").cloned().unwrap_or(Value::Null);
            may_take(&spec, holder, chrono::Utc::now())?;
            let same = spec.get("holderIdentity").and_then(Value::as_str) == Some(holder);
            let acquired = if same {
                spec.get("acquireTime").and_then(Value::as_str)
            } else {
                None
            };
            let mut obj: DynamicObject =
                serde_json::from_value(body(holder, duration, acquired)).expect("lease body");
            obj.metadata.resource_version = current.metadata.resource_version.clone();
            match api.replace(LEASE_NAME, &PostParams::default(), &obj).await {
                Ok(_) => Ok(()),
                // Someone wrote it meanwhile: look again (they may now hold it).
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let now = api.get(LEASE_NAME).await.map_err(api_err)?;
                    may_take(
                        now.data.get("spec").unwrap_or(&Value::Null),
                        holder,
                        chrono::Utc::now(),
                    )?;
                    Err(LeaseError::Api(
                        "the lease changed while it was being renewed".into(),
                    ))
                }
                Err(e) => Err(api_err(e)),
            }
        }
    }
}

impl LeaseGuard {
    /// Stops renewing and clears the holder, so another machine may resume at once.
    pub async fn release(self) {
        self.stop.cancel();
        let _ = self.task.await;
        if let Ok(current) = self.api.get(LEASE_NAME).await {
            let spec = current.data.get("spec").cloned().unwrap_or(Value::Null);
            if spec.get("holderIdentity").and_then(Value::as_str) == Some(self.holder.as_str()) {
                let patch = json!({"spec": {"holderIdentity": null, "renewTime": null}});
                let _ = self
                    .api
                    .patch(
                        LEASE_NAME,
                        &kube::api::PatchParams::default(),
                        &kube::api::Patch::Merge(&patch),
                    )
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn free_own_or_expired_leases_may_be_taken() {
        let now = at("2026-01-01T00:01:00Z");
        assert!(may_take(&json!({}), "me", now).is_ok());
        assert!(may_take(&json!({"holderIdentity": "me", "renewTime": "2026-01-01T00:00:59Z", "leaseDurationSeconds": 60}), "me", now).is_ok());
        assert!(may_take(&json!({"holderIdentity": "other", "renewTime": "2026-01-01T00:00:00Z", "leaseDurationSeconds": 30}), "me", now).is_ok());
    }

    #[test]
    fn a_live_lease_of_another_holder_is_refused_with_its_holder() {
        let now = at("2026-01-01T00:01:00Z");
        let spec = json!({"holderIdentity": "ovn-migrate/hostB/run", "renewTime": "2026-01-01T00:00:50.000000Z", "leaseDurationSeconds": 60});
        match may_take(&spec, "me", now) {
            Err(LeaseError::Held {
                holder,
                expires_in_s,
                ..
            }) => {
                assert_eq!(holder, "ovn-migrate/hostB/run");
                assert_eq!(expires_in_s, 50);
            }
            other => panic!("{other:?}"),
        }
    }
}
