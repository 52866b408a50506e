//! Bad inputs and refusals: every one stops the tool with its own exit code
//! and a message that names the problem and says what to do (a `hint:`), and
//! none of them changes the cluster or the cloud (the lab's mutating call
//! counts stay empty, or unchanged). Covers a missing kubeconfig, an API
//! server that does not answer, a cloud missing from clouds.yaml, a wrong
//! OpenStack password, a cluster that is not on Kuryr, a journal of another
//! cluster, a second runner on the same journal, a cluster lease held by
//! another machine, and a journal with a damaged record.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use lab::LabConfig;
use lab::faults::FaultRule;
use replay_tests::{
    FAST, ForeignHolder, Reference, Rig, check_journal, code, current_journal, describe,
    finish_within, output_within, small, wait_until,
};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

const CONFIG: i32 = 3;
const UNREACHABLE: i32 = 4;
const PRECHECK_FAILED: i32 = 5;
const LOCKED: i32 = 7;
const JOURNAL_CORRUPT: i32 = 9;
const WRONG_TARGET: i32 = 10;

/// Longest any single invocation may take here.
const LIMIT: Duration = Duration::from_secs(120);

fn bin() -> &'static Path {
    Path::new(BIN)
}

/// The uninterrupted run every completed run here is compared with.
fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| Reference::take(bin()))
}

/// Returns the `kuryr run` arguments with fast timing and `extra`.
fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    args
}

/// Returns the `kuryr resume` arguments with fast timing and `extra`.
fn resume_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["kuryr", "resume", "--no-progress"];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    args
}

