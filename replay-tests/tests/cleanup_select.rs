//! The cleanup's C0 snapshot and selection against the lab, over real HTTP:
//! the shared-project scenario (a second live Kuryr cluster, an untagged
//! appliance trunk, a user's VM port on a Kuryr network, and a
//! bring-your-own-network router variant) is served by the simulated
//! Kubernetes API and OpenStack; the snapshot is read through the tool's own
//! clients; the selection must keep every object of the others exactly and
//! delete the first cluster's own Kuryr objects.

use std::collections::BTreeSet;
use std::time::Duration;

use lab::controllers::{ControllerConfig, Controllers};
use lab::faults::Faults;
use lab::k8s::{ApiServer, Store};
use lab::openstack::{Cloud, CloudConfig};
use lab::scenario::{Scenario, ScenarioConfig, SharedProjectIds, shared_project};
use serde_json::Value;
use steps::kube::{ClientOptions, connect};
use steps::kuryr::cleanup::collect::collect;
use steps::kuryr::cleanup::graph::{PlanOptions, plan};
use steps::kuryr::cleanup::select::{ObjKind, Reason, SelectOptions, Selection, select};
use steps::kuryr::cleanup::snapshot::Snapshot;
use steps::openstack::OpenStack;

struct Harness {
    scenario: Scenario,
    ids: SharedProjectIds,
    _api: ApiServer,
    _controllers: Controllers,
    _cloud: Cloud,
    _dir: tempfile::TempDir,
    kc: steps::kube::KubeClient,
    os: OpenStack,
}

async fn start(byo_router: bool, octavia: (u32, u32)) -> Harness {
    start_with(ScenarioConfig::default(), byo_router, octavia).await
}

async fn start_with(cfg: ScenarioConfig, byo_router: bool, octavia: (u32, u32)) -> Harness {
    let (scenario, ids) = shared_project(&cfg, byo_router);
    let faults = Faults::default();
    let store = Store::new();
    store
        .seed(scenario.k8s.clone())
        .expect("seed the Kubernetes store");
    let (tx, rx) = tokio::sync::broadcast::channel(16);
    let controllers = Controllers::start(store.clone(), ControllerConfig::default(), rx);
    let api = lab::k8s::start(store.clone(), controllers.routes(), &faults)
        .await
        .expect("start the Kubernetes API");
    let cloud = Cloud::start(
        &CloudConfig {
            octavia_max_version: octavia,
            ..CloudConfig::default()
        },
        faults.clone(),
        tx,
    )
    .expect("start the cloud");
    cloud.seed(&scenario);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = lab::k8s::kubeconfig::write(&api.url(), dir.path()).expect("kubeconfig");
    let kc = connect(&ClientOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        timeout: Some(Duration::from_secs(20)),
    })
    .await
    .expect("connect to the lab's API");
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, cloud.clouds_yaml("lab")).expect("clouds.yaml");
    let os = OpenStack::new(
        steps::openstack::CloudConfig::from_clouds_yaml(&clouds, "lab").expect("read clouds.yaml"),
    )
    .expect("client");
    Harness {
        scenario,
        ids,
        _api: api,
        _controllers: controllers,
        _cloud: cloud,
        _dir: dir,
        kc,
        os,
    }
}

fn selection(h: &Harness, s: &Snapshot) -> Selection {
    select(
        s,
        &SelectOptions {
            cluster_id: h.ids.first.cluster_id.clone(),
            octavia_version: s.octavia_version,
            delete_foreign_ports: BTreeSet::new(),
        },
    )
    .expect("select")
}

/// Every OpenStack object of the scenario, by ID.
fn objects(s: &Scenario) -> Vec<(&str, &Value)> {
    s.openstack
        .iter()
        .flat_map(|(coll, items)| items.iter().map(move |o| (coll.as_str(), o)))
        .collect()
}

