//! The cluster lease: a `coordination.k8s.io/v1` Lease `kube-system/ovn-migrate`
//! that a run holds while it acts, so a second machine migrating the same
//! cluster is kept out (the journal's file lock only covers this machine).
//!
//! **Identity.** A run holds the lease as `ovn-migrate/<host>/<run id>`
//! ([`identity`]): the same run resumed on the same host takes its own lease
//! back at once (the journal lock already keeps a second process on this
//! host out).
//!
//! **Another holder** is judged the way client-go's leader election judges
//! it, never from its timestamps against our clock (the two clocks may be
//! minutes apart): [`Observer`] remembers when *we* last saw its holder,
//! `renewTime` or `resourceVersion` change, on our monotonic clock. The lease
//! is expired only when it has not changed for its `leaseDurationSeconds` as
//! we measured it. So [`acquire`] facing another holder watches the lease: if
//! it changes, the holder is alive and the run is refused
//! ([`LeaseError::Held`]); if it stays unchanged for its whole duration, it is
//! taken over (with a `resourceVersion` precondition, so a holder that
//! renews at that moment wins). Cancelling the token given to [`acquire`]
//! abandons the wait.
//!
//! **Keeping it.** [`LeaseTiming`] bounds everything by the lease duration
//! `D` and the request timeout `T` (refused unless `T < D`): after a renewal
//! succeeds (timed from when its request was *sent*), the run may start
//! effects for `D − T`, so an effect started just before that deadline ends
//! (or is abandoned) before the lease can expire for anyone else. Renewals
//! run every `(D − T)/3`, each bounded by `(D − T)/3`, retried every
//! `(D − T)/6` after a failure. The lease is lost ([`LeaseLost`]) when that
//! deadline passes without a successful renewal, when another identity holds
//! it, or when it was deleted: a deleted lease is never recreated.
//!
//! **API for a driver.** [`acquire`] returns a [`LeaseGuard`]. Before each
//! effect, call [`LeaseGuard::ensure_held`] (or the engine's [`Fence`] trait,
//! which the guard implements): a cheap synchronous check against the
//! deadline on our own clock, which also returns why the lease was lost.
//! [`LeaseGuard::lost_token`] is cancelled on loss (so waits end at once;
//! the token passed to [`acquire`] is cancelled too), [`LeaseGuard::lost`]
//! gives the reason, and [`LeaseGuard::release`] stops renewing and clears
//! the holder, so another machine may go on at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::kube::{Kind, KubeClient};

/// Where the lease lives.
pub const LEASE_NAMESPACE: &str = "kube-system";
/// The lease's name.
pub const LEASE_NAME: &str = "ovn-migrate";

/// The longest a request may take when none is configured: 30 s, or half the lease if shorter.
pub fn default_request_timeout(lease: Duration) -> Duration {
    Duration::from_secs(30).min(lease / 2)
}

/// How long the lease lasts and how the run keeps inside it (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    duration: Duration,
    request_timeout: Duration,
}

impl LeaseTiming {
    /// Returns the timing for a lease of `duration` when every request to the
    /// cluster or the cloud gives up after `request_timeout`; refused unless
    /// `request_timeout < duration`.
    pub fn new(duration: Duration, request_timeout: Duration) -> Result<Self, LeaseError> {
        if duration < Duration::from_secs(1) || request_timeout >= duration {
            return Err(LeaseError::Timing {
                lease_s: duration.as_secs_f64(),
                request_timeout_s: request_timeout.as_secs_f64(),
            });
        }
        Ok(Self {
            duration,
            request_timeout,
        })
    }

    /// Returns how long the lease lasts without renewal.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Returns the request timeout the margin is made of.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Returns how long after a successful renewal the run may still start effects.
    pub fn act_window(&self) -> Duration {
        self.duration - self.request_timeout
    }

    /// Returns the interval between renewals, and the bound on each.
    pub fn renew_every(&self) -> Duration {
        self.act_window() / 3
    }

