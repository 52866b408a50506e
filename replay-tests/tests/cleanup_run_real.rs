//! The cleanup run against the real Keystone/Neutron/Octavia of
//! `lab/real/up.sh` (feature `real-openstack`), its Kubernetes side served by
//! the lab's API: one Kuryr cluster's objects and, in the same project, a
//! second live cluster's (tagged with its own tag, named and described like
//! the first's), a bring-your-own-network router of a user, an untagged
//! appliance trunk whose subport sits on a Kuryr network, and a user's VM
//! port on that network. The whole workflow runs (precheck, C0, the graph
//! in a window of 4); the first cluster's objects the plan deletes are gone,
//! and every other object is unchanged field for field. Every object the
//! test made is deleted at the end (SQLite: one test at a time; the
//! project's security-group quota is 10).

use std::collections::BTreeMap;
use std::time::Duration;

use journal::Target as JournalTarget;
use serde_json::{Value, json};
use steps::engine::lease::LeaseTiming;
use steps::engine::{NoProgress, RetryPolicy, RunOutcome, SystemClock, Timing};
use steps::kuryr::cleanup::record::read_cleanup;
use steps::kuryr::cleanup::run::{CleanupOptions, CleanupSession};
use steps::kuryr::cleanup::select::{ObjKind, Reason};
use steps::workflow::{Execution, Workflow, execute, load_run, start_run};

#[allow(unused_macros)]
mod common;

use common::*;

