//! The cleanup's OpenStack calls against the two targets of `common/`: the
//! lab's simulated cloud, always, and the real Keystone/Neutron/Octavia of
//! `lab/real/up.sh` with the `real-openstack` feature (`scripts/test.sh`
//! turns it on; the real tests fail loudly when the services are down, and
//! take turns: SQLite). One test per fact of the item 6, each going
//! through the cleanup's own edges (`edge::act`/`observe`) and verdicts.

use std::time::{Duration, Instant};

use serde_json::json;
use steps::kuryr::cleanup::edge::{observe, refresh};
use steps::kuryr::cleanup::graph::Op;
use steps::kuryr::cleanup::verdict::{Answer, CallVerdict, RetryClass, Seen, classify_call};
use steps::openstack::neutron::SubPort;

#[macro_use]
mod common;

use common::*;

conformance!(
    subnet_pool_with_subnets_answers_400_subnet_pool_delete_error,
    security_group_on_a_port_answers_409_in_use,
    trunk_parent_answers_409_and_subport_batches_are_re_read,
    remove_router_interface_deletes_the_interface_port,
    lb_delete_answers_409_while_pending_then_cascade_is_polled_to_404,
    tags_in_post_bodies_are_refused_except_on_ports,
);

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
