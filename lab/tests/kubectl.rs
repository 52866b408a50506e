//! The real `kubectl` (v1.32, /usr/bin/kubectl or on PATH) against the lab's
//! API server, through the kubeconfig the lab writes: discovery fallback,
//! get (core, Kuryr and OpenShift kinds), `-o json`, and patch (merge and
//! json). Fails, not skips, when kubectl is missing.

use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, Result, bail};
use lab::faults::Faults;
use lab::k8s::{self, ApiServer, Store};
use serde_json::{Value, json};

fn kubectl_binary() -> PathBuf {
    let fixed = PathBuf::from("/usr/bin/kubectl");
    if fixed.exists() {
        return fixed;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kubectl"))
                .find(|p| p.exists())
        })
        .expect(
            "kubectl is required by this test: install kubectl 1.32 (/usr/bin/kubectl or on PATH)",
        )
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<Output> {
    let out = tokio::process::Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", kubeconfig.parent().expect("dir"))
        .output()
        .await
        .context("running kubectl")?;
    Ok(out)
}

async fn ok(kubeconfig: &Path, args: &[&str]) -> Result<String> {
    let out = kubectl(kubeconfig, args).await?;
    if !out.status.success() {
        bail!(
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn fixture() -> Vec<Value> {
    let mut objs = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}),
        json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
               "spec": {"networkType": "Kuryr", "serviceNetwork": ["172.30.0.0/16"]}, "status": {"networkType": "Kuryr"}}),
        json!({"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
               "spec": {"defaultNetwork": {"type": "Kuryr"}}}),
        json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork", "metadata": {"name": "demo", "namespace": "demo",
               "finalizers": ["kuryrnetwork.finalizers.kuryr.openstack.org"]}, "spec": {"nsName": "demo", "projectId": "p"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
        json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork", "metadata": {"name": "other", "namespace": "other"},
               "spec": {"nsName": "other", "projectId": "p"}}),
    ];
    for n in ["master-0", "worker-0"] {
        objs.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"bootID": "b"}}}));
    }
    objs
}

async fn start() -> Result<(ApiServer, Store, tempfile::TempDir, PathBuf)> {
    let store = Store::new();
    store.seed(fixture())?;
    let server = k8s::start(store.clone(), axum::Router::new(), &Faults::default()).await?;
    let dir = tempfile::tempdir()?;
    let kc = k8s::kubeconfig::write(&server.url(), dir.path())?;
    Ok((server, store, dir, kc))
}

#[tokio::test]
async fn kubectl_gets_and_patches() -> Result<()> {
    let (_server, store, _dir, kc) = start().await?;

    let nodes = ok(&kc, &["get", "nodes"]).await?;
    let header: Vec<&str> = nodes
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "AGE"],
        "server-side table columns: {nodes}"
    );
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("master-0") && l.contains("True")),
        "{nodes}"
    );
    assert!(
        nodes.contains("master-0") && nodes.contains("worker-0"),
        "{nodes}"
    );

    let names = ok(&kc, &["get", "nodes", "-o", "name"]).await?;
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        ["node/master-0", "node/worker-0"]
    );

    let kns = ok(&kc, &["get", "kuryrnetworks", "-A"]).await?;
    assert!(kns.contains("demo") && kns.contains("other"), "{kns}");
    assert!(
        kns.starts_with("NAMESPACE"),
        "kubectl adds the namespace column: {kns}"
    );
    let nets = ok(&kc, &["get", "networks.config.openshift.io"]).await?;
    assert!(nets.contains("TYPE") && nets.contains("Kuryr"), "{nets}");

    let net: Value = serde_json::from_str(
        &ok(
            &kc,
            &[
                "get",
                "networks.config.openshift.io",
                "cluster",
                "-o",
                "json",
            ],
        )
        .await?,
    )?;
    assert_eq!(net["status"]["networkType"], "Kuryr");
    assert_eq!(net["kind"], "Network");

    ok(
        &kc,
        &[
            "patch",
            "networks.operator.openshift.io",
            "cluster",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"migration":{"networkType":"OVNKubernetes"}}}"#,
        ],
    )
    .await?;
    let op = store.get("networks.operator.openshift.io", "", "cluster")?;
    assert_eq!(op["spec"]["migration"]["networkType"], "OVNKubernetes");
    assert_eq!(
        op["spec"]["defaultNetwork"]["type"], "Kuryr",
        "merge keeps other fields"
    );

    ok(&kc, &["patch", "kuryrnetwork", "demo", "-n", "demo", "--type", "json", "-p",
        r#"[{"op":"test","path":"/metadata/finalizers/0","value":"kuryrnetwork.finalizers.kuryr.openstack.org"},{"op":"remove","path":"/metadata/finalizers/0"}]"#]).await?;
    let kn = store.get("kuryrnetworks.openstack.org", "demo", "demo")?;
    assert_eq!(kn["metadata"]["finalizers"], json!([]));

    // A failing json patch test is refused (kubectl exits non-zero).
    let out = kubectl(
        &kc,
        &[
            "patch",
            "kuryrnetwork",
            "other",
            "-n",
            "other",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/spec/nsName","value":"wrong"}]"#,
        ],
    )
    .await?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("test") || err.contains("Invalid") || err.contains("invalid"),
        "{err}"
    );

    let missing = kubectl(&kc, &["get", "configmap", "nope", "-n", "demo"]).await?;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    Ok(())
}
