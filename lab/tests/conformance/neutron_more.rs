//! Conformance cases for `fields=`, pool-scoped subnet allocation, router
//! gateway ports and the quota API (issue 14), run against both targets like
//! the rest of the suite (`conformance.rs` declares them).

use reqwest::Method;
use serde_json::{Value, json};
use steps::openstack::{Outcome, Query, Service};

use super::{Target, api_err, retry};

async fn get(t: &Target, path: &str, q: &Query) -> Value {
    let r: Outcome<Value> =
        t.os.call(Service::Network, Method::GET, path, q, None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(r.status, 200, "GET {path}");
    r.value
}

async fn put(
    t: &Target,
    path: &str,
    body: Value,
) -> Result<Outcome<Value>, steps::openstack::Error> {
    t.os.call(
        Service::Network,
        Method::PUT,
        path,
        &Query::new(),
        Some(&body),
    )
    .await
}

fn keys(o: &Value) -> Vec<String> {
    let mut k: Vec<String> = o.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

pub(crate) async fn fields_on_lists_and_shows(t: Target) {
    let (net, _) = super::net_with_subnet(&t, "10.78.1.0/24").await;
    let p = super::port(&t, &net, "f").await;
    let q = Query::new().eq("fields", "id").eq("fields", "name");
    let list = get(&t, "/networks", &q.clone().eq("id", net.as_str())).await;
    let nets = list["networks"].as_array().expect("networks");
    assert_eq!(nets.len(), 1);
    assert_eq!(keys(&nets[0]), ["id", "name"]);
    let one = get(
        &t,
        &format!("/networks/{net}"),
        &Query::new().eq("fields", "id"),
    )
    .await;
    assert_eq!(one["network"], json!({"id": net}));
    // `port list --long` asks for these; an unknown name is ignored.
    let q = Query::new()
        .eq("fields", "id")
        .eq("fields", "fixed_ips")
        .eq("fields", "no_such_attribute")
        .eq("network_id", net.as_str());
    let ports = get(&t, "/ports", &q).await;
    let ports = ports["ports"].as_array().expect("ports");
    let mine: Vec<&Value> = ports.iter().filter(|x| x["id"] == p.as_str()).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(keys(mine[0]), ["fixed_ips", "id"]);
    t.os.delete_port(&p).await.unwrap();
    t.os.delete_network(&net).await.unwrap();
}

pub(crate) async fn pool_scoped_allocation(t: Target) {
    // A subnet outside any pool, and one from another pool, do not take the
    // pool's first prefix: Neutron allocates within the pool's own subnets.
    let mut nets = Vec::new();
    for i in 0..3 {
        let n =
            t.os.create_network(json!({"name": format!("{}-pool-{i}", t.run)}))
                .await
                .unwrap();
        nets.push(n.value.id);
    }
    let plain = t
        .os
        .create_subnet(json!({"network_id": nets[0], "ip_version": 4, "cidr": "10.201.0.0/24"}))
        .await
        .unwrap();
    assert_eq!(plain.status, 201);
    let mut pools = Vec::new();
    let mut cidrs = Vec::new();
    for (i, net) in nets[1..].iter().enumerate() {
        let pool = t.os.create_subnetpool(json!({"name": format!("{}-pool-{i}", t.run), "prefixes": ["10.201.0.0/16"], "default_prefixlen": 24})).await.unwrap();
        let sub =
            t.os.create_subnet(
                json!({"network_id": net, "ip_version": 4, "subnetpool_id": pool.value.id}),
            )
            .await
            .unwrap();
        cidrs.push(sub.value.cidr);
        pools.push(pool.value.id);
    }
    assert_eq!(
        cidrs,
        ["10.201.0.0/24", "10.201.0.0/24"],
        "each pool starts at its first prefix"
    );
    for n in &nets {
        t.os.delete_network(n).await.unwrap();
    }
    for p in &pools {
        t.os.delete_subnetpool(p).await.unwrap();
    }
}

async fn gateway_ports(t: &Target, router: &str) -> Vec<Value> {
    let q = Query::new()
        .eq("device_id", router)
        .eq("device_owner", "network:router_gateway");
    get(t, "/ports", &q).await["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(crate) async fn router_gateway_ports(t: Target) {
    let ext =
        t.os.create_network(json!({"name": format!("{}-ext", t.run), "router:external": true}))
            .await
            .unwrap()
            .value
            .id;
    let sub =
        t.os.create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "198.51.100.0/24"}))
            .await
            .unwrap()
            .value
            .id;
    let body = json!({"router": {"name": format!("{}-gw", t.run), "external_gateway_info": {"network_id": ext}}});
    let none = Query::new();
    let r: Outcome<Value> = retry(|| {
        t.os.call(
            Service::Network,
            Method::POST,
            "/routers",
            &none,
            Some(&body),
        )
    })
    .await
    .unwrap();
    assert_eq!(r.status, 201);
    let router = r.value["router"]["id"].as_str().unwrap().to_string();
    let ports = gateway_ports(&t, &router).await;
    assert_eq!(ports.len(), 1, "{ports:?}");
    let gp = &ports[0];
    assert_eq!(gp["network_id"], ext.as_str());
    assert_eq!(gp["project_id"], "");
    assert_eq!(gp["security_groups"], json!([]));
    assert_eq!(gp["fixed_ips"][0]["subnet_id"], sub.as_str());
    let info = &r.value["router"]["external_gateway_info"];
    assert_eq!(info["network_id"], ext.as_str());
    assert_eq!(info["external_fixed_ips"], gp["fixed_ips"]);
    assert_eq!(info["enable_snat"], true);
    // The gateway port cannot be deleted through the port API.
    api_err(
        t.os.delete_port(gp["id"].as_str().unwrap()).await,
        409,
        Some("ServicePortInUse"),
    );

    let cleared = put(
        &t,
        &format!("/routers/{router}"),
        json!({"router": {"external_gateway_info": {}}}),
    )
    .await
    .unwrap();
    assert_eq!(
        cleared.value["router"]["external_gateway_info"],
        Value::Null
    );
    assert!(gateway_ports(&t, &router).await.is_empty());
    let set = put(
        &t,
        &format!("/routers/{router}"),
        json!({"router": {"external_gateway_info": {"network_id": ext}}}),
    )
    .await
    .unwrap();
    assert_eq!(
        set.value["router"]["external_gateway_info"]["network_id"],
        ext.as_str()
    );
    assert_eq!(gateway_ports(&t, &router).await.len(), 1);
    assert_eq!(t.os.delete_router(&router).await.unwrap().status, 204);
    let left = get(&t, "/ports", &Query::new().eq("device_id", router.as_str())).await;
    assert_eq!(left["ports"], json!([]), "removed with the router");
    t.os.delete_network(&ext).await.unwrap();
}