/// IDs of the scenario objects the first cluster's cleanup may delete:
/// tagged with its tag, or the VIP ports of its load balancers.
fn first_clusters(h: &Harness) -> BTreeSet<String> {
    let tag = &h.ids.first.tag;
    let lbs: BTreeSet<&str> = h
        .ids
        .first
        .load_balancer_ids
        .iter()
        .map(String::as_str)
        .collect();
    objects(&h.scenario)
        .into_iter()
        .filter(|(coll, o)| {
            o["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x == tag.as_str()))
                || (*coll == "ports"
                    && o["device_id"]
                        .as_str()
                        .is_some_and(|d| lbs.contains(d.trim_start_matches("lb-"))))
        })
        .filter_map(|(_, o)| o["id"].as_str().map(str::to_string))
        .collect()
}

fn check(h: &Harness, x: &Selection) {
    let deleted: BTreeSet<&str> = x.delete.iter().map(|e| e.id.as_str()).collect();
    // Nothing that must stay is deleted, and each such object named in the selection is kept.
    for (id, why) in &h.ids.must_keep {
        assert!(
            !deleted.contains(id.as_str()),
            "{id} ({why}) is selected for deletion"
        );
    }
    for id in &h.ids.second {
        assert!(
            !deleted.contains(id.as_str()),
            "the second cluster's {id} is selected"
        );
    }
    // Everything deleted is the first cluster's own.
    let own = first_clusters(h);
    for e in &x.delete {
        assert!(
            own.contains(&e.id),
            "{} {} ({}) is not the first cluster's",
            e.kind,
            e.id,
            e.reason
        );
        if e.kind == ObjKind::Subport {
            assert!(
                h.ids.first.trunk_ids.contains(e.parent.as_ref().unwrap()),
                "subport {} off {:?}",
                e.id,
                e.parent
            );
        }
    }
    // The rules that keep the strangers, by name.
    let kept = |kind, id: &str| {
        x.keep
            .iter()
            .find(|e| e.kind == kind && e.id == id)
            .map(|e| e.reason.clone())
    };
    assert_eq!(
        kept(ObjKind::Port, &h.ids.user_vm_port),
        Some(Reason::ForeignPort)
    );
    assert_eq!(
        kept(ObjKind::Port, &h.ids.appliance_subport),
        Some(Reason::ForeignPort)
    );
    assert_eq!(
        kept(ObjKind::Subport, &h.ids.appliance_subport),
        Some(Reason::ForeignPort)
    );
    assert_eq!(
        kept(ObjKind::Trunk, &h.ids.appliance_trunk),
        Some(Reason::NotThisClustersTrunk)
    );
    for n in &h.ids.blocked_networks {
        assert!(
            matches!(kept(ObjKind::Network, n), Some(Reason::BlockedBy { .. })),
            "{n}"
        );
    }
    for s in &h.ids.blocked_subnets {
        assert!(
            matches!(kept(ObjKind::Subnet, s), Some(Reason::BlockedBy { .. })),
            "{s}"
        );
        assert!(
            matches!(
                kept(ObjKind::RouterInterface, s),
                Some(Reason::BlockedBy { .. })
            ),
            "{s}"
        );
    }
    assert_eq!(
        kept(ObjKind::Network, &h.ids.first.machines_network_id),
        Some(Reason::Installer)
    );
    assert_eq!(
        kept(ObjKind::SecurityGroup, &h.ids.first.master_sg_id),
        Some(Reason::Installer)
    );
    let router = kept(ObjKind::Router, &h.ids.first.router_id);
    if h.ids.first.router_is_users {
        assert!(
            matches!(router, Some(Reason::RouterNotNamed { .. })),
            "{router:?}"
        );
    } else {
        assert!(
            matches!(router, Some(Reason::InterfacesLeft { .. })),
            "{router:?}"
        );
    }
    // The first cluster's own Kuryr objects go.
    let want = |kind: ObjKind, ids: &[String]| {
        let got = x.deleted(kind);
        for id in ids {
            assert!(got.contains(id.as_str()), "{kind} {id} is not deleted");
        }
    };
    want(ObjKind::LoadBalancer, &h.ids.first.load_balancer_ids);
    want(ObjKind::FloatingIp, &h.ids.first.floating_ip_ids);
    want(ObjKind::SecurityGroup, &h.ids.first.np_sg_ids);
    want(
        ObjKind::SecurityGroup,
        std::slice::from_ref(&h.ids.first.pods_sg_id),
    );
    want(
        ObjKind::Network,
        std::slice::from_ref(&h.ids.first.service_network_id),
    );
    let free: Vec<String> = h
        .ids
        .first
        .namespace_network_ids
        .iter()
        .filter(|n| !h.ids.blocked_networks.contains(n))
        .cloned()
        .collect();
    assert!(!free.is_empty());
    want(ObjKind::Network, &free);
    // The removed subports and deleted ports match exactly: every pod port of the
    // first cluster, nothing else of a trunk.
    let pod_ports: BTreeSet<String> = h
        .scenario
        .k8s_of_kind("KuryrPort")
        .filter_map(|k| {
            k.pointer("/status/vifs/eth0/vif/versioned_object.data/id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let removed: BTreeSet<String> = x
        .deleted(ObjKind::Subport)
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(removed, pod_ports);
}

#[tokio::test]
async fn the_selection_keeps_every_object_of_the_others_exactly() {
    let h = start(false, (2, 26)).await;
    let s = collect(&h.kc, &h.os, 16)
        .await
        .expect("collect the snapshot");
    assert!(s.missing.is_empty(), "{:?}", s.missing);
    assert_eq!(s.cluster_id, h.ids.first.cluster_id);
    assert_eq!(s.kuryr_networks.len(), 3);
    assert!(s.finalized.len() >= 9, "{}", s.finalized.len());
    assert_eq!(s.crds.len(), 4);
    assert!(s.gateway_service && s.kuryr_namespace);
    // The snapshot saw the strangers on the first cluster's networks.
    assert!(s.port(&h.ids.user_vm_port).is_some());
    assert!(s.trunks.iter().any(|t| t.id == h.ids.appliance_trunk));
    // Content-addressed: read again, same digest; the bytes read back.
    let again = collect(&h.kc, &h.os, 3).await.expect("collect again");
    assert_eq!(again.digest(), s.digest());
    let back = Snapshot::from_bytes(&s.to_bytes(), Some(&s.digest())).expect("read back");
    assert_eq!(back.digest(), s.digest());
    let x = selection(&h, &s);
    check(&h, &x);
}

#[tokio::test]
async fn a_bring_your_own_network_router_is_never_selected() {
    let h = start(true, (2, 26)).await;
    let s = collect(&h.kc, &h.os, 16)
        .await
        .expect("collect the snapshot");
    let x = selection(&h, &s);
    check(&h, &x);
    assert!(x.deleted(ObjKind::Router).is_empty());
    // Kuryr's interfaces on the user's router still go (not the blocked ones).
    assert!(
        x.deleted(ObjKind::RouterInterface)
            .contains(h.ids.first.service_subnet_id.as_str())
    );
}

#[tokio::test]
async fn before_octavia_2_5_load_balancers_need_the_cr_and_the_description() {
    let h = start(false, (2, 4)).await;
    let s = collect(&h.kc, &h.os, 16)
        .await
        .expect("collect the snapshot");
    assert_eq!(s.octavia_version, (2, 4));
    let x = selection(&h, &s);
    check(&h, &x);
    for e in x.delete.iter().filter(|e| e.kind == ObjKind::LoadBalancer) {
        assert_eq!(e.reason, Reason::NamedAndDescribed);
    }
}

/// The benchmark's size (200 namespaces, 5,000 pods, 1,000 services, 400
/// policies), collected over HTTP: the selection still keeps every stranger,
/// and the plan's figures are printed for the benchmark to aim at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_benchmark_size_the_selection_holds_and_the_plan_batches() {
    let cfg = ScenarioConfig {
        seed: 7,
        namespaces: 200,
        pods_per_namespace: 25,
        services_per_namespace: 5,
        network_policies_per_namespace: 2,
        masters: 3,
        workers: 20,
    };
    let h = start_with(cfg, false, (2, 26)).await;
    let t0 = std::time::Instant::now();
    let s = collect(&h.kc, &h.os, 16)
        .await
        .expect("collect the snapshot");
    let took = t0.elapsed();
    assert!(s.missing.is_empty(), "{:?}", s.missing);
    assert_eq!(s.kuryr_ports.len(), 5_000);
    assert_eq!(s.kuryr_load_balancers.len(), 1_000);
    let x = selection(&h, &s);
    check(&h, &x);
    let g = plan(&s, &x, PlanOptions::default());
    let (critical, chain) = g.critical_path();
    let per_step = g.per_step();
    // One remove_subports per trunk, one cascade delete per load balancer.
    let trunks_with_pods = s
        .trunks
        .iter()
        .filter(|t| !t.sub_ports.is_empty() && h.ids.first.trunk_ids.contains(&t.id))
        .count();
    assert_eq!(
        per_step[&steps::kuryr::cleanup::graph::Step::C15],
        trunks_with_pods
    );
    assert_eq!(per_step[&steps::kuryr::cleanup::graph::Step::C6], 1_000);
    assert!(
        critical < 20,
        "the critical path stays short: {critical} {chain:?}"
    );
    println!(
        "benchmark-size plan: snapshot {} OpenStack objects ({} bytes) read in {:.1?}; {} deletes ({} implicit), {} kept; {} operations, {} calls, critical path {} calls over {} layers: {:?}",
        s.openstack_objects(),
        s.to_bytes().len(),
        took,
        x.delete.len(),
        x.delete.iter().filter(|e| e.implicit).count(),
        x.keep.len(),
        g.nodes.len(),
        g.calls(),
        critical,
        g.layers().len(),
        chain
    );
}
