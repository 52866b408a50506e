//! The assembled [`lab::Lab`]: kubeconfig and clouds.yaml files, the seeded
//! scenario served over HTTP, the fault table shared with the API server, the
//! lab hooks, Nova reboots reaching nodes, and shutdown.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use lab::faults::FaultRule;
use lab::{Lab, LabConfig};
use serde_json::json;

async fn client(lab: &Lab, dir: &std::path::Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(lab.write_kubeconfig(dir)?)?;
    Ok(Client::try_from(
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?,
    )?)
}

fn boot_id(n: &Node) -> String {
    n.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.boot_id.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn lab_files_scenario_faults_and_shutdown() -> Result<()> {
    let lab = Lab::start(LabConfig::default()).await?;
    let dir = tempfile::tempdir()?;

    let kc_path = lab.write_kubeconfig(dir.path())?;
    assert_eq!(kc_path.file_name().unwrap(), "ovn-migrate-lab.kubeconfig");
    assert_eq!(
        std::fs::metadata(&kc_path)?.permissions().mode() & 0o777,
        0o600
    );
    let kc = Kubeconfig::read_from(&kc_path)?;
    assert_eq!(kc.current_context.as_deref(), Some("lab"));
    assert_eq!(
        kc.clusters[0].cluster.as_ref().unwrap().server.as_deref(),
        Some(lab.kube_url().as_str())
    );

    let clouds = lab.write_clouds_yaml(dir.path())?;
    assert_eq!(clouds.file_name().unwrap(), "ovn-migrate-lab.clouds.yaml");
    assert_eq!(
        std::fs::metadata(&clouds)?.permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&clouds)?;
    assert!(
        text.contains("lab:") && text.contains(&lab.cloud().auth_url()),
        "{text}"
    );

    // The seeded scenario is served.
    let client = client(&lab, dir.path()).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let listed = nodes.list(&ListParams::default()).await?;
    assert_eq!(
        listed.items.len(),
        lab.scenario().k8s_of_kind("Node").count()
    );
    assert!(!listed.items.is_empty());

    // One fault table for every server: rules on the Kubernetes API bite.
    // kube's client retries 503 by itself, so an injected 503 is absorbed...
    let rule = |error_rate: f64, conflict_rate: f64| FaultRule {
        method: Some("GET".into()),
        path_contains: "/api/v1/nodes".into(),
        error_rate,
        conflict_rate,
        remaining: Some(1),
        ..Default::default()
    };
    lab.faults().set_rules(vec![rule(1.0, 0.0)]);
    nodes.list(&ListParams::default()).await?;
    assert_eq!(lab.faults().injected(), 1);
    // ...while an injected 409 reaches the caller.
    lab.faults().set_rules(vec![rule(0.0, 1.0)]);
    match nodes.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "LabFault")),
        other => bail!("expected an injected 409, got {other:?}"),
    }
    nodes.list(&ListParams::default()).await?;
    assert_eq!(lab.faults().injected(), 2);

    // Successful mutating calls are counted.
    lab.faults().reset_calls();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &Default::default(),
        &serde_json::from_value(json!({"metadata": {"name": "c"}}))?,
    )
    .await?;
    cms.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "b"}})),
    )
    .await?;
    let calls = lab.faults().calls();
    assert_eq!(
        calls.get("POST /api/v1/namespaces/default/configmaps"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(
        calls.get("PATCH /api/v1/namespaces/default/configmaps/c"),
        Some(&1),
        "{calls:?}"
    );

    // A Nova reboot (by server ID) reboots the node with that providerID.
    let node = listed.items[0].clone();
    let server_id = node
        .spec
        .as_ref()
        .unwrap()
        .provider_id
        .as_ref()
        .unwrap()
        .trim_start_matches("openstack:///")
        .to_string();
    lab.nova_reboots().send(server_id)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while boot_id(&nodes.get(&node.name_any()).await?) == boot_id(&node) {
        if Instant::now() > deadline {
            bail!("node {} did not reboot", node.name_any());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    lab.shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        nodes.list(&ListParams::default()).await.is_err(),
        "the API server is down after shutdown"
    );
    Ok(())
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await? {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn cond(obj: &serde_json::Value, kind: &str) -> Option<String> {
    lab::controllers::condition(obj, kind).map(String::from)
}

/// The migration phase's cluster side on the generated Kuryr scenario, as
/// the tool sees it over HTTP.
#[tokio::test]
async fn migration_on_the_generated_scenario() -> Result<()> {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let lab = Lab::start(LabConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let client = client(&lab, dir.path()).await?;
    let api = |group: &str, kind: &str| -> Api<DynamicObject> {
        Api::all_with(
            client.clone(),
            &ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind)),
        )
    };
    let get = async |group: &str, kind: &str, name: &str| -> Result<serde_json::Value> {
        Ok(serde_json::to_value(api(group, kind).get(name).await?)?)
    };
    let mcp = "machineconfiguration.openshift.io";
    let pools: Vec<serde_json::Value> = api(mcp, "MachineConfigPool")
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    assert!(pools.len() >= 2);
    let before: Vec<(String, String)> = pools
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["spec"]["configuration"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();

    api("operator.openshift.io", "Network")
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"migration": {"networkType": "OVNKubernetes"}}})),
        )
        .await?;
    for (pool, old) in &before {
        wait_for(&format!("{pool} updated"), async || {
            let p = get(mcp, "MachineConfigPool", pool).await?;
            let name = &p["spec"]["configuration"]["name"];
            Ok(name != old
                && p["status"]["configuration"]["name"] == *name
                && cond(&p, "Updated").as_deref() == Some("True"))
        })
        .await?;
        let p = get(mcp, "MachineConfigPool", pool).await?;
        let rendered = get(
            mcp,
            "MachineConfig",
            p["spec"]["configuration"]["name"].as_str().unwrap(),
        )
        .await?;
        assert!(
            rendered
                .to_string()
                .contains("configure-ovs.sh OVNKubernetes")
        );
    }
    let cfg = get("config.openshift.io", "Network", "cluster").await?;
    assert_eq!(cfg["status"]["migration"]["networkType"], "OVNKubernetes");

    api("config.openshift.io", "Network")
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"networkType": "OVNKubernetes"}})),
        )
        .await?;
    wait_for("plugin switched", async || {
        let n = get("config.openshift.io", "Network", "cluster").await?;
        Ok(n["status"]["networkType"] == "OVNKubernetes")
    })
    .await?;
    let ds: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "openshift-multus",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "DaemonSet")),
    );
    let ds = serde_json::to_value(ds.get("multus").await?)?;
    assert_eq!(
        ds["status"]["observedGeneration"],
        ds["metadata"]["generation"]
    );
    assert_eq!(ds["metadata"]["generation"], 2);
    let kuryr: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(client.clone(), "openshift-kuryr");
    assert!(kuryr.list(&ListParams::default()).await?.items.is_empty());

    // The ssh-command path: the reboot hook on the lab's API server.
    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes.list(&ListParams::default()).await?.items.remove(0);
    let req = axum::http::Request::post(format!("/_lab/nodes/{}/reboot", node.name_any()))
        .body(Vec::new())?;
    client.request_text(req).await?;
    wait_for("hook reboot", async || {
        let n = nodes.get(&node.name_any()).await?;
        Ok(boot_id(&n) != boot_id(&node)
            && n.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"))
    })
    .await?;
    Ok(())
}
