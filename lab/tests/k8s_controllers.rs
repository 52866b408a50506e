//! The simulated controllers (network operator, machine config operator,
//! nodes) on a small fixture cluster, observed over real HTTP with
//! `kube::Client`, the way the tool observes a real cluster.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use lab::controllers::{ControllerConfig, Controllers, condition};
use lab::faults::Faults;
use lab::k8s::{self, ApiServer, Store};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const CURRENT: &str = "machineconfiguration.openshift.io/currentConfig";
const DESIRED: &str = "machineconfiguration.openshift.io/desiredConfig";
const STATE: &str = "machineconfiguration.openshift.io/state";

struct Cluster {
    store: Store,
    client: Client,
    nova: broadcast::Sender<String>,
    _controllers: Controllers,
    _server: ApiServer,
    _dir: tempfile::TempDir,
}

fn fixture() -> Vec<Value> {
    let mut o = vec![];
    for ns in ["openshift-kuryr", "openshift-multus", "default"] {
        o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": {"networkType": "Kuryr", "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}]},
        "status": {"networkType": "Kuryr"}}));
    o.push(json!({"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": {"defaultNetwork": {"type": "Kuryr"}}}));
    for (pool, count) in [("master", 3), ("worker", 2)] {
        let rendered = format!("rendered-{pool}-seed");
        o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": format!("00-{pool}"), "labels": {"machineconfiguration.openshift.io/role": pool}},
            "spec": {"config": {"systemd": {"units": [{"name": "base.service", "contents": "ExecStart=/bin/true"}]}}}}));
        o.push(
            json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": rendered}, "spec": {"config": {}}}),
        );
        o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool",
            "metadata": {"name": pool},
            "spec": {"configuration": {"name": rendered},
                     "machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": pool}},
                     "nodeSelector": {"matchLabels": {format!("node-role.kubernetes.io/{pool}"): ""}}},
            "status": {"configuration": {"name": rendered}, "machineCount": count, "updatedMachineCount": count,
                       "conditions": [{"type": "Updated", "status": "True"}, {"type": "Updating", "status": "False"},
                                      {"type": "Degraded", "status": "False"}]}}));
        for i in 0..count {
            o.push(json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": format!("{pool}-{i}"), "labels": {format!("node-role.kubernetes.io/{pool}"): ""},
                             "annotations": {CURRENT: rendered, DESIRED: rendered, STATE: "Done"}},
                "spec": {"providerID": format!("openstack:///{pool}-server-{i}")},
                "status": {"nodeInfo": {"bootID": format!("boot-{pool}-{i}")},
                           "conditions": [{"type": "Ready", "status": "True"}]}}));
        }
    }
    for i in 0..2 {
        o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("kuryr-cni-{i}"), "namespace": "openshift-kuryr"}}));
    }
    o.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "multus", "namespace": "openshift-multus", "generation": 4},
        "spec": {"template": {"metadata": {}}},
        "status": {"observedGeneration": 4, "desiredNumberScheduled": 5, "updatedNumberScheduled": 5, "numberAvailable": 5}}));
    o
}

async fn cluster(cfg: ControllerConfig) -> Result<Cluster> {
    let store = Store::new();
    store.seed(fixture())?;
    let (nova, rx) = broadcast::channel(16);
    let controllers = Controllers::start(store.clone(), cfg, rx);
    let server = k8s::start(store.clone(), controllers.routes(), &Faults::default()).await?;
    let dir = tempfile::tempdir()?;
    let kc = Kubeconfig::read_from(k8s::kubeconfig::write(&server.url(), dir.path())?)?;
    let client =
        Client::try_from(Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?)?;
    Ok(Cluster {
        store,
        client,
        nova,
        _controllers: controllers,
        _server: server,
        _dir: dir,
    })
}

