//! `ovn-migrate ovs assess` against the REAL Neutron (Zed, ML2 with flat,
//! vlan on `physnet1` and vxlan) of `lab/real/up.sh`: the test creates a
//! violation of every check the recipe allows beside clean objects, runs the
//! tool, and expects exactly those IDs among the resources it created (the
//! real services keep state, and other tests' objects may be there too).
//!
//! Built only with the `real-openstack` feature (`scripts/test.sh` turns it
//! on after starting the services; `$OSLAB_DIR`, default `/tmp/oslab`, holds
//! their clouds.yaml, cloud `oslab`). Calls are sequential: the services run
//! on SQLite. Not creatable there, and so checked only in the lab: GRE
//! networks (no `gre` type driver), BGPVPN/VPNaaS (not installed), Nova
//! (not in the recipe: the canary check fails naming the missing endpoint),
//! and the OpenStackDeployment (settings come from flags here).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use steps::openstack::{CloudConfig, Error, OpenStack, Query, Service};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const PREFIX: &str = "ovsassess-";

fn clouds() -> PathBuf {
    let dir = std::env::var("OSLAB_DIR").unwrap_or_else(|_| "/tmp/oslab".into());
    PathBuf::from(dir).join("clouds.yaml")
}

/// Retries a call the SQLite-backed services answer 500 "database is locked" (other tests may run).
async fn retry<T, Fut: std::future::Future<Output = Result<T, Error>>>(
    mut f: impl FnMut() -> Fut,
) -> T {
    for n in 0.. {
        match f().await {
            Ok(v) => return v,
            Err(e) if e.is_retryable() && n < 10 => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await
            }
            Err(e) => panic!("failed to {e}"),
        }
    }
    unreachable!()
}

struct Cloud {
    os: OpenStack,
    run: String,
}

impl Cloud {
    fn name(&self, what: &str) -> String {
        format!("{}{what}", self.run)
    }

    async fn post(&self, coll: &str, one: &str, body: Value) -> Value {
        let path = format!("/{coll}");
        retry(|| {
            self.os.write_one::<Value>(
                Service::Network,
                reqwest::Method::POST,
                &path,
                one,
                body.clone(),
            )
        })
        .await
        .value
    }

    async fn net(&self, name: &str, extra: Value) -> String {
        let mut body = json!({"name": self.name(name)});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.post("networks", "network", body).await["id"]
            .as_str()
            .unwrap()
            .into()
    }

    async fn subnet(
        &self,
        net: &str,
        cidr: &str,
        dhcp: bool,
        dns: &[&str],
        extra: Value,
    ) -> String {
        let mut body = json!({"name": self.name(cidr), "network_id": net, "cidr": cidr, "ip_version": if cidr.contains(':') { 6 } else { 4 },
            "enable_dhcp": dhcp, "dns_nameservers": dns});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.post("subnets", "subnet", body).await["id"]
            .as_str()
            .unwrap()
            .into()
    }

    async fn port(&self, net: &str, subnet: &str, sgs: &[&str], extra: Value) -> String {
        let mut body = json!({"name": self.name("port"), "network_id": net, "fixed_ips": [{"subnet_id": subnet}],
            "device_owner": "compute:nova", "device_id": format!("{}-vm", self.run), "security_groups": sgs});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.post("ports", "port", body).await["id"]
            .as_str()
            .unwrap()
            .into()
    }

    /// A group whose default egress rules are replaced by `rules`.
    async fn sg(&self, name: &str, stateful: bool, rules: &[Value]) -> String {
        let g = self
            .post(
                "security-groups",
                "security_group",
                json!({"name": self.name(name), "stateful": stateful}),
            )
            .await;
        let id = g["id"].as_str().unwrap().to_string();
        for r in g["security_group_rules"].as_array().unwrap() {
            let rid = r["id"].as_str().unwrap().to_string();
            retry(|| self.os.delete_security_group_rule(&rid)).await;
        }
        for r in rules {
            let mut r = r.clone();
            r["security_group_id"] = json!(id);
            self.post("security-group-rules", "security_group_rule", r)
                .await;
        }
        id
    }

    async fn router_iface(&self, router: &str, subnet: &str) {
        retry(|| self.os.add_router_interface(router, "subnet_id", subnet)).await;
    }
}

/// Lists a whole Neutron collection.
async fn list_all(os: &OpenStack, coll: &'static str) -> Vec<Value> {
    let (path, q) = (format!("/{coll}"), Query::new());
    retry(|| os.list::<Value>(Service::Network, &path, coll, &q)).await
}

