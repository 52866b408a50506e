//! `ovn-migrate ovs fix` against the REAL Neutron (Zed, ML2 with vxlan) of
//! `lab/real/up.sh`: the test makes a Keystone project of its own, creates
//! in it a violation of every check `fix` remedies (a VXLAN network at
//! Neutron's 1450, a subnet without DNS, a group blocking DHCPv4, one
//! blocking DHCPv6, a stateless group without the reply rule), runs
//! `ovs fix --all-safe --project <it>`, then `ovs assess`, and expects those
//! violations gone, the MTU at 1442 and tagged, and a twin VXLAN network in
//! the admin project untouched (the scope holds). A second `fix` changes
//! nothing. Everything it made is deleted, the project too.
//!
//! Built only with the `real-openstack` feature (`$OSLAB_DIR`, default
//! `/tmp/oslab`, holds the services' clouds.yaml, cloud `oslab`). Calls are
//! sequential: the services run on SQLite and other tests use them too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use steps::openstack::{CloudConfig, Credentials, Error, OpenStack, Query, Service};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const PREFIX: &str = "ovsfix-";
const TAG: &str = "ovn-migrate:adapted-mtu";

fn clouds() -> PathBuf {
    let dir = std::env::var("OSLAB_DIR").unwrap_or_else(|_| "/tmp/oslab".into());
    PathBuf::from(dir).join("clouds.yaml")
}

/// Retries a call the SQLite-backed services answer 500 "database is locked".
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

