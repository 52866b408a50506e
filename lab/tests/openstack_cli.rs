//! Debian's `openstack` CLI (python3-openstackclient 6.0) against the lab's
//! simulated cloud and, with the `real-openstack` feature, against the real
//! services of `lab/real/up.sh`: the same objects are made on both through the
//! tool's client, then `network list`, `port list --long`, `subnet pool list`,
//! `router show` and `quota list --network --detail` are run with `-f json`
//! and their output, normalized (IDs, addresses and timestamps replaced by
//! what they refer to), must be the same. `quota show` itself needs Nova and
//! Cinder endpoints, which the recipe does not have; `quota list --network`
//! reads the same Neutron quota API. Fails, not skips, when `openstack` is
//! missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use steps::openstack::{CloudConfig, OpenStack};

fn openstack_binary() -> PathBuf {
    let fixed = PathBuf::from("/usr/bin/openstack");
    assert!(
        fixed.exists(),
        "the openstack CLI is required by this test: apt-get install -y python3-openstackclient"
    );
    fixed
}

/// One target: its clouds.yaml, cloud name, and the simulated cloud if it is one.
struct Target {
    clouds: PathBuf,
    cloud: String,
    os: OpenStack,
    _sim: Option<(lab::openstack::Cloud, tempfile::TempDir)>,
}

fn sim() -> Result<Target> {
    let (tx, _) = tokio::sync::broadcast::channel(16);
    let cloud = lab::openstack::Cloud::start(
        &lab::openstack::CloudConfig::default(),
        lab::faults::Faults::default(),
        tx,
    )?;
    let dir = tempfile::tempdir()?;
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, cloud.clouds_yaml("lab"))?;
    let os = OpenStack::new(CloudConfig::from_clouds_yaml(&clouds, "lab")?)?;
    Ok(Target {
        clouds,
        cloud: "lab".into(),
        os,
        _sim: Some((cloud, dir)),
    })
}

#[cfg(feature = "real-openstack")]
fn real() -> Result<Target> {
    let dir = std::env::var("OSLAB_DIR").unwrap_or_else(|_| "/tmp/oslab".into());
    let clouds = PathBuf::from(&dir).join("clouds.yaml");
    let os = OpenStack::new(
        CloudConfig::from_clouds_yaml(&clouds, "oslab").with_context(|| {
            format!("the real services are not set up: run `OSLAB_DIR={dir} bash lab/real/up.sh`")
        })?,
    )?;
    Ok(Target {
        clouds,
        cloud: "oslab".into(),
        os,
        _sim: None,
    })
}

async fn cli(t: &Target, home: &Path, args: &[&str]) -> Result<Value> {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(openstack_binary())
            .args(["--os-cloud", &t.cloud])
            .args(args)
            .args(["-f", "json"])
            .env("OS_CLIENT_CONFIG_FILE", &t.clouds)
            .env("HOME", home)
            .env_remove("OS_CLOUD")
            .output(),
    )
    .await
    .context("openstack did not finish in 120 s")??;
    if !out.status.success() {
        bail!(
            "openstack {args:?} against {} failed: {}",
            t.cloud,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "openstack {args:?} printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The IDs of what the test made, to name them in normalized output.
struct Made {
    run: String,
    names: Vec<(String, String)>,
    project: String,
}

impl Made {
    /// Replaces IDs by `<what>` and the run prefix by `RUN`.
    fn norm(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                let mut s = s.replace(&self.run, "RUN");
                for (id, what) in &self.names {
                    s = s.replace(id, what);
                }
                s = s.replace(&self.project, "<project>");
                json!(s)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.norm(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), self.norm(x))).collect())
            }
            other => other.clone(),
        }
    }
}

fn mine<'a>(rows: &'a Value, key: &str, run: &str) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r[key].as_str().is_some_and(|n| n.starts_with(run)))
        .collect();
    out.sort_by_key(|r| r[key].as_str().unwrap_or_default().to_string());
    out
}

fn columns(rows: &Value) -> Vec<String> {
    let mut c: Vec<String> = rows
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    c.sort();
    c
}

