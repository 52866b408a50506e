//! The lab's Kubernetes API server, driven over real HTTP by `kube::Client`
//! built from the kubeconfig the lab writes: finalizers and deletion,
//! optimistic concurrency, patches, pagination, selectors, garbage collection,
//! namespace deletion, discovery, the status subresource and watch.

use anyhow::Result;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Discovery, ResourceExt};
use lab::faults::Faults;
use lab::k8s::{self, ApiServer, Store};
use serde_json::{Value, json};

struct Harness {
    _server: ApiServer,
    store: Store,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn harness() -> Result<Harness> {
    let store = Store::new();
    let server = k8s::start(store.clone(), axum::Router::new(), &Faults::default()).await?;
    let dir = tempfile::tempdir()?;
    let path = k8s::kubeconfig::write(&server.url(), dir.path())?;
    let kc = Kubeconfig::read_from(&path)?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    Ok(Harness {
        _server: server,
        store,
        client,
        _dir: dir,
    })
}

impl Harness {
    async fn namespace(&self, name: &str) -> Result<()> {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await?;
        Ok(())
    }

    fn cms(&self, ns: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), ns)
    }
}

fn cm(name: &str, extra: Value) -> Result<ConfigMap> {
    let mut v = json!({"metadata": {"name": name}, "data": {"k": "v"}});
    lab::k8s::patch::merge_patch(&mut v, &extra);
    Ok(serde_json::from_value(v)?)
}

fn api_code(e: &kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

fn json_patch(v: Value) -> Patch<()> {
    Patch::Json(serde_json::from_value(v).expect("json patch"))
}

#[tokio::test]
async fn finalizers_keep_object_until_removed() -> Result<()> {
    let h = harness().await?;
    h.namespace("a").await?;
    let api = h.cms("a");
    api.create(
        &PostParams::default(),
        &cm(
            "f",
            json!({"metadata": {"finalizers": ["x.io/one", "x.io/two"]}}),
        )?,
    )
    .await?;
    api.delete("f", &DeleteParams::default()).await?;
    let got = api.get("f").await?;
    assert!(got.metadata.deletion_timestamp.is_some());
    assert_eq!(got.metadata.deletion_grace_period_seconds, Some(0));
    // Deleting again is accepted and changes nothing.
    api.delete("f", &DeleteParams::default()).await?;
    // No new finalizer while deleting.
    let err = api
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["x.io/one", "x.io/two", "x.io/three"]}}),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (422, "Invalid".into()));
    let p = json_patch(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "x.io/one"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]));
    let after = api.patch("f", &PatchParams::default(), &p).await?;
    assert_eq!(after.finalizers(), ["x.io/two"]);
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert_eq!(
        api_code(&api.get("f").await.unwrap_err()),
        (404, "NotFound".into())
    );
    // Without finalizers the object goes at once; deleting it again is 404.
    api.create(&PostParams::default(), &cm("g", json!({}))?)
        .await?;
    api.delete("g", &DeleteParams::default()).await?;
    assert_eq!(
        api_code(&api.delete("g", &DeleteParams::default()).await.unwrap_err()).0,
        404
    );
    Ok(())
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() -> Result<()> {
    let h = harness().await?;
    h.namespace("a").await?;
    let api = h.cms("a");
    let created = api
        .create(&PostParams::default(), &cm("c", json!({}))?)
        .await?;
    let rv0 = created.resource_version().unwrap();
    let mut edit = created.clone();
    edit.data.as_mut().unwrap().insert("k".into(), "v2".into());
    let replaced = api.replace("c", &PostParams::default(), &edit).await?;
    assert_ne!(replaced.resource_version().unwrap(), rv0);
    // Same stale object again: 409.
    let err = api
        .replace("c", &PostParams::default(), &edit)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (409, "Conflict".into()));
    // No resourceVersion: unconditional.
    edit.metadata.resource_version = None;
    edit.data.as_mut().unwrap().insert("k".into(), "v3".into());
    let forced = api.replace("c", &PostParams::default(), &edit).await?;
    assert_eq!(forced.data.unwrap()["k"], "v3");
    // Create again: AlreadyExists.
    let err = api
        .create(&PostParams::default(), &cm("c", json!({}))?)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (409, "AlreadyExists".into()));
    // generateName.
    let generated = api
        .create(
            &PostParams::default(),
            &cm("", json!({"metadata": {"generateName": "gen-"}}))?,
        )
        .await?;
    assert!(
        generated.name_any().starts_with("gen-") && generated.name_any().len() == 9,
        "{}",
        generated.name_any()
    );
    // dryRun=All is validated and answered, and nothing is persisted.
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let answered = api.create(&dry, &cm("dry", json!({}))?).await?;
    assert_eq!(answered.name_any(), "dry");
    assert_eq!(answered.resource_version(), None);
    assert_eq!(api_code(&api.get("dry").await.unwrap_err()).0, 404);
    let err = api
        .create(&dry, &cm(&generated.name_any(), json!({}))?)
        .await
        .unwrap_err();
    assert_eq!(
        api_code(&err),
        (409, "AlreadyExists".into()),
        "still validated"
    );
    // A no-op update keeps the resourceVersion.
    let same = api
        .replace(&generated.name_any(), &PostParams::default(), &generated)
        .await?;
    assert_eq!(same.resource_version(), generated.resource_version());
    Ok(())
}

