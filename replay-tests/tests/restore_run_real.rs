//! The restore run in-process against the two targets of `common/`: the
//! lab's simulated cloud always, and the real Keystone/Neutron/Octavia of
//! `lab/real/up.sh` with the `real-openstack` feature. A small Kuryr
//! cluster is seeded (a subnet pool, a network and subnet from it on a
//! router, a security group with a rule, a tagged port, a load balancer with
//! a listener, pool and member, a floating IP), read as the C0 snapshot and
//! deleted through the cleanup's edges one call at a time (SQLite), and the
//! deletion is journaled exactly as the cleanup run journals it
//! (`cleanup/record.rs`: C0's `SnapshotRecorded` with its three blobs, an
//! intent and a success per graph node). Then `kuryr-restore` runs on the
//! engine from that journal; the restore share is measured by reading the
//! objects back, asserted to be what the run's report says (every planned
//! object mapped and back), and checked field by field on the cloud itself.
//! Everything made is deleted at the end (the real services keep state).

use std::collections::BTreeSet;
use std::time::Duration;

use journal::{BlobRef, Event, Journal, OpId, OpenOptions, RunInfo, Target as JTarget};
use serde_json::json;
use steps::engine::lease::LeaseTiming;
use steps::engine::{NoProgress, RetryPolicy, RunOutcome, SystemClock, Timing};
use steps::kube::ClientOptions;
use steps::kuryr::cleanup::collect::{KubeSide, read_openstack};
use steps::kuryr::cleanup::edge::target;
use steps::kuryr::cleanup::graph::{Op, PlanOptions, plan};
use steps::kuryr::cleanup::record::{
    GRAPH_KIND, SELECTION_KIND, SNAPSHOT_KIND, SNAPSHOT_LABEL, WORKFLOW, digest_of, graph_bytes,
    op_id, selection_bytes,
};
use steps::kuryr::cleanup::restore_run::report::{measure, read_report};
use steps::kuryr::cleanup::restore_run::{LbWait, RestoreOptions, RestoreSession};
use steps::kuryr::cleanup::select::{ObjKind, SelectOptions, select};
use steps::kuryr::cleanup::snapshot::*;
use steps::kuryr::identity::KuryrConfig;
use steps::workflow::{Execution, Workflow, execute, load_run, start_run};
use tokio_util::sync::CancellationToken;

#[macro_use]
mod common;

use common::*;

conformance!(restore_from_a_journaled_cleanup);

fn meta(ns: &str, name: &str) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn jtarget(cluster: &str) -> JTarget {
    JTarget {
        cluster_id: cluster.into(),
        api_server: "https://api.lab".into(),
        openstack_auth_url: "http://keystone.lab".into(),
        openstack_project: "p".into(),
    }
}

