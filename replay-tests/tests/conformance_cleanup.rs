//! The cleanup's OpenStack calls against two targets, like
//! `lab/tests/conformance.rs` (whose helpers are private to that file, so the
//! two small target builders are repeated here): the lab's simulated cloud,
//! always, and the real Keystone/Neutron/Octavia of `lab/real/up.sh` with the
//! `real-openstack` feature (`scripts/test.sh` turns it on; the real tests
//! fail loudly when the services are down, and take turns: SQLite).
//!
//! One test per fact of the item 6, each going through the cleanup's
//! own edges (`edge::act`/`observe`) and verdicts, and one round trip: seed a
//! small Kuryr cluster and a stranger, read the snapshot, select, run the
//! graph one call at a time, check what is gone and what is untouched, then
//! restore from the snapshot and measure the restore share.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steps::kuryr::cleanup::collect::{KubeSide, read_openstack};
use steps::kuryr::cleanup::edge::{Clients, act, observe, refresh, target};
use steps::kuryr::cleanup::graph::{Op, PlanOptions, plan};
use steps::kuryr::cleanup::restore::{Create, Deleted, plan_restore, vip_key};
use steps::kuryr::cleanup::select::{ObjKind, Reason, SelectOptions, select};
use steps::kuryr::cleanup::share::restore_share;
use steps::kuryr::cleanup::snapshot::*;
use steps::kuryr::cleanup::verdict::{
    Answer, CallVerdict, RetryClass, Seen, backoff, classify_call, classify_observation,
};
use steps::kuryr::identity::KuryrConfig;
use steps::openstack::neutron::SubPort;
use steps::openstack::{CloudConfig, Error, OpenStack};

struct Target {
    os: OpenStack,
    _cloud: Option<lab::openstack::Cloud>,
    run: String,
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

async fn sim() -> Target {
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
async fn real() -> Target {
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
static REAL_SERVICES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sim() {
                super::$name(super::sim().await).await
            }
            #[cfg(feature = "real-openstack")]
            #[tokio::test]
            async fn real() {
                let _one_at_a_time = super::REAL_SERVICES.lock().await;
                super::$name(super::real().await).await
            }
        }
    )*};
}

conformance!(
    subnet_pool_with_subnets_answers_400_subnet_pool_delete_error,
    security_group_on_a_port_answers_409_in_use,
    trunk_parent_answers_409_and_subport_batches_are_re_read,
    remove_router_interface_deletes_the_interface_port,
    lb_delete_answers_409_while_pending_then_cascade_is_polled_to_404,
    tags_in_post_bodies_are_refused_except_on_ports,
    cleanup_then_restore_round_trip,
);

/// Retries a setup call while the service is busy (SQLite's "database is locked").
async fn retry<T, F, Fut>(mut f: F) -> T
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

fn clients(t: &Target) -> Clients<'_> {
    Clients {
        kube: None,
        os: &t.os,
    }
}