    /// Returns the interval between attempts after a failed renewal.
    pub fn retry_every(&self) -> Duration {
        (self.act_window() / 6).max(Duration::from_millis(10))
    }
}

/// Why the lease could not be taken, or the timing is unusable.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it and kept renewing it while this run watched.
    #[error(
        "take the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME}: it is held by {holder}, which \
         renewed it while this run watched (its lease lasts {duration_s} s); another ovn-migrate \
         is working on this cluster"
    )]
    Held { holder: String, duration_s: u64 },
    /// The request timeout leaves no time to act under the lease.
    #[error(
        "use a request timeout of {request_timeout_s} s with a cluster lease of {lease_s} s: the \
         request timeout must be shorter than the lease (and the lease at least 1 s), because an \
         effect sent just before the lease's deadline must end before the lease can expire"
    )]
    Timing {
        lease_s: f64,
        request_timeout_s: f64,
    },
    /// Cancelled while watching another holder's lease.
    #[error(
        "take the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME}: interrupted while watching {holder}'s lease"
    )]
    Interrupted { holder: String },
    /// The API refused or failed.
    #[error("take the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME}: {0}")]
    Api(String),
}

/// Why a held lease was lost; after this the run must not act.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LeaseLost {
    /// No renewal succeeded in time.
    #[error(
        "the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME} was not renewed in time: no renewal \
         succeeded for {since_ms} ms, and effects may start only within {window_ms} ms of one \
         (last renewal error: {last_error})"
    )]
    Expired {
        since_ms: u64,
        window_ms: u64,
        last_error: String,
    },
    /// Another identity holds it now.
    #[error("the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME} was taken over by {holder}")]
    TakenOver { holder: String },
    /// The lease object is gone; it is not recreated.
    #[error("the cluster lease {LEASE_NAMESPACE}/{LEASE_NAME} was deleted")]
    Deleted,
}

/// Something the engine asks before each effect: may the run still act?
pub trait Fence: Send + Sync {
    /// Returns Ok while the run may act, or why it may not.
    fn ensure_held(&self) -> Result<(), LeaseLost>;
}

/// A fence that always holds (tests, and runs that need no lease).
pub struct NoFence;

impl Fence for NoFence {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        Ok(())
    }
}

/// Returns the identity this run holds the lease under.
pub fn identity(run_id: &str) -> String {
    format!("ovn-migrate/{}/{run_id}", journal::lock::hostname())
}

/// What a lease said when it was read: the fields whose change shows a live holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    pub holder: String,
    pub renew_time: String,
    pub duration_s: u64,
    pub resource_version: String,
}

impl LeaseRecord {
    /// Returns the record of a Lease object.
    pub fn of(obj: &DynamicObject) -> LeaseRecord {
        let spec = obj.data.get("spec").unwrap_or(&Value::Null);
        let text = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        LeaseRecord {
            holder: text("holderIdentity"),
            renew_time: text("renewTime"),
            duration_s: spec
                .get("leaseDurationSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            resource_version: obj.metadata.resource_version.clone().unwrap_or_default(),
        }
    }
}

/// How a lease looks to `me`, from our own observations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Nobody holds it.
    Free,
    /// We hold it (the same run, resumed).
    Ours,
    /// Another holder, not yet expired by our observation.
    Live {
        holder: String,
        /// Whether it changed while we watched (the holder is alive).
        changed: bool,
        /// How long it has been unchanged on our clock.
        unchanged_for: Duration,
    },
    /// Another holder whose lease has not changed for its duration on our clock.
    Expired { holder: String },
}

/// Our observations of another holder's lease, on our monotonic clock
/// (client-go's `observedTime`).
#[derive(Debug, Default)]
pub struct Observer {
    last: Option<(LeaseRecord, Instant)>,
    changes: u32,
}

