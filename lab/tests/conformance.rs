//! Conformance suite of the simulated OpenStack: each test is a scenario of
//! calls made through the tool's own client (`steps::openstack`), run against
//! two targets with the same assertions on statuses, Neutron error types and
//! the fields the tool reads: the lab's simulated cloud (always) and the real
//! Keystone, Neutron and Octavia started by `lab/real/up.sh` (ignored by
//! default; run with `--include-ignored` after starting them, and they fail
//! loudly when the services are down). Where the two differ, the real
//! service is right and the simulation is fixed.

use std::collections::BTreeSet;
use std::fmt::Debug;

use std::time::{Duration, Instant};

use lab::openstack::Cloud;
use serde_json::json;
use steps::openstack::neutron::SubPort;
use steps::openstack::{CloudConfig, Error, OpenStack, Query};

#[path = "conformance/neutron_more.rs"]
mod neutron_more;
#[path = "conformance/policy.rs"]
mod policy;
use neutron_more::{
    fields_on_lists_and_shows, pool_scoped_allocation, quotas, router_gateway_ports,
};
use policy::reader_cannot_write;

/// One target: a client, and the simulated cloud when that is the target.
struct Target {
    os: OpenStack,
    /// The simulated cloud, when it is the target (`None`: the real services).
    _cloud: Option<Cloud>,
    /// A unique prefix for names and tags of this run (the real services keep state).
    run: String,
}

fn run_id() -> String {
    format!("conf-{:08x}", rand::random::<u32>())
}

async fn sim() -> Target {
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let cloud = Cloud::start(
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
    let cfg = CloudConfig::from_clouds_yaml(&path, "oslab")
        .unwrap_or_else(|e| panic!("the real OpenStack services are not set up ({e}): run `OSLAB_DIR={dir} bash lab/real/up.sh` first"));
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

/// The real services keep their state in SQLite, which answers 500 "database
/// is locked" when tests hit one server from several threads at once (a
/// property of this fixture, not of Neutron on MySQL): the real-target tests
/// take turns.
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
    auth_and_catalog,
    network_tags_and_in_use,
    pagination_and_filters,
    trunk_subports,
    router_interfaces,
    security_groups,
    subnet_pools,
    ip_availability_and_extensions,
    floating_ips,
    not_found_everywhere,
    octavia_lifecycle,
    octavia_pending_conflict,
    octavia_pagination,
    fields_on_lists_and_shows,
    pool_scoped_allocation,
    router_gateway_ports,
    quotas,
    reader_cannot_write,
);

/// Retries a call while it fails with a retryable error (the real services on
/// SQLite answer 500 "database is locked" under parallel tests).
async fn retry<T, F, Fut>(mut f: F) -> Result<T, Error>
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
            r => return r,
        }
    }
}

/// Asserts an API error with a status and (Neutron) error type.
#[track_caller]
fn api_err<T: Debug>(r: Result<T, Error>, status: u16, kind: Option<&str>) -> Error {
    let e = r.expect_err("expected an API error");
    assert_eq!(e.status(), Some(status), "status of {e}");
    if let Some(k) = kind {
        assert_eq!(e.kind(), Some(k), "Neutron error type of {e}");
    }
    e
}

async fn net_with_subnet(t: &Target, cidr: &str) -> (String, String) {
    let net =
        t.os.create_network(json!({"name": format!("{}-net", t.run)}))
            .await
            .expect("create network");
    assert_eq!(net.status, 201);
    let sub = t
        .os
        .create_subnet(json!({"network_id": net.value.id, "ip_version": 4, "cidr": cidr, "name": format!("{}-sub", t.run)}))
        .await
        .expect("create subnet");
    assert_eq!(sub.status, 201);
    assert_eq!(
        sub.value.gateway_ip.as_deref(),
        Some(cidr.replace(".0/24", ".1").as_str())
    );
    assert!(sub.value.enable_dhcp);
    (net.value.id, sub.value.id)
}

async fn port(t: &Target, net: &str, name: &str) -> String {
    let p =
        t.os.create_port(json!({"network_id": net, "name": format!("{}-{name}", t.run)}))
            .await
            .expect("create port");
    assert_eq!(p.status, 201);
    p.value.id
}

