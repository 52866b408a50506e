//! The real `kubectl` (v1.32, /usr/bin/kubectl or on PATH) against the lab's
//! API server, through the kubeconfig the lab writes: discovery fallback,
//! get (core, Kuryr and OpenShift kinds), `-o json`; create (typed commands,
//! which send protobuf, and `-f` with validation), replace, apply, patch
//! (strategic, merge and json), delete, `--dry-run=server`, `--chunk-size`
//! and `get -w`. Fails, not skips, when kubectl is missing.

use std::path::PathBuf;

use anyhow::{Result, bail};
use lab::faults::Faults;
use lab::k8s::{self, ApiServer, Store};
use serde_json::{Value, json};

#[path = "kubectl/common.rs"]
mod common;
use common::{fails, kubectl, kubectl_binary, ok, write};

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

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: x
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
      - name: side
        image: busybox
status:
  replicas: 7
"#;

fn containers(store: &Store) -> Result<Vec<Value>> {
    let d = store.get("deployments.apps", "x", "web")?;
    Ok(d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// The commands an operator types, with validation on (kubectl's default),
/// without any flag a real cluster would not need.
#[tokio::test]
async fn kubectl_creates_replaces_applies_patches_and_deletes() -> Result<()> {
    let (_server, store, dir, kc) = start().await?;
    let d = dir.path();

    // Typed commands: kubectl sends these bodies as protobuf.
    assert_eq!(
        ok(&kc, &["create", "namespace", "x"]).await?.trim(),
        "namespace/x created"
    );
    ok(
        &kc,
        &["create", "configmap", "c", "-n", "x", "--from-literal=k=v"],
    )
    .await?;
    assert_eq!(
        store.get("configmaps", "x", "c")?["data"],
        json!({"k": "v"})
    );
    assert_eq!(
        store.get("namespaces", "", "x")?["status"]["phase"],
        "Active"
    );

    // More typed commands that send protobuf: run, create deployment/service, expose.
    ok(
        &kc,
        &[
            "run",
            "pod1",
            "-n",
            "x",
            "--image=nginx:1",
            "--port=80",
            "--env=A=1",
            "--",
            "sleep",
            "9",
        ],
    )
    .await?;
    let pod = store.get("pods", "x", "pod1")?;
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1");
    assert_eq!(pod["spec"]["containers"][0]["args"], json!(["sleep", "9"]));
    assert_eq!(
        pod["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80}])
    );
    assert_eq!(
        pod["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    assert_eq!(pod["metadata"]["labels"]["run"], "pod1");
    ok(
        &kc,
        &[
            "create",
            "deployment",
            "d2",
            "-n",
            "x",
            "--image=nginx:1",
            "--replicas=2",
            "--port=8080",
        ],
    )
    .await?;
    let d2 = store.get("deployments.apps", "x", "d2")?;
    assert_eq!(d2["spec"]["replicas"], 2);
    assert_eq!(d2["spec"]["selector"]["matchLabels"]["app"], "d2");
    assert_eq!(
        d2["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    // kubectl scale goes through the scale subresource.
    ok(
        &kc,
        &["scale", "deployment", "d2", "-n", "x", "--replicas=3"],
    )
    .await?;
    assert_eq!(
        store.get("deployments.apps", "x", "d2")?["spec"]["replicas"],
        3
    );
    ok(
        &kc,
        &[
            "create",
            "service",
            "clusterip",
            "s1",
            "-n",
            "x",
            "--tcp=80:8080",
        ],
    )
    .await?;
    let s1 = store.get("services", "x", "s1")?;
    assert_eq!(s1["spec"]["ports"][0]["port"], 80);
    assert_eq!(s1["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(s1["spec"]["type"], "ClusterIP");
    ok(
        &kc,
        &[
            "expose",
            "deployment",
            "d2",
            "-n",
            "x",
            "--port=80",
            "--target-port=8080",
        ],
    )
    .await?;
    assert_eq!(
        store.get("services", "x", "d2")?["spec"]["selector"]["app"],
        "d2"
    );

    // Server-side dry run: answered, validated, nothing stored.
    let dry = ok(
        &kc,
        &[
            "create",
            "configmap",
            "dry",
            "-n",
            "x",
            "--from-literal=a=b",
            "--dry-run=server",
            "-o",
            "json",
        ],
    )
    .await?;
    assert_eq!(serde_json::from_str::<Value>(&dry)?["data"]["a"], "b");
    assert!(store.get("configmaps", "x", "dry").is_err());
    let err = fails(
        &kc,
        &["create", "configmap", "c", "-n", "x", "--dry-run=server"],
    )
    .await?;
    assert!(err.contains("already exists"), "{err}");

    // create -f validates against the served OpenAPI (Strict on the server).
    let file = write(d, "web.yaml", DEPLOYMENT)?;
    let typo = write(
        d,
        "typo.yaml",
        &DEPLOYMENT.replace("replicas: 1", "replicas: 1\n  replicaz: 2"),
    )?;
    let err = fails(&kc, &["create", "-f", &typo]).await?;
    assert!(err.contains(r#"unknown field "spec.replicaz""#), "{err}");
    assert!(store.get("deployments.apps", "x", "web").is_err());
    ok(&kc, &["create", "-f", &file]).await?;
    let created = store.get("deployments.apps", "x", "web")?;
    assert!(
        created.get("status").is_none(),
        "status is dropped on create: {created}"
    );

    // Status goes in through the status subresource, as on a real apiserver.
    ok(&kc, &["replace", "--subresource=status", "-f", &file]).await?;
    assert_eq!(
        store.get("deployments.apps", "x", "web")?["status"]["replicas"],
        7
    );

    ok(&kc, &["replace", "-f", &file]).await?;
    let dry_delete = ok(&kc, &["delete", "-f", &file, "--dry-run=server"]).await?;
    assert!(dry_delete.contains("server dry run"), "{dry_delete}");
    assert!(store.get("deployments.apps", "x", "web").is_ok());

    // apply twice: the second one drops a container and an env entry, which
    // only a strategic merge patch with merge keys (and $patch: delete) does.
    ok(&kc, &["apply", "-f", &file]).await?;
    assert_eq!(containers(&store)?.len(), 2);
    let changed = DEPLOYMENT
        .replace("nginx:1", "nginx:2")
        .replace(r#", {name: B, value: "2"}"#, "")
        .replace("      - name: side\n        image: busybox\n", "");
    let file2 = write(d, "web2.yaml", &changed)?;
    ok(&kc, &["apply", "-f", &file2]).await?;
    let c = containers(&store)?;
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["image"], "nginx:2");
    assert_eq!(c[0]["env"], json!([{"name": "A", "value": "1"}]));
    let unchanged = ok(&kc, &["apply", "-f", &file2]).await?;
    assert!(unchanged.contains("unchanged"), "{unchanged}");

    // patch: strategic (default for built-in kinds), merge and json.
    ok(
        &kc,
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "x",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"busybox"}]}}}}"#,
        ],
    )
    .await?;
    let names: Vec<Value> = containers(&store)?
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("web"), json!("extra")], "merged by name");
    ok(
        &kc,
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "x",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":3}}"#,
        ],
    )
    .await?;
    assert_eq!(
        store.get("deployments.apps", "x", "web")?["spec"]["replicas"],
        3
    );
    ok(
        &kc,
        &[
            "patch",
            "configmap",
            "c",
            "-n",
            "x",
            "--type",
            "json",
            "-p",
            r#"[{"op":"add","path":"/data/k2","value":"v2"}]"#,
        ],
    )
    .await?;
    assert_eq!(store.get("configmaps", "x", "c")?["data"]["k2"], "v2");
    // A strategic merge patch on a custom kind is a 415, as for a CRD.
    ok(&kc, &["create", "-f", &write(d, "kn.yaml",
        "apiVersion: openstack.org/v1\nkind: KuryrNetwork\nmetadata: {name: kn, namespace: x}\nspec: {nsName: x}\n")?]).await?;
    let err = fails(
        &kc,
        &[
            "patch",
            "kuryrnetwork",
            "kn",
            "-n",
            "x",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"a":1}}"#,
        ],
    )
    .await?;
    assert!(
        err.contains("UnsupportedMediaType")
            || err.contains("unknown format")
            || err.contains("strategic"),
        "{err}"
    );

    ok(&kc, &["delete", "-f", &file]).await?;
    assert!(store.get("deployments.apps", "x", "web").is_err());
    Ok(())
}