impl Observer {
    /// Records `record` as read at `now` and judges it for `me`.
    pub fn observe(&mut self, record: &LeaseRecord, me: &str, now: Instant) -> Judged {
        if record.holder.is_empty() {
            return Judged::Free;
        }
        if record.holder == me {
            return Judged::Ours;
        }
        match &self.last {
            Some((seen, _)) if seen == record => {}
            Some(_) => {
                self.changes += 1;
                self.last = Some((record.clone(), now));
            }
            None => self.last = Some((record.clone(), now)),
        }
        let since = self.last.as_ref().map(|(_, at)| *at).unwrap_or(now);
        let unchanged_for = now.saturating_duration_since(since);
        // A lease of 0 s would be expired the instant it is seen: count it as 1 s.
        if unchanged_for >= Duration::from_secs(record.duration_s.max(1)) {
            return Judged::Expired {
                holder: record.holder.clone(),
            };
        }
        Judged::Live {
            holder: record.holder.clone(),
            changed: self.changes > 0,
            unchanged_for,
        }
    }
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

fn lease_object(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("a Lease body is a valid object")
}

fn api_err(e: kube::Error) -> LeaseError {
    LeaseError::Api(e.to_string())
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// What the guard and its renewal task share.
struct Shared {
    timing: LeaseTiming,
    state: Mutex<HeldState>,
    lost_token: CancellationToken,
    also_cancel: CancellationToken,
}

struct HeldState {
    /// When the last successful renewal's request was sent.
    renewed_at: Instant,
    lost: Option<LeaseLost>,
    last_error: String,
}

impl Shared {
    fn new(timing: LeaseTiming, renewed_at: Instant, also_cancel: CancellationToken) -> Self {
        Shared {
            timing,
            state: Mutex::new(HeldState {
                renewed_at,
                lost: None,
                last_error: "none".into(),
            }),
            lost_token: CancellationToken::new(),
            also_cancel,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HeldState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns the loss (recording an expiry if the deadline has passed at `now`).
    fn check(&self, now: Instant) -> Result<(), LeaseLost> {
        let mut s = self.state();
        if let Some(lost) = &s.lost {
            return Err(lost.clone());
        }
        let since = now.saturating_duration_since(s.renewed_at);
        if since < self.timing.act_window() {
            return Ok(());
        }
        let lost = LeaseLost::Expired {
            since_ms: since.as_millis() as u64,
            window_ms: self.timing.act_window().as_millis() as u64,
            last_error: s.last_error.clone(),
        };
        s.lost = Some(lost.clone());
        drop(s);
        self.signal_loss(&lost);
        Err(lost)
    }

    fn lose(&self, lost: LeaseLost) {
        let mut s = self.state();
        if s.lost.is_some() {
            return;
        }
        s.lost = Some(lost.clone());
        drop(s);
        self.signal_loss(&lost);
    }

    fn signal_loss(&self, lost: &LeaseLost) {
        tracing::error!(reason = %lost, "lost the cluster lease; the run stops acting and pauses");
        self.lost_token.cancel();
        self.also_cancel.cancel();
    }

    fn renewed(&self, sent: Instant) {
        let mut s = self.state();
        if s.lost.is_none() {
            s.renewed_at = sent;
        }
    }

    fn failed(&self, error: String) {
        tracing::warn!(%error, "could not renew the cluster lease; retrying until its deadline");
        self.state().last_error = error;
    }

    fn deadline(&self) -> Instant {
        self.state().renewed_at + self.timing.act_window()
    }
}

/// A held lease; renews itself until released or lost.
pub struct LeaseGuard {
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: JoinHandle<()>,
    api: Api<DynamicObject>,
    holder: String,
}

impl Fence for LeaseGuard {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.shared.check(Instant::now())
    }
}

impl LeaseGuard {
    /// Returns Ok while the run may start an effect, else why the lease was lost.
    pub fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.shared.check(Instant::now())
    }

    /// Returns a token cancelled when the lease is lost.
    pub fn lost_token(&self) -> CancellationToken {
        self.shared.lost_token.clone()
    }

    /// Returns why the lease was lost, if it was (the deadline is checked too).
    pub fn lost(&self) -> Option<LeaseLost> {
        self.ensure_held().err()
    }

    /// Returns the identity the lease is held under.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Stops renewing and clears the holder if it is still us, so another
    /// machine may go on at once.
    pub async fn release(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let timeout = self.shared.timing.request_timeout();
        let Ok(Ok(current)) = tokio::time::timeout(timeout, self.api.get(LEASE_NAME)).await else {
            return;
        };
        if LeaseRecord::of(&current).holder != self.holder {
            return;
        }
        let patch = json!({
            "metadata": {"resourceVersion": current.metadata.resource_version},
            "spec": {"holderIdentity": null, "renewTime": null}
        });
        let (params, patch) = (
            kube::api::PatchParams::default(),
            kube::api::Patch::Merge(&patch),
        );
        let sent = self.api.patch(LEASE_NAME, &params, &patch);
        if let Ok(Err(e)) = tokio::time::timeout(timeout, sent).await {
            tracing::warn!(error = %e, "could not release the cluster lease; it expires by itself");
        }
    }
}

/// Takes the lease for `holder` and starts renewing it (see the module doc).
/// `run` is cancelled if the lease is later lost; cancelling it while another
/// holder's lease is being watched abandons the attempt.
pub async fn acquire(
    kc: &KubeClient,
    holder: &str,
    timing: LeaseTiming,
    run: CancellationToken,
) -> Result<LeaseGuard, LeaseError> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        kc.client.clone(),
        LEASE_NAMESPACE,
        &Kind::Lease.api_resource(),
    );
    let sent = take(&api, holder, timing, &run).await?;
    let shared = Arc::new(Shared::new(timing, sent, run));
    let stop = CancellationToken::new();
    let task = tokio::spawn(renew_loop(
        api.clone(),
        holder.to_string(),
        shared.clone(),
        stop.clone(),
    ));
    Ok(LeaseGuard {
        shared,
        stop,
        task,
        api,
        holder: holder.to_string(),
    })
}