async fn auth_and_catalog(t: Target) {
    let project = t.os.authenticate().await.expect("authenticate");
    assert!(!project.is_empty());
    assert!(
        t.os.endpoint(steps::openstack::Service::Network)
            .await
            .is_ok()
    );
    assert!(
        t.os.endpoint(steps::openstack::Service::LoadBalancer)
            .await
            .is_ok()
    );
    let mut bad = t.os.config().clone();
    if let steps::openstack::Credentials::Password { password, .. } = &mut bad.credentials {
        *password = steps::openstack::Secret::new("wrong");
    }
    let e = OpenStack::new(bad.clone())
        .unwrap()
        .authenticate()
        .await
        .expect_err("wrong password");
    assert!(matches!(e, Error::Unauthorized { status: 401, .. }), "{e}");
    assert!(e.to_string().contains("check the username"), "{e}");
    let mut region = t.os.config().clone();
    region.region_name = Some("NoSuchRegion".into());
    let e = OpenStack::new(region)
        .unwrap()
        .endpoint(steps::openstack::Service::Network)
        .await
        .expect_err("no endpoint");
    assert!(matches!(e, Error::NoEndpoint { .. }), "{e}");
    let mut gone = t.os.config().clone();
    gone.auth_url = "http://127.0.0.1:1/v3".into();
    let e = OpenStack::new(gone)
        .unwrap()
        .authenticate()
        .await
        .expect_err("unreachable");
    assert!(
        matches!(e, Error::Unreachable { .. }) && e.is_retryable(),
        "{e}"
    );
}

