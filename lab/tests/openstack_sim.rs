//! Simulation-only tests of the lab's OpenStack (no real counterpart in the
//! recipe: Nova, token revocation, old Octavia, fault injection) and of the
//! seeded scenarios, all through the tool's own client.

use std::time::{Duration, Instant};

use lab::faults::{FaultRule, Faults};
use lab::openstack::{Cloud, CloudConfig};
use lab::scenario::{
    OvsConfig, ScenarioConfig, kuryr_cluster, kuryr_cluster_with_ids, ovs_deployment,
};
use steps::openstack::{OpenStack, Query};

fn client(cloud: &Cloud) -> (OpenStack, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clouds.yaml");
    std::fs::write(&path, cloud.clouds_yaml("lab")).unwrap();
    let cfg = steps::openstack::CloudConfig::from_clouds_yaml(&path, "lab").unwrap();
    (OpenStack::new(cfg).unwrap(), dir)
}

fn start(cfg: CloudConfig, faults: Faults) -> (Cloud, tokio::sync::broadcast::Receiver<String>) {
    let (tx, rx) = tokio::sync::broadcast::channel(64);
    (Cloud::start(&cfg, faults, tx).unwrap(), rx)
}

#[test]
fn scenarios_are_deterministic_and_large() {
    let cfg = ScenarioConfig::default();
    assert_eq!(kuryr_cluster(&cfg), kuryr_cluster(&cfg));
    assert_ne!(
        kuryr_cluster(&cfg),
        kuryr_cluster(&ScenarioConfig {
            seed: 2,
            ..cfg.clone()
        })
    );
    assert_eq!(
        ovs_deployment(&OvsConfig::default()),
        ovs_deployment(&OvsConfig::default())
    );
    let big = ScenarioConfig {
        namespaces: 200,
        pods_per_namespace: 25,
        ..cfg
    };
    let t = Instant::now();
    let s = kuryr_cluster(&big);
    let took = t.elapsed();
    assert_eq!(
        s.k8s_of_kind("Pod")
            .filter(|p| p["metadata"]["namespace"] != "openshift-kuryr")
            .count(),
        5000
    );
    assert_eq!(s.k8s_of_kind("KuryrPort").count(), 5000);
    // Printed, not asserted: no timing asserts in tests (a loaded machine is slower).
    eprintln!("200 namespaces, 5,000 pods generated in {took:?}");
}

#[tokio::test]
async fn kuryr_scenario_seeds_and_reads_back() {
    let (cloud, _) = start(CloudConfig::default(), Faults::default());
    let (s, ids) = kuryr_cluster_with_ids(&ScenarioConfig::default(), false);
    cloud.seed(&s);
    let (os, _dir) = client(&cloud);
    let nets = os
        .list_networks(&Query::new().tags(&[&ids.tag]))
        .await
        .unwrap();
    assert!(nets.iter().any(|n| n.id == ids.service_network_id));
    assert!(
        ids.namespace_network_ids
            .iter()
            .all(|id| nets.iter().any(|n| &n.id == id))
    );
    assert!(
        !nets.iter().any(|n| ids.other_ids.contains(&n.id)),
        "the other cluster's networks carry its own tag"
    );
    let lbs = os
        .list_load_balancers(&Query::new().tags(&[&ids.tag]))
        .await
        .unwrap();
    assert_eq!(lbs.len(), ids.load_balancer_ids.len());
    let trunks = os
        .list_trunks(&Query::new().tags_any(&[&ids.tag]))
        .await
        .unwrap();
    assert_eq!(
        trunks.iter().map(|t| t.sub_ports.len()).sum::<usize>(),
        9,
        "3 namespaces x 3 pods as subports"
    );
    let router = os.get_router(&ids.router_id).await.unwrap();
    assert_eq!(router.name, format!("{}-external-router", ids.cluster_id));
    let rports = os
        .list_ports(
            &Query::new()
                .eq("device_owner", "network:router_interface")
                .eq("device_id", &ids.router_id),
        )
        .await
        .unwrap();
    assert_eq!(
        rports.len(),
        1 + 1 + 3,
        "machines, service and 3 namespace subnets"
    );
    let np = os
        .list_security_groups(&Query::new().tags(&[&ids.tag]))
        .await
        .unwrap();
    assert!(
        ids.np_sg_ids
            .iter()
            .all(|id| np.iter().any(|g| &g.id == id))
    );
    let master = os.get_security_group(&ids.master_sg_id).await.unwrap();
    assert!(
        master
            .security_group_rules
            .iter()
            .any(|r| r.protocol.as_deref() == Some("udp") && r.port_range_min == Some(6081))
    );
    let fips = os
        .list_floating_ips(&Query::new().tags(&[&ids.tag]))
        .await
        .unwrap();
    assert!(
        fips.iter().all(|f| f.description == "kuryr_lb") && fips.len() == ids.floating_ip_ids.len()
    );
    // Every node's providerID is a seeded Nova server.
    for node in s.k8s_of_kind("Node") {
        let id = node["spec"]["providerID"]
            .as_str()
            .unwrap()
            .trim_start_matches("openstack:///");
        assert_eq!(os.get_server(id).await.unwrap().status, "ACTIVE");
    }
    // KuryrPorts point at real subports.
    let kp = s.k8s_of_kind("KuryrPort").next().unwrap();
    let port_id = kp["status"]["vifs"]["eth0"]["vif"]["versioned_object.data"]["id"]
        .as_str()
        .unwrap();
    assert_eq!(
        os.get_port(port_id).await.unwrap().device_owner,
        "trunk:subport"
    );
    let conf = s
        .k8s
        .iter()
        .find(|o| o["metadata"]["name"] == "kuryr-config")
        .unwrap();
    assert!(
        conf["data"]["kuryr.conf"]
            .as_str()
            .unwrap()
            .contains(&format!("pod_router = {}", ids.router_id))
    );
}