/// What the test made, for its checks and its teardown.
#[derive(Default)]
struct Made {
    tag: String,
    ids: BTreeMap<&'static str, String>,
    /// Objects no cleanup of the first cluster may change: (collection, id).
    others: Vec<(&'static str, String)>,
    /// Every object made, in creation order: (collection, id).
    all: Vec<(&'static str, String)>,
}

impl Made {
    fn id(&self, k: &str) -> &str {
        &self.ids[k]
    }
}

async fn tagged(t: &Target, coll: &'static str, id: &str, tag: &str) {
    let one = [tag];
    retry(|| t.os.replace_tags(coll, id, &one)).await;
}

async fn seed(t: &Target) -> Made {
    let os = &t.os;
    let run = &t.run;
    let tag = format!("openshiftClusterID={run}");
    let other = format!("openshiftClusterID={run}-other");
    let mut m = Made {
        tag: tag.clone(),
        ..Default::default()
    };
    macro_rules! mk {
        ($key:expr, $coll:expr, $call:expr, $tag:expr) => {{
            let id = retry(|| $call).await.value.id;
            if let Some(tg) = $tag {
                tagged(t, $coll, &id, tg).await;
            }
            m.all.push(($coll, id.clone()));
            m.ids.insert($key, id.clone());
            id
        }};
    }
    let first = Some(tag.as_str());
    let second = Some(other.as_str());
    let none: Option<&str> = None;
    // The first cluster.
    let pool = mk!("pool", "subnetpools", os.create_subnetpool(json!({"name": format!("{run}-kuryr-pod-subnetpool"), "prefixes": ["10.86.0.0/16"], "default_prefixlen": 24})), first);
    let svc_net = mk!(
        "svc_net",
        "networks",
        os.create_network(json!({"name": format!("{run}-kuryr-service-network")})),
        first
    );
    let svc_sub = mk!("svc_sub", "subnets", os.create_subnet(json!({"network_id": svc_net, "ip_version": 4, "cidr": "10.87.0.0/24", "name": format!("{run}-kuryr-service-subnet")})), first);
    let net_a = mk!(
        "net_a",
        "networks",
        os.create_network(json!({"name": "ns/a-net"})),
        first
    );
    let sub_a = mk!("sub_a", "subnets", os.create_subnet(json!({"network_id": net_a, "ip_version": 4, "subnetpool_id": pool, "name": "ns/a-subnet"})), first);
    let net_b = mk!(
        "net_b",
        "networks",
        os.create_network(json!({"name": "ns/b-net"})),
        first
    );
    let sub_b = mk!("sub_b", "subnets", os.create_subnet(json!({"network_id": net_b, "ip_version": 4, "subnetpool_id": pool, "name": "ns/b-subnet"})), first);
    let router = mk!(
        "router",
        "routers",
        os.create_router(json!({"name": format!("{run}-external-router")})),
        first
    );
    for s in [&svc_sub, &sub_a, &sub_b] {
        retry(|| os.add_router_interface(&router, "subnet_id", s)).await;
    }
    let pods_sg = mk!(
        "pods_sg",
        "security-groups",
        os.create_security_group(json!({"name": format!("{run}-kuryr-pods-security-group")})),
        first
    );
    let np_sg = mk!(
        "np_sg",
        "security-groups",
        os.create_security_group(
            json!({"name": "sg/a-np", "description": "Kuryr-Kubernetes Network Policy a/np SG"})
        ),
        first
    );
    let machines = mk!("machines", "networks", os.create_network(json!({"name": format!("{run}-openshift"), "description": "Created By OpenShift Installer"})), first);
    let _machines_sub = mk!(
        "machines_sub",
        "subnets",
        os.create_subnet(json!({"network_id": machines, "ip_version": 4, "cidr": "10.88.0.0/24"})),
        none
    );
    let parent = mk!(
        "parent",
        "ports",
        os.create_port(
            json!({"network_id": machines, "name": format!("{run}-worker-0"), "tags": [tag]})
        ),
        none
    );
    let pod = mk!("pod", "ports", os.create_port(json!({"network_id": net_a, "name": "app-0", "tags": [tag], "security_groups": [pods_sg, np_sg]})), none);
    let _trunk = mk!("trunk", "trunks", os.create_trunk(json!({"name": format!("{run}-worker-0"), "port_id": parent, "sub_ports": [{"port_id": pod, "segmentation_type": "vlan", "segmentation_id": 5}]})), first);
    let lb = mk!(
        "lb",
        "loadbalancers",
        os.create_load_balancer(
            json!({"name": "a/svc", "description": tag, "tags": [tag], "vip_subnet_id": svc_sub})
        ),
        none
    );
    wait_lb(t, &lb, "ACTIVE").await;
    let ext = mk!(
        "ext",
        "networks",
        os.create_network(json!({"name": format!("{run}-public"), "router:external": true})),
        none
    );
    let _ext_sub = mk!("ext_sub", "subnets", os.create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "198.51.101.0/24", "enable_dhcp": false})), none);
    let _fip = mk!(
        "fip",
        "floatingips",
        os.create_floating_ip(json!({"floating_network_id": ext, "description": "kuryr_lb"})),
        first
    );
    // The second cluster: same names and description, its own tag.
    let o_sg = mk!(
        "other_sg",
        "security-groups",
        os.create_security_group(
            json!({"name": "sg/a-np", "description": "Kuryr-Kubernetes Network Policy a/np SG"})
        ),
        second
    );
    let o_net = mk!(
        "other_net",
        "networks",
        os.create_network(json!({"name": "ns/a-net"})),
        second
    );
    let o_sub = mk!("other_sub", "subnets", os.create_subnet(json!({"network_id": o_net, "ip_version": 4, "cidr": "10.89.0.0/24", "name": "ns/a-subnet"})), second);
    let o_router = mk!(
        "other_router",
        "routers",
        os.create_router(json!({"name": format!("{run}-other-external-router")})),
        second
    );
    retry(|| os.add_router_interface(&o_router, "subnet_id", &o_sub)).await;
    let o_port = mk!(
        "other_port",
        "ports",
        os.create_port(json!({"network_id": o_net, "name": "app-0", "tags": [other]})),
        none
    );
    // A user's own router and network (bring your own network).
    let u_net = mk!(
        "user_net",
        "networks",
        os.create_network(json!({"name": format!("{run}-users-net")})),
        none
    );
    let u_sub = mk!(
        "user_sub",
        "subnets",
        os.create_subnet(json!({"network_id": u_net, "ip_version": 4, "cidr": "10.90.0.0/24"})),
        none
    );
    let u_router = mk!(
        "user_router",
        "routers",
        os.create_router(json!({"name": format!("{run}-byon-router")})),
        none
    );
    retry(|| os.add_router_interface(&u_router, "subnet_id", &u_sub)).await;
    // An appliance's untagged trunk, its subport on a Kuryr network, and a user's VM there.
    let a_parent = mk!(
        "appliance_parent",
        "ports",
        os.create_port(json!({"network_id": machines, "name": "appliance-0"})),
        none
    );
    let a_sub = mk!(
        "appliance_subport",
        "ports",
        os.create_port(json!({"network_id": net_b, "name": "appliance-0-vlan100"})),
        none
    );
    let a_trunk = mk!("appliance_trunk", "trunks", os.create_trunk(json!({"name": "appliance-0", "port_id": a_parent, "sub_ports": [{"port_id": a_sub, "segmentation_type": "vlan", "segmentation_id": 100}]})), none);
    let vm = mk!("vm", "ports", os.create_port(json!({"network_id": net_b, "name": "users-debug-vm", "device_owner": "compute:nova", "device_id": format!("{run}-server")})), none);
    m.others = vec![
        ("security-groups", o_sg),
        ("networks", o_net),
        ("subnets", o_sub),
        ("routers", o_router),
        ("ports", o_port),
        ("networks", u_net),
        ("subnets", u_sub),
        ("routers", u_router),
        ("ports", a_parent),
        ("ports", a_sub),
        ("trunks", a_trunk),
        ("ports", vm),
        ("networks", machines),
        ("ports", parent),
        ("networks", net_b),
        ("subnets", sub_b),
    ];
    m
}

