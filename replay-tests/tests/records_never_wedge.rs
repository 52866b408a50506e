//! No size of what a cluster or a command says wedges a run (issue 12, #4).
//!
//! Each case was seen to break on format 2, where an event over 4 KiB was
//! refused as if the journal were corrupt and resume hit the same wall again:
//! an ambiguous M3 whose live operator network is 5.8 KB must stop for the
//! operator (exit 6); a reboot command with 6 KB of stderr must fail its
//! operation (exit 1) and resume must complete once the command works; a
//! node name of 204 characters must be a precheck finding when the plan is
//! made (exit 5), before anything changes.

use std::path::Path;

use journal::{Event, Journal, OpenOptions, PauseReason};
use replay_tests::{Rig, code, current_journal, describe, small};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const OPERATOR_NET: &str = "networks.operator.openshift.io";

/// Returns every event of the current run's journal (opened once the tool is done).
fn events(rig: &Rig) -> (Journal, Vec<Event>) {
    let dir = current_journal(&rig.state).expect("a current run");
    let j = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
    let evs = j.iter(1).map(|r| r.unwrap().event).collect();
    (j, evs)
}

#[test]
fn an_ambiguous_m3_with_a_large_operator_network_stops_for_the_operator() {
    let bin = Path::new(BIN);
    // Where M3's intent lands: from an uninterrupted run of the same lab.
    let reference = Rig::start(small());
    assert!(reference.run(bin, &[], None).status.success());
    let (_, evs) = events(&reference);
    let m3_intent = evs
        .iter()
        .position(|e| matches!(e, Event::OperationIntended { step, .. } if step == "M3"))
        .expect("an M3 intent") as u64
        + 1;
    drop(reference);

    let rig = Rig::start(small());
    let first = rig.run(bin, &[], Some(m3_intent));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(first.status.signal(), Some(9), "{}", describe(&first));
    let patches_before = replay_tests::count(&rig.calls(), "PATCH /apis/operator.openshift.io");
    // While the tool was down, someone set another migration and filled the
    // object: M3's intent has no outcome and the live object says neither yes nor no.
    rig.lab
        .store()
        .mutate(OPERATOR_NET, "", "cluster", false, |n| {
            n["spec"]["migration"] = json!({"networkType": "SomethingElse"});
            n["metadata"]["annotations"]["example.com/notes"] = json!("n".repeat(5800));
        })
        .unwrap();
    let out = rig.resume(bin, &[]);
    assert_eq!(code(&out), 6, "{}", describe(&out));
    assert_eq!(
        replay_tests::count(&rig.calls(), "PATCH /apis/operator.openshift.io"),
        patches_before,
        "nothing more was sent to the operator network"
    );
    let (j, evs) = events(&rig);
    let live = evs
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::RunPaused {
                reason: PauseReason::NeedsOperator { live, .. },
            } => Some(live.clone()),
            _ => None,
        })
        .expect("a RunPaused for the operator");
    assert!(
        live.full_blob().is_some(),
        "the live object is in the blob store"
    );
    assert!(
        j.load_doc(&live).unwrap().0.contains(&"n".repeat(5800)),
        "and whole"
    );
    // The same stop again on the next resume: nothing wedged, nothing sent.
    drop(j);
    let again = rig.resume(bin, &[]);
    assert_eq!(code(&again), 6, "{}", describe(&again));
}

#[test]
fn a_reboot_command_with_6_kb_of_stderr_fails_its_operation_and_resume_completes() {
    let bin = Path::new(BIN);
    let rig = Rig::start(small());
    let flag = rig.dir.path().join("fail-reboots");
    std::fs::write(&flag, b"").unwrap();
    let script = rig.dir.path().join("reboot.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ -e {flag} ]; then head -c 6000 /dev/zero | tr '\\0' e >&2; exit 1; fi\n\
             exec curl -sf -X POST {kube}/_lab/nodes/$1/reboot\n",
            flag = flag.display(),
            kube = rig.lab.kube_url()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let template = format!("{} {{name}}", script.display());
    let out = rig.run(bin, &["--reboot-command", &template], None);
    assert_eq!(code(&out), 1, "{}", describe(&out));
    let (j, evs) = events(&rig);
    let error = evs
        .iter()
        .find_map(|e| match e {
            Event::OperationFailed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .expect("the reboot's failure is journaled");
    assert!(error.len() > 6000, "{}", error.len());
    assert!(error.inline().len() <= journal::bounded::TEXT_INLINE);
    assert!(j.full_text(&error).unwrap().contains(&"e".repeat(6000)));
    drop(j);
    std::fs::remove_file(&flag).unwrap();
    let out = rig.resume(bin, &[]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    replay_tests::check_journal(&rig);
}

#[test]
fn a_204_character_node_name_is_a_precheck_finding_before_anything_changes() {
    let bin = Path::new(BIN);
    let rig = Rig::start(small());
    let long = format!(
        "{}.{}.{}.{}",
        "a".repeat(50),
        "b".repeat(50),
        "c".repeat(50),
        "d".repeat(51)
    );
    assert_eq!(long.len(), 204);
    let store = rig.lab.store();
    let workers: Vec<_> = store
        .list_all("nodes", None)
        .unwrap()
        .into_iter()
        .filter(|n| {
            n["metadata"]["labels"]
                .get("node-role.kubernetes.io/worker")
                .is_some()
        })
        .collect();
    let mut node = workers[0].clone();
    node["metadata"] = json!({
        "name": long,
        "labels": node["metadata"]["labels"].clone(),
        "annotations": node["metadata"]["annotations"].clone(),
    });
    // `seed` keeps the status a real cluster's kubelet would have set (a
    // create through the API drops it, as kube-apiserver does).
    store.seed(vec![node]).unwrap();
    for args in [
        vec!["kuryr", "plan", "--no-progress"],
        vec!["kuryr", "run", "--yes", "--no-progress"],
    ] {
        let out = rig.tool(bin, &args).output().unwrap();
        assert_eq!(code(&out), 5, "{args:?}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("too long") && err.contains(&long), "{err}");
        assert!(
            rig.calls().is_empty(),
            "nothing was changed: {:?}",
            rig.calls()
        );
    }
}