/// Takes the lease: creates it, takes it when free or ours, or watches
/// another holder's until it changes (refused) or expires on our clock
/// (taken over). Returns when the successful write was sent.
async fn take(
    api: &Api<DynamicObject>,
    holder: &str,
    timing: LeaseTiming,
    cancel: &CancellationToken,
) -> Result<Instant, LeaseError> {
    let mut observer = Observer::default();
    let mut warned = false;
    loop {
        let sent = Instant::now();
        let Some(current) = api.get_opt(LEASE_NAME).await.map_err(api_err)? else {
            let obj = lease_object(body(holder, timing.duration(), None));
            match api.create(&PostParams::default(), &obj).await {
                Ok(_) => return Ok(sent),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(api_err(e)),
            }
        };
        let record = LeaseRecord::of(&current);
        let acquired = match observer.observe(&record, holder, Instant::now()) {
            Judged::Ours => current
                .data
                .pointer("/spec/acquireTime")
                .and_then(Value::as_str)
                .map(str::to_string),
            Judged::Free => None,
            Judged::Expired { holder: other } => {
                tracing::warn!(
                    holder = %other,
                    duration_s = record.duration_s,
                    "taking over the cluster lease: it did not change for its whole duration while watched"
                );
                None
            }
            Judged::Live {
                holder: other,
                changed: true,
                ..
            } => {
                return Err(LeaseError::Held {
                    holder: other,
                    duration_s: record.duration_s,
                });
            }
            Judged::Live { holder: other, .. } => {
                if !warned {
                    warned = true;
                    tracing::warn!(
                        holder = %other,
                        duration_s = record.duration_s,
                        "the cluster lease is held by another run; watching it: it is taken over \
                         only if it does not change for its whole duration"
                    );
                }
                let poll = Duration::from_secs(record.duration_s.max(1))
                    .div_f64(10.0)
                    .clamp(Duration::from_millis(100), Duration::from_secs(2));
                tokio::select! {
                    _ = tokio::time::sleep(poll) => continue,
                    _ = cancel.cancelled() => return Err(LeaseError::Interrupted { holder: other }),
                }
            }
        };
        let mut obj = lease_object(body(holder, timing.duration(), acquired.as_deref()));
        obj.metadata.resource_version = current.metadata.resource_version.clone();
        match api.replace(LEASE_NAME, &PostParams::default(), &obj).await {
            Ok(_) => return Ok(sent),
            // Someone wrote it meanwhile (perhaps its holder renewing): look again.
            Err(e) if is_status(&e, 409) || is_status(&e, 404) => continue,
            Err(e) => return Err(api_err(e)),
        }
    }
}

