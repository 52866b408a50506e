//! Done-checks and refusals that must not be fooled: a failed precheck does
//! not start a run (drift is checked again before it carries on), migration
//! flags that differ from the run's plan are refused rather than ignored, the
//! network config backup is in the journal before its file exists, and the
//! journal records only HTTP statuses the tool saw, and the operator's
//! confirmation as its own event.

use std::path::Path;

use journal::{Event, Journal};
use replay_tests::{Rig, code, current_journal, describe, small};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

fn bin() -> &'static Path {
    Path::new(BIN)
}

fn events(rig: &Rig) -> Vec<Event> {
    let dir = current_journal(&rig.state).expect("a current run");
    // A reader: it works beside a live or killed writer and never writes.
    let j = Journal::open_read(&dir).unwrap();
    j.iter(1).map(|r| r.unwrap().event).collect()
}

#[test]
fn a_failed_precheck_does_not_start_the_run_and_drift_is_checked_again() {
    let rig = Rig::start(small());
    let store = rig.lab.store();
    let net = "networks.config.openshift.io";
    let set_type = |t: &str| {
        store
            .mutate(net, "", "cluster", true, |o| {
                o["status"]["networkType"] = json!(t)
            })
            .unwrap();
    };
    set_type("OVNKubernetes");
    let out = rig.run(bin(), &[], None);
    assert_eq!(code(&out), 5, "the precheck fails: {}", describe(&out));
    assert!(
        !events(&rig)
            .iter()
            .any(|e| matches!(e, Event::OperationIntended { .. })),
        "nothing was intended"
    );
    // The operator fixes what failed, and a node changes meanwhile.
    set_type("Kuryr");
    let nodes = store.list_all("nodes", None).unwrap();
    let name = nodes[0]["metadata"]["name"].as_str().unwrap().to_string();
    store
        .mutate("nodes", "", &name, false, |n| {
            n["metadata"]["labels"]["added-after-the-plan"] = "yes".into();
        })
        .unwrap();
    let out = rig.run(bin(), &[], None);
    assert_eq!(
        code(&out),
        6,
        "the stale plan is refused: {}",
        describe(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("changed since it was made"), "{err}");
    assert!(err.contains("kuryr plan"), "says how to re-plan: {err}");
    assert!(rig.calls().is_empty(), "nothing changed: {:?}", rig.calls());
}

#[test]
fn migration_flags_that_differ_from_the_plan_are_refused() {
    let rig = Rig::start(small());
    let out = rig.tool(bin(), &["kuryr", "plan"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = rig.run(bin(), &["--mtu", "1350"], None);
    assert_eq!(code(&out), 2, "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mtu: planned null, given 1350"),
        "names the option: {err}"
    );
    assert!(err.contains("make a new plan"), "says what to do: {err}");
    assert!(rig.calls().is_empty(), "nothing changed: {:?}", rig.calls());
}

#[test]
fn the_backup_is_journaled_before_its_file_exists() {
    let rig = Rig::start(small());
    let out = rig.run_killed_at(bin(), "SnapshotRecorded:network-config-backup#1");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    let dir = current_journal(&rig.state).unwrap();
    let file = steps::workflow::beside(&dir, "network-config.json");
    assert!(
        !file.exists(),
        "killed right after journaling: no file the journal does not know of"
    );
    let stale = journal::lock::holder(&dir)
        .expect("the dead run's lock")
        .id();
    let out = rig.run(bin(), &["--break-lock", &stale], None);
    assert!(out.status.success(), "{}", describe(&out));
    let backups: Vec<journal::BlobHash> = events(&rig)
        .iter()
        .filter_map(|e| match e {
            Event::SnapshotRecorded { blobs, .. } => Some(blobs[0].hash),
            _ => None,
        })
        .collect();
    assert_eq!(
        backups.len(),
        1,
        "journaled once, before the file: {backups:?}"
    );
    let bytes = std::fs::read(&file).expect("the resumed run wrote the file");
    assert_eq!(
        journal::BlobHash::of(&bytes),
        backups[0],
        "the file holds the journaled backup"
    );
}

#[test]
fn only_statuses_seen_are_recorded_and_the_confirmation_is_an_event() {
    let rig = Rig::start(small());
    let out = rig.run(bin(), &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let events = events(&rig);
    let mut actions = std::collections::BTreeMap::new();
    for e in &events {
        if let Event::OperationIntended { op, action, .. } = e {
            actions.insert(op.clone(), action.clone());
        }
    }
    for e in &events {
        if let Event::OperationSucceeded {
            op, http_status, ..
        } = e
        {
            match actions.get(op).map(String::as_str) {
                // The Kubernetes client does not report a patch's status.
                Some("set-migration" | "switch-network-type" | "remove-migration") => {
                    assert_eq!(*http_status, None, "{op}")
                }
                // Nova's answer to a reboot action is seen: 202.
                Some("reboot-node") => assert_eq!(*http_status, Some(202), "{op}"),
                _ => {}
            }
        }
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DecisionRecorded { decision, by, .. }
            if decision == "plan-confirmed" && by.contains("--yes"))),
        "the confirmation is journaled"
    );
}
