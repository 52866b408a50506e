//! The restore run end to end against the lab over HTTP, through the tool's
//! own commands: the cleanup run (`kuryr cleanup run`) on a migrated cluster
//! sharing its project with a second cluster and a user, then `kuryr restore
//! --from` that run. The dry run changes nothing; the run recreates every
//! deleted object it plans, each once (the lab's create calls are counted);
//! what it reports as back is checked against the lab's own objects (same
//! name, CIDR, gateway and tags), not only through the tool's reader; what
//! it cannot restore is listed with why; every object the cleanup kept is
//! unchanged; a second run changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use journal::Journal;
use replay_tests::{code, describe};
use serde_json::Value;
use steps::kuryr::cleanup::record::read_cleanup;
use steps::kuryr::cleanup::select::ObjKind;

mod restore_run_common;
use restore_run_common::*;

#[test]
fn the_restore_brings_back_what_the_cleanup_deleted_and_says_what_it_cannot() {
    let (rig, source) = cleaned();
    let record = read_cleanup(&Journal::open_read(&source).unwrap()).unwrap();
    assert!(record.deleted.len() > 10, "{:?}", record.deleted);
    let cloud_before = rig.lab.cloud();
    let kept_before: BTreeMap<String, Value> = NEUTRON
        .iter()
        .flat_map(|c| {
            cloud_before
                .neutron_objects(c)
                .into_iter()
                .map(move |o| (format!("{c}/{}", o["id"].as_str().unwrap_or_default()), o))
        })
        .collect();

    // The dry run: the plan, nothing sent, nothing recorded.
    let calls = creates(&rig);
    let out = restore(
        &rig,
        &[
            "--from",
            source.to_str().unwrap(),
            "--dry-run",
            "--output",
            "json",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let plan = json_of(&out);
    let ops = plan["operations"].as_array().unwrap();
    assert!(ops.len() > 10, "{plan}");
    assert_eq!(creates(&rig), calls, "the dry run sends nothing");
    assert!(
        restore_dir(&rig.state).is_none(),
        "the dry run records no run"
    );
    // Every deleted object is planned, or reported with why.
    let planned: BTreeSet<(String, String)> = ops
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                o["old_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reported: BTreeSet<(String, String)> = plan["not_restored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert!(!n["why"].as_str().unwrap().is_empty(), "{n}");
            (
                kind_name(&n["kind"]),
                n["old_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (kind, id) in &record.deleted {
        let k = (kind.to_string(), id.clone());
        assert!(
            planned.contains(&k) ^ reported.contains(&k),
            "{kind} {id}: planned {}, reported {}",
            planned.contains(&k),
            reported.contains(&k)
        );
    }

    // The run, by run id.
    let out = restore(&rig, &["--from", &record.run_id], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let dir = restore_dir(&rig.state).expect("a current restore run");
    assert!(
        Journal::open_read(&dir).unwrap().sealed().is_some(),
        "the run is sealed"
    );

    // The report, measured by the tool.
    let out = restore(&rig, &["report", "--output", "json"], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let report = json_of(&out);
    let share = &report["share"];
    println!(
        "restore share (lab): {}/{}; not restored: {}",
        share["restored"],
        share["total"],
        report["report"]["not_restored"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    );
    assert_eq!(share["misses"], Value::Array(vec![]), "{report}");
    assert!(share["total"].as_u64().unwrap() >= 10, "{report}");
    assert_eq!(share["restored"], share["total"]);
    let map: BTreeMap<String, String> =
        serde_json::from_value(report["report"]["id_map"].clone()).unwrap();

    // Checked on the lab's own objects: every deleted network and subnet is
    // back under its new ID with the same name, tags, CIDR and gateway.
    let cloud = rig.lab.cloud();
    let by_id = |coll: &str| -> BTreeMap<String, Value> {
        cloud
            .neutron_objects(coll)
            .into_iter()
            .map(|o| (o["id"].as_str().unwrap_or_default().to_string(), o))
            .collect()
    };
    let (nets, subs, sgs) = (
        by_id("networks"),
        by_id("subnets"),
        by_id("security-groups"),
    );
    let tags = |v: &Value| -> BTreeSet<String> {
        serde_json::from_value(v["tags"].clone()).unwrap_or_default()
    };
    let mut checked = 0;
    for (kind, id) in &record.deleted {
        let new = map.get(id);
        match kind {
            ObjKind::Network => {
                let (o, n) = (record.snapshot.network(id).unwrap(), &nets[new.unwrap()]);
                assert_eq!(n["name"], o.name.as_str());
                assert_eq!(tags(n), o.tags.iter().cloned().collect());
                checked += 1;
            }
            ObjKind::Subnet => {
                let (o, n) = (record.snapshot.subnet(id).unwrap(), &subs[new.unwrap()]);
                assert_eq!(n["cidr"], o.cidr.as_str());
                assert_eq!(n["gateway_ip"].as_str(), o.gateway_ip.as_deref());
                assert_eq!(
                    n["network_id"].as_str(),
                    map.get(&o.network_id).map(String::as_str)
                );
                assert_eq!(tags(n), o.tags.iter().cloned().collect());
                checked += 1;
            }
            ObjKind::SecurityGroup if record.snapshot.security_group(id).is_some() => {
                let (o, n) = (
                    record.snapshot.security_group(id).unwrap(),
                    &sgs[new.unwrap()],
                );
                assert_eq!(n["name"], o.name.as_str());
                assert_eq!(tags(n), o.tags.iter().cloned().collect());
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(
        checked >= 3,
        "networks, subnets and groups were deleted and checked"
    );

    // Each object created once: one POST per planned create of that collection.
    let after = creates(&rig);
    let posts = |coll: &str| {
        let k = format!("POST /network/v2.0/{coll}");
        after.get(&k).copied().unwrap_or(0) - calls.get(&k).copied().unwrap_or(0)
    };
    let planned_of = |action: &str| ops.iter().filter(|o| o["action"] == action).count() as u64;
    assert_eq!(posts("networks"), planned_of("create-network"), "{after:?}");
    assert_eq!(posts("subnets"), planned_of("create-subnet"), "{after:?}");
    assert_eq!(posts("ports"), planned_of("create-port"), "{after:?}");
    assert_eq!(
        posts("security-groups"),
        planned_of("create-security-group"),
        "{after:?}"
    );

    // What the cleanup kept is unchanged, field for field.
    let cloud_after = rig.lab.cloud();
    for c in NEUTRON {
        for o in cloud_after.neutron_objects(c) {
            let key = format!("{c}/{}", o["id"].as_str().unwrap_or_default());
            if let Some(b) = kept_before.get(&key)
                && !["subnets", "networks", "trunks", "routers"].contains(c)
            {
                assert_eq!(strip(&o), strip(b), "{key} changed");
            }
        }
    }

    // Again: already completed, nothing sent.
    let calls = creates(&rig);
    let out = restore(&rig, &["--from", &record.run_id], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(creates(&rig), calls, "a completed restore sends nothing");

    // Status from the journal alone.
    let out = restore(&rig, &["status", "--output", "json"], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
}

/// A refused source: another workflow's journal, a path that is not one.
#[test]
fn a_restore_from_what_is_not_a_cleanup_run_is_refused_with_the_reason() {
    let (rig, source) = cleaned();
    let out = restore(&rig, &["--from", "/nonexistent/run"], None);
    assert_eq!(code(&out), 2, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a directory nor a run id"));
    // A restore run's own journal is not a cleanup run.
    let out = restore(&rig, &["--from", source.to_str().unwrap()], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let dir = restore_dir(&rig.state).unwrap();
    let out = restore(&rig, &["--from", dir.to_str().unwrap(), "--dry-run"], None);
    assert_eq!(code(&out), 2, "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a kuryr-cleanup run"), "{err}");
}

fn kind_name(v: &Value) -> String {
    let k: ObjKind = serde_json::from_value(v.clone()).unwrap();
    k.to_string()
}

/// Drops the fields that change when a neighbour is created (revision, times).
fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["revision_number", "updated_at"] {
            m.remove(k);
        }
    }
    v
}