#[tokio::test]
async fn nova_reboot_goes_through_reboot_and_notifies() {
    let (cloud, mut rx) = start(CloudConfig::default(), Faults::default());
    let (s, ids) = kuryr_cluster_with_ids(&ScenarioConfig::default(), false);
    cloud.seed(&s);
    let (os, _dir) = client(&cloud);
    let id = &ids.server_ids[0];
    assert_eq!(os.reboot_server(id).await.unwrap().status, 202);
    assert_eq!(rx.recv().await.unwrap(), *id);
    assert_eq!(os.get_server(id).await.unwrap().status, "REBOOT");
    assert!(os.reboot_server(id).await.unwrap_err().is_conflict());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(os.get_server(id).await.unwrap().status, "ACTIVE");
    assert_eq!(os.add_server_tag(id, "canary").await.unwrap().status, 201);
    assert_eq!(os.add_server_tag(id, "canary").await.unwrap().status, 204);
    assert_eq!(
        os.list_servers(&Query::new().eq("tags", "canary"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(os.get_server("nope").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn reauthenticates_after_token_revocation() {
    let (cloud, _) = start(CloudConfig::default(), Faults::default());
    let (os, _dir) = client(&cloud);
    os.list_networks(&Query::new()).await.unwrap();
    cloud.revoke_tokens();
    os.list_networks(&Query::new())
        .await
        .expect("one 401 then a fresh token");
}

#[tokio::test]
async fn old_octavia_has_no_tags() {
    let (cloud, _) = start(
        CloudConfig {
            octavia_max_version: (2, 4),
            ..CloudConfig::default()
        },
        Faults::default(),
    );
    let (os, _dir) = client(&cloud);
    assert_eq!(os.octavia_max_version().await.unwrap(), (2, 4));
    let e = os
        .list_load_balancers(&Query::new().tags(&["x"]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(
        os.list_load_balancers(&Query::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn injected_faults_are_retryable_and_counted() {
    let faults = Faults::new(vec![FaultRule {
        method: Some("DELETE".into()),
        path_contains: "/ports/".into(),
        error_rate: 1.0,
        remaining: Some(1),
        ..Default::default()
    }]);
    let (cloud, _) = start(CloudConfig::default(), faults.clone());
    let (os, _dir) = client(&cloud);
    let net = os
        .create_network(serde_json::json!({"name": "n"}))
        .await
        .unwrap()
        .value
        .id;
    let port = os
        .create_port(serde_json::json!({"network_id": net}))
        .await
        .unwrap()
        .value
        .id;
    let e = os.delete_port(&port).await.unwrap_err();
    assert!(e.is_retryable() && e.status() == Some(503), "{e}");
    assert_eq!(os.delete_port(&port).await.unwrap().status, 204);
    assert_eq!(
        faults
            .calls()
            .get(&format!("DELETE /network/v2.0/ports/{port}")),
        Some(&1)
    );
}

#[tokio::test]
async fn ovs_scenario_has_each_violation() {
    let (cloud, _) = start(CloudConfig::default(), Faults::default());
    let (s, expected) = ovs_deployment(&OvsConfig::default());
    cloud.seed(&s);
    let (os, _dir) = client(&cloud);
    let n = os.get_network(&expected.networks_mtu[0]).await.unwrap();
    assert_eq!(
        (n.network_type.as_deref(), n.mtu),
        (Some("vxlan"), Some(1450))
    );
    assert!(
        os.get_subnet(&expected.subnets_without_dns[0])
            .await
            .unwrap()
            .dns_nameservers
            .is_empty()
    );
    assert!(
        !os.get_subnet(&expected.subnets_without_dhcp[0])
            .await
            .unwrap()
            .enable_dhcp
    );
    let av = os
        .get_network_ip_availability(&expected.subnet_ip_exhausted[0])
        .await
        .unwrap();
    assert_eq!(av.used_ips, av.total_ips);
    let fip = os
        .list_floating_ips(&Query::new().eq("port_id", &expected.sriov_floating_ip[0]))
        .await
        .unwrap();
    assert_eq!(fip.len(), 1);
}

#[tokio::test]
async fn nova_boots_on_a_forced_host_only_with_an_image_and_a_flavor() {
    let (cloud, _) = start(CloudConfig::default(), Faults::default());
    cloud.seed(&ovs_deployment(&OvsConfig::default()).0);
    let (os, _dir) = client(&cloud);
    let body = |host: &str| {
        serde_json::json!({"name": format!("c-{host}"), "imageRef": "img", "flavorRef": "fl",
            "availability_zone": format!("nova:{host}")})
    };
    let mut no_image = body("compute-0");
    no_image.as_object_mut().unwrap().remove("imageRef");
    let e = os.create_server(no_image).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(
        e.to_string().contains("'imageRef' is a required property"),
        "{e}"
    );
    // A known, up host builds it there; an unknown one never does.
    let ok = os.create_server(body("compute-1")).await.unwrap();
    assert_eq!(ok.status, 202);
    let s = os.get_server(&ok.value.id).await.unwrap();
    assert_eq!(
        (s.status.as_str(), s.host.as_deref()),
        ("BUILD", Some("compute-1"))
    );
    let bad = os.create_server(body("compute-9")).await.unwrap();
    let s = os.get_server(&bad.value.id).await.unwrap();
    assert_eq!(s.status, "ERROR");
}
