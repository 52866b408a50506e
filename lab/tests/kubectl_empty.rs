//! `ovn-migrate lab up --empty --openstack none` driven with the real
//! kubectl: CRDs that add kinds, and a real cluster's export (a `kind: List`)
//! loaded with `kubectl create -f`, status through the status subresource.

use anyhow::Result;

#[path = "kubectl/common.rs"]
mod common;
use common::{kubectl, ok, write};

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    subresources: {status: {}}
"#;

/// `lab up --empty --openstack none`: every kind and the Kuryr CRDs but no
/// objects; a new CRD adds its kind (discovery, openapi, routing); objects
/// exported from a cluster load with `kubectl create -f`, and their status
/// through the status subresource.
#[tokio::test]
async fn an_empty_lab_loads_exported_objects_and_new_crds() -> Result<()> {
    let lab = lab::Lab::start(lab::LabConfig {
        empty: true,
        openstack: false,
        ..lab::LabConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let kc = lab.write_kubeconfig(dir.path())?;
    assert!(lab.try_cloud().is_none());
    assert!(
        lab.write_clouds_yaml(dir.path()).is_err(),
        "no cloud, no clouds.yaml"
    );

    let crds = ok(&kc, &["get", "crd", "-o", "name"]).await?;
    assert!(
        crds.contains("customresourcedefinition.apiextensions.k8s.io/kuryrnetworks.openstack.org"),
        "{crds}"
    );
    assert!(crds.contains("networks.config.openshift.io"), "{crds}");
    let ns = ok(&kc, &["get", "namespaces", "-o", "name"]).await?;
    assert!(
        ns.contains("namespace/default") && ns.contains("namespace/kube-system"),
        "{ns}"
    );
    let none = kubectl(
        &kc,
        &["get", "pods,kuryrnetworks,nodes", "-A", "-o", "name"],
    )
    .await?;
    assert!(
        String::from_utf8_lossy(&none.stdout).trim().is_empty(),
        "no objects"
    );

    // A CRD from the export adds its kind, as on a real apiserver.
    let d = dir.path();
    ok(&kc, &["create", "-f", &write(d, "crd.yaml", WIDGET_CRD)?]).await?;
    let established = ok(
        &kc,
        &[
            "get",
            "crd",
            "widgets.example.com",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
        ],
    )
    .await?;
    assert_eq!(established, "True");
    let export = r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: app}
- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: w1, namespace: app, resourceVersion: "123456", uid: 0a0b0c0d-0000-4000-8000-000000000000}
  spec: {size: 3}
  status: {ready: true}
- apiVersion: openstack.org/v1
  kind: KuryrNetwork
  metadata: {name: app, namespace: app, finalizers: [kuryrnetwork.finalizers.kuryr.openstack.org]}
  spec: {nsName: app, projectId: p}
  status: {netId: n1}
"#;
    let file = write(d, "export.yaml", export)?;
    ok(&kc, &["create", "-f", &file]).await?;
    let store = lab.store();
    let w = store.get("widgets.example.com", "app", "w1")?;
    assert_eq!(w["spec"]["size"], 3);
    assert!(
        w.get("status").is_none(),
        "status is dropped on create: {w}"
    );
    assert_ne!(
        w["metadata"]["uid"], "0a0b0c0d-0000-4000-8000-000000000000",
        "uid is the server's"
    );
    // KuryrNetwork has no status subresource: status is kept, as for its CRD.
    assert_eq!(
        store.get("kuryrnetworks.openstack.org", "app", "app")?["status"]["netId"],
        "n1"
    );
    let status_only = r#"apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: app}
status: {ready: true}
"#;
    ok(
        &kc,
        &[
            "replace",
            "--subresource=status",
            "-f",
            &write(d, "status.yaml", status_only)?,
        ],
    )
    .await?;
    assert_eq!(
        store.get("widgets.example.com", "app", "w1")?["status"]["ready"],
        true
    );
    let got = ok(&kc, &["get", "wg", "-n", "app", "-o", "name"]).await?;
    assert_eq!(
        got.trim(),
        "widget.example.com/w1",
        "the CRD's short name works"
    );
    lab.shutdown();
    Ok(())
}