#[tokio::test]
async fn merge_and_json_patches() -> Result<()> {
    let h = harness().await?;
    h.namespace("a").await?;
    let api = h.cms("a");
    api.create(
        &PostParams::default(),
        &cm("p", json!({"metadata": {"labels": {"a": "1", "b": "2"}}}))?,
    )
    .await?;
    let merged = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": {"n": "m"}}),
            ),
        )
        .await?;
    assert_eq!(merged.labels().get("a"), None);
    assert_eq!(merged.labels()["c"], "3");
    assert_eq!(merged.data.as_ref().unwrap()["k"], "v");
    assert_eq!(merged.data.as_ref().unwrap()["n"], "m");
    let ok = json_patch(json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "w"}
    ]));
    assert_eq!(
        api.patch("p", &PatchParams::default(), &ok)
            .await?
            .data
            .unwrap()["k"],
        "w"
    );
    let failing = json_patch(json!([
        {"op": "replace", "path": "/data/n", "value": "changed"},
        {"op": "test", "path": "/data/k", "value": "v"}
    ]));
    let err = api
        .patch("p", &PatchParams::default(), &failing)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (422, "Invalid".into()));
    assert_eq!(
        api.get("p").await?.data.unwrap()["n"],
        "m",
        "a failed patch changes nothing"
    );
    // A resourceVersion in a patch is a precondition.
    let err = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "data": {"k": "x"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(&err).0, 409);
    Ok(())
}

#[tokio::test]
async fn pagination_and_selectors() -> Result<()> {
    let h = harness().await?;
    let mut objs = Vec::new();
    for n in 0..3 {
        objs.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("ns{n}")}}));
        for p in 0..9 {
            objs.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("pod{p}"), "namespace": format!("ns{n}"),
                             "labels": {"app": if p % 2 == 0 { "even" } else { "odd" }, "idx": p.to_string()}},
                "spec": {"nodeName": format!("node{}", p % 3)}, "status": {"phase": if p == 0 { "Pending" } else { "Running" }}}));
        }
    }
    h.store.seed(objs)?;
    let pods: Api<Pod> = Api::all(h.client.clone());
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = ListParams::default().limit(10);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = pods.list(&lp).await?;
        assert!(page.metadata.resource_version.is_some());
        pages += 1;
        assert!(page.items.len() <= 10);
        names.extend(
            page.items
                .iter()
                .map(|p| format!("{}/{}", p.namespace().unwrap(), p.name_any())),
        );
        token = page.metadata.continue_.filter(|c| !c.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 27);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, names, "stable namespace/name order, no duplicates");

    let count = |sel: &'static str| {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(sel))
                .await
                .map(|l| l.items.len())
        }
    };
    assert_eq!(count("app=even").await?, 15);
    assert_eq!(count("app!=even").await?, 12);
    assert_eq!(count("idx in (1,2,3)").await?, 9);
    assert_eq!(count("idx notin (1,2,3),app=odd").await?, 6);
    assert_eq!(count("app").await?, 27);
    assert_eq!(count("!app").await?, 0);
    let ns1: Api<Pod> = Api::namespaced(h.client.clone(), "ns1");
    let on_node0 = ns1
        .list(&ListParams::default().fields("spec.nodeName=node0"))
        .await?;
    assert_eq!(on_node0.items.len(), 3);
    let pending = pods
        .list(&ListParams::default().fields("status.phase=Pending"))
        .await?;
    assert_eq!(pending.items.len(), 3);
    let one = pods
        .list(&ListParams::default().fields("metadata.name=pod4,metadata.namespace=ns2"))
        .await?;
    assert_eq!(one.items.len(), 1);
    let err = pods
        .list(&ListParams::default().labels("app in even"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "BadRequest".into()));
    // Only the field labels kube-apiserver supports for the kind.
    let err = pods
        .list(&ListParams::default().fields("spec.containers=x"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "BadRequest".into()));
    assert!(
        err.to_string()
            .contains("field label not supported: spec.containers"),
        "{err}"
    );
    // deletecollection honours the selector and the namespace.
    ns1.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=odd"),
    )
    .await?;
    assert_eq!(ns1.list(&ListParams::default()).await?.items.len(), 5);
    assert_eq!(pods.list(&ListParams::default()).await?.items.len(), 23);
    Ok(())
}