async fn network_tags_and_in_use(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    api_err(
        t.os.create_network(json!({"name": "x", "tags": ["a"]}))
            .await,
        400,
        Some("HTTPBadRequest"),
    );
    let (net, sub) = net_with_subnet(&t, "10.77.1.0/24").await;
    let n = t.os.get_network(&net).await.unwrap();
    assert_eq!(n.subnets, vec![sub.clone()]);
    assert_eq!(n.mtu, Some(1450));
    assert_eq!(n.network_type.as_deref(), Some("vxlan"));
    assert_eq!(n.router_external, Some(false));
    assert_eq!(n.port_security_enabled, Some(true));
    let put =
        t.os.replace_tags("networks", &net, &[&tag, "kuryr"])
            .await
            .unwrap();
    assert_eq!((put.status, put.value.len()), (200, 2));
    assert_eq!(
        t.os.add_tag("networks", &net, "extra")
            .await
            .unwrap()
            .status,
        201
    );
    assert_eq!(
        t.os.add_tag("networks", &net, "extra")
            .await
            .unwrap()
            .status,
        201
    );
    let ids = |v: Vec<steps::openstack::neutron::Network>| {
        v.into_iter().map(|n| n.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(t
            .os
            .list_networks(&Query::new().tags(&[&tag, "extra"]))
            .await
            .unwrap()),
        vec![net.clone()]
    );
    assert_eq!(
        ids(t
            .os
            .list_networks(&Query::new().tags(&[&tag, "nope"]))
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(t
            .os
            .list_networks(&Query::new().tags_any(&["nope", &tag]))
            .await
            .unwrap()),
        vec![net.clone()]
    );
    assert!(
        !ids(t
            .os
            .list_networks(&Query::new().not_tags(&[&tag]))
            .await
            .unwrap())
        .contains(&net)
    );
    let p = t.os.create_port(json!({"network_id": net, "name": "tagged", "tags": [tag.clone()], "device_owner": "compute:kuryr"})).await.unwrap();
    assert_eq!(p.value.tags, vec![tag.clone()]);
    assert_eq!(p.value.fixed_ips.len(), 1);
    assert_eq!(p.value.fixed_ips[0].subnet_id, sub);
    assert_eq!(
        p.value.security_groups.len(),
        1,
        "the project's default group"
    );
    let e = api_err(t.os.delete_network(&net).await, 409, Some("NetworkInUse"));
    assert!(e.is_conflict() && !e.is_retryable());
    assert!(e.to_string().contains(&p.value.id), "{e}");
    assert_eq!(t.os.delete_port(&p.value.id).await.unwrap().status, 204);
    api_err(
        t.os.delete_port(&p.value.id).await,
        404,
        Some("PortNotFound"),
    );
    assert_eq!(t.os.delete_network(&net).await.unwrap().status, 204);
    assert!(api_err(t.os.get_network(&net).await, 404, Some("NetworkNotFound")).is_not_found());
    api_err(t.os.get_subnet(&sub).await, 404, Some("SubnetNotFound"));
}

async fn pagination_and_filters(t: Target) {
    let (net, _) = net_with_subnet(&t, "10.77.2.0/24").await;
    let mut made = BTreeSet::new();
    for i in 0..5 {
        let owner = if i < 2 {
            "compute:kuryr"
        } else {
            "trunk:subport"
        };
        let p = t.os.create_port(json!({"network_id": net, "name": format!("{}-p{i}", t.run), "device_owner": owner, "device_id": format!("dev-{i}")})).await.unwrap();
        made.insert(p.value.id);
    }
    let all =
        t.os.list_ports(&Query::new().eq("network_id", &net).limit(2))
            .await
            .unwrap();
    assert_eq!(
        all.iter().map(|p| p.id.clone()).collect::<BTreeSet<_>>(),
        made,
        "all pages of 2"
    );
    let two =
        t.os.list_ports(
            &Query::new()
                .eq("network_id", &net)
                .eq("device_owner", "compute:kuryr"),
        )
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    let or =
        t.os.list_ports(
            &Query::new()
                .eq("device_id", "dev-0")
                .eq("device_id", "dev-4")
                .eq("network_id", &net),
        )
        .await
        .unwrap();
    assert_eq!(or.len(), 2, "repeated filter keys are OR-ed");
    api_err(
        t.os.list_ports(&Query::new().eq("no_such_attribute", "x"))
            .await,
        400,
        Some("HTTPBadRequest"),
    );
    for id in &made {
        t.os.delete_port(id).await.unwrap();
    }
    t.os.delete_network(&net).await.unwrap();
}

async fn trunk_subports(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    let (net, _) = net_with_subnet(&t, "10.77.3.0/24").await;
    let parent = port(&t, &net, "parent").await;
    let (c1, c2) = (port(&t, &net, "c1").await, port(&t, &net, "c2").await);
    let sp = |id: &str, seg| SubPort {
        port_id: id.into(),
        segmentation_type: "vlan".into(),
        segmentation_id: seg,
    };
    let trunk = t.os.create_trunk(json!({"name": format!("{}-trunk", t.run), "port_id": parent, "sub_ports": [sp(&c1, 101)]})).await.unwrap();
    assert_eq!(trunk.status, 201);
    assert_eq!(trunk.value.sub_ports, vec![sp(&c1, 101)]);
    let tid = trunk.value.id;
    assert_eq!(
        t.os.add_subports(&tid, &[sp(&c2, 102)])
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(t.os.get_subports(&tid).await.unwrap().len(), 2);
    api_err(
        t.os.add_subports(&tid, &[sp(&c2, 103)]).await,
        409,
        Some("TrunkPortInUse"),
    );
    api_err(t.os.delete_port(&c1).await, 409, Some("PortInUseAsSubPort"));
    api_err(
        t.os.delete_port(&parent).await,
        409,
        Some("PortInUseAsTrunkParent"),
    );
    t.os.replace_tags("trunks", &tid, &[&tag]).await.unwrap();
    let found =
        t.os.list_trunks(&Query::new().tags_any(&[&tag]))
            .await
            .unwrap();
    assert_eq!(
        found.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![tid.clone()]
    );
    assert_eq!(found[0].port_id, parent);
    let out = t.os.remove_subports(&tid, &[&c1, &c2]).await.unwrap();
    assert_eq!((out.status, out.value.sub_ports.len()), (200, 0));
    api_err(
        t.os.remove_subports(&tid, &[&c1]).await,
        404,
        Some("SubPortNotFound"),
    );
    assert_eq!(t.os.delete_trunk(&tid).await.unwrap().status, 204);
    api_err(t.os.get_trunk(&tid).await, 404, Some("TrunkNotFound"));
    for p in [&parent, &c1, &c2] {
        assert_eq!(t.os.delete_port(p).await.unwrap().status, 204);
    }
    t.os.delete_network(&net).await.unwrap();
}

async fn router_interfaces(t: Target) {
    let (net, sub) = net_with_subnet(&t, "10.77.4.0/24").await;
    let (net2, sub2) = net_with_subnet(&t, "10.77.5.0/24").await;
    let r =
        t.os.create_router(json!({"name": format!("{}-external-router", t.run)}))
            .await
            .unwrap();
    assert_eq!(r.status, 201);
    let rid = r.value.id;
    let added =
        t.os.add_router_interface(&rid, "subnet_id", &sub)
            .await
            .unwrap();
    assert_eq!(
        (
            added.status,
            added.value.subnet_id.as_str(),
            added.value.network_id.as_str()
        ),
        (200, sub.as_str(), net.as_str())
    );
    api_err(
        t.os.add_router_interface(&rid, "subnet_id", &sub).await,
        400,
        Some("BadRequest"),
    );
    let rports =
        t.os.list_ports(
            &Query::new()
                .eq("device_owner", "network:router_interface")
                .eq("device_id", &rid),
        )
        .await
        .unwrap();
    assert_eq!(rports.len(), 1);
    assert_eq!(rports[0].id, added.value.port_id);
    assert_eq!(rports[0].fixed_ips[0].ip_address, "10.77.4.1");
    api_err(
        t.os.delete_port(&added.value.port_id).await,
        409,
        Some("ServicePortInUse"),
    );
    api_err(t.os.delete_subnet(&sub).await, 409, Some("SubnetInUse"));
    api_err(t.os.delete_network(&net).await, 409, Some("NetworkInUse"));
    api_err(t.os.delete_router(&rid).await, 409, Some("RouterInUse"));
    assert_eq!(
        t.os.remove_router_interface(&rid, "subnet_id", &sub)
            .await
            .unwrap()
            .status,
        200
    );
    let e = api_err(
        t.os.remove_router_interface(&rid, "subnet_id", &sub).await,
        404,
        Some("RouterInterfaceNotFoundForSubnet"),
    );
    assert!(e.is_not_found());
    let p =
        t.os.create_port(json!({"network_id": net2, "fixed_ips": [{"subnet_id": sub2}]}))
            .await
            .unwrap()
            .value
            .id;
    let by_port =
        t.os.add_router_interface(&rid, "port_id", &p)
            .await
            .unwrap();
    assert_eq!(by_port.value.port_id, p);
    assert_eq!(
        t.os.get_port(&p).await.unwrap().device_owner,
        "network:router_interface"
    );
    assert_eq!(
        t.os.remove_router_interface(&rid, "port_id", &p)
            .await
            .unwrap()
            .status,
        200
    );
    api_err(t.os.get_port(&p).await, 404, Some("PortNotFound"));
    api_err(
        t.os.remove_router_interface(&rid, "port_id", &p).await,
        404,
        Some("RouterInterfaceNotFound"),
    );
    api_err(
        t.os.remove_router_interface("00000000-0000-0000-0000-000000000000", "subnet_id", &sub)
            .await,
        404,
        Some("RouterNotFound"),
    );
    assert_eq!(t.os.delete_router(&rid).await.unwrap().status, 204);
    api_err(t.os.get_router(&rid).await, 404, Some("RouterNotFound"));
    t.os.delete_network(&net).await.unwrap();
    t.os.delete_network(&net2).await.unwrap();
}

async fn security_groups(t: Target) {
    let sg = t.os.create_security_group(json!({"name": format!("sg/{}-np", t.run), "description": format!("Kuryr-Kubernetes Network Policy {} SG", t.run)})).await.unwrap();
    assert_eq!(sg.status, 201);
    let rules = &sg.value.security_group_rules;
    assert_eq!(rules.len(), 2);
    assert!(
        rules.iter().all(|r| r.direction == "egress"
            && r.protocol.is_none()
            && r.remote_ip_prefix.is_none())
    );
    let sgid = sg.value.id;
    let geneve = json!({"security_group_id": sgid, "direction": "ingress", "ethertype": "IPv4", "protocol": "udp",
        "port_range_min": 6081, "port_range_max": 6081, "remote_ip_prefix": "10.0.0.0/16"});
    let r =
        t.os.create_security_group_rule(geneve.clone())
            .await
            .unwrap();
    assert_eq!(
        (
            r.status,
            r.value.port_range_min,
            r.value.protocol.as_deref()
        ),
        (201, Some(6081), Some("udp"))
    );
    api_err(
        t.os.create_security_group_rule(geneve).await,
        409,
        Some("SecurityGroupRuleExists"),
    );
    let got = t.os.get_security_group(&sgid).await.unwrap();
    assert_eq!(got.security_group_rules.len(), 3);
    assert_eq!(
        got.security_group_rules
            .iter()
            .filter(|r| r.remote_ip_prefix.as_deref() == Some("10.0.0.0/16"))
            .count(),
        1
    );
    let (net, _) = net_with_subnet(&t, "10.77.6.0/24").await;
    let p =
        t.os.create_port(json!({"network_id": net, "security_groups": [sgid]}))
            .await
            .unwrap()
            .value;
    assert_eq!(p.security_groups, vec![sgid.clone()]);
    api_err(
        t.os.delete_security_group(&sgid).await,
        409,
        Some("SecurityGroupInUse"),
    );
    let listed =
        t.os.list_security_groups(&Query::new().eq("name", format!("sg/{}-np", t.run)))
            .await
            .unwrap();
    assert_eq!(listed.len(), 1);
    t.os.delete_port(&p.id).await.unwrap();
    assert_eq!(t.os.delete_security_group(&sgid).await.unwrap().status, 204);
    api_err(
        t.os.get_security_group(&sgid).await,
        404,
        Some("SecurityGroupNotFound"),
    );
    t.os.delete_network(&net).await.unwrap();
}

async fn subnet_pools(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    let pool = t.os.create_subnetpool(json!({"name": format!("{}-kuryr-pod-subnetpool", t.run), "prefixes": ["10.128.0.0/14"], "default_prefixlen": 23})).await.unwrap();
    assert_eq!(pool.status, 201);
    let pid = pool.value.id;
    t.os.replace_tags("subnetpools", &pid, &[&tag])
        .await
        .unwrap();
    let found =
        t.os.list_subnetpools(&Query::new().tags(&[&tag]))
            .await
            .unwrap();
    assert_eq!(
        found.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![pid.clone()]
    );
    let net =
        t.os.create_network(json!({"name": format!("{}-ns", t.run)}))
            .await
            .unwrap()
            .value
            .id;
    let sub =
        t.os.create_subnet(json!({"network_id": net, "ip_version": 4, "subnetpool_id": pid}))
            .await
            .unwrap()
            .value;
    assert_eq!(sub.subnetpool_id.as_deref(), Some(pid.as_str()));
    assert!(
        sub.cidr.starts_with("10.12") && sub.cidr.ends_with("/23"),
        "{}",
        sub.cidr
    );
    api_err(
        t.os.delete_subnetpool(&pid).await,
        400,
        Some("SubnetPoolDeleteError"),
    );
    t.os.delete_network(&net).await.unwrap();
    assert_eq!(t.os.delete_subnetpool(&pid).await.unwrap().status, 204);
    api_err(
        t.os.delete_subnetpool(&pid).await,
        404,
        Some("SubnetPoolNotFound"),
    );
}

async fn ip_availability_and_extensions(t: Target) {
    let (net, sub) = net_with_subnet(&t, "10.77.7.0/24").await;
    let a = port(&t, &net, "a").await;
    let b = port(&t, &net, "b").await;
    let av = t.os.get_network_ip_availability(&net).await.unwrap();
    assert_eq!((av.total_ips, av.used_ips), (253, 2));
    assert_eq!(av.subnet_ip_availability.len(), 1);
    assert_eq!(av.subnet_ip_availability[0].subnet_id, sub);
    let ext: BTreeSet<String> =
        t.os.list_extensions()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.alias)
            .collect();
    for alias in [
        "trunk",
        "standard-attr-tag",
        "router",
        "network-ip-availability",
        "pagination",
        "security-group",
        "subnet_allocation",
    ] {
        assert!(ext.contains(alias), "extension {alias} in {ext:?}");
    }
    assert!(!ext.contains("bgpvpn") && !ext.contains("vpnaas"));
    let dns =
        t.os.update(
            "subnets",
            "subnet",
            &sub,
            json!({"dns_nameservers": ["192.0.2.53"]}),
        )
        .await
        .unwrap();
    assert_eq!(dns.status, 200);
    assert_eq!(
        t.os.get_subnet(&sub).await.unwrap().dns_nameservers,
        vec!["192.0.2.53".to_string()]
    );
    for p in [a, b] {
        t.os.delete_port(&p).await.unwrap();
    }
    t.os.delete_network(&net).await.unwrap();
}

async fn floating_ips(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    let ext =
        t.os.create_network(json!({"name": format!("{}-public", t.run), "router:external": true}))
            .await
            .unwrap()
            .value
            .id;
    t.os.create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "198.51.100.0/24", "enable_dhcp": false})).await.unwrap();
    let fip =
        t.os.create_floating_ip(json!({"floating_network_id": ext, "description": "kuryr_lb"}))
            .await
            .unwrap();
    assert_eq!(fip.status, 201);
    assert!(fip.value.floating_ip_address.starts_with("198.51.100."));
    assert_eq!(fip.value.port_id, None);
    t.os.replace_tags("floatingips", &fip.value.id, &[&tag])
        .await
        .unwrap();
    let found =
        t.os.list_floating_ips(&Query::new().tags(&[&tag]))
            .await
            .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].description, "kuryr_lb");
    assert_eq!(
        t.os.delete_floating_ip(&fip.value.id).await.unwrap().status,
        204
    );
    api_err(
        t.os.delete_floating_ip(&fip.value.id).await,
        404,
        Some("FloatingIPNotFound"),
    );
    let kept =
        t.os.create_floating_ip(json!({"floating_network_id": ext}))
            .await
            .unwrap()
            .value
            .id;
    assert_eq!(
        t.os.delete_network(&ext).await.unwrap().status,
        204,
        "floating IPs do not block their network's delete"
    );
    api_err(
        t.os.get_floating_ip(&kept).await,
        404,
        Some("FloatingIPNotFound"),
    );
}

