//! What the restore-run tests share: a cleaned-up lab (the cleanup run's own
//! `kuryr cleanup run` on the migrated shared-project lab of
//! `cleanup_run_common`), the tool's `kuryr restore` commands against it, the
//! current restore journal, the restore's mutating calls with object IDs
//! taken out (so two runs' calls compare), and the shape of the cloud
//! (every object's name, CIDR, addresses and tags, without IDs).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use replay_tests::{FAST, Rig, describe};
use serde_json::{Value, json};

#[path = "../cleanup_run_common/mod.rs"]
mod cleanup_run_common;
pub use cleanup_run_common::{NEUTRON, bin, cleanup, config};

/// Starts the lab and runs the cleanup to its end; returns the lab and the cleanup's journal.
pub fn cleaned() -> (Rig, PathBuf) {
    let rig = Rig::start(config());
    let out = cleanup(&rig, "run", &[], None);
    assert!(out.status.success(), "the cleanup runs: {}", describe(&out));
    let dir = cleanup_run_common::journal_dir(&rig.state).expect("a cleanup journal");
    (rig, dir)
}

/// Runs `kuryr restore <args> --yes --no-progress` (+ the fast timing unless a
/// read-only subcommand), killed at `kill_at` if given.
pub fn restore(rig: &Rig, args: &[&str], kill_at: Option<&str>) -> Output {
    let mut all = vec!["kuryr", "restore"];
    all.extend_from_slice(args);
    all.extend(["--yes", "--no-progress"]);
    let read_only = matches!(args.first(), Some(&"status") | Some(&"report"));
    if !read_only && !args.contains(&"--dry-run") {
        all.extend_from_slice(FAST);
    }
    let mut c = rig.tool(bin(), &all);
    if let Some(p) = kill_at {
        c.env("OVN_MIGRATE_KILL_AT", p);
    }
    c.output().expect("the tool runs")
}

/// Returns the journal directory of the cluster's current restore run.
pub fn restore_dir(state: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(state).ok()?.flatten() {
        let current = std::fs::read_to_string(e.path().join("current")).ok();
        if let Some(run) = current.as_deref().and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("kuryr-restore ")
                    .map(|r| r.trim().to_string())
            })
        }) {
            return Some(e.path().join(run));
        }
    }
    None
}

/// Returns a command's stdout as one JSON document.
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", describe(out)))
}

/// Returns the successful calls that create or change something (POST, PUT),
/// by `METHOD path` with every UUID replaced by `*`.
pub fn creates(rig: &Rig) -> BTreeMap<String, u64> {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let mut out = BTreeMap::new();
    for (k, n) in rig.calls() {
        if k.starts_with("POST ") || k.starts_with("PUT ") {
            *out.entry(uuid.replace_all(&k, "*").into_owned())
                .or_default() += n;
        }
    }
    out
}

fn sorted(v: &Value) -> Value {
    let mut a: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default();
    a.sort();
    json!(a)
}

/// Returns the cloud without IDs: per collection, the sorted list of every
/// object's name, description, CIDR, addresses and tags (IDs in names as `*`).
pub fn shape(rig: &Rig) -> BTreeMap<String, Vec<String>> {
    let cloud = rig.lab.cloud();
    let mut out = BTreeMap::new();
    // Names that hold an ID (the VIP port `octavia-lb-<id>`) lose it too.
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let one = |o: &Value| {
        let v = json!({
            "name": o["name"], "description": o["description"], "cidr": o["cidr"],
            "gateway_ip": o["gateway_ip"], "prefixes": o["prefixes"],
            "fixed_ips": o["fixed_ips"].as_array().map(|a| a.iter().map(|f| f["ip_address"].clone()).collect::<Vec<_>>()),
            "floating_ip_address": o["floating_ip_address"], "vip_address": o["vip_address"],
            "sub_ports": o["sub_ports"].as_array().map(|a| a.len()),
            "rules": o["security_group_rules"].as_array().map(|a| a.len()),
            "tags": sorted(&o["tags"]),
        })
        .to_string();
        uuid.replace_all(&v, "*").into_owned()
    };
    for coll in NEUTRON {
        let mut v: Vec<String> = cloud.neutron_objects(coll).iter().map(one).collect();
        v.sort();
        out.insert(coll.to_string(), v);
    }
    let mut v: Vec<String> = cloud.load_balancers().iter().map(one).collect();
    v.sort();
    out.insert("loadbalancers".into(), v);
    out
}
