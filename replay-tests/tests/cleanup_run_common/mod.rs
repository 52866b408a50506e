//! What the cleanup-run tests share: a migrated shared-project lab, the
//! tool's `kuryr cleanup` commands against it, the world the cleanup may
//! touch (every Neutron and Octavia object and Kuryr's Kubernetes objects,
//! volatile fields out), the calls that delete or detach, and the current
//! cleanup journal.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use lab::LabConfig;
use lab::scenario::{SharedProjectIds, shared_project};
use replay_tests::{FAST, Rig, clean};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

/// The Neutron collections the cleanup reads and deletes from.
pub const NEUTRON: &[&str] = &[
    "networks",
    "subnets",
    "ports",
    "trunks",
    "routers",
    "security-groups",
    "subnetpools",
    "floatingips",
];

/// A migrated cluster sharing its project with a second cluster and a user.
pub fn config() -> LabConfig {
    LabConfig {
        namespaces: 3,
        pods_per_namespace: 1,
        services_per_namespace: 1,
        network_policies_per_namespace: 1,
        workers: 1,
        shared_project: true,
        migrated: true,
        ..LabConfig::default()
    }
}

/// Returns the scenario's IDs (the lab seeds the same scenario from the seed).
pub fn ids(cfg: &LabConfig) -> SharedProjectIds {
    shared_project(&cfg.scenario(), false).1
}

pub fn bin() -> &'static Path {
    Path::new(BIN)
}

/// Runs `kuryr cleanup <verb> --yes --no-progress` (+ the fast timing for run and resume).
pub fn cleanup(rig: &Rig, verb: &str, extra: &[&str], kill_at: Option<&str>) -> Output {
    let mut args = vec!["kuryr", "cleanup", verb, "--yes", "--no-progress"];
    if verb == "run" || verb == "resume" {
        args.extend_from_slice(FAST);
    }
    args.extend_from_slice(extra);
    let mut c = rig.tool(bin(), &args);
    if let Some(p) = kill_at {
        c.env("OVN_MIGRATE_KILL_AT", p);
    }
    c.output().expect("the tool runs")
}

/// Returns the journal directory of the cluster's current cleanup run.
pub fn journal_dir(state: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(state).ok()?.flatten() {
        let current = std::fs::read_to_string(e.path().join("current")).ok();
        if let Some(run) = current.as_deref().and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("kuryr-cleanup ")
                    .map(|r| r.trim().to_string())
            })
        }) {
            return Some(e.path().join(run));
        }
    }
    None
}

fn stable(mut v: Value) -> Value {
    // Stamped by the lab's clock when seeded or changed, at every level.
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("created_at");
                m.remove("updated_at");
                m.remove("revision_number");
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    clean(v)
}

/// Every object the cleanup could touch, keyed `collection/id` (Kubernetes: `resource/ns/name`).
pub fn world(rig: &Rig) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let cloud = rig.lab.cloud();
    for coll in NEUTRON {
        for o in cloud.neutron_objects(coll) {
            let id = o["id"].as_str().unwrap_or_default().to_string();
            out.insert(format!("{coll}/{id}"), stable(o));
        }
    }
    for lb in cloud.load_balancers() {
        let id = lb["id"].as_str().unwrap_or_default().to_string();
        out.insert(format!("loadbalancers/{id}"), stable(lb));
    }
    let store = rig.lab.store();
    for res in [
        "kuryrnetworks.openstack.org",
        "kuryrports.openstack.org",
        "kuryrloadbalancers.openstack.org",
        "kuryrnetworkpolicies.openstack.org",
        "customresourcedefinitions.apiextensions.k8s.io",
        "services",
        "pods",
        "networkpolicies.networking.k8s.io",
        "namespaces",
        "configmaps",
    ] {
        for o in store.list_all(res, None).unwrap_or_default() {
            let m = &o["metadata"];
            let key = format!(
                "{res}/{}/{}",
                m["namespace"].as_str().unwrap_or(""),
                m["name"].as_str().unwrap_or("")
            );
            let o = if key == "configmaps/kube-system/ovn-migrate-anchors" {
                anchors_by_workflow(&o)
            } else {
                clean(o)
            };
            out.insert(key, o);
        }
    }
    out
}

/// Returns the successful calls that delete, detach or remove a finalizer, by `METHOD path`.
pub fn removals(rig: &Rig) -> BTreeMap<String, u64> {
    rig.calls()
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("DELETE ")
                || k.contains("remove_subports")
                || k.contains("remove_router_interface")
                || k.starts_with("PATCH ")
        })
        .collect()
}

/// The seal anchors the runs left (`journal verify --against-cluster`), as
/// how many each workflow wrote: their run ids, seals and heads differ from
/// run to run (a resumed run has more records), their number must not.
fn anchors_by_workflow(cm: &Value) -> Value {
    let mut count: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(a) = cm["metadata"]["annotations"].as_object() {
        for v in a.values() {
            let anchor: Value = v
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            let workflow = anchor["workflow"].as_str().unwrap_or("unreadable anchor");
            *count.entry(workflow.to_string()).or_default() += 1;
        }
    }
    serde_json::json!({ "anchors": count })
}
