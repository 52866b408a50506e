//! Scale: a 200-namespace / 5,000-pod cluster with a KuryrPort per pod, seeded
//! in process and listed over HTTP, paginated, with `kube::Client`. Prints the
//! times it took (no timing assertions: the machine is shared), and checks
//! that every object comes back exactly once.

use std::time::Instant;

use anyhow::Result;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use lab::faults::Faults;
use lab::k8s::{self, Store};
use serde_json::{Value, json};

const NAMESPACES: usize = 200;
const PODS_PER_NAMESPACE: usize = 25;

fn objects() -> Vec<Value> {
    let mut o = Vec::with_capacity(NAMESPACES * (2 * PODS_PER_NAMESPACE + 2));
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n:03}");
        o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork", "metadata": {"name": ns, "namespace": ns,
            "finalizers": ["kuryrnetwork.finalizers.kuryr.openstack.org"]}, "spec": {"nsName": ns}}));
        for p in 0..PODS_PER_NAMESPACE {
            let uid = format!("00000000-{n:04x}-4000-8000-{p:012x}");
            o.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("pod-{p:02}"), "namespace": ns, "uid": uid, "labels": {"app": format!("a{}", p % 5)},
                             "finalizers": ["kuryr.openstack.org/pod-finalizer"]},
                "spec": {"nodeName": format!("worker-{}", p % 7), "containers": [{"name": "c", "image": "registry/app:1"}]},
                "status": {"phase": "Running", "podIP": format!("10.128.{n}.{p}")}}));
            o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrPort",
                "metadata": {"name": format!("pod-{p:02}"), "namespace": ns, "labels": {"kuryr.openstack.org/nodeName": format!("worker-{}", p % 7)},
                             "finalizers": ["kuryr.openstack.org/kuryrport-finalizer"],
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": format!("pod-{p:02}"), "uid": uid}]},
                "spec": {"podUid": uid, "podNodeName": format!("worker-{}", p % 7)},
                "status": {"vifs": {"eth0": {"default": true, "vif": {"versioned_object.data": {"id": format!("port-{n}-{p}")}}}}}}));
        }
    }
    o
}

async fn list_all<K>(api: &Api<K>, limit: u32) -> Result<(Vec<String>, usize)>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug + kube::Resource,
{
    let (mut names, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut lp = ListParams::default().limit(limit);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await?;
        pages += 1;
        names.extend(
            page.items
                .iter()
                .map(|o| format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any())),
        );
        token = page.metadata.continue_.filter(|c| !c.is_empty());
        if token.is_none() {
            return Ok((names, pages));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_pods_seed_and_list_paginated() -> Result<()> {
    let t0 = Instant::now();
    let objs = objects();
    let generated = t0.elapsed();
    let store = Store::new();
    let t1 = Instant::now();
    let n = store.seed(objs)?;
    let seeded = t1.elapsed();
    assert_eq!(n, NAMESPACES * (2 * PODS_PER_NAMESPACE + 2));

    let server = k8s::start(store.clone(), axum::Router::new(), &Faults::default()).await?;
    let dir = tempfile::tempdir()?;
    let kc = Kubeconfig::read_from(k8s::kubeconfig::write(&server.url(), dir.path())?)?;
    let client =
        Client::try_from(Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?)?;

    let pods: Api<Pod> = Api::all(client.clone());
    let t2 = Instant::now();
    let (pod_names, pod_pages) = list_all(&pods, 500).await?;
    let listed_pods = t2.elapsed();
    assert_eq!(pod_names.len(), NAMESPACES * PODS_PER_NAMESPACE);
    assert_eq!(pod_pages, 10);
    let mut sorted = pod_names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), pod_names.len(), "no pod listed twice");

    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("openstack.org", "v1", "KuryrPort"));
    let kps: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let t3 = Instant::now();
    let (kp_names, _) = list_all(&kps, 500).await?;
    let listed_kps = t3.elapsed();
    assert_eq!(kp_names.len(), NAMESPACES * PODS_PER_NAMESPACE);

    let t5 = Instant::now();
    let kind = lab::k8s::resolve("kuryrports.openstack.org")?;
    let in_process = store.list(kind, None, &lab::k8s::ListOptions::default())?;
    let in_process_time = t5.elapsed();
    assert_eq!(
        in_process["items"].as_array().unwrap().len(),
        NAMESPACES * PODS_PER_NAMESPACE
    );

    let t4 = Instant::now();
    let selected = pods
        .list(
            &ListParams::default()
                .labels("app=a3")
                .fields("spec.nodeName=worker-3"),
        )
        .await?;
    let selected_time = t4.elapsed();
    assert!(!selected.items.is_empty());
    assert!(selected.items.iter().all(|p| p.labels()["app"] == "a3"));

    println!(
        "scale: generated {} objects in {generated:?}, seeded in {seeded:?}; listed {} pods in {pod_pages} pages in {listed_pods:?}; \
         {} KuryrPorts in {listed_kps:?} (in process, one page: {in_process_time:?}); selector list in {selected_time:?}",
        n,
        pod_names.len(),
        kp_names.len()
    );
    Ok(())
}