/// What one renewal attempt found.
enum Renewal {
    Renewed,
    Lost(LeaseLost),
    Failed(String),
}

/// Renews until stopped or lost; declares the loss at the deadline even while a renewal hangs.
async fn renew_loop(
    api: Api<DynamicObject>,
    holder: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let timing = shared.timing;
    let mut wait = timing.renew_every();
    loop {
        let deadline = tokio::time::Instant::from_std(shared.deadline());
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = shared.lost_token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::time::sleep_until(deadline) => {
                if shared.check(Instant::now()).is_err() {
                    return;
                }
                continue;
            }
        }
        let sent = Instant::now();
        let attempt = tokio::time::timeout(timing.renew_every(), renew(&api, &holder, timing));
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            // A hanging renewal does not keep the loss from being declared.
            _ = tokio::time::sleep_until(deadline) => {
                if shared.check(Instant::now()).is_err() {
                    return;
                }
                continue;
            }
            r = attempt => r.unwrap_or_else(|_| Renewal::Failed(format!(
                "no answer within {} ms", timing.renew_every().as_millis()
            ))),
        };
        match outcome {
            Renewal::Renewed => {
                shared.renewed(sent);
                wait = timing.renew_every();
            }
            Renewal::Lost(lost) => {
                shared.lose(lost);
                return;
            }
            Renewal::Failed(error) => {
                shared.failed(error);
                wait = timing.retry_every();
            }
        }
        if shared.check(Instant::now()).is_err() {
            return;
        }
    }
}