/// Makes a network with a subnet and a port, a subnet pool, and a router with
/// a gateway on an external network; lists them with the CLI; removes them;
/// returns the normalized output.
async fn observe(t: &Target) -> Result<Value> {
    let run = format!("cli-{:08x}", rand::random::<u32>());
    let home = tempfile::tempdir()?;
    let os = &t.os;
    let net = os
        .create_network(json!({"name": format!("{run}-net")}))
        .await?
        .value
        .id;
    let sub = os
        .create_subnet(json!({"network_id": net, "ip_version": 4, "cidr": "10.79.0.0/24", "name": format!("{run}-sub")}))
        .await?
        .value
        .id;
    let port = os
        .create_port(json!({"network_id": net, "name": format!("{run}-port")}))
        .await?
        .value
        .id;
    let pool = os
        .create_subnetpool(json!({"name": format!("{run}-pool"), "prefixes": ["10.202.0.0/16"], "default_prefixlen": 24}))
        .await?
        .value
        .id;
    let ext = os
        .create_network(json!({"name": format!("{run}-ext"), "router:external": true}))
        .await?
        .value
        .id;
    let ext_sub = os
        .create_subnet(json!({"network_id": ext, "ip_version": 4, "cidr": "192.0.2.0/24", "name": format!("{run}-ext-sub")}))
        .await?
        .value
        .id;
    let router: Value = os
        .call(
            steps::openstack::Service::Network,
            reqwest::Method::POST,
            "/routers",
            &steps::openstack::Query::new(),
            Some(&json!({"router": {"name": format!("{run}-router"), "external_gateway_info": {"network_id": ext}}})),
        )
        .await?
        .value;
    let router = router["router"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let sgs = os
        .list_security_groups(&steps::openstack::Query::new().eq("name", "default"))
        .await?;
    let project = os.project_id().await?;
    let mut names = vec![
        (net.clone(), "<net>".to_string()),
        (sub.clone(), "<sub>".into()),
        (port.clone(), "<port>".into()),
        (pool.clone(), "<pool>".into()),
        (ext.clone(), "<ext>".into()),
        (ext_sub.clone(), "<ext-sub>".into()),
        (router.clone(), "<router>".into()),
    ];
    names.extend(
        sgs.iter()
            .filter(|g| g.id.len() > 8)
            .map(|g| (g.id.clone(), "<default-sg>".to_string())),
    );
    let made = Made {
        run: run.clone(),
        names,
        project,
    };

    let result: Result<Value> = async {
        let nets = cli(t, home.path(), &["network", "list"]).await?;
        let ports = cli(t, home.path(), &["port", "list", "--long"]).await?;
        let pools = cli(t, home.path(), &["subnet", "pool", "list"]).await?;
        let shown = cli(t, home.path(), &["router", "show", &router]).await?;
        let project_name = t.os.config().project_name.clone().unwrap_or_default();
        let quotas = cli(
            t,
            home.path(),
            &[
                "quota",
                "list",
                "--network",
                "--detail",
                "--project",
                &project_name,
            ],
        )
        .await?;
        let port_rows: Vec<Value> = mine(&ports, "Name", &run)
            .into_iter()
            .map(|p| {
                let mut p = p.clone();
                // Addresses are allocated differently; which subnet they are on is not.
                for ip in p["Fixed IP Addresses"].as_array_mut().into_iter().flatten() {
                    ip["ip_address"] = json!("<ip>");
                }
                p["MAC Address"] = json!("<mac>");
                p
            })
            .collect();
        let mut router_view = shown.clone();
        for f in ["created_at", "updated_at", "revision_number"] {
            router_view[f] = json!("<volatile>");
        }
        for ip in router_view
            .pointer_mut("/external_gateway_info/external_fixed_ips")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            ip["ip_address"] = json!("<ip>");
        }
        let quota_rows: Vec<Value> = quotas
            .as_array()
            .into_iter()
            .flatten()
            // "In Use" lags deletions on the real Neutron until a reservation resyncs it.
            .map(|q| json!({"Resource": q["Resource"], "Limit": q["Limit"]}))
            .collect();
        Ok(made.norm(&json!({
            "network list": {"columns": columns(&nets), "rows": mine(&nets, "Name", &run)},
            "port list --long": {"columns": columns(&ports), "rows": port_rows},
            "subnet pool list": {"columns": columns(&pools), "rows": mine(&pools, "Name", &run)},
            "router show": router_view,
            "quota list --network --detail": quota_rows,
        })))
    }
    .await;

    let _ = os.delete_router(&router).await;
    let _ = os.delete_port(&port).await;
    let _ = os.delete_network(&net).await;
    let _ = os.delete_network(&ext).await;
    let _ = os.delete_subnetpool(&pool).await;
    result
}

#[tokio::test]
async fn the_openstack_cli_reads_the_lab_as_a_real_cloud() -> Result<()> {
    let lab = observe(&sim()?).await?;
    let ports = &lab["port list --long"]["rows"];
    assert_eq!(ports.as_array().map(Vec::len), Some(1), "{lab:#}");
    // The CLI asks for `fields=security_group_ids`, which Neutron does not
    // know, so the column is empty on a real cloud too.
    assert_eq!(ports[0]["Security Groups"], Value::Null, "{lab:#}");
    assert_eq!(
        lab["router show"]["external_gateway_info"]["network_id"], "<ext>",
        "{lab:#}"
    );
    assert!(
        lab["quota list --network --detail"]
            .as_array()
            .is_some_and(|q| q.contains(&json!({"Resource": "security_groups", "Limit": 10}))),
        "{lab:#}"
    );
    #[cfg(feature = "real-openstack")]
    {
        let real = observe(&real()?).await?;
        assert_eq!(
            lab, real,
            "the CLI's view of the lab (left) and of the real services (right) differ"
        );
    }
    Ok(())
}
