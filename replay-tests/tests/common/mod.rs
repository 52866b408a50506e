//! The two targets of the cleanup's conformance tests, shared by
//! `conformance_cleanup.rs` and `cleanup_round_trip.rs` (the same shape as
//! `lab/tests/conformance.rs`, whose helpers are private to that file): the
//! lab's simulated cloud, always, and the real Keystone/Neutron/Octavia of
//! `lab/real/up.sh` with the `real-openstack` feature; and the small helpers
//! both use (setup retries, one call through the cleanup's edges).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steps::kuryr::cleanup::edge::{Clients, act, observe, refresh};
use steps::kuryr::cleanup::graph::Op;
use steps::kuryr::cleanup::verdict::{
    Answer, CallVerdict, RetryClass, Seen, backoff, classify_call, classify_observation,
};
use steps::openstack::{CloudConfig, Error, OpenStack};

pub struct Target {
    pub os: OpenStack,
    _cloud: Option<lab::openstack::Cloud>,
    pub run: String,
}

fn run_id() -> String {
    format!("clean-{:08x}", rand_u32())
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u32) ^ std::process::id().rotate_left(16)
}

pub async fn sim() -> Target {
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let cloud = lab::openstack::Cloud::start(
        &lab::openstack::CloudConfig::default(),
        lab::faults::Faults::default(),
        tx,
    )
    .expect("start the simulated cloud");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clouds.yaml");
    std::fs::write(&path, cloud.clouds_yaml("lab")).expect("write clouds.yaml");
    let cfg = CloudConfig::from_clouds_yaml(&path, "lab").expect("read the lab's clouds.yaml");
    Target {
        os: OpenStack::new(cfg).expect("client"),
        _cloud: Some(cloud),
        run: run_id(),
    }
}

#[cfg(feature = "real-openstack")]
pub async fn real() -> Target {
    let dir = std::env::var("OSLAB_DIR").unwrap_or_else(|_| "/tmp/oslab".into());
    let path = std::path::PathBuf::from(&dir).join("clouds.yaml");
    let cfg = CloudConfig::from_clouds_yaml(&path, "oslab").unwrap_or_else(|e| {
        panic!("the real OpenStack services are not set up ({e}): run `OSLAB_DIR={dir} bash lab/real/up.sh` first")
    });
    let os = OpenStack::new(cfg).expect("client");
    if let Err(e) = os.authenticate().await {
        panic!(
            "the real OpenStack services are not reachable ({e}): run `OSLAB_DIR={dir} bash lab/real/up.sh` first"
        );
    }
    Target {
        os,
        _cloud: None,
        run: run_id(),
    }
}

#[cfg(feature = "real-openstack")]
pub static REAL_SERVICES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sim() {
                super::$name($crate::common::sim().await).await
            }
            #[cfg(feature = "real-openstack")]
            #[tokio::test]
            async fn real() {
                let _one_at_a_time = $crate::common::REAL_SERVICES.lock().await;
                super::$name($crate::common::real().await).await
            }
        }
    )*};
}

/// Retries a setup call while the service is busy (SQLite's "database is locked").
pub async fn retry<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut n = 0;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && n < 10 => {
                n += 1;
                tokio::time::sleep(Duration::from_millis(200 * n)).await;
            }
            r => return r.unwrap_or_else(|e| panic!("setup call failed: {e}")),
        }
    }
}

pub fn clients(t: &Target) -> Clients<'_> {
    Clients {
        kube: None,
        os: &t.os,
    }
}

/// Sends the op once; retries only answers that are the fixture's (a busy SQLite).
pub async fn act_once(t: &Target, op: &Op) -> Answer {
    for n in 1..=10u64 {
        let a = act(clients(t), op).await;
        match &a {
            Answer::Status {
                status: 500..=599, ..
            } => tokio::time::sleep(Duration::from_millis(200 * n)).await,
            _ => return a,
        }
    }
    act(clients(t), op).await
}

pub async fn seen(t: &Target, op: &Op) -> Seen {
    let o = observe(clients(t), op).await.expect("observe");
    classify_observation(op, &o)
}

#[track_caller]
pub fn retry_class(v: &CallVerdict) -> RetryClass {
    match v {
        CallVerdict::Retry { class, .. } => *class,
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[track_caller]
pub fn answer_kind(a: &Answer) -> (u16, Option<&str>) {
    match a {
        Answer::Status { status, kind, .. } => (*status, kind.as_deref()),
        Answer::NoAnswer(e) => panic!("no answer: {e}"),
    }
}

pub async fn net_sub(t: &Target, name: &str, cidr: &str) -> (String, String) {
    let n = retry(|| {
        t.os.create_network(json!({"name": format!("{}-{name}", t.run)}))
    })
    .await
    .value
    .id;
    let s = retry(|| t.os.create_subnet(json!({"network_id": n, "ip_version": 4, "cidr": cidr, "name": format!("{}-{name}-sub", t.run)}))).await.value.id;
    (n, s)
}

pub async fn port_on(t: &Target, net: &str, name: &str, extra: Value) -> String {
    let mut body = json!({"network_id": net, "name": format!("{}-{name}", t.run)});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    retry(|| t.os.create_port(body.clone())).await.value.id
}

pub async fn wait_lb(t: &Target, id: &str, want: &str) {
    let start = Instant::now();
    loop {
        let now = match t.os.get_load_balancer(id).await {
            Ok(lb) => lb.provisioning_status,
            Err(e) if e.is_not_found() => "GONE".into(),
            Err(e) if e.is_retryable() => "BUSY".into(),
            Err(e) => panic!("get load balancer: {e}"),
        };
        if now == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "load balancer {id} is {now}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs one operation to its end the way the driver will: observe first, act,
/// classify, re-observe and retry with backoff (capped short here).
pub async fn run_op(t: &Target, op: &Op, log: &mut Vec<String>) -> Result<(), String> {
    let mut op = op.clone();
    let mut attempt = 0;
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{op:?} did not finish: {log:#?}"
        );
        let o = match observe(clients(t), &op).await {
            Ok(o) => o,
            Err(e) => {
                log.push(format!("{op:?}: observe failed: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match classify_observation(&op, &o) {
            Seen::Done(_) => return Ok(()),
            Seen::Pending(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Seen::NeedsOperator(m) => return Err(m),
            Seen::NotDone(_) => {
                if let Some(n) = refresh(&op, &o) {
                    op = n;
                }
            }
        }
        let a = act(clients(t), &op).await;
        let v = classify_call(&op, &a);
        log.push(format!("{op:?} -> {v:?}"));
        match v {
            CallVerdict::Done(_) => return Ok(()),
            CallVerdict::Accepted(_) => {}
            CallVerdict::Retry { class, why } => {
                attempt += 1;
                let d = backoff(class, attempt).ok_or_else(|| format!("gave up: {why}"))?;
                tokio::time::sleep(d.min(Duration::from_millis(300))).await;
            }
            CallVerdict::Keep(m) | CallVerdict::NeedsOperator(m) | CallVerdict::Failed(m) => {
                return Err(m);
            }
        }
    }
}
