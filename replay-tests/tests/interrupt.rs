//! Ctrl-C and drift: an interrupted run finishes what is in flight, records a
//! pause and exits 8, and `resume` completes it without repeating an effect; a
//! plan whose cluster changed before it ran is refused (exit 6), untouched.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use journal::{Event, Journal, OpenOptions};
use lab::faults::FaultRule;
use replay_tests::{FAST, Rig, current_journal, describe, small};

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

#[test]
fn ctrl_c_pauses_cleanly_and_resume_completes_without_repeats() {
    let reference = Rig::start(small());
    assert!(reference.run(Path::new(BIN), &[], None).status.success());
    let want_calls = reference.calls();
    drop(reference);

    let rig = Rig::start(small());
    // Slow the machine config pools down, so the run is inside M5's wait when interrupted.
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
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !status_current(&rig).is_some_and(|op| op.contains("/M5/")) {
        assert!(Instant::now() < deadline, "the run never reached M5");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before M5"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("paused: interrupted"),
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
    // A clean exit leaves no stale lock: resume needs no --break-lock.
    assert!(journal::lock::holder(&dir).is_none());

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
fn a_plan_whose_cluster_drifted_is_refused() {
    let rig = Rig::start(small());
    let out = rig
        .tool(Path::new(BIN), &["kuryr", "plan", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan["operations"].as_array().unwrap().len() >= 12, "{plan}");

    // Someone relabels a node between plan and run.
    let nodes = rig.lab.store().list_all("nodes", None).unwrap();
    let name = nodes[0]["metadata"]["name"].as_str().unwrap().to_string();
    rig.lab
        .store()
        .mutate("nodes", "", &name, false, |n| {
            n["metadata"]["labels"]["drifted"] = "yes".into();
        })
        .unwrap();
    let out = rig.run(Path::new(BIN), &[], None);
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("changed since it was made"),
        "{}",
        describe(&out)
    );
    assert!(
        rig.calls().is_empty(),
        "nothing was changed: {:?}",
        rig.calls()
    );
}