/// Deletes every object a run of this test left (names starting with [`PREFIX`]).
async fn clean(os: &OpenStack, prefix: &str) {
    let mine = |n: &Value| n["name"].as_str().is_some_and(|s| s.starts_with(prefix));
    let list = |coll: &'static str| list_all(os, coll);
    let ports: Vec<Value> = list("ports").await;
    let routers: Vec<Value> = list("routers")
        .await
        .into_iter()
        .filter(|r| mine(r))
        .collect();
    let router_ids: BTreeSet<&str> = routers.iter().filter_map(|r| r["id"].as_str()).collect();
    for f in list("floatingips").await {
        if f["description"]
            .as_str()
            .is_some_and(|d| d.starts_with(prefix))
        {
            let id = f["id"].as_str().unwrap().to_string();
            retry(|| os.delete_floating_ip(&id)).await;
        }
    }
    for p in ports.iter().filter(|p| {
        router_ids.contains(p["device_id"].as_str().unwrap_or(""))
            && p["device_owner"] == "network:router_interface"
    }) {
        let (r, pid) = (
            p["device_id"].as_str().unwrap().to_string(),
            p["id"].as_str().unwrap().to_string(),
        );
        retry(|| os.remove_router_interface(&r, "port_id", &pid)).await;
    }
    for r in &routers {
        let id = r["id"].as_str().unwrap().to_string();
        retry(|| os.delete_router(&id)).await;
    }
    for p in ports.iter().filter(|p| mine(p)) {
        let id = p["id"].as_str().unwrap().to_string();
        retry(|| os.delete_port(&id)).await;
    }
    for n in list("networks").await.into_iter().filter(|n| mine(n)) {
        let id = n["id"].as_str().unwrap().to_string();
        retry(|| os.delete_network(&id)).await;
    }
    for g in list("security-groups")
        .await
        .into_iter()
        .filter(|g| mine(g))
    {
        let id = g["id"].as_str().unwrap().to_string();
        retry(|| os.delete_security_group(&id)).await;
    }
    for a in list("address-groups").await.into_iter().filter(|a| mine(a)) {
        let id = a["id"].as_str().unwrap().to_string();
        let path = format!("/address-groups/{id}");
        retry(|| os.call_empty(Service::Network, reqwest::Method::DELETE, &path, None)).await;
    }
}