const DEFAULTS: &[(&str, i64)] = &[
    ("network", 100),
    ("subnet", 100),
    ("subnetpool", -1),
    ("port", 500),
    ("router", 10),
    ("floatingip", 50),
    ("rbac_policy", 10),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("trunk", -1),
];

pub(crate) async fn quotas(t: Target) {
    let project = t.os.project_id().await.unwrap();
    let path = format!("/quotas/{project}");
    // Start from the defaults (a failed earlier run may have left limits;
    // without any, the reset is a 404).
    if let Err(e) =
        t.os.call_empty(Service::Network, Method::DELETE, &path, None)
            .await
    {
        assert_eq!(e.kind(), Some("TenantQuotaNotFound"), "{e}");
    }
    let q = get(&t, &path, &Query::new()).await;
    for (r, l) in DEFAULTS {
        assert_eq!(q["quota"][*r], *l, "default for {r}");
    }
    let d = get(&t, &format!("{path}/details.json"), &Query::new()).await;
    let sg = &d["quota"]["security_group"];
    assert_eq!(sg["limit"], 10);
    assert_eq!(sg["reserved"], 0);
    assert!(sg["used"].is_i64(), "{d}");
    // `used` may lag behind deletions on the real Neutron (usage is resynced
    // when a reservation is made), so count what is there.
    let existing = get(
        &t,
        "/security-groups",
        &Query::new()
            .eq("project_id", project.as_str())
            .eq("fields", "id"),
    )
    .await;
    let used = existing["security_groups"].as_array().expect("list").len() as i64;
    assert!((0..10).contains(&used), "{existing}");

    // The default limit of 10 security groups is enforced with OverQuota.
    let mut made = Vec::new();
    for i in used..10 {
        let g = retry(|| {
            t.os.create_security_group(json!({"name": format!("{}-q{i}", t.run)}))
        })
        .await
        .unwrap();
        made.push(g.value.id);
    }
    let e = api_err(
        t.os.create_security_group(json!({"name": format!("{}-over", t.run)}))
            .await,
        409,
        Some("OverQuota"),
    );
    assert!(
        e.to_string()
            .contains("Quota exceeded for resources: ['security_group']"),
        "{e}"
    );
    let d = get(&t, &format!("{path}/details.json"), &Query::new()).await;
    assert_eq!(
        d["quota"]["security_group"]["used"], 10,
        "resynced by the refusal"
    );

    // A raised limit lets one more in; it is listed as non-default.
    let set = put(&t, &path, json!({"quota": {"security_group": "11"}}))
        .await
        .unwrap();
    assert_eq!(set.value["quota"]["security_group"], 11);
    assert_eq!(set.value["quota"]["network"], 100);
    let g = retry(|| {
        t.os.create_security_group(json!({"name": format!("{}-more", t.run)}))
    })
    .await
    .unwrap();
    made.push(g.value.id);
    let all = get(&t, "/quotas", &Query::new()).await;
    let mine: Vec<&Value> = all["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["project_id"] == project.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{all}");
    assert_eq!(mine[0]["security_group"], 11);
    api_err(
        put(&t, &path, json!({"quota": {"bogus": 1}})).await,
        400,
        Some("HTTPBadRequest"),
    );
    api_err(
        put(&t, &path, json!({"quota": {"network": "x"}})).await,
        400,
        Some("InvalidInput"),
    );

    let reset =
        t.os.call_empty(Service::Network, Method::DELETE, &path, None)
            .await
            .unwrap();
    assert_eq!(reset.status, 204);
    let again = api_err(
        t.os.call_empty(Service::Network, Method::DELETE, &path, None)
            .await,
        404,
        Some("TenantQuotaNotFound"),
    );
    assert!(
        again
            .to_string()
            .contains(&format!("Quota for tenant {project} could not be found.")),
        "{again}"
    );
    assert_eq!(
        get(&t, &path, &Query::new()).await["quota"]["security_group"],
        10
    );
    for id in made {
        t.os.delete_security_group(&id).await.unwrap();
    }
}