async fn restore_from_a_journaled_cleanup(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    let one = [tag.as_str()];
    let os = &t.os;
    let tagged = |coll: &'static str, id: String| async move {
        retry(|| os.replace_tags(coll, &id, &one)).await;
        id
    };
    // Seed.
    let pool = tagged("subnetpools", retry(|| os.create_subnetpool(json!({"name": format!("{}-kuryr-pod-subnetpool", t.run), "prefixes": ["10.93.0.0/16"], "default_prefixlen": 24}))).await.value.id).await;
    let net = tagged(
        "networks",
        retry(|| os.create_network(json!({"name": format!("{}-ns-a", t.run)})))
            .await
            .value
            .id,
    )
    .await;
    let sub = tagged("subnets", retry(|| os.create_subnet(json!({"network_id": net, "ip_version": 4, "subnetpool_id": pool, "name": format!("{}-ns-a-subnet", t.run)}))).await.value.id).await;
    let router = tagged(
        "routers",
        retry(|| os.create_router(json!({"name": format!("{}-external-router", t.run)})))
            .await
            .value
            .id,
    )
    .await;
    retry(|| os.add_router_interface(&router, "subnet_id", &sub)).await;
    let sg = tagged(
        "security-groups",
        retry(|| {
            os.create_security_group(
                json!({"name": format!("{}-kuryr-pods-security-group", t.run), "description": "pods"}),
            )
        })
        .await
        .value
        .id,
    )
    .await;
    retry(|| os.create_security_group_rule(json!({"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.93.0.0/16"}))).await;
    let pod = retry(|| {
        os.create_port(
            json!({"network_id": net, "name": "app-0", "tags": [tag], "security_groups": [sg]}),
        )
    })
    .await
    .value
    .id;
    let pod_ip = os.get_port(&pod).await.unwrap().fixed_ips[0]
        .ip_address
        .clone();
    let lb = retry(|| os.create_load_balancer(json!({"name": format!("{}-a/svc", t.run), "description": tag, "tags": [tag], "vip_subnet_id": sub}))).await.value.id;
    wait_lb(&t, &lb, "ACTIVE").await;
    let listener = retry(|| os.create_listener(json!({"name": "a/svc:TCP:80", "loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 80}))).await.value.id;
    wait_lb(&t, &lb, "ACTIVE").await;
    let lbpool = retry(|| os.create_pool(json!({"name": "a/svc:TCP:80", "listener_id": listener, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}))).await.value.id;
    wait_lb(&t, &lb, "ACTIVE").await;
    retry(|| {
        os.create_member(
            &lbpool,
            json!({"address": pod_ip, "protocol_port": 8080, "subnet_id": sub}),
        )
    })
    .await;
    wait_lb(&t, &lb, "ACTIVE").await;
    let ext = retry(|| {
        os.create_network(json!({"name": format!("{}-public", t.run), "router:external": true}))
    })
    .await
    .value
    .id;
    retry(|| os.create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "198.51.93.0/24", "enable_dhcp": false}))).await;
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
    let fip_addr = os.get_floating_ip(&fip).await.unwrap().floating_ip_address;

    // C0, the selection and the graph, as the cleanup run makes them.
    let cfg = KuryrConfig {
        pod_router: router.clone(),
        pod_subnet_pool: Some(pool.clone()),
        service_subnet: sub.clone(),
        pod_security_groups: vec![sg.clone()],
        resource_tags: vec![tag.clone()],
        project: None,
    };
    let kube = KubeSide {
        cluster_id: t.run.clone(),
        kuryr_conf: String::new(),
        kuryr_config: cfg.clone(),
        snapshot: Snapshot {
            format: SNAPSHOT_FORMAT,
            cluster_id: t.run.clone(),
            kuryr_config: cfg,
            kuryr_networks: vec![KuryrNetworkCr {
                meta: meta("a", "a"),
                net_id: Some(net.clone()),
                subnet_id: Some(sub.clone()),
                router_id: Some(router.clone()),
                subnet_cidr: None,
            }],
            kuryr_ports: vec![KuryrPortCr {
                meta: meta("a", "app-0"),
                port_ids: vec![pod.clone()],
            }],
            kuryr_load_balancers: vec![KuryrLoadBalancerCr {
                meta: meta("a", "svc"),
                lb_id: Some(lb.clone()),
                pub_ip: Some(PubIpInfo {
                    ip_id: fip.clone(),
                    ip_addr: fip_addr.clone(),
                    alloc_method: "pool".into(),
                }),
                ..Default::default()
            }],
            ..Default::default()
        },
    };
    let s = read_openstack(os, kube, 1).await.expect("snapshot");
    let sel = select(
        &s,
        &SelectOptions {
            cluster_id: t.run.clone(),
            octavia_version: s.octavia_version,
            delete_foreign_ports: BTreeSet::new(),
        },
    )
    .unwrap();
    let g = plan(&s, &sel, PlanOptions::default());

    // The cleanup's journal, written as the cleanup run writes it, while
    // its graph runs one call at a time.
    let tmp = tempfile::tempdir().unwrap();
    let cleanup_dir = tmp.path().join("cleanup");
    let j = Journal::create(
        &cleanup_dir,
        &RunInfo {
            run_id: format!("{}-cleanup", t.run),
            workflow: WORKFLOW.into(),
            tool_version: "test".into(),
            target: jtarget(&t.run),
        },
        &OpenOptions::default(),
    )
    .unwrap();
    let mut blobs = Vec::new();
    for (kind, bytes) in [
        (SNAPSHOT_KIND, s.to_bytes()),
        (SELECTION_KIND, selection_bytes(&sel)),
        (GRAPH_KIND, graph_bytes(&g)),
    ] {
        blobs.push(BlobRef {
            kind: kind.into(),
            name: digest_of(&bytes),
            hash: j.put_blob(&bytes).unwrap(),
        });
    }
    j.append(Event::SnapshotRecorded {
        label: SNAPSHOT_LABEL.into(),
        blobs,
    })
    .unwrap();
    let mut log = Vec::new();
    for node in g.nodes.iter().filter(|n| target(&n.op).is_none()) {
        let op = OpId(op_id(&node.id));
        j.append(Event::OperationIntended {
            op: op.clone(),
            step: format!("{:?}", node.step),
            action: "delete".into(),
            target: node.id.clone(),
            idempotency_key: node.id.clone(),
            attempt: 1,
            params: j.doc(&json!({})).unwrap(),
        })
        .unwrap();
        run_op(&t, &node.op, &mut log)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{log:#?}", node.id));
        j.append(Event::OperationSucceeded {
            op,
            attempt: 1,
            http_status: None,
            observed: j.doc(&json!({})).unwrap(),
            duration_ms: 0,
        })
        .unwrap();
    }
    drop(j);
    for (what, gone) in [
        ("network", os.get_network(&net).await.is_err()),
        ("LB", os.get_load_balancer(&lb).await.is_err()),
        ("FIP", os.get_floating_ip(&fip).await.is_err()),
        ("group", os.get_security_group(&sg).await.is_err()),
    ] {
        assert!(gone, "the cleanup deleted the {what}");
    }

    // The restore, on the engine, its lease on a lab's Kubernetes API.
    let kube_lab = lab::Lab::start(lab::LabConfig {
        empty: true,
        openstack: false,
        ..lab::LabConfig::default()
    })
    .await
    .expect("a Kubernetes API for the lease");
    let kubeconfig = kube_lab.write_kubeconfig(tmp.path()).unwrap();
    let kc = steps::kube::connect(&ClientOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        timeout: Some(Duration::from_secs(30)),
    })
    .await
    .unwrap();
    let w = RestoreSession {
        kube: kc,
        openstack: os.clone(),
        target: jtarget(&t.run),
        cluster_id: t.run.clone(),
        source_dir: cleanup_dir.clone(),
        lb_wait: LbWait {
            poll: Duration::from_millis(200),
            timeout: Duration::from_secs(120),
        },
    };
    let discovery = w.discover().await.expect("discover");
    let options = RestoreOptions {
        from_run: discovery.source.run_id.clone(),
    };
    let rplan = RestoreSession::plan(&discovery, &options).unwrap();
    assert!(rplan.operations.len() >= 8, "{:?}", rplan.operations);
    let rdir = tmp.path().join("restore");
    let journal = start_run(
        &w,
        rdir.clone(),
        "restore-1",
        "test",
        &discovery,
        &options,
        &rplan,
    )
    .await
    .unwrap();
    let loaded = load_run::<RestoreSession>(journal).await.unwrap();
    let how = Execution {
        timing: Timing {
            poll: Duration::from_millis(100),
            wait_timeout: Duration::from_secs(300),
            in_doubt_grace: Duration::from_secs(2),
            retry: RetryPolicy {
                max_attempts: 10,
                base: Duration::from_millis(200),
                cap: Duration::from_secs(2),
            },
            concurrency: 1,
        },
        progress: &NoProgress,
        cancel: CancellationToken::new(),
        clock: &SystemClock,
        journal_dir: rdir.clone(),
        lease: LeaseTiming::new(Duration::from_secs(60), Duration::from_secs(30)).unwrap(),
        tool_version: "test".into(),
    };
    let summary = execute(&w, &loaded, &how).await.unwrap();
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    drop(loaded);

    // What the report says, and what reading the objects back measures.
    let (report, source, planned) = read_report(Journal::open_read(&rdir).unwrap())
        .await
        .unwrap();
    assert_eq!(report.done, report.operations);
    for op in planned.operations.iter().filter(|o| o.step.maps_id) {
        assert!(
            report.id_map.contains_key(&op.step.old_id),
            "{} is not mapped",
            op.key
        );
    }
    let share = measure(os, &source, &report.id_map).await.unwrap();
    println!(
        "restore share on this target: {}/{}; not restored: {:?}",
        share.restored, share.total, report.not_restored
    );
    assert_eq!(share.misses, vec![], "{share:?}");
    assert!(share.total >= 8, "{share:?}");
    let deleted: BTreeSet<(ObjKind, String)> = source.deleted.iter().cloned().collect();
    for n in &report.not_restored {
        assert!(deleted.contains(&(n.kind, n.old_id.clone())), "{n:?}");
    }
    // On the cloud itself.
    let m = |id: &String| report.id_map.get(id).cloned().unwrap_or_else(|| id.clone());
    let (net2, sub2) = (
        os.get_network(&m(&net)).await.unwrap(),
        os.get_subnet(&m(&sub)).await.unwrap(),
    );
    assert_eq!(net2.tags, vec![tag.clone()]);
    let old_sub = s.subnet(&sub).unwrap();
    assert_eq!(
        (&sub2.cidr, &sub2.gateway_ip, sub2.subnetpool_id.as_deref()),
        (&old_sub.cidr, &old_sub.gateway_ip, Some(m(&pool).as_str()))
    );
    let lb2 = os.get_load_balancer(&m(&lb)).await.unwrap();
    assert_eq!((lb2.listeners.len(), lb2.pools.len()), (1, 1));
    assert_eq!(
        os.get_floating_ip(&m(&fip))
            .await
            .unwrap()
            .floating_ip_address,
        fip_addr
    );

    // Teardown: the restored objects, then what the cleanup kept.
    let lb2_id = m(&lb);
    retry(|| os.delete_load_balancer_cascade(&lb2_id)).await;
    wait_lb(&t, &lb2_id, "GONE").await;
    for op in [
        Op::DeleteFloatingIp { id: m(&fip) },
        Op::RemoveRouterInterface {
            router: m(&router),
            subnet: m(&sub),
        },
        Op::DeletePort { id: m(&pod) },
        Op::DeleteNetwork { id: m(&net) },
        Op::DeleteSubnetPool { id: m(&pool) },
        Op::DeleteSecurityGroup { id: m(&sg) },
        Op::DeleteRouter { id: m(&router) },
        Op::DeleteNetwork { id: ext.clone() },
    ] {
        run_op(&t, &op, &mut log)
            .await
            .unwrap_or_else(|e| panic!("teardown {op:?}: {e}"));
    }
}