#[tokio::test]
async fn owner_references_are_garbage_collected() -> Result<()> {
    let h = harness().await?;
    h.namespace("a").await?;
    let api = h.cms("a");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({}))?)
        .await?;
    let uid = owner.uid().unwrap();
    let oref = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]);
    api.create(
        &PostParams::default(),
        &cm("dep", json!({"metadata": {"ownerReferences": oref}}))?,
    )
    .await?;
    api.create(
        &PostParams::default(),
        &cm(
            "held",
            json!({"metadata": {"ownerReferences": oref, "finalizers": ["x.io/f"]}}),
        )?,
    )
    .await?;
    api.create(&PostParams::default(), &cm("grandchild", json!({"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "dep", "uid": api.get("dep").await?.uid().unwrap()}]}}))?).await?;
    api.delete("owner", &DeleteParams::default()).await?;
    assert_eq!(api_code(&api.get("dep").await.unwrap_err()).0, 404);
    assert_eq!(api_code(&api.get("grandchild").await.unwrap_err()).0, 404);
    assert!(
        api.get("held").await?.metadata.deletion_timestamp.is_some(),
        "finalizers respected"
    );
    // An object written with owners that do not exist is collected too.
    let ghost =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "no-such-uid"}]);
    let answered = api
        .create(
            &PostParams::default(),
            &cm("orphan", json!({"metadata": {"ownerReferences": ghost}}))?,
        )
        .await?;
    assert_eq!(answered.name_any(), "orphan");
    assert_eq!(api_code(&api.get("orphan").await.unwrap_err()).0, 404);
    api.create(&PostParams::default(), &cm("later", json!({}))?)
        .await?;
    api.patch(
        "later",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"ownerReferences": ghost}})),
    )
    .await?;
    assert_eq!(api_code(&api.get("later").await.unwrap_err()).0, 404);
    Ok(())
}

#[tokio::test]
async fn namespace_deletion_empties_then_removes_it() -> Result<()> {
    let h = harness().await?;
    h.namespace("doomed").await?;
    let api = h.cms("doomed");
    api.create(&PostParams::default(), &cm("plain", json!({}))?)
        .await?;
    api.create(
        &PostParams::default(),
        &cm("held", json!({"metadata": {"finalizers": ["x.io/f"]}}))?,
    )
    .await?;
    let nss: Api<Namespace> = Api::all(h.client.clone());
    nss.delete("doomed", &DeleteParams::default()).await?;
    let ns = nss.get("doomed").await?;
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    assert_eq!(api_code(&api.get("plain").await.unwrap_err()).0, 404);
    assert!(api.get("held").await?.metadata.deletion_timestamp.is_some());
    let err = api
        .create(&PostParams::default(), &cm("new", json!({}))?)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err).0, 403);
    api.patch(
        "held",
        &PatchParams::default(),
        &json_patch(json!([{"op": "remove", "path": "/metadata/finalizers"}])),
    )
    .await?;
    assert_eq!(api_code(&nss.get("doomed").await.unwrap_err()).0, 404);
    // Creating in a namespace that does not exist is 404.
    let err = h
        .cms("nowhere")
        .create(&PostParams::default(), &cm("x", json!({}))?)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err).0, 404);
    Ok(())
}