/// Keystone calls the tool's client does not make: projects.
struct Keystone {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Keystone {
    async fn login(cfg: &CloudConfig) -> Keystone {
        let Credentials::Password {
            username, password, ..
        } = &cfg.credentials
        else {
            panic!("the oslab cloud uses password auth");
        };
        let url = cfg.auth_url.trim_end_matches('/').to_string();
        let url = if url.ends_with("/v3") {
            url
        } else {
            format!("{url}/v3")
        };
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"}, "password": password.expose()}}},
            "scope": {"project": {"name": cfg.project_name.clone().unwrap_or("admin".into()), "domain": {"id": "default"}}}}});
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{url}/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "keystone: {}", resp.status());
        let token = resp.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_string();
        Keystone { http, url, token }
    }

    async fn projects(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/projects", self.url))
            .header("X-Auth-Token", &self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["projects"].as_array().cloned().unwrap_or_default()
    }

    async fn create_project(&self, name: &str) -> String {
        let v: Value = self
            .http
            .post(format!("{}/projects", self.url))
            .header("X-Auth-Token", &self.token)
            .json(&json!({"project": {"name": name, "domain_id": "default", "description": "ovs_fix_real"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["project"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no project: {v}"))
            .to_string()
    }

    async fn delete_project(&self, id: &str) {
        let r = self
            .http
            .delete(format!("{}/projects/{id}", self.url))
            .header("X-Auth-Token", &self.token)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success() || r.status() == 404,
            "{}",
            r.status()
        );
    }
}

struct Cloud {
    os: OpenStack,
    run: String,
    project: String,
}

impl Cloud {
    async fn post(&self, coll: &str, one: &str, mut body: Value, project: Option<&str>) -> Value {
        if body.get("name").is_some() || coll != "security-group-rules" {
            body["name"] = json!(format!(
                "{}{}",
                self.run,
                body["name"].as_str().unwrap_or(coll)
            ));
        }
        if let Some(p) = project {
            body["project_id"] = json!(p);
        }
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

    async fn id(&self, coll: &str, one: &str, body: Value) -> String {
        let p = self.project.clone();
        self.post(coll, one, body, Some(&p)).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A group of the project whose default egress rules are replaced by `rules`.
    async fn sg(&self, name: &str, stateful: bool, rules: &[Value]) -> String {
        let p = self.project.clone();
        let g = self
            .post(
                "security-groups",
                "security_group",
                json!({"name": name, "stateful": stateful}),
                Some(&p),
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
            self.post("security-group-rules", "security_group_rule", r, Some(&p))
                .await;
        }
        id
    }

    async fn get(&self, coll: &str, one: &str, id: &str) -> Value {
        let path = format!("/{coll}/{id}");
        retry(|| self.os.get_one::<Value>(Service::Network, &path, one)).await
    }
}

async fn list(os: &OpenStack, coll: &'static str, q: Query) -> Vec<Value> {
    let path = format!("/{coll}");
    retry(|| os.list::<Value>(Service::Network, &path, coll, &q)).await
}

/// Deletes what a run left: every object of `project`, and admin-project objects named `prefix…`.
async fn clean(os: &OpenStack, project: Option<&str>, prefix: &str) {
    let mine = |o: &Value| {
        project.is_some_and(|p| o["project_id"] == p)
            || o["name"].as_str().is_some_and(|n| n.starts_with(prefix))
    };
    for p in list(os, "ports", Query::new())
        .await
        .iter()
        .filter(|o| mine(o))
    {
        let id = p["id"].as_str().unwrap().to_string();
        retry(|| os.delete_port(&id)).await;
    }
    for n in list(os, "networks", Query::new())
        .await
        .iter()
        .filter(|o| mine(o))
    {
        let id = n["id"].as_str().unwrap().to_string();
        retry(|| os.delete_network(&id)).await;
    }
    for g in list(os, "security-groups", Query::new())
        .await
        .iter()
        .filter(|o| mine(o))
    {
        let id = g["id"].as_str().unwrap().to_string();
        if g["name"] == "default" {
            // Neutron made it for the project's first port; it goes with the project if it refuses.
            let _ = os.delete_security_group(&id).await;
        } else {
            retry(|| os.delete_security_group(&id)).await;
        }
    }
}

fn tool(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--no-progress", "--yes", "--output", "json"])
        .env("OS_CLIENT_CONFIG_FILE", clouds())
        .env("OS_CLOUD", "oslab")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

fn fix(project: &str, state: &std::path::Path) -> Output {
    Command::new(BIN)
        .args([
            "ovs",
            "fix",
            "--all-safe",
            "--project",
            project,
            "--no-deployment",
            "--dns",
            "192.0.2.53,2001:db8::53",
            "--read-concurrency",
            "1",
            "--page-size",
            "50",
            "--concurrency",
            "1",
            "--retry-base-ms",
            "200",
            "--no-progress",
            "--yes",
            "--output",
            "json",
        ])
        .env("OS_CLIENT_CONFIG_FILE", clouds())
        .env("OS_CLOUD", "oslab")
        .env("OVN_MIGRATE_STATE_DIR", state)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

fn violations(out: &Output) -> BTreeMap<String, Vec<String>> {
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let v = c["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            (c["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn fix_removes_the_violations_made_in_the_real_neutron() {
    let cfg = CloudConfig::from_clouds_yaml(&clouds(), "oslab").unwrap_or_else(|e| {
        panic!("the real OpenStack services are not set up ({e}): run `bash lab/real/up.sh` first")
    });
    let os = OpenStack::new(cfg.clone()).unwrap();
    os.authenticate().await.unwrap_or_else(|e| {
        panic!("the real services are not reachable ({e}): run `bash lab/real/up.sh`")
    });
    let ks = Keystone::login(&cfg).await;
    // What an earlier, interrupted run of this test left.
    for p in ks.projects().await {
        if p["name"].as_str().is_some_and(|n| n.starts_with(PREFIX)) {
            let id = p["id"].as_str().unwrap().to_string();
            clean(&os, Some(&id), PREFIX).await;
            ks.delete_project(&id).await;
        }
    }
    clean(&os, None, PREFIX).await;
    let run = format!("{PREFIX}{:08x}-", rand_u32());
    let project = ks.create_project(&run).await;
    let c = Cloud {
        os: os.clone(),
        run: run.clone(),
        project: project.clone(),
    };
    let egress_any_v4 = json!({"direction": "egress", "ethertype": "IPv4"});
    let web = c.sg("web-only", true, &[json!({"direction": "egress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443})]).await;
    let v4_only = c
        .sg("v4-only", true, std::slice::from_ref(&egress_any_v4))
        .await;
    let stateless = c
        .sg("stateless", false, std::slice::from_ref(&egress_any_v4))
        .await;
    // MTU (Neutron's VXLAN default 1450), no DNS, DHCPv4 blocked.
    let legacy = c
        .id(
            "networks",
            "network",
            json!({"name": "legacy", "provider:network_type": "vxlan"}),
        )
        .await;
    let legacy_sub = c.id("subnets", "subnet", json!({"name": "legacy", "network_id": legacy, "cidr": "10.210.0.0/24", "ip_version": 4, "enable_dhcp": true})).await;
    let blocked = c.id("ports", "port", json!({"name": "blocked", "network_id": legacy, "fixed_ips": [{"subnet_id": legacy_sub}],
        "device_owner": "compute:nova", "device_id": format!("{run}vm"), "security_groups": [web]})).await;
    // DHCPv6 blocked.
    let dual = c
        .id(
            "networks",
            "network",
            json!({"name": "dual", "provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let d4 = c.id("subnets", "subnet", json!({"name": "d4", "network_id": dual, "cidr": "10.211.0.0/24", "ip_version": 4, "enable_dhcp": true, "dns_nameservers": ["192.0.2.53"]})).await;
    let d6 = c.id("subnets", "subnet", json!({"name": "d6", "network_id": dual, "cidr": "2001:db8:211::/64", "ip_version": 6, "enable_dhcp": true,
        "ipv6_address_mode": "dhcpv6-stateful", "ipv6_ra_mode": "dhcpv6-stateful", "dns_nameservers": ["2001:db8::53"]})).await;
    let v6_port = c.id("ports", "port", json!({"name": "v6", "network_id": dual, "fixed_ips": [{"subnet_id": d4}, {"subnet_id": d6}],
        "device_owner": "compute:nova", "device_id": format!("{run}vm"), "security_groups": [v4_only]})).await;
    // A stateless group without the reply rule.
    let sl = c
        .id(
            "networks",
            "network",
            json!({"name": "sl", "provider:network_type": "vxlan", "mtu": 1442}),
        )
        .await;
    let sl_sub = c.id("subnets", "subnet", json!({"name": "sl", "network_id": sl, "cidr": "10.212.0.0/24", "ip_version": 4, "enable_dhcp": true, "dns_nameservers": ["192.0.2.53"]})).await;
    let sl_port = c.id("ports", "port", json!({"name": "sl", "network_id": sl, "fixed_ips": [{"subnet_id": sl_sub}],
        "device_owner": "compute:nova", "device_id": format!("{run}vm"), "security_groups": [stateless]})).await;
    // The twin in the admin project, outside the scope.
    let twin = c
        .post(
            "networks",
            "network",
            json!({"name": "twin", "provider:network_type": "vxlan"}),
            None,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let tmp = tempfile::tempdir().unwrap();
    // A state directory the tool creates (0700).
    let state = tmp.path().join("state");
    let first = fix(&project, &state);
    let second = fix(&project, &state);
    let assessed = tool(&[
        "ovs",
        "assess",
        "--no-deployment",
        "--concurrency",
        "1",
        "--page-size",
        "50",
        "--tenant-network-types",
        "vxlan",
        "--dhcp-lease-duration",
        "86400",
    ]);
    let legacy_net = c.get("networks", "network", &legacy).await;
    let twin_net = c.get("networks", "network", &twin).await;
    let legacy_subnet = c.get("subnets", "subnet", &legacy_sub).await;
    let web_group = c.get("security-groups", "security_group", &web).await;
    clean(&os, Some(&project), &run).await;
    ks.delete_project(&project).await;

    let stderr = |o: &Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let doc: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(doc["outcome"]["outcome"], "completed", "{doc}");
    // The second run finds nothing left in the project.
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("nothing to change"),
        "{}",
        stderr(&second)
    );
    assert_eq!(legacy_net["mtu"], 1442, "{legacy_net}");
    assert!(
        legacy_net["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == TAG),
        "{legacy_net}"
    );
    assert_eq!(twin_net["mtu"], 1450, "the scope did not hold: {twin_net}");
    assert_eq!(legacy_subnet["dns_nameservers"], json!(["192.0.2.53"]));
    let rules = web_group["security_group_rules"].as_array().unwrap();
    assert!(
        rules.iter().any(|r| r["direction"] == "egress"
            && r["protocol"] == "udp"
            && r["port_range_min"] == 67
            && r["remote_ip_prefix"] == "0.0.0.0/0"),
        "{web_group}"
    );
    let got = violations(&assessed);
    let gone: [(&str, &str); 5] = [
        ("networks_mtu_size_check", &legacy),
        ("subnets_without_dns_nameservers_check", &legacy_sub),
        ("ports_with_blocked_access_to_dhcpv4_check", &blocked),
        ("ports_with_blocked_access_to_dhcpv6_check", &v6_port),
        ("stateless_security_groups_dhcp_check", &sl_port),
    ];
    for (check, id) in gone {
        assert!(
            !got[check].iter().any(|v| v == id),
            "{check} still flags {id}: {:?}",
            got[check]
        );
    }
    assert!(
        got["networks_mtu_size_check"].contains(&twin),
        "the twin outside the project is still flagged"
    );
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (t.as_nanos() as u32) ^ std::process::id()
}