/// The Kubernetes side Kuryr would have left, naming the seeded objects.
fn kube_objects(t: &Target, m: &Made, project: &str) -> Vec<Value> {
    let run = &t.run;
    let conf = format!(
        "[namespace_subnet]\npod_router = {}\npod_subnet_pool = {}\n\n[neutron_defaults]\nproject = {project}\nservice_subnet = {}\npod_security_groups = {}\nresource_tags = {}\n",
        m.id("router"),
        m.id("pool"),
        m.id("svc_sub"),
        m.id("pods_sg"),
        m.tag
    );
    let fin = |f: &str| json!([f]);
    let mut o = vec![
        json!({"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"},
               "spec": {"platformSpec": {"type": "OpenStack"}}, "status": {"infrastructureName": run, "platform": "OpenStack"}}),
        json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
               "spec": {"networkType": "OVNKubernetes"}, "status": {"networkType": "OVNKubernetes"}}),
        json!({"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"}, "spec": {}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-kuryr"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kuryr-config", "namespace": "openshift-kuryr"}, "data": {"kuryr.conf": conf}}),
    ];
    for (ns, net, sub) in [("a", "net_a", "sub_a"), ("b", "net_b", "sub_b")] {
        o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork",
            "metadata": {"name": ns, "namespace": ns, "finalizers": fin("kuryrnetwork.finalizers.kuryr.openstack.org")},
            "spec": {"nsName": ns, "projectId": project},
            "status": {"netId": m.id(net), "subnetId": m.id(sub), "routerId": m.id("router")}}));
    }
    o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrPort",
        "metadata": {"name": "app-0", "namespace": "a", "finalizers": fin("kuryr.openstack.org/kuryrport-finalizer")},
        "spec": {"podUid": "u-1", "podNodeName": "worker-0"},
        "status": {"vifs": {"eth0": {"default": true, "vif": {"versioned_object.data": {"id": m.id("pod")}}}}}}));
    o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrLoadBalancer",
        "metadata": {"name": "svc", "namespace": "a", "finalizers": fin("kuryr.openstack.org/kuryrloadbalancer-finalizers")},
        "spec": {},
        "status": {"loadbalancer": {"id": m.id("lb"), "subnet_id": m.id("svc_sub")},
                   "service_pub_ip_info": {"ip_id": m.id("fip"), "ip_addr": "", "alloc_method": "pool"}}}));
    o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetworkPolicy",
        "metadata": {"name": "np", "namespace": "a", "finalizers": fin("kuryr.openstack.org/networkpolicy-finalizer")},
        "spec": {}, "status": {"securityGroupId": m.id("np_sg")}}));
    o
}