#[tokio::test]
async fn discovery_finds_openshift_and_kuryr_kinds() -> Result<()> {
    let h = harness().await?;
    let discovery = Discovery::new(h.client.clone()).run().await?;
    for (group, kind) in [
        ("config.openshift.io", "Network"),
        ("config.openshift.io", "Infrastructure"),
        ("config.openshift.io", "ClusterOperator"),
        ("operator.openshift.io", "Network"),
        ("machineconfiguration.openshift.io", "MachineConfigPool"),
        ("machineconfiguration.openshift.io", "MachineConfig"),
        ("openstack.org", "KuryrNetwork"),
        ("openstack.org", "KuryrPort"),
        ("openstack.org", "KuryrLoadBalancer"),
        ("openstack.org", "KuryrNetworkPolicy"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apps", "DaemonSet"),
        ("", "Node"),
    ] {
        let gvk = GroupVersionKind::gvk(group, "v1", kind);
        let (ar, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{group}/{kind} not discovered"));
        assert_eq!(ar.kind, kind);
        let namespaced = matches!(caps.scope, kube::discovery::Scope::Namespaced);
        assert_eq!(
            namespaced,
            group == "openstack.org" || kind == "DaemonSet",
            "{group}/{kind}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn status_subresource_separates_spec_and_status() -> Result<()> {
    let h = harness().await?;
    h.store.seed(vec![json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": {"networkType": "Kuryr"}, "status": {"networkType": "Kuryr"}})])?;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "config.openshift.io",
        "v1",
        "Network",
    ));
    let api: Api<DynamicObject> = Api::all_with(h.client.clone(), &ar);
    let before = api.get("cluster").await?;
    let main = api
        .patch(
            "cluster",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"networkType": "OVNKubernetes"}, "status": {"networkType": "X"}}),
            ),
        )
        .await?;
    assert_eq!(main.data["spec"]["networkType"], "OVNKubernetes");
    assert_eq!(
        main.data["status"]["networkType"], "Kuryr",
        "main-resource writes ignore status"
    );
    assert_eq!(
        main.metadata.generation,
        Some(before.metadata.generation.unwrap() + 1)
    );
    let st = api
        .patch_status("cluster", &PatchParams::default(), &Patch::Merge(json!({"spec": {"networkType": "Y"}, "status": {"migration": {"networkType": "OVNKubernetes"}}})))
        .await?;
    assert_eq!(
        st.data["spec"]["networkType"], "OVNKubernetes",
        "status writes ignore spec"
    );
    assert_eq!(
        st.data["status"]["migration"]["networkType"],
        "OVNKubernetes"
    );
    assert_eq!(st.metadata.generation, main.metadata.generation);
    // Create drops status for kinds with the subresource.
    let fresh = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"apiVersion": "config.openshift.io/v1", "kind": "Network",
                "metadata": {"name": "other"}, "spec": {"networkType": "Kuryr"}, "status": {"networkType": "Kuryr"}}))?,
        )
        .await?;
    assert!(fresh.data.get("status").is_none(), "{:?}", fresh.data);
    // Kinds without the subresource answer 404 on /status.
    h.namespace("s").await?;
    let cms = h.cms("s");
    cms.create(&PostParams::default(), &cm("x", json!({}))?)
        .await?;
    assert_eq!(api_code(&cms.get_status("x").await.unwrap_err()).0, 404);
    Ok(())
}

#[tokio::test]
async fn watch_streams_changes() -> Result<()> {
    let h = harness().await?;
    h.namespace("w").await?;
    let api = h.cms("w");
    let rv = api
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await?
        .boxed();
    api.create(&PostParams::default(), &cm("one", json!({}))?)
        .await?;
    api.delete("one", &DeleteParams::default()).await?;
    let first = stream.try_next().await?.expect("an event");
    assert!(
        matches!(first, WatchEvent::Added(ref c) if c.name_any() == "one"),
        "{first:?}"
    );
    let second = stream.try_next().await?.expect("an event");
    assert!(
        matches!(second, WatchEvent::Deleted(ref c) if c.name_any() == "one"),
        "{second:?}"
    );
    Ok(())
}
