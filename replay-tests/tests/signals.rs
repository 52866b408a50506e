//! SIGTERM and SIGHUP pause a run exactly as Ctrl-C does: the operations in
//! flight finish, `RunPaused` is journaled, the run exits 8, the journal's
//! lock is gone (resume needs no flag), the cluster lease is released, and
//! `kuryr resume` completes without repeating an effect.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use journal::{Event, Journal, OpenOptions};
use lab::faults::FaultRule;
use replay_tests::{FAST, Rig, current_journal, describe, finish_within, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

fn status_current(rig: &Rig) -> Option<String> {
    let dir = current_journal(&rig.state)?;
    let file = dir.with_file_name(format!(
        "{}.status.json",
        dir.file_name()?.to_string_lossy()
    ));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v["current"].as_str().map(str::to_string)
}

/// Sends `signal` to a run inside M5's wait and checks the pause, then resumes.
fn pauses_on(signal: &str) {
    let reference = Rig::start(small());
    assert!(reference.run(Path::new(BIN), &[], None).status.success());
    let want_calls = reference.calls();
    drop(reference);

    let rig = Rig::start(small());
    // Slow the machine config pools down, so the run is inside M5's wait when signalled.
    rig.lab.faults().set_rules(vec![FaultRule {
        method: Some("GET".into()),
        path_contains: "machineconfigpools".into(),
        latency_ms: 300,
        ..Default::default()
    }]);
    let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
    args.extend_from_slice(FAST);
    let mut child = rig
        .tool(Path::new(BIN), &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !status_current(&rig).is_some_and(|op| op.contains("/M5/")) {
        if Instant::now() >= deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "the run never reached M5: {}",
                describe(&child.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = finish_within(child, "the signalled run", Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("paused: interrupted"), "{}", describe(&out));
    assert!(
        stderr.contains(&format!("received SIG{signal}")),
        "{}",
        describe(&out)
    );

    // The journal says so, and holds no operation in doubt.
    let dir = current_journal(&rig.state).unwrap();
    {
        let j = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
        let last = j.read(j.head().0).unwrap().unwrap().event;
        assert!(
            matches!(
                last,
                Event::RunPaused {
                    reason: journal::PauseReason::Interrupted
                }
            ),
            "{last:?}"
        );
        assert!(j.in_doubt().unwrap().is_empty());
    }
    // No stale lock, and the cluster lease has no holder.
    assert!(journal::lock::holder(&dir).is_none());
    let lease = rig
        .lab
        .store()
        .get("leases.coordination.k8s.io", "kube-system", "ovn-migrate")
        .expect("the run took the cluster lease");
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "the lease is still held: {lease}"
    );

    // Resume needs no flag and repeats nothing.
    rig.lab.faults().set_rules(vec![]);
    let mut args = vec!["kuryr", "resume", "--no-progress"];
    args.extend_from_slice(FAST);
    let out = rig.tool(Path::new(BIN), &args).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        rig.calls(),
        want_calls,
        "no effect repeated across the pause"
    );
}

#[test]
fn sigterm_pauses_cleanly_and_resume_completes_without_repeats() {
    pauses_on("TERM");
}

#[test]
fn sighup_pauses_cleanly_and_resume_completes_without_repeats() {
    pauses_on("HUP");
}
