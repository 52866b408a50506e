//! A cleanup and restore round trip against the two targets of `common/`:
//! seed a small Kuryr cluster and a stranger, read the C0 snapshot, select,
//! run the graph one call at a time through the cleanup's edges, check what
//! is gone and what is untouched field for field, restore from the snapshot
//! and measure the restore share, then tear down by a second cleanup. Plus,
//! on the real services only, Octavia's one-call create of a restore tree.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use steps::kuryr::cleanup::collect::{KubeSide, read_openstack};
use steps::kuryr::cleanup::edge::target;
use steps::kuryr::cleanup::graph::{Op, PlanOptions, plan};
use steps::kuryr::cleanup::restore::{Create, Deleted, plan_restore, vip_key};
use steps::kuryr::cleanup::select::{ObjKind, Reason, SelectOptions, select};
use steps::kuryr::cleanup::share::restore_share;
use steps::kuryr::cleanup::snapshot::*;
use steps::kuryr::identity::KuryrConfig;
use steps::openstack::neutron::SubPort;

#[macro_use]
mod common;

use common::*;

conformance!(cleanup_then_restore_round_trip);

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
