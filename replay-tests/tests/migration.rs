//! A full migration against the lab: it completes, the cluster ends on
//! OVN-Kubernetes, every effect happened exactly once, and the journal is
//! whole, sealed, and accounts for every planned operation.

use std::path::Path;

use replay_tests::{Rig, check_journal, current_journal, describe, small};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

#[test]
fn a_full_migration_completes_with_each_effect_once() {
    let rig = Rig::start(small());
    let out = rig.run(Path::new(BIN), &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let s = rig.cluster_state();
    assert_eq!(
        s.pointer("/config_network/spec/networkType"),
        Some(&json!("OVNKubernetes"))
    );
    assert_eq!(
        s.pointer("/config_network/status/networkType"),
        Some(&json!("OVNKubernetes"))
    );
    assert!(
        s.pointer("/config_network/status/migration")
            .is_none_or(Value::is_null),
        "{s}"
    );
    assert!(
        s.pointer("/operator_network/spec/migration")
            .is_none_or(Value::is_null)
    );
    assert_eq!(s["kuryr_pods"], json!([]), "the Kuryr pods are gone");
    let nodes = s["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    let calls = rig.calls();
    let count = |needle: &str| {
        calls
            .iter()
            .filter(|(k, _)| k.contains(needle))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert_eq!(
        count("PATCH /apis/operator.openshift.io/v1/networks/cluster"),
        2,
        "M3 and M11: {calls:?}"
    );
    assert_eq!(
        count("PATCH /apis/config.openshift.io/v1/networks/cluster"),
        1,
        "M7: {calls:?}"
    );
    assert_eq!(count("/action"), 5, "one Nova reboot per node: {calls:?}");
    assert_eq!(
        count("POST /api/v1/namespaces/kube-system/configmaps"),
        1,
        "the seal's anchor: {calls:?}"
    );
    assert_eq!(calls.len(), 8, "nothing else changed: {calls:?}");
    check_journal(&rig);
    // The backup of the network config is beside the journal.
    let dir = current_journal(&rig.state).unwrap();
    let backup = dir.with_file_name(format!(
        "{}.network-config.json",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let saved: Value = serde_json::from_slice(&std::fs::read(backup).unwrap()).unwrap();
    assert_eq!(saved.pointer("/spec/networkType"), Some(&json!("Kuryr")));
}

#[test]
fn run_again_after_completion_changes_nothing() {
    let rig = Rig::start(small());
    assert!(rig.run(Path::new(BIN), &[], None).status.success());
    let calls = rig.calls();
    // The current run is sealed: run reports it and does nothing.
    let out = rig.run(Path::new(BIN), &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already completed"),
        "{}",
        describe(&out)
    );
    assert_eq!(rig.calls(), calls, "nothing was sent");
}

#[test]
fn ssh_reboots_go_through_the_command_template() {
    let rig = Rig::start(small());
    // The lab's reboot hook stands in for ssh: {name} is the node.
    let kube = lab_url(&rig);
    let template = format!("curl -sf -X POST {kube}/_lab/nodes/{{name}}/reboot");
    let out = rig.run(
        Path::new(BIN),
        &[
            "--reboot-command",
            &template,
            "--max-unavailable",
            "worker=2",
        ],
        None,
    );
    assert!(out.status.success(), "{}", describe(&out));
    let calls = rig.calls();
    assert_eq!(
        calls.iter().filter(|(k, _)| k.contains("/action")).count(),
        0,
        "no Nova call: {calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|(k, _)| k.contains("/_lab/nodes/"))
            .count(),
        0,
        "admin routes are not counted"
    );
    check_journal(&rig);
}

fn lab_url(rig: &Rig) -> String {
    rig.lab.kube_url()
}