/// Reads an object as JSON (`None` when gone), volatile fields out.
async fn read(t: &Target, coll: &str, id: &str) -> Option<Value> {
    let os = &t.os;
    let r = match coll {
        "networks" => os
            .get_network(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "subnets" => os
            .get_subnet(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "ports" => os
            .get_port(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "trunks" => os
            .get_trunk(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "routers" => os
            .get_router(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "security-groups" => os
            .get_security_group(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "subnetpools" => os
            .get_subnetpool(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "floatingips" => os
            .get_floating_ip(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        "loadbalancers" => os
            .get_load_balancer(id)
            .await
            .map(|v| serde_json::to_value(v).unwrap()),
        other => panic!("no reader for {other}"),
    };
    match r {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("updated_at");
                o.remove("revision_number");
                o.remove("operating_status");
            }
            Some(v)
        }
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("read {coll}/{id}: {e}"),
    }
}

/// Deletes what is left of the test's objects, last made first (best effort, retried).
async fn teardown(t: &Target, m: &Made) {
    let os = &t.os;
    for (coll, id) in m.all.iter().rev() {
        for _ in 0..10 {
            let r = match *coll {
                "loadbalancers" => os.delete_load_balancer_cascade(id).await.map(|_| ()),
                "routers" => {
                    for p in os
                        .list_ports(&steps::openstack::Query::new().eq("device_id", id.as_str()))
                        .await
                        .unwrap_or_default()
                    {
                        for f in &p.fixed_ips {
                            let _ = os
                                .remove_router_interface(id, "subnet_id", &f.subnet_id)
                                .await;
                        }
                    }
                    os.delete_router(id).await.map(|_| ())
                }
                "trunks" => os.delete_trunk(id).await.map(|_| ()),
                "ports" => os.delete_port(id).await.map(|_| ()),
                "subnets" => os.delete_subnet(id).await.map(|_| ()),
                "networks" => os.delete_network(id).await.map(|_| ()),
                "security-groups" => os.delete_security_group(id).await.map(|_| ()),
                "subnetpools" => os.delete_subnetpool(id).await.map(|_| ()),
                "floatingips" => os.delete_floating_ip(id).await.map(|_| ()),
                _ => Ok(()),
            };
            match r {
                Ok(()) => break,
                Err(e) if e.is_not_found() => break,
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        if *coll == "loadbalancers" {
            wait_lb(t, id, "GONE").await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_run_on_the_real_services_leaves_a_shared_project_intact() {
    let _one_at_a_time = REAL_SERVICES.lock().await;
    let t = real().await;
    let m = seed(&t).await;
    let result = std::panic::AssertUnwindSafe(check(&t, &m));
    let outcome = futures_catch(result).await;
    teardown(&t, &m).await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

async fn futures_catch<F: std::future::Future<Output = ()>>(
    f: std::panic::AssertUnwindSafe<F>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    use futures::FutureExt;
    f.catch_unwind().await
}

async fn check(t: &Target, m: &Made) {
    let project = t.os.project_id().await.expect("project id");
    let lab = lab::Lab::start(lab::LabConfig {
        empty: true,
        openstack: false,
        ..lab::LabConfig::default()
    })
    .await
    .expect("the lab's Kubernetes API");
    lab.store()
        .seed(kube_objects(t, m, &project))
        .expect("seed the cluster");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = lab.write_kubeconfig(dir.path()).unwrap();
    let kube = steps::kube::connect(&steps::kube::ClientOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        timeout: Some(Duration::from_secs(20)),
    })
    .await
    .expect("connect to the lab's API");
    let session = CleanupSession {
        kube: kube.clone(),
        openstack: t.os.clone(),
        target: JournalTarget {
            cluster_id: t.run.clone(),
            api_server: lab.kube_url(),
            openstack_auth_url: t.os.config().auth_url.clone(),
            openstack_project: project.clone(),
        },
        cluster_id: t.run.clone(),
        read_concurrency: 1,
    };
    let mut before = BTreeMap::new();
    for (coll, id) in &m.others {
        before.insert(
            (*coll, id.clone()),
            read(t, coll, id).await.expect("seeded"),
        );
    }

    // Plan: the user's VM and the appliance's subport are kept with what they block.
    let discovery = session.discover().await.expect("discover");
    assert!(
        discovery.snapshot.missing.is_empty(),
        "{:?}",
        discovery.snapshot.missing
    );
    let options = CleanupOptions {
        concurrency: 4,
        ..Default::default()
    };
    let plan = CleanupSession::plan(&discovery, &options).expect("plan");
    let kept = |kind: ObjKind, id: &str| plan.selection.kept(kind).contains(id);
    assert!(kept(ObjKind::Port, m.id("vm")));
    assert!(
        plan.selection
            .keep
            .iter()
            .any(|e| e.id == m.id("vm") && e.reason == Reason::ForeignPort)
    );
    assert!(kept(ObjKind::Network, m.id("net_b")));
    assert!(
        kept(ObjKind::Router, m.id("router")),
        "interfaces stay on it"
    );
    for id in ["net_a", "svc_net"] {
        assert!(
            plan.selection.deleted(ObjKind::Network).contains(m.id(id)),
            "{id}"
        );
    }

    // Run it.
    let jdir = dir.path().join("journal");
    let journal = start_run(
        &session,
        jdir.clone(),
        "real-1",
        "test",
        &discovery,
        &options,
        &plan,
    )
    .await
    .expect("start the run");
    let loaded = load_run::<CleanupSession>(journal.clone())
        .await
        .expect("load");
    let how = Execution {
        timing: Timing {
            poll: Duration::from_millis(500),
            wait_timeout: Duration::from_secs(300),
            in_doubt_grace: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 12,
                base: Duration::from_millis(500),
                cap: Duration::from_secs(10),
            },
            concurrency: 4,
        },
        progress: &NoProgress,
        cancel: tokio_util::sync::CancellationToken::new(),
        clock: &SystemClock,
        journal_dir: jdir.clone(),
        lease: LeaseTiming::new(Duration::from_secs(60), Duration::from_secs(20)).unwrap(),
        tool_version: "test".into(),
    };
    let summary = execute(&session, &loaded, &how).await.expect("execute");
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    let rec = read_cleanup(&journal).expect("read the run back");
    assert!(rec.sealed);

    // The first cluster's planned deletions are gone.
    for (key, coll) in [
        ("net_a", "networks"),
        ("svc_net", "networks"),
        ("pod", "ports"),
        ("np_sg", "security-groups"),
        ("pods_sg", "security-groups"),
        ("lb", "loadbalancers"),
        ("fip", "floatingips"),
    ] {
        assert_eq!(read(t, coll, m.id(key)).await, None, "{key} is still there");
    }
    // Everything else is unchanged, field for field.
    for ((coll, id), was) in &before {
        let now = read(t, coll, id).await;
        assert_eq!(now.as_ref(), Some(was), "{coll}/{id} changed or went");
    }
    // The first cluster's trunk lost only Kuryr's subport; its parent stays.
    let trunk = t.os.get_trunk(m.id("trunk")).await.unwrap();
    assert!(trunk.sub_ports.is_empty());
    lab.shutdown();
}