/// `get --chunk-size` pages through the list; `get -w` streams changes.
#[tokio::test]
async fn kubectl_pages_and_watches() -> Result<()> {
    let (_server, store, _dir, kc) = start().await?;
    for i in 0..7 {
        store.create(
            "configmaps",
            "demo",
            json!({"metadata": {"name": format!("cm-{i}")}}),
        )?;
    }
    let out = ok(
        &kc,
        &[
            "get",
            "configmaps",
            "-n",
            "demo",
            "--chunk-size=2",
            "-o",
            "name",
        ],
    )
    .await?;
    let names: Vec<&str> = out.lines().collect();
    assert_eq!(names.len(), 7, "{out}");
    assert_eq!(names[6], "configmap/cm-6");

    let mut child = tokio::process::Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["get", "configmaps", "-n", "demo", "-w", "-o", "name"])
        .env("HOME", kc.parent().expect("dir"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut seen = Vec::new();
    let mut created = false;
    // A bound so a broken watch fails the test instead of hanging it.
    let bound = tokio::time::sleep(std::time::Duration::from_secs(60));
    tokio::pin!(bound);
    while !seen.iter().any(|l: &String| l == "configmap/late") {
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { bail!("kubectl get -w ended early: {seen:?}") };
                seen.push(line);
            }
            _ = &mut bound => bail!("no watch event for the new ConfigMap: {seen:?}"),
        }
        if !created && seen.len() == 7 {
            store.create("configmaps", "demo", json!({"metadata": {"name": "late"}}))?;
            created = true;
        }
    }
    child.kill().await?;
    assert_eq!(seen.len(), 8, "{seen:?}");
    Ok(())
}