/// Creates the violations and clean objects; returns the expected IDs per check and every ID created.
async fn build(c: &Cloud) -> (BTreeMap<&'static str, Vec<String>>, BTreeSet<String>) {
    let mut e: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut add = |id: &'static str, v: &str| e.entry(id).or_default().push(v.to_string());
    let egress_any_v4 = json!({"direction": "egress", "ethertype": "IPv4"});
    let open = c
        .sg(
            "open",
            true,
            &[
                egress_any_v4.clone(),
                json!({"direction": "egress", "ethertype": "IPv6"}),
            ],
        )
        .await;
    let v4_only = c
        .sg("v4-only", true, std::slice::from_ref(&egress_any_v4))
        .await;
    let web = c.sg("web-only", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443})]).await;
    let stateless = c
        .sg("stateless", false, std::slice::from_ref(&egress_any_v4))
        .await;
    let ag = c
        .post(
            "address-groups",
            "address_group",
            json!({"name": c.name("dhcp-elsewhere"), "addresses": ["192.0.2.0/24"]}),
        )
        .await;
    let ag_sg = c.sg("dhcp-to-ag", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "udp", "port_range_min": 67, "port_range_max": 67, "remote_address_group_id": ag["id"]})]).await;

    // Clean: Geneve-safe MTU, DNS, DHCP, open egress.
    let clean = c
        .net(
            "clean",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let clean_sub = c
        .subnet(&clean, "10.110.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    c.port(&clean, &clean_sub, &[&open], json!({})).await;
    // networks_mtu (Neutron's VXLAN default 1450), subnets_without_dns, DHCPv4 blocked.
    let legacy = c
        .net("legacy", json!({"provider:network_type": "vxlan"}))
        .await;
    add("networks_mtu_size_check", &legacy);
    let legacy_sub = c
        .subnet(&legacy, "10.120.0.0/24", true, &[], json!({}))
        .await;
    add("subnets_without_dns_nameservers_check", &legacy_sub);
    let p = c.port(&legacy, &legacy_sub, &[&web], json!({})).await;
    add("ports_with_blocked_access_to_dhcpv4_check", &p);
    // subnets_without_enabled_dhcp.
    let stat = c
        .net(
            "static",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let stat_sub = c
        .subnet(&stat, "10.130.0.0/24", false, &["192.0.2.53"], json!({}))
        .await;
    c.port(&stat, &stat_sub, &[&open], json!({})).await;
    add("subnets_without_enabled_dhcp_check", &stat_sub);
    // subnets_ip_address_availability + metadata: a /29 (pool .2-.6) filled.
    let full = c
        .net(
            "full",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let full_sub = c
        .subnet(&full, "10.140.0.0/29", true, &["192.0.2.53"], json!({}))
        .await;
    for _ in 0..5 {
        c.port(&full, &full_sub, &[&open], json!({})).await;
    }
    add("subnets_ip_address_availability_check", &full);
    add("subnets_metadata_port_ip_check", &full_sub);
    // Metadata only: one full /29 beside a roomy /24.
    let split = c
        .net(
            "split",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let split_full = c
        .subnet(&split, "10.141.0.0/29", true, &["192.0.2.53"], json!({}))
        .await;
    c.subnet(&split, "10.142.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    for _ in 0..5 {
        c.port(&split, &split_full, &[&open], json!({})).await;
    }
    add("subnets_metadata_port_ip_check", &split_full);
    // routers_internal_mtu: 1442 and 1400 behind one router.
    let a = c
        .net(
            "mtu-a",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let a_sub = c
        .subnet(&a, "10.150.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let b = c
        .net(
            "mtu-b",
            json!({"provider:network_type": "vxlan", "mtu": 1400}),
        )
        .await;
    let b_sub = c
        .subnet(&b, "10.151.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let mixed = c
        .post("routers", "router", json!({"name": c.name("mixed")}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.router_iface(&mixed, &a_sub).await;
    c.router_iface(&mixed, &b_sub).await;
    add("routers_internal_mtu_check", &mixed);
    // routers_gateway_mtu: the gateway network (1500) differs from the one internal (1442).
    let public = c.net("public", json!({"provider:network_type": "flat", "provider:physical_network": c.name("ext"), "router:external": true})).await;
    c.subnet(&public, "203.0.113.0/24", false, &[], json!({}))
        .await;
    let uniform = c
        .post(
            "routers",
            "router",
            json!({"name": c.name("uniform"), "external_gateway_info": {"network_id": public}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.router_iface(&uniform, &clean_sub).await;
    add("routers_gateway_mtu_check", &uniform);
    // networks_provider_type: a VLAN network with an instance, no router.
    let vlan = c
        .net(
            "vlan",
            json!({"provider:network_type": "vlan", "provider:physical_network": "physnet1"}),
        )
        .await;
    let vlan_sub = c
        .subnet(&vlan, "10.160.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    c.port(
        &vlan,
        &vlan_sub,
        &[&open],
        json!({"binding:vnic_type": "direct"}),
    )
    .await;
    add("networks_provider_type_check", &vlan);
    // networks_provider_type_routing + sriov_ports_floating_ip: routed VLAN, an SR-IOV port with a floating IP.
    let routed = c
        .net(
            "vlan-routed",
            json!({"provider:network_type": "vlan", "provider:physical_network": "physnet1"}),
        )
        .await;
    let routed_sub = c
        .subnet(&routed, "10.161.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let sriov = c
        .port(
            &routed,
            &routed_sub,
            &[&open],
            json!({"binding:vnic_type": "direct"}),
        )
        .await;
    c.port(
        &routed,
        &routed_sub,
        &[&open],
        json!({"binding:vnic_type": "direct"}),
    )
    .await;
    let edge = c
        .post(
            "routers",
            "router",
            json!({"name": c.name("edge"), "external_gateway_info": {"network_id": public}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.router_iface(&edge, &routed_sub).await;
    c.post(
        "floatingips",
        "floatingip",
        json!({"floating_network_id": public, "port_id": sriov, "description": c.name("fip")}),
    )
    .await;
    add("networks_provider_type_routing_check", &routed);
    add("sriov_ports_floating_ip_check", &sriov);
    // DHCPv4 blocked through an address group (the reference reads it as "any").
    let agn = c
        .net("ag", json!({"provider:network_type": "vxlan", "mtu": 1442}))
        .await;
    let agn_sub = c
        .subnet(&agn, "10.190.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let p = c.port(&agn, &agn_sub, &[&ag_sg], json!({})).await;
    add("ports_with_blocked_access_to_dhcpv4_check", &p);
    // DHCPv6 blocked: a DHCPv6-stateful subnet, IPv4-only egress.
    let ds = c
        .net(
            "dual",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let ds4 = c
        .subnet(&ds, "10.170.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let ds6 = c
        .subnet(
            &ds,
            "2001:db8:170::/64",
            true,
            &["2001:db8::53"],
            json!({"ipv6_address_mode": "dhcpv6-stateful", "ipv6_ra_mode": "dhcpv6-stateful"}),
        )
        .await;
    let mut body = json!({"fixed_ips": [{"subnet_id": ds4}, {"subnet_id": ds6}]});
    body["name"] = json!(c.name("port"));
    let p = c.port(&ds, &ds4, &[&v4_only], body).await;
    add("ports_with_blocked_access_to_dhcpv6_check", &p);
    // Stateless group without the DHCP reply rule.
    let sl = c
        .net(
            "stateless",
            json!({"provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let sl_sub = c
        .subnet(&sl, "10.180.0.0/24", true, &["192.0.2.53"], json!({}))
        .await;
    let p = c.port(&sl, &sl_sub, &[&stateless], json!({})).await;
    add("stateless_security_groups_dhcp_check", &p);

    let mut mine = BTreeSet::new();
    for coll in [
        "networks",
        "subnets",
        "ports",
        "routers",
        "security-groups",
        "address-groups",
    ] {
        for o in list_all(&c.os, coll).await {
            let named = o["name"].as_str().is_some_and(|n| n.starts_with(&c.run));
            let router_port = o["device_id"]
                .as_str()
                .is_some_and(|d| [&mixed, &uniform, &edge].contains(&&d.to_string()));
            if named || router_port {
                mine.insert(o["id"].as_str().unwrap().to_string());
            }
        }
    }
    (e, mine)
}

#[tokio::test]
async fn assess_finds_exactly_the_violations_made_in_the_real_neutron() {
    let cfg = CloudConfig::from_clouds_yaml(&clouds(), "oslab").unwrap_or_else(|e| {
        panic!("the real OpenStack services are not set up ({e}): run `bash lab/real/up.sh` first")
    });
    let os = OpenStack::new(cfg).unwrap();
    os.authenticate().await.unwrap_or_else(|e| {
        panic!("the real services are not reachable ({e}): run `bash lab/real/up.sh`")
    });
    clean(&os, PREFIX).await;
    let c = Cloud {
        os: os.clone(),
        run: format!("{PREFIX}{:08x}-", rand_u32()),
    };
    let (mut want, mine) = build(&c).await;
    let out = Command::new(BIN)
        .args([
            "ovs",
            "assess",
            "--no-progress",
            "--no-deployment",
            "--concurrency",
            "1",
            "--page-size",
            "50",
            "--output",
            "json",
            "--tenant-network-types",
            "vxlan",
            "--dhcp-lease-duration",
            "86400",
        ])
        .env("OS_CLIENT_CONFIG_FILE", clouds())
        .env("OS_CLOUD", "oslab")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    clean(&os, &c.run).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for check in doc["checks"].as_array().unwrap() {
        let v: Vec<String> = check["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        got.insert(check["id"].as_str().unwrap().into(), v);
    }
    // Settings from flags, and no Nova in the recipe.
    assert_eq!(
        got["neutron_tenant_network_types_check"],
        vec!["--tenant-network-types"]
    );
    assert_eq!(
        got["dhcp_lease_duration_check"],
        vec!["--dhcp-lease-duration=86400"]
    );
    let canary = &got["canary_instances_check"];
    assert!(
        canary.len() == 1
            && canary[0].starts_with("check failed: Nova's compute services could not be read")
            && canary[0].contains("compute"),
        "{canary:?}"
    );
    assert!(
        got["unsupported_features_check"].is_empty(),
        "the recipe has no BGPVPN/VPNaaS"
    );
    for id in [
        "neutron_tenant_network_types_check",
        "dhcp_lease_duration_check",
        "canary_instances_check",
        "unsupported_features_check",
    ] {
        got.remove(id);
    }
    // Everything else decided (an error is not filtered away below)…
    for (id, v) in &got {
        assert!(
            !v.iter().any(|x| x.starts_with("check failed")),
            "{id}: {v:?}"
        );
    }
    // …and flagged exactly the violations made, among the objects made.
    for (id, v) in got.iter_mut() {
        v.retain(|x| mine.contains(x));
        v.sort();
        want.entry(id_static(id)).or_default().sort();
    }
    let want: BTreeMap<String, Vec<String>> =
        want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(got, want);
}

fn id_static(id: &str) -> &'static str {
    steps::ovs::checks::by_id(id).expect("a known check").id
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (t.as_nanos() as u32) ^ std::process::id()
}