/// One renewal: the lease must still exist and name us; never recreated.
async fn renew(api: &Api<DynamicObject>, holder: &str, timing: LeaseTiming) -> Renewal {
    let current = match api.get_opt(LEASE_NAME).await {
        Ok(Some(c)) => c,
        Ok(None) => return Renewal::Lost(LeaseLost::Deleted),
        Err(e) => return Renewal::Failed(e.to_string()),
    };
    let record = LeaseRecord::of(&current);
    if record.holder != holder {
        return Renewal::Lost(LeaseLost::TakenOver {
            holder: if record.holder.is_empty() {
                "nobody (someone cleared its holder)".into()
            } else {
                record.holder
            },
        });
    }
    let acquired = current
        .data
        .pointer("/spec/acquireTime")
        .and_then(Value::as_str);
    let mut obj = lease_object(body(holder, timing.duration(), acquired));
    obj.metadata.resource_version = current.metadata.resource_version.clone();
    match api.replace(LEASE_NAME, &PostParams::default(), &obj).await {
        Ok(_) => Renewal::Renewed,
        Err(e) if is_status(&e, 404) => Renewal::Lost(LeaseLost::Deleted),
        // Written meanwhile: the next attempt reads who holds it now.
        Err(e) if is_status(&e, 409) => {
            Renewal::Failed("the lease changed while it was being renewed".into())
        }
        Err(e) => Renewal::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(holder: &str, renew: &str, rv: &str) -> LeaseRecord {
        LeaseRecord {
            holder: holder.into(),
            renew_time: renew.into(),
            duration_s: 60,
            resource_version: rv.into(),
        }
    }

    #[test]
    fn free_and_own_leases_may_be_taken_at_once() {
        let mut o = Observer::default();
        let now = Instant::now();
        assert_eq!(o.observe(&rec("", "", "1"), "me", now), Judged::Free);
        assert_eq!(o.observe(&rec("me", "t", "2"), "me", now), Judged::Ours);
    }

    #[test]
    fn another_holder_expires_only_after_its_duration_unchanged_on_our_clock() {
        let mut o = Observer::default();
        let t0 = Instant::now();
        // Its renewTime is far in the past by our clock: that alone proves nothing.
        let r = rec("other", "2020-01-01T00:00:00.000000Z", "5");
        assert!(matches!(
            o.observe(&r, "me", t0),
            Judged::Live { changed: false, .. }
        ));
        assert!(matches!(
            o.observe(&r, "me", t0 + Duration::from_secs(59)),
            Judged::Live { changed: false, unchanged_for, .. } if unchanged_for == Duration::from_secs(59)
        ));
        assert_eq!(
            o.observe(&r, "me", t0 + Duration::from_secs(60)),
            Judged::Expired {
                holder: "other".into()
            }
        );
    }

    #[test]
    fn a_holder_that_keeps_renewing_is_never_expired() {
        let mut o = Observer::default();
        let t0 = Instant::now();
        o.observe(&rec("other", "a", "1"), "me", t0);
        // 70 s behind our clock, but it changes: alive.
        for i in 1..10u64 {
            let r = rec("other", &format!("a{i}"), &format!("{}", i + 1));
            let j = o.observe(&r, "me", t0 + Duration::from_secs(50 * i));
            assert!(
                matches!(j, Judged::Live { changed: true, unchanged_for, .. } if unchanged_for.is_zero()),
                "{j:?}"
            );
        }
        // A change of resourceVersion alone counts as a change too.
        let j = o.observe(
            &rec("other", "a9", "99"),
            "me",
            t0 + Duration::from_secs(1000),
        );
        assert!(matches!(j, Judged::Live { changed: true, .. }), "{j:?}");
    }

    #[test]
    fn timing_is_derived_from_the_lease_and_refuses_long_requests() {
        let t = LeaseTiming::new(Duration::from_secs(60), Duration::from_secs(30)).unwrap();
        assert_eq!(t.act_window(), Duration::from_secs(30));
        assert_eq!(t.renew_every(), Duration::from_secs(10));
        assert_eq!(t.retry_every(), Duration::from_secs(5));
        assert_eq!(
            default_request_timeout(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            default_request_timeout(Duration::from_secs(5)),
            Duration::from_millis(2500)
        );
        for (lease, req) in [(60, 60), (60, 61), (5, 15), (0, 0)] {
            let e =
                LeaseTiming::new(Duration::from_secs(lease), Duration::from_secs(req)).unwrap_err();
            assert!(matches!(e, LeaseError::Timing { .. }), "{e}");
            assert!(e.to_string().contains("must be shorter than the lease"));
        }
    }

    #[test]
    fn the_deadline_is_judged_on_our_clock_and_the_loss_sticks() {
        let timing = LeaseTiming::new(Duration::from_secs(60), Duration::from_secs(30)).unwrap();
        let t0 = Instant::now();
        let run = CancellationToken::new();
        let shared = Shared::new(timing, t0, run.clone());
        assert!(shared.check(t0 + Duration::from_secs(29)).is_ok());
        assert!(!run.is_cancelled());
        shared.failed("injected 503".into());
        let lost = shared.check(t0 + Duration::from_secs(30)).unwrap_err();
        assert!(
            matches!(&lost, LeaseLost::Expired { since_ms: 30_000, window_ms: 30_000, last_error } if last_error == "injected 503"),
            "{lost:?}"
        );
        assert!(run.is_cancelled() && shared.lost_token.is_cancelled());
        // A renewal that lands afterwards does not bring the lease back.
        shared.renewed(t0 + Duration::from_secs(31));
        assert_eq!(shared.check(t0 + Duration::from_secs(31)), Err(lost));
    }

    #[test]
    fn the_first_loss_is_the_one_reported() {
        let timing = LeaseTiming::new(Duration::from_secs(6), Duration::from_secs(2)).unwrap();
        let t0 = Instant::now();
        let shared = Shared::new(timing, t0, CancellationToken::new());
        shared.lose(LeaseLost::Deleted);
        shared.lose(LeaseLost::TakenOver { holder: "x".into() });
        assert_eq!(shared.check(t0), Err(LeaseLost::Deleted));
    }
}