impl Cluster {
    fn api(&self, group: &str, kind: &str, ns: Option<&str>) -> Api<DynamicObject> {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind));
        match ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    async fn get(&self, group: &str, kind: &str, ns: Option<&str>, name: &str) -> Result<Value> {
        Ok(serde_json::to_value(
            self.api(group, kind, ns).get(name).await?,
        )?)
    }

    /// Polls `f` over HTTP until it returns Some, or fails after `secs`.
    async fn until<T>(
        &self,
        what: &str,
        secs: u64,
        mut f: impl AsyncFnMut(&Self) -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f(self).await? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn nodes(&self) -> Result<Vec<Value>> {
        let list = self.api("", "Node", None).list(&Default::default()).await?;
        Ok(list
            .items
            .into_iter()
            .map(|n| serde_json::to_value(n).unwrap())
            .collect())
    }
}

fn ann<'a>(n: &'a Value, key: &str) -> Option<&'a str> {
    n["metadata"]["annotations"]
        .get(key)
        .and_then(Value::as_str)
}

#[tokio::test]
async fn migration_rollout_switch_and_cleanup() -> Result<()> {
    let cfg = ControllerConfig {
        mco_node_ms: 40,
        reboot_ms: 40,
        ..Default::default()
    };
    let c = cluster(cfg).await?;
    let boot_before: Vec<(String, String)> = c
        .nodes()
        .await?
        .iter()
        .map(|n| {
            (
                n["metadata"]["name"].as_str().unwrap().into(),
                n["status"]["nodeInfo"]["bootID"].as_str().unwrap().into(),
            )
        })
        .collect();

    // Pools are Updated at rest: the seeded cluster does not roll out by itself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let worker = c
        .get(
            "machineconfiguration.openshift.io",
            "MachineConfigPool",
            None,
            "worker",
        )
        .await?;
    assert_eq!(
        worker["spec"]["configuration"]["name"],
        "rendered-worker-seed"
    );
    assert_eq!(condition(&worker, "Updated"), Some("True"));

    // M3: the migration field → status.migration.
    let ops = c.api("operator.openshift.io", "Network", None);
    ops.patch(
        "cluster",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}})),
    )
    .await?;
    c.until("status.migration", 5, async |c| {
        let n = c
            .get("config.openshift.io", "Network", None, "cluster")
            .await?;
        Ok((n["status"]["migration"]["networkType"] == "OVNKubernetes").then_some(()))
    })
    .await?;

    // M5: pools go Updating with a new rendered config, then Updated.
    for pool in ["master", "worker"] {
        let updating = c
            .until(&format!("{pool} Updating"), 5, async |c| {
                let p = c
                    .get(
                        "machineconfiguration.openshift.io",
                        "MachineConfigPool",
                        None,
                        pool,
                    )
                    .await?;
                Ok((condition(&p, "Updating") == Some("True")).then_some(p))
            })
            .await?;
        assert_eq!(condition(&updating, "Updated"), Some("False"));
        assert_ne!(
            updating["spec"]["configuration"]["name"],
            format!("rendered-{pool}-seed")
        );
    }
    for pool in ["master", "worker"] {
        let p = c
            .until(&format!("{pool} Updated"), 10, async |c| {
                let p = c
                    .get(
                        "machineconfiguration.openshift.io",
                        "MachineConfigPool",
                        None,
                        pool,
                    )
                    .await?;
                Ok((condition(&p, "Updated") == Some("True")
                    && condition(&p, "Updating") == Some("False"))
                .then_some(p))
            })
            .await?;
        let rendered = p["spec"]["configuration"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            rendered.starts_with(&format!("rendered-{pool}-")) && !rendered.ends_with("-seed"),
            "{rendered}"
        );
        assert_eq!(p["status"]["configuration"]["name"], rendered);
        assert_eq!(condition(&p, "Degraded"), Some("False"));
        assert_eq!(
            p["status"]["updatedMachineCount"],
            p["status"]["machineCount"]
        );
        let mc = c
            .get(
                "machineconfiguration.openshift.io",
                "MachineConfig",
                None,
                &rendered,
            )
            .await?;
        assert!(
            mc.to_string().contains("configure-ovs.sh OVNKubernetes"),
            "{mc}"
        );
    }
    // M6: every node runs its pool's new config and rebooted on the way.
    for n in c.nodes().await? {
        let name = n["metadata"]["name"].as_str().unwrap();
        assert_eq!(ann(&n, STATE), Some("Done"), "{name}");
        assert_eq!(ann(&n, CURRENT), ann(&n, DESIRED), "{name}");
        assert!(!ann(&n, CURRENT).unwrap().ends_with("-seed"), "{name}");
        let before = &boot_before.iter().find(|(b, _)| b == name).unwrap().1;
        assert_ne!(
            n["status"]["nodeInfo"]["bootID"].as_str().unwrap(),
            before,
            "{name} rebooted"
        );
        assert_eq!(condition(&n, "Ready"), Some("True"));
    }

    // M7/M8: switching the plugin removes Kuryr pods and rolls multus out.
    let multus_gen = c
        .store
        .get("daemonsets.apps", "openshift-multus", "multus")?["metadata"]["generation"]
        .as_i64()
        .unwrap();
    let configs = c.api("config.openshift.io", "Network", None);
    configs
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"networkType": "OVNKubernetes"}})),
        )
        .await?;
    c.until("status.networkType", 5, async |c| {
        let n = c
            .get("config.openshift.io", "Network", None, "cluster")
            .await?;
        Ok((n["status"]["networkType"] == "OVNKubernetes").then_some(()))
    })
    .await?;
    let ds = c
        .get("apps", "DaemonSet", Some("openshift-multus"), "multus")
        .await?;
    assert_eq!(
        ds["metadata"]["generation"].as_i64().unwrap(),
        multus_gen + 1
    );
    assert_eq!(
        ds["status"]["observedGeneration"],
        ds["metadata"]["generation"]
    );
    assert_eq!(ds["status"]["updatedNumberScheduled"], 5);
    assert_eq!(
        ds["status"]["numberAvailable"],
        ds["status"]["desiredNumberScheduled"]
    );
    assert!(
        c.store
            .list_all("pods", Some("openshift-kuryr"))?
            .is_empty()
    );

    // M11: migration back to null → status.migration removed.
    ops.patch(
        "cluster",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"migration": null}})),
    )
    .await?;
    c.until("status.migration gone", 5, async |c| {
        let n = c
            .get("config.openshift.io", "Network", None, "cluster")
            .await?;
        Ok(n["status"].get("migration").is_none().then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn reboot_hook_and_nova_reboots_change_boot_ids() -> Result<()> {
    let cfg = ControllerConfig {
        reboot_ms: 150,
        ..Default::default()
    };
    let c = cluster(cfg).await?;
    let req = axum::http::Request::post("/_lab/nodes/worker-1/reboot").body(Vec::new())?;
    c.client.request_text(req).await?;
    c.until("worker-1 NotReady", 5, async |c| {
        let n = c.get("", "Node", None, "worker-1").await?;
        Ok((condition(&n, "Ready") == Some("False")).then_some(()))
    })
    .await?;
    let n = c
        .until("worker-1 Ready again", 5, async |c| {
            let n = c.get("", "Node", None, "worker-1").await?;
            Ok((condition(&n, "Ready") == Some("True")).then_some(n))
        })
        .await?;
    assert_ne!(n["status"]["nodeInfo"]["bootID"], "boot-worker-1");
    assert_eq!(
        c.get("", "Node", None, "worker-0").await?["status"]["nodeInfo"]["bootID"],
        "boot-worker-0"
    );

    let missing = axum::http::Request::post("/_lab/nodes/nope/reboot").body(Vec::new())?;
    assert!(
        c.client.request_text(missing).await.is_err(),
        "unknown node is 404"
    );

    // Nova: server ID → node by providerID.
    c.nova.send("master-server-2".into())?;
    let n = c
        .until("master-2 rebooted", 5, async |c| {
            let n = c.get("", "Node", None, "master-2").await?;
            Ok((n["status"]["nodeInfo"]["bootID"] != "boot-master-2"
                && condition(&n, "Ready") == Some("True"))
            .then_some(n))
        })
        .await?;
    assert_eq!(condition(&n, "Ready"), Some("True"));
    assert_eq!(
        c.get("", "Node", None, "master-1").await?["status"]["nodeInfo"]["bootID"],
        "boot-master-1"
    );
    Ok(())
}