/// Sends the op once; retries only answers that are the fixture's (a busy SQLite).
async fn act_once(t: &Target, op: &Op) -> Answer {
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

async fn seen(t: &Target, op: &Op) -> Seen {
    let o = observe(clients(t), op).await.expect("observe");
    classify_observation(op, &o)
}

#[track_caller]
fn retry_class(v: &CallVerdict) -> RetryClass {
    match v {
        CallVerdict::Retry { class, .. } => *class,
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[track_caller]
fn answer_kind(a: &Answer) -> (u16, Option<&str>) {
    match a {
        Answer::Status { status, kind, .. } => (*status, kind.as_deref()),
        Answer::NoAnswer(e) => panic!("no answer: {e}"),
    }
}

async fn net_sub(t: &Target, name: &str, cidr: &str) -> (String, String) {
    let n = retry(|| {
        t.os.create_network(json!({"name": format!("{}-{name}", t.run)}))
    })
    .await
    .value
    .id;
    let s = retry(|| t.os.create_subnet(json!({"network_id": n, "ip_version": 4, "cidr": cidr, "name": format!("{}-{name}-sub", t.run)}))).await.value.id;
    (n, s)
}

async fn port_on(t: &Target, net: &str, name: &str, extra: Value) -> String {
    let mut body = json!({"network_id": net, "name": format!("{}-{name}", t.run)});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    retry(|| t.os.create_port(body.clone())).await.value.id
}

async fn subnet_pool_with_subnets_answers_400_subnet_pool_delete_error(t: Target) {
    let pool = retry(|| t.os.create_subnetpool(json!({"name": format!("{}-pool", t.run), "prefixes": ["10.81.0.0/16"], "default_prefixlen": 24}))).await.value.id;
    let net = retry(|| {
        t.os.create_network(json!({"name": format!("{}-pn", t.run)}))
    })
    .await
    .value
    .id;
    retry(|| {
        t.os.create_subnet(json!({"network_id": net, "ip_version": 4, "subnetpool_id": pool}))
    })
    .await;
    let op = Op::DeleteSubnetPool { id: pool.clone() };
    let a = act_once(&t, &op).await;
    assert_eq!(
        answer_kind(&a),
        (400, Some("SubnetPoolDeleteError")),
        "not a 409: {a:?}"
    );
    assert_eq!(retry_class(&classify_call(&op, &a)), RetryClass::InUse);
    assert!(matches!(seen(&t, &op).await, Seen::NotDone(_)));
    assert_eq!(
        act_once(&t, &Op::DeleteNetwork { id: net }).await,
        Answer::ok(204)
    );
    assert!(matches!(
        classify_call(&op, &act_once(&t, &op).await),
        CallVerdict::Done(_)
    ));
    assert!(matches!(seen(&t, &op).await, Seen::Done(_)));
    assert!(
        matches!(classify_call(&op, &act_once(&t, &op).await), CallVerdict::Done(m) if m.contains("404"))
    );
}

async fn security_group_on_a_port_answers_409_in_use(t: Target) {
    let sg = retry(|| {
        t.os.create_security_group(json!({"name": format!("{}-sg", t.run)}))
    })
    .await
    .value
    .id;
    let (net, _) = net_sub(&t, "sgn", "10.81.1.0/24").await;
    let p = port_on(&t, &net, "sgp", json!({"security_groups": [sg]})).await;
    let op = Op::DeleteSecurityGroup { id: sg.clone() };
    let a = act_once(&t, &op).await;
    assert_eq!(answer_kind(&a), (409, Some("SecurityGroupInUse")));
    assert_eq!(retry_class(&classify_call(&op, &a)), RetryClass::InUse);
    assert!(matches!(
        classify_call(
            &Op::DeletePort { id: p.clone() },
            &act_once(&t, &Op::DeletePort { id: p }).await
        ),
        CallVerdict::Done(_)
    ));
    assert!(matches!(
        classify_call(&op, &act_once(&t, &op).await),
        CallVerdict::Done(_)
    ));
    assert!(matches!(seen(&t, &op).await, Seen::Done(_)));
    act_once(&t, &Op::DeleteNetwork { id: net }).await;
}

async fn trunk_parent_answers_409_and_subport_batches_are_re_read(t: Target) {
    let (net, _) = net_sub(&t, "tn", "10.81.2.0/24").await;
    let parent = port_on(&t, &net, "parent", json!({})).await;
    let (a, b) = (
        port_on(&t, &net, "a", json!({})).await,
        port_on(&t, &net, "b", json!({})).await,
    );
    let sp = |id: &str, seg| SubPort {
        port_id: id.into(),
        segmentation_type: "vlan".into(),
        segmentation_id: seg,
    };
    let trunk = retry(|| t.os.create_trunk(json!({"name": format!("{}-trunk", t.run), "port_id": parent, "sub_ports": [sp(&a, 11), sp(&b, 12)]}))).await.value.id;
    // The parent: never retried into deletion.
    let del_parent = Op::DeletePort { id: parent.clone() };
    let ans = act_once(&t, &del_parent).await;
    assert_eq!(answer_kind(&ans), (409, Some("PortInUseAsTrunkParent")));
    assert!(matches!(
        classify_call(&del_parent, &ans),
        CallVerdict::NeedsOperator(_)
    ));
    // A subport: in use until removed from the trunk.
    let del_a = Op::DeletePort { id: a.clone() };
    let ans = act_once(&t, &del_a).await;
    assert_eq!(answer_kind(&ans), (409, Some("PortInUseAsSubPort")));
    assert_eq!(retry_class(&classify_call(&del_a, &ans)), RetryClass::InUse);
    // Someone removed `a` meanwhile: the planned batch of both is stale.
    let just_a = [a.as_str()];
    retry(|| t.os.remove_subports(&trunk, &just_a)).await;
    let batch = Op::RemoveSubports {
        trunk: trunk.clone(),
        ports: vec![a.clone(), b.clone()],
    };
    let ans = act_once(&t, &batch).await;
    assert_eq!(
        answer_kind(&ans),
        (404, Some("SubPortNotFound")),
        "one missing port fails the whole batch"
    );
    assert_eq!(retry_class(&classify_call(&batch, &ans)), RetryClass::Stale);
    let o = observe(clients(&t), &batch).await.unwrap();
    let again = refresh(&batch, &o).expect("a smaller batch");
    assert_eq!(
        again,
        Op::RemoveSubports {
            trunk: trunk.clone(),
            ports: vec![b.clone()]
        }
    );
    assert!(matches!(
        classify_call(&again, &act_once(&t, &again).await),
        CallVerdict::Done(_)
    ));
    assert!(matches!(seen(&t, &batch).await, Seen::Done(_)));
    for p in [&a, &b] {
        assert!(matches!(
            classify_call(
                &Op::DeletePort { id: p.clone() },
                &act_once(&t, &Op::DeletePort { id: p.clone() }).await
            ),
            CallVerdict::Done(_)
        ));
    }
    retry(|| t.os.delete_trunk(&trunk)).await;
    act_once(&t, &del_parent).await;
    act_once(&t, &Op::DeleteNetwork { id: net }).await;
}

async fn remove_router_interface_deletes_the_interface_port(t: Target) {
    let (net, sub) = net_sub(&t, "rn", "10.81.3.0/24").await;
    let router = retry(|| {
        t.os.create_router(json!({"name": format!("{}-external-router", t.run)}))
    })
    .await
    .value
    .id;
    let iface = retry(|| t.os.add_router_interface(&router, "subnet_id", &sub))
        .await
        .value
        .port_id;
    let op = Op::RemoveRouterInterface {
        router: router.clone(),
        subnet: sub.clone(),
    };
    assert!(matches!(seen(&t, &op).await, Seen::NotDone(_)));
    let ans = act_once(&t, &op).await;
    assert!(
        matches!(classify_call(&op, &ans), CallVerdict::Done(m) if m.contains("deleted its port"))
    );
    let gone =
        t.os.get_port(&iface)
            .await
            .expect_err("the interface port is deleted with the interface");
    assert!(gone.is_not_found(), "{gone}");
    assert!(matches!(seen(&t, &op).await, Seen::Done(_)));
    let ans = act_once(&t, &op).await;
    assert_eq!(answer_kind(&ans).0, 404);
    assert!(matches!(classify_call(&op, &ans), CallVerdict::Done(_)));
    // The network goes without a port delete in between.
    assert!(matches!(
        classify_call(
            &Op::DeleteNetwork { id: net.clone() },
            &act_once(&t, &Op::DeleteNetwork { id: net }).await
        ),
        CallVerdict::Done(_)
    ));
    let del = Op::DeleteRouter { id: router };
    assert!(matches!(
        classify_call(&del, &act_once(&t, &del).await),
        CallVerdict::Done(_)
    ));
}

async fn wait_lb(t: &Target, id: &str, want: &str) {
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

async fn lb_delete_answers_409_while_pending_then_cascade_is_polled_to_404(t: Target) {
    let (net, sub) = net_sub(&t, "ln", "10.81.4.0/24").await;
    let lb = retry(|| {
        t.os.create_load_balancer(json!({"name": format!("{}-lb", t.run), "vip_subnet_id": sub}))
    })
    .await
    .value;
    assert_eq!(lb.provisioning_status, "PENDING_CREATE");
    let op = Op::DeleteLoadBalancer { id: lb.id.clone() };
    // Right after create it is PENDING_CREATE: 409, retried when it settles.
    let ans = act_once(&t, &op).await;
    if answer_kind(&ans).0 == 409 {
        assert_eq!(retry_class(&classify_call(&op, &ans)), RetryClass::Pending);
        assert!(matches!(
            seen(&t, &op).await,
            Seen::Pending(_) | Seen::NotDone(_)
        ));
        wait_lb(&t, &lb.id, "ACTIVE").await;
        let ans = act_once(&t, &op).await;
        assert!(
            matches!(classify_call(&op, &ans), CallVerdict::Accepted(_)),
            "{ans:?}"
        );
    } else {
        // It settled before the delete arrived: accepted.
        assert!(
            matches!(classify_call(&op, &ans), CallVerdict::Accepted(_)),
            "{ans:?}"
        );
    }
    let start = Instant::now();
    loop {
        match seen(&t, &op).await {
            Seen::Done(_) => break,
            Seen::Pending(_) => {}
            other => panic!("while polling the cascade delete: {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the cascade delete never reached 404"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        classify_call(&op, &act_once(&t, &op).await),
        CallVerdict::Done(_)
    ));
    // A load balancer that stays PENDING_CREATE (the noop driver): 409 every time.
    let stuck = retry(|| t.os.create_load_balancer(json!({"name": format!("{}-stuck", t.run), "vip_subnet_id": sub, "provider": "noop_driver"}))).await.value;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let op = Op::DeleteLoadBalancer {
        id: stuck.id.clone(),
    };
    let ans = act_once(&t, &op).await;
    assert_eq!(answer_kind(&ans).0, 409, "{ans:?}");
    assert_eq!(retry_class(&classify_call(&op, &ans)), RetryClass::Pending);
    assert!(matches!(seen(&t, &op).await, Seen::Pending(m) if m.contains("PENDING_CREATE")));
    let _ = t.os.delete_network(&net).await;
}

async fn tags_in_post_bodies_are_refused_except_on_ports(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    for (what, r) in [
        ("network", t.os.create_network(json!({"name": format!("{}-tn", t.run), "tags": [tag]})).await.map(|_| ())),
        ("security group", t.os.create_security_group(json!({"name": format!("{}-tsg", t.run), "tags": [tag]})).await.map(|_| ())),
        ("subnet pool", t.os.create_subnetpool(json!({"name": format!("{}-tp", t.run), "prefixes": ["10.82.0.0/16"], "tags": [tag]})).await.map(|_| ())),
    ] {
        let e = r.expect_err(what);
        assert_eq!(e.status(), Some(400), "{what}: {e}");
    }
    let net = retry(|| {
        t.os.create_network(json!({"name": format!("{}-tn2", t.run)}))
    })
    .await
    .value
    .id;
    let p = retry(|| t.os.create_port(json!({"network_id": net, "tags": [tag]})))
        .await
        .value;
    assert_eq!(p.tags, vec![tag.clone()], "ports take tags in POST");
    let one = [tag.as_str()];
    let tags = retry(|| t.os.replace_tags("networks", &net, &one))
        .await
        .value;
    assert_eq!(tags, vec![tag.clone()]);
    assert_eq!(t.os.get_network(&net).await.unwrap().tags, vec![tag]);
    let _ = t.os.delete_port(&p.id).await;
    let _ = t.os.delete_network(&net).await;
}

/// Runs one operation to its end the way the driver will: observe first, act,
/// classify, re-observe and retry with backoff (capped short here).
async fn run_op(t: &Target, op: &Op, log: &mut Vec<String>) -> Result<(), String> {
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

/// The objects of the round trip.
struct Seeded {
    tag: String,
    pool: String,
    svc_net: String,
    svc_sub: String,
    net: String,
    sub: String,
    router: String,
    pods_sg: String,
    np_sg: String,
    stranger_sg: String,
    machines: String,
    parent: String,
    trunk: String,
    pod: String,
    lb: String,
    ext: String,
    fip: String,
}

async fn seed(t: &Target) -> Seeded {
    let tag = format!("openshiftClusterID={}", t.run);
    let os = &t.os;
    let tagged = |coll: &'static str, id: String| {
        let tag = tag.clone();
        async move {
            let one = [tag.as_str()];
            retry(|| os.replace_tags(coll, &id, &one)).await;
            id
        }
    };
    let pool = tagged("subnetpools", retry(|| os.create_subnetpool(json!({"name": format!("{}-kuryr-pod-subnetpool", t.run), "prefixes": ["10.83.0.0/16"], "default_prefixlen": 24}))).await.value.id).await;
    let svc_net = tagged(
        "networks",
        retry(|| os.create_network(json!({"name": format!("{}-kuryr-service-network", t.run)})))
            .await
            .value
            .id,
    )
    .await;
    let svc_sub = tagged("subnets", retry(|| os.create_subnet(json!({"network_id": svc_net, "ip_version": 4, "cidr": "10.84.0.0/24", "name": format!("{}-kuryr-service-subnet", t.run)}))).await.value.id).await;
    let net = tagged(
        "networks",
        retry(|| os.create_network(json!({"name": "ns/a-net"})))
            .await
            .value
            .id,
    )
    .await;
    let sub = tagged("subnets", retry(|| os.create_subnet(json!({"network_id": net, "ip_version": 4, "subnetpool_id": pool, "name": "ns/a-subnet"}))).await.value.id).await;
    let router = tagged(
        "routers",
        retry(|| os.create_router(json!({"name": format!("{}-external-router", t.run)})))
            .await
            .value
            .id,
    )
    .await;
    for s in [&svc_sub, &sub] {
        retry(|| os.add_router_interface(&router, "subnet_id", s)).await;
    }
    let pods_sg = tagged(
        "security-groups",
        retry(|| {
            os.create_security_group(
                json!({"name": format!("{}-kuryr-pods-security-group", t.run)}),
            )
        })
        .await
        .value
        .id,
    )
    .await;
    let np_sg = tagged("security-groups", retry(|| os.create_security_group(json!({"name": "sg/a-np", "description": "Kuryr-Kubernetes Network Policy a/np SG"}))).await.value.id).await;
    retry(|| os.create_security_group_rule(json!({"security_group_id": np_sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.83.0.0/16"}))).await;
    // Another cluster's group, named and described exactly like ours.
    let stranger_sg = retry(|| {
        os.create_security_group(
            json!({"name": "sg/a-np", "description": "Kuryr-Kubernetes Network Policy a/np SG"}),
        )
    })
    .await
    .value
    .id;
    let other = format!("openshiftClusterID={}-other", t.run);
    let other = [other.as_str()];
    retry(|| os.replace_tags("security-groups", &stranger_sg, &other)).await;
    let machines = tagged("networks", retry(|| os.create_network(json!({"name": format!("{}-openshift", t.run), "description": "Created By OpenShift Installer"}))).await.value.id).await;
    retry(|| {
        os.create_subnet(json!({"network_id": machines, "ip_version": 4, "cidr": "10.85.0.0/24"}))
    })
    .await;
    let parent = retry(|| {
        os.create_port(
            json!({"network_id": machines, "name": format!("{}-worker-0", t.run), "tags": [tag]}),
        )
    })
    .await
    .value
    .id;
    let pod = retry(|| os.create_port(json!({"network_id": net, "name": "app-0", "tags": [tag], "security_groups": [pods_sg, np_sg]}))).await.value.id;
    let trunk = tagged(
        "trunks",
        retry(|| {
            os.create_trunk(
                json!({"name": format!("{}-worker-0", t.run), "port_id": parent,
        "sub_ports": [{"port_id": pod, "segmentation_type": "vlan", "segmentation_id": 5}]}),
            )
        })
        .await
        .value
        .id,
    )
    .await;
    let pod_ip = t.os.get_port(&pod).await.unwrap().fixed_ips[0]
        .ip_address
        .clone();
    let lb = retry(|| os.create_load_balancer(json!({"name": "a/svc", "description": tag, "tags": [tag], "vip_subnet_id": svc_sub, "vip_address": "10.84.0.50"}))).await.value.id;
    wait_lb(t, &lb, "ACTIVE").await;
    let listener = retry(|| os.create_listener(json!({"name": "a/svc:TCP:80", "loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 80}))).await.value.id;
    wait_lb(t, &lb, "ACTIVE").await;
    let lbpool = retry(|| os.create_pool(json!({"name": "a/svc:TCP:80", "listener_id": listener, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}))).await.value.id;
    wait_lb(t, &lb, "ACTIVE").await;
    retry(|| {
        os.create_member(
            &lbpool,
            json!({"address": pod_ip, "protocol_port": 8080, "subnet_id": sub}),
        )
    })
    .await;
    wait_lb(t, &lb, "ACTIVE").await;
    let ext = retry(|| {
        os.create_network(json!({"name": format!("{}-public", t.run), "router:external": true}))
    })
    .await
    .value
    .id;
    retry(|| os.create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "198.51.100.0/24", "enable_dhcp": false}))).await;
    let fip = tagged(
        "floatingips",
        retry(|| {
            os.create_floating_ip(json!({"floating_network_id": ext, "description": "kuryr_lb"}))
        })
        .await
        .value
        .id,
    )
    .await;
    Seeded {
        tag,
        pool,
        svc_net,
        svc_sub,
        net,
        sub,
        router,
        pods_sg,
        np_sg,
        stranger_sg,
        machines,
        parent,
        trunk,
        pod,
        lb,
        ext,
        fip,
    }
}

fn meta(ns: &str, name: &str) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    }
}

/// The Kubernetes side Kuryr would have: CRs naming the seeded objects (or their successors).
fn kube_side(t: &Target, x: &Seeded, fip_addr: &str) -> KubeSide {
    let cfg = KuryrConfig {
        pod_router: x.router.clone(),
        pod_subnet_pool: Some(x.pool.clone()),
        service_subnet: x.svc_sub.clone(),
        pod_security_groups: vec![x.pods_sg.clone()],
        resource_tags: vec![x.tag.clone()],
        project: None,
    };
    let snapshot = Snapshot {
        format: SNAPSHOT_FORMAT,
        cluster_id: t.run.clone(),
        kuryr_config: cfg.clone(),
        kuryr_networks: vec![KuryrNetworkCr {
            meta: meta("a", "a"),
            net_id: Some(x.net.clone()),
            subnet_id: Some(x.sub.clone()),
            router_id: Some(x.router.clone()),
            subnet_cidr: None,
        }],
        kuryr_ports: vec![KuryrPortCr {
            meta: meta("a", "app-0"),
            port_ids: vec![x.pod.clone()],
        }],
        kuryr_load_balancers: vec![KuryrLoadBalancerCr {
            meta: meta("a", "svc"),
            lb_id: Some(x.lb.clone()),
            pub_ip: Some(PubIpInfo {
                ip_id: x.fip.clone(),
                ip_addr: fip_addr.into(),
                alloc_method: "pool".into(),
            }),
            ..Default::default()
        }],
        kuryr_network_policies: vec![KuryrNetworkPolicyCr {
            meta: meta("a", "np"),
            sg_id: Some(x.np_sg.clone()),
            rule_ids: vec![],
        }],
        ..Default::default()
    };
    KubeSide {
        cluster_id: t.run.clone(),
        kuryr_conf: String::new(),
        kuryr_config: cfg,
        snapshot,
    }
}

async fn cleanup_then_restore_round_trip(t: Target) {
    let x = seed(&t).await;
    let fip_addr =
        t.os.get_floating_ip(&x.fip)
            .await
            .unwrap()
            .floating_ip_address;
    let stranger_before = t.os.get_security_group(&x.stranger_sg).await.unwrap();

    // C0.
    let s = read_openstack(&t.os, kube_side(&t, &x, &fip_addr), 1)
        .await
        .expect("snapshot");
    assert!(s.missing.is_empty(), "{:?}", s.missing);
    assert!(
        s.load_balancer(&x.lb)
            .is_some_and(|l| l.listeners.len() == 1 && l.pools[0].members.len() == 1)
    );
    assert!(
        s.security_group(&x.stranger_sg).is_none(),
        "another cluster's group is not ours to read"
    );

    // The selection.
    let sel = select(
        &s,
        &SelectOptions {
            cluster_id: t.run.clone(),
            octavia_version: s.octavia_version,
            delete_foreign_ports: BTreeSet::new(),
        },
    )
    .unwrap();
    let want = |kind, ids: &[&String]| {
        for id in ids {
            assert!(
                sel.deleted(kind).contains(id.as_str()),
                "{kind} {id}: {:?}",
                sel.entry(kind, id)
            );
        }
    };
    want(ObjKind::Network, &[&x.net, &x.svc_net]);
    want(ObjKind::SecurityGroup, &[&x.pods_sg, &x.np_sg]);
    want(ObjKind::SubnetPool, &[&x.pool]);
    want(ObjKind::LoadBalancer, &[&x.lb]);
    want(ObjKind::FloatingIp, &[&x.fip]);
    want(ObjKind::Subport, &[&x.pod]);
    want(ObjKind::Router, &[&x.router]);
    assert_eq!(
        sel.entry(ObjKind::Trunk, &x.trunk)
            .map(|(e, d)| (e.reason.clone(), d)),
        Some((Reason::NodeTrunk, false))
    );
    assert_eq!(
        sel.entry(ObjKind::Port, &x.parent)
            .map(|(e, d)| (e.reason.clone(), d)),
        Some((Reason::TrunkParent, false))
    );
    assert_eq!(
        sel.entry(ObjKind::Network, &x.machines)
            .map(|(e, d)| (e.reason.clone(), d)),
        Some((Reason::Installer, false))
    );

    // The cleanup, one call at a time (the real services are on SQLite).
    let g = plan(&s, &sel, PlanOptions::default());
    let mut log = Vec::new();
    for node in g.nodes.iter().filter(|n| target(&n.op).is_none()) {
        run_op(&t, &node.op, &mut log)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{log:#?}", node.id));
    }
    for (what, r) in [
        ("network", t.os.get_network(&x.net).await.map(|_| ())),
        (
            "service network",
            t.os.get_network(&x.svc_net).await.map(|_| ()),
        ),
        ("subnet", t.os.get_subnet(&x.sub).await.map(|_| ())),
        ("pod port", t.os.get_port(&x.pod).await.map(|_| ())),
        (
            "pods SG",
            t.os.get_security_group(&x.pods_sg).await.map(|_| ()),
        ),
        ("NP SG", t.os.get_security_group(&x.np_sg).await.map(|_| ())),
        ("pool", t.os.get_subnetpool(&x.pool).await.map(|_| ())),
        ("router", t.os.get_router(&x.router).await.map(|_| ())),
        ("LB", t.os.get_load_balancer(&x.lb).await.map(|_| ())),
        ("FIP", t.os.get_floating_ip(&x.fip).await.map(|_| ())),
    ] {
        assert!(
            r.as_ref().is_err_and(|e| e.is_not_found()),
            "{what} is still there: {r:?}"
        );
    }
    // What stays is unchanged, field for field.
    assert_eq!(
        t.os.get_security_group(&x.stranger_sg).await.unwrap(),
        stranger_before
    );
    let trunk = t.os.get_trunk(&x.trunk).await.unwrap();
    assert_eq!(
        (trunk.port_id.as_str(), trunk.sub_ports.len()),
        (x.parent.as_str(), 0)
    );
    assert!(t.os.get_port(&x.parent).await.is_ok());
    assert!(t.os.get_network(&x.machines).await.is_ok());

    // The restore, from the snapshot.
    let deleted: Deleted = sel
        .delete
        .iter()
        .filter(|e| !(e.implicit && e.kind == ObjKind::Port))
        .map(|e| (e.kind, e.id.clone()))
        .collect();
    let rp = plan_restore(&s, &deleted);
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for st in &rp.steps {
        let body = st.create.body(&map).unwrap_or_else(|e| panic!("{e}"));
        let os = &t.os;
        let (coll, new): (&str, Option<String>) = match &st.create {
            Create::SubnetPool { .. } => (
                "subnetpools",
                Some(retry(|| os.create_subnetpool(body.clone())).await.value.id),
            ),
            Create::Network { .. } => (
                "networks",
                Some(retry(|| os.create_network(body.clone())).await.value.id),
            ),
            Create::Subnet { .. } => (
                "subnets",
                Some(retry(|| os.create_subnet(body.clone())).await.value.id),
            ),
            Create::Router { .. } => (
                "routers",
                Some(retry(|| os.create_router(body.clone())).await.value.id),
            ),
            Create::SecurityGroup { .. } => (
                "security-groups",
                Some(
                    retry(|| os.create_security_group(body.clone()))
                        .await
                        .value
                        .id,
                ),
            ),
            Create::Port { .. } => (
                "ports",
                Some(retry(|| os.create_port(body.clone())).await.value.id),
            ),
            Create::FloatingIp { .. } => (
                "floatingips",
                Some(retry(|| os.create_floating_ip(body.clone())).await.value.id),
            ),
            Create::RouterInterface { router, .. } => {
                let r = router.resolve(&map).unwrap();
                retry(|| {
                    os.add_router_interface(&r, "subnet_id", body["subnet_id"].as_str().unwrap())
                })
                .await;
                ("", None)
            }
            Create::SecurityGroupRule { .. } => {
                // Neutron made the default egress rules with the group already.
                match os.create_security_group_rule(body.clone()).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == Some("SecurityGroupRuleExists") => {}
                    Err(e) => panic!("create rule {body}: {e}"),
                }
                ("", None)
            }
            Create::Subport { trunk, .. } => {
                let sp: SubPort = serde_json::from_value(body.clone()).unwrap();
                let trunk = trunk.resolve(&map).unwrap();
                retry(|| os.add_subports(&trunk, std::slice::from_ref(&sp))).await;
                ("", None)
            }
            Create::LoadBalancer {
                listeners, pools, ..
            } => {
                // One call per object, waiting for ACTIVE between them (the simulation has no one-call tree create).
                let mut lb_body = body.clone();
                lb_body.as_object_mut().unwrap().remove("listeners");
                lb_body.as_object_mut().unwrap().remove("pools");
                let lb = retry(|| os.create_load_balancer(lb_body.clone()))
                    .await
                    .value;
                wait_lb(&t, &lb.id, "ACTIVE").await;
                for (l, lbody) in listeners.iter().zip(body["listeners"].as_array().unwrap()) {
                    let lid = retry(|| os.create_listener(json!({"name": l.name, "loadbalancer_id": lb.id, "protocol": l.protocol, "protocol_port": l.protocol_port}))).await.value.id;
                    wait_lb(&t, &lb.id, "ACTIVE").await;
                    if let Some(p) = lbody.get("default_pool") {
                        let pid = retry(|| os.create_pool(json!({"name": p["name"], "listener_id": lid, "protocol": p["protocol"], "lb_algorithm": p["lb_algorithm"]}))).await.value.id;
                        wait_lb(&t, &lb.id, "ACTIVE").await;
                        for m in p["members"].as_array().unwrap() {
                            retry(|| os.create_member(&pid, m.clone())).await;
                            wait_lb(&t, &lb.id, "ACTIVE").await;
                        }
                    }
                }
                assert!(
                    pools.len() <= listeners.len(),
                    "pools without listeners are not in this scenario"
                );
                map.insert(
                    vip_key(&st.old_id),
                    lb.vip_port_id.clone().unwrap_or_default(),
                );
                ("", Some(lb.id))
            }
        };
        if let Some(new) = new {
            if !coll.is_empty() && !st.create.tags_in_body() && !st.create.tags().is_empty() {
                let tags: Vec<&str> = st.create.tags().iter().map(String::as_str).collect();
                retry(|| os.replace_tags(coll, &new, &tags)).await;
            }
            if st.maps_id {
                map.insert(st.old_id.clone(), new);
            }
        }
    }
    // Read back by the new IDs, and measure.
    let m = |id: &String| map.get(id).cloned().unwrap_or_else(|| id.clone());
    let renamed = Seeded {
        tag: x.tag.clone(),
        pool: m(&x.pool),
        svc_net: m(&x.svc_net),
        svc_sub: m(&x.svc_sub),
        net: m(&x.net),
        sub: m(&x.sub),
        router: m(&x.router),
        pods_sg: m(&x.pods_sg),
        np_sg: m(&x.np_sg),
        stranger_sg: x.stranger_sg.clone(),
        machines: x.machines.clone(),
        parent: x.parent.clone(),
        trunk: x.trunk.clone(),
        pod: m(&x.pod),
        lb: m(&x.lb),
        ext: x.ext.clone(),
        fip: m(&x.fip),
    };
    let after = read_openstack(&t.os, kube_side(&t, &renamed, &fip_addr), 1)
        .await
        .expect("read back");
    let share = restore_share(&s, &deleted, &after, &map);
    println!(
        "restore share on this target: {}/{} = {:.3}; misses: {:?}",
        share.restored,
        share.total,
        share.ratio(),
        share.misses
    );
    assert!(share.total >= 12, "{share:?}");
    assert_eq!(
        share.misses,
        vec![],
        "every deleted object comes back with the same name, CIDR, tags and relations"
    );
    let certain: BTreeSet<&str> = rp
        .losses
        .iter()
        .filter(|l| l.certain)
        .map(|l| l.field.as_str())
        .collect();
    assert!(
        certain.contains("mac_address") && certain.contains("id"),
        "{certain:?}"
    );

    // Teardown, which is a second cleanup: of the restored objects, by the same
    // selection and graph; then what the cleanup keeps on purpose. The real
    // services keep state (and a quota of 10 security groups per project).
    let sel2 = select(
        &after,
        &SelectOptions {
            cluster_id: t.run.clone(),
            octavia_version: after.octavia_version,
            delete_foreign_ports: BTreeSet::new(),
        },
    )
    .unwrap();
    assert_eq!(
        sel2.deleted(ObjKind::Network).len(),
        2,
        "the restored networks are selected again"
    );
    let g2 = plan(&after, &sel2, PlanOptions::default());
    for node in g2.nodes.iter().filter(|n| target(&n.op).is_none()) {
        run_op(&t, &node.op, &mut log)
            .await
            .unwrap_or_else(|e| panic!("teardown {}: {e}\n{log:#?}", node.id));
    }
    retry(|| t.os.delete_trunk(&x.trunk)).await;
    for op in [
        Op::DeletePort {
            id: x.parent.clone(),
        },
        Op::DeleteNetwork {
            id: x.machines.clone(),
        },
        Op::DeleteNetwork { id: x.ext.clone() },
        Op::DeleteSecurityGroup {
            id: x.stranger_sg.clone(),
        },
    ] {
        run_op(&t, &op, &mut log)
            .await
            .unwrap_or_else(|e| panic!("teardown {op:?}: {e}"));
    }
}

/// Real Octavia creates a load balancer with its listeners, pools and members
/// in one call from the restore plan's body (the simulation does not model
/// that call; the round trip above therefore restores one object at a time).
#[cfg(feature = "real-openstack")]
#[tokio::test]
async fn real_octavia_creates_the_restore_tree_in_one_call() {
    use steps::kuryr::cleanup::restore::{ListenerSpec, MemberSpec, PoolSpec, Ref};
    let _one_at_a_time = REAL_SERVICES.lock().await;
    let t = real().await;
    let (net, sub) = net_sub(&t, "tree", "10.81.9.0/24").await;
    let create = Create::LoadBalancer {
        name: format!("{}-tree", t.run),
        description: "openshiftClusterID=x".into(),
        vip_subnet: Ref::Same(sub.clone()),
        vip_address: Some("10.81.9.77".into()),
        tags: vec![format!("openshiftClusterID={}", t.run)],
        listeners: vec![ListenerSpec {
            name: "l".into(),
            protocol: "TCP".into(),
            protocol_port: 80,
            default_pool: Some("old-pool".into()),
        }],
        pools: vec![PoolSpec {
            old_id: "old-pool".into(),
            name: "p".into(),
            protocol: "TCP".into(),
            lb_algorithm: "ROUND_ROBIN".into(),
            members: vec![MemberSpec {
                name: "m".into(),
                address: "10.81.9.20".into(),
                protocol_port: 8080,
                subnet: Some(Ref::Same(sub.clone())),
            }],
        }],
    };
    let body = create.body(&BTreeMap::new()).unwrap();
    let lb = retry(|| t.os.create_load_balancer(body.clone())).await;
    assert_eq!(lb.status, 201);
    let lb = lb.value;
    wait_lb(&t, &lb.id, "ACTIVE").await;
    let got = t.os.get_load_balancer(&lb.id).await.unwrap();
    assert_eq!((got.listeners.len(), got.pools.len()), (1, 1));
    assert_eq!(got.vip_address.as_deref(), Some("10.81.9.77"));
    assert_eq!(got.tags, vec![format!("openshiftClusterID={}", t.run)]);
    let members = t.os.list_members(&got.pools[0].id).await.unwrap();
    assert_eq!(
        (members.len(), members[0].address.as_str()),
        (1, "10.81.9.20")
    );
    retry(|| t.os.delete_load_balancer_cascade(&lb.id)).await;
    wait_lb(&t, &lb.id, "GONE").await;
    let _ = t.os.delete_network(&net).await;
}