fn run(cmd: Command, what: &str) -> Output {
    output_within(cmd, what, LIMIT)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit code, that the error names every one of `names`, and
/// that it gives a hint.
fn assert_refused(out: &Output, want: i32, names: &[&str]) {
    assert_eq!(code(out), want, "{}", describe(out));
    let err = stderr(out);
    for n in names {
        assert!(
            err.contains(n),
            "the error should name {n:?}: {}",
            describe(out)
        );
    }
    assert!(
        err.contains("hint:"),
        "the error gives no hint: {}",
        describe(out)
    );
}

/// Returns the cluster id of a lab (`infrastructures/cluster .status.infrastructureName`).
fn cluster_id(rig: &Rig) -> String {
    rig.lab
        .store()
        .get("infrastructures.config.openshift.io", "", "cluster")
        .unwrap()
        .pointer("/status/infrastructureName")
        .and_then(|v| v.as_str())
        .unwrap()
        .to_string()
}

/// Writes a copy of `src` with `from` replaced by `to`; returns its path.
fn edited_copy(rig: &Rig, src: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(src).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", src.display());
    let path = rig.dir.path().join(name);
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

#[test]
fn a_missing_kubeconfig_is_a_config_error() {
    let rig = Rig::start(small());
    let missing = rig.dir.path().join("no-such.kubeconfig");
    let missing_s = missing.to_string_lossy().into_owned();
    let mut args = run_args(&[]);
    args.extend(["--kubeconfig", &missing_s]);
    let out = run(rig.tool(bin(), &args), "run with a missing kubeconfig");
    assert_refused(&out, CONFIG, &[&missing_s, "--kubeconfig"]);
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
    assert!(current_journal(&rig.state).is_none(), "no run was started");
}

#[test]
fn an_api_server_on_a_closed_port_is_unreachable() {
    let rig = Rig::start(small());
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let lab_url = rig.lab.kube_url();
    let dead_url = format!("http://127.0.0.1:{closed}");
    let kubeconfig = edited_copy(
        &rig,
        &rig.kubeconfig,
        "dead.kubeconfig",
        &lab_url,
        &dead_url,
    );
    let mut cmd = rig.tool(bin(), &run_args(&["--request-timeout-s", "5"]));
    cmd.env("KUBECONFIG", &kubeconfig);
    let out = run(cmd, "run against a closed port");
    assert_refused(&out, UNREACHABLE, &[&dead_url, "--kubeconfig"]);
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
}

#[test]
fn a_cloud_missing_from_clouds_yaml_is_a_config_error() {
    let rig = Rig::start(small());
    let mut cmd = rig.tool(bin(), &run_args(&[]));
    cmd.env("OS_CLOUD", "elsewhere");
    let out = run(cmd, "run with an unknown cloud");
    assert_refused(&out, CONFIG, &["elsewhere", "clouds.yaml"]);
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
}

#[test]
fn a_wrong_openstack_password_is_a_config_error() {
    let rig = Rig::start(small());
    let text = std::fs::read_to_string(&rig.clouds).unwrap();
    let password = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("the lab's clouds.yaml has a password")
        .to_string();
    let clouds = edited_copy(
        &rig,
        &rig.clouds,
        "wrong.clouds.yaml",
        &format!("password: {password}"),
        "password: not-the-password",
    );
    let mut cmd = rig.tool(bin(), &run_args(&[]));
    cmd.env("OS_CLIENT_CONFIG_FILE", &clouds);
    let out = run(cmd, "run with a wrong password");
    assert_refused(&out, CONFIG, &["401", "\"admin\"", "clouds.yaml"]);
    assert!(
        !stderr(&out).contains("not-the-password"),
        "the password is not shown: {}",
        describe(&out)
    );
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
}

#[test]
fn a_cluster_not_on_kuryr_fails_the_precheck_and_changes_nothing() {
    let rig = Rig::start(small());
    let store = rig.lab.store();
    let net = "networks.config.openshift.io";
    store
        .mutate(net, "", "cluster", false, |o| {
            o["spec"]["networkType"] = json!("OVNKubernetes")
        })
        .unwrap();
    store
        .mutate(net, "", "cluster", true, |o| {
            o["status"]["networkType"] = json!("OVNKubernetes")
        })
        .unwrap();
    let before = rig.cluster_state();
    let out = run(rig.tool(bin(), &run_args(&[])), "run on an OVN cluster");
    assert_eq!(code(&out), PRECHECK_FAILED, "{}", describe(&out));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("M0"), "names the step: {all}");
    assert!(all.contains("✗"), "names the failing check: {all}");
    assert!(all.contains("OVNKubernetes"), "says what it found: {all}");
    assert!(all.contains("hint:"), "gives a hint: {all}");
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
    assert_eq!(rig.cluster_state(), before, "nothing changed");
}

#[test]
fn a_journal_of_another_cluster_is_refused() {
    let other = Rig::start(LabConfig { seed: 2, ..small() });
    let out = other.run(bin(), &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let foreign = current_journal(&other.state).unwrap();
    let rig = Rig::start(small());
    let (mine, theirs) = (cluster_id(&rig), cluster_id(&other));
    assert_ne!(mine, theirs, "the two labs are different clusters");
    let foreign_s = foreign.to_string_lossy().into_owned();
    let out = run(
        rig.tool(bin(), &resume_args(&["--journal", &foreign_s])),
        "resume with another cluster's journal",
    );
    assert_refused(&out, WRONG_TARGET, &[&mine, &theirs]);
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
}

#[test]
fn a_second_runner_is_locked_out_while_the_first_runs() {
    let rig = Rig::start(small());
    // The first run's first Nova reboot goes unanswered until its 15 s request
    // timeout: a window in which the run holds its journal lock and cannot finish.
    rig.lab.faults().set_rules(vec![FaultRule {
        method: Some("POST".into()),
        path_contains: "/action".into(),
        timeout_rate: 1.0,
        remaining: Some(1),
        ..FaultRule::default()
    }]);
    let first = rig
        .tool(bin(), &run_args(&["--request-timeout-s", "15"]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = first.id();
    let dir = wait_until(
        "the first run to hang in its reboot",
        Duration::from_secs(60),
        || (rig.lab.faults().injected() == 1).then(|| current_journal(&rig.state))?,
    );
    let holder = journal::lock::holder(&dir).expect("the first run holds the journal");
    assert_eq!(holder.pid, pid);
    let second = run(rig.tool(bin(), &resume_args(&[])), "the second runner");
    assert_refused(&second, LOCKED, &[&format!("pid {pid}")]);
    let first = finish_within(first, "the first run", LIMIT);
    assert!(first.status.success(), "{}", describe(&first));
    assert!(
        reference().differences(&rig).is_empty(),
        "{:?}",
        reference().differences(&rig)
    );
    check_journal(&rig);
}

#[test]
fn a_cluster_lease_held_by_another_machine_is_refused() {
    let rig = Rig::start(small());
    let holder = "ovn-migrate/other-host/run";
    // A live holder: it keeps renewing while this run watches its lease.
    let _other = ForeignHolder::start(&rig, holder, Duration::ZERO, 300, true);
    let out = run(rig.tool(bin(), &run_args(&[])), "run under another's lease");
    assert_refused(&out, LOCKED, &[holder]);
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
    let lease = rig
        .lab
        .store()
        .get("leases.coordination.k8s.io", "kube-system", "ovn-migrate")
        .unwrap();
    assert_eq!(
        lease["spec"]["holderIdentity"],
        json!(holder),
        "not taken over"
    );
}

#[test]
fn a_damaged_record_stops_resume_as_a_corrupt_journal() {
    let rig = Rig::start(small());
    // Stop the run at its 20th append (after its first changes), as a crash would.
    let out = rig.run(bin(), &[], Some(20));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    let calls = rig.calls();
    assert!(!calls.is_empty(), "the run had started changing things");
    let dir = current_journal(&rig.state).unwrap();
    let stale = journal::lock::holder(&dir)
        .expect("the dead run's lock")
        .id();
    // Flip one byte of record 2 (the discovery) through sled, as
    // journal/tests/corruption.rs does: the case of a letter inside a word, so
    // the record still decodes and only the chain can tell it was altered.
    {
        let db = sled::open(&dir).unwrap();
        let tree = db.open_tree("journal").unwrap();
        let mut key = vec![b'e'];
        key.extend_from_slice(&2u64.to_be_bytes());
        let mut v = tree.get(&key).unwrap().expect("record 2").to_vec();
        let at = (1..v.len() - 1)
            .find(|&i| {
                v[i].is_ascii_lowercase()
                    && v[i - 1].is_ascii_lowercase()
                    && v[i + 1].is_ascii_lowercase()
            })
            .expect("a word in the discovery record");
        v[at] ^= 0x20;
        assert!(
            journal::format::decode(&v).is_ok(),
            "the damaged record still decodes"
        );
        tree.insert(&key, v).unwrap();
        db.flush().unwrap();
    }
    let out = run(
        rig.tool(bin(), &resume_args(&["--break-lock", &stale])),
        "resume of a damaged journal",
    );
    assert_refused(&out, JOURNAL_CORRUPT, &["record 2", "journal verify"]);
    assert_eq!(rig.calls(), calls, "nothing more was sent");
}