async fn not_found_everywhere(t: Target) {
    let id = "00000000-0000-0000-0000-000000000000";
    api_err(t.os.delete_network(id).await, 404, Some("NetworkNotFound"));
    api_err(t.os.delete_subnet(id).await, 404, Some("SubnetNotFound"));
    api_err(t.os.delete_port(id).await, 404, Some("PortNotFound"));
    api_err(t.os.delete_trunk(id).await, 404, Some("TrunkNotFound"));
    api_err(t.os.get_subports(id).await, 404, Some("TrunkNotFound"));
    api_err(t.os.delete_router(id).await, 404, Some("RouterNotFound"));
    api_err(
        t.os.delete_subnetpool(id).await,
        404,
        Some("SubnetPoolNotFound"),
    );
    api_err(
        t.os.delete_security_group(id).await,
        404,
        Some("SecurityGroupNotFound"),
    );
    api_err(
        t.os.delete_floating_ip(id).await,
        404,
        Some("FloatingIPNotFound"),
    );
    api_err(
        t.os.get_network_ip_availability(id).await,
        404,
        Some("NetworkNotFound"),
    );
    api_err(
        t.os.replace_tags("networks", id, &["x"]).await,
        404,
        Some("TagResourceNotFound"),
    );
    let e = api_err(t.os.get_load_balancer(id).await, 404, None);
    assert!(
        e.to_string().contains("Load Balancer") && e.to_string().contains("not found"),
        "{e}"
    );
    api_err(t.os.delete_load_balancer_cascade(id).await, 404, None);
    api_err(t.os.get_listener(id).await, 404, None);
    api_err(t.os.get_pool(id).await, 404, None);
}

async fn wait_lb(t: &Target, id: &str, want: &str) {
    let start = Instant::now();
    loop {
        let now = match t.os.get_load_balancer(id).await {
            Ok(lb) => lb.provisioning_status,
            Err(e) if e.is_not_found() => "GONE".into(),
            Err(e) => panic!("get load balancer: {e}"),
        };
        if now == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "load balancer {id} is {now}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn octavia_lifecycle(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    assert!(t.os.octavia_max_version().await.unwrap() >= (2, 5));
    let (net, sub) = net_with_subnet(&t, "10.77.8.0/24").await;
    let body = json!({"name": format!("{}-lb", t.run), "vip_subnet_id": sub, "tags": [tag.clone()], "description": tag.clone()});
    let lb = retry(|| t.os.create_load_balancer(body.clone()))
        .await
        .unwrap();
    assert_eq!(
        (lb.status, lb.value.provisioning_status.as_str()),
        (201, "PENDING_CREATE")
    );
    let id = lb.value.id;
    wait_lb(&t, &id, "ACTIVE").await;
    let listed =
        t.os.list_load_balancers(&Query::new().tags(&[&tag]))
            .await
            .unwrap();
    assert_eq!(
        listed.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        vec![id.clone()]
    );
    assert_eq!(listed[0].tags, vec![tag.clone()]);
    let body = json!({"name": "l1", "loadbalancer_id": id, "protocol": "TCP", "protocol_port": 80});
    let l = retry(|| t.os.create_listener(body.clone())).await.unwrap();
    assert_eq!(l.status, 201);
    wait_lb(&t, &id, "ACTIVE").await;
    let body = json!({"name": "p1", "listener_id": l.value.id, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"});
    let p = retry(|| t.os.create_pool(body.clone())).await.unwrap();
    wait_lb(&t, &id, "ACTIVE").await;
    let body = json!({"address": "10.77.8.20", "protocol_port": 8080, "subnet_id": sub});
    let m = retry(|| t.os.create_member(&p.value.id, body.clone()))
        .await
        .unwrap();
    assert_eq!(m.status, 201);
    wait_lb(&t, &id, "ACTIVE").await;
    let got = t.os.get_load_balancer(&id).await.unwrap();
    assert_eq!((got.listeners.len(), got.pools.len()), (1, 1));
    assert_eq!(got.vip_subnet_id.as_deref(), Some(sub.as_str()));
    assert_eq!(
        t.os.list_listeners(&Query::new().eq("loadbalancer_id", &id))
            .await
            .unwrap()
            .len(),
        1
    );
    let pools =
        t.os.list_pools(&Query::new().eq("loadbalancer_id", &id))
            .await
            .unwrap();
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0].members.len(), 1);
    let members = t.os.list_members(&p.value.id).await.unwrap();
    assert_eq!(
        (members[0].address.as_str(), members[0].protocol_port),
        ("10.77.8.20", 8080)
    );
    assert_eq!(
        retry(|| t.os.delete_load_balancer_cascade(&id))
            .await
            .unwrap()
            .status,
        204
    );
    wait_lb(&t, &id, "GONE").await;
    api_err(t.os.get_listener(&l.value.id).await, 404, None);
    api_err(t.os.get_pool(&p.value.id).await, 404, None);
    api_err(t.os.delete_load_balancer_cascade(&id).await, 404, None);
    let _ = t.os.delete_network(&net).await;
}

async fn octavia_pending_conflict(t: Target) {
    let (_net, sub) = net_with_subnet(&t, "10.77.9.0/24").await;
    let body = json!({"name": format!("{}-pending", t.run), "vip_subnet_id": sub, "provider": "noop_driver"});
    let lb = retry(|| t.os.create_load_balancer(body.clone()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        t.os.get_load_balancer(&lb.value.id)
            .await
            .unwrap()
            .provisioning_status,
        "PENDING_CREATE"
    );
    let e = api_err(
        t.os.delete_load_balancer_cascade(&lb.value.id).await,
        409,
        None,
    );
    assert!(e.is_conflict());
    assert_eq!(
        e.message(),
        Some(
            format!(
                "Invalid state PENDING_CREATE of loadbalancer resource {}",
                lb.value.id
            )
            .as_str()
        )
    );
    let e = api_err(
        t.os.create_listener(
            json!({"loadbalancer_id": lb.value.id, "protocol": "TCP", "protocol_port": 80}),
        )
        .await,
        409,
        None,
    );
    assert_eq!(
        e.message(),
        Some(
            format!(
                "Load Balancer {} is immutable and cannot be updated.",
                lb.value.id
            )
            .as_str()
        )
    );
}

async fn octavia_pagination(t: Target) {
    let tag = format!("openshiftClusterID={}", t.run);
    let (net, sub) = net_with_subnet(&t, "10.77.10.0/24").await;
    let mut made = BTreeSet::new();
    for i in 0..3 {
        let body =
            json!({"name": format!("{}-{i}", t.run), "vip_subnet_id": sub, "tags": [tag.clone()]});
        let lb = retry(|| t.os.create_load_balancer(body.clone()))
            .await
            .unwrap();
        made.insert(lb.value.id);
    }
    let all =
        t.os.list_load_balancers(&Query::new().tags(&[&tag]).limit(2))
            .await
            .unwrap();
    assert_eq!(all.into_iter().map(|l| l.id).collect::<BTreeSet<_>>(), made);
    for id in &made {
        wait_lb(&t, id, "ACTIVE").await;
        retry(|| t.os.delete_load_balancer_cascade(id))
            .await
            .unwrap();
    }
    for id in &made {
        wait_lb(&t, id, "GONE").await;
    }
    let _ = t.os.delete_network(&net).await;
}
