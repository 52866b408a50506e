//! `journal replay` and `journal reset` on journals of real runs against
//! the lab: a run replays with every decision re-derived (exit 0); a copy
//! whose recorded decision was changed on purpose, and re-chained so that
//! it verifies, is reported as a divergence at that record (exit 12); a
//! reset run redoes its steps on resume and still replays; a reset is
//! refused on a sealed run and while a run holds the journal.

mod doctor;

use std::path::Path;
use std::process::Output;

use journal::{Event, Journal, OpenOptions};
use replay_tests::{Rig, current_journal, describe, small};
use serde_json::Value;
use steps::kuryr::migrate::Session;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

fn tool(args: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .arg("--no-progress")
        .args(args)
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(o)))
}

fn replay(dir: &Path) -> (Output, Value) {
    let o = tool(&[
        "--output",
        "json",
        "journal",
        "replay",
        dir.to_str().unwrap(),
    ]);
    let v = json(&o);
    (o, v)
}

#[test]
fn a_run_replays_and_a_changed_decision_is_named_at_its_record() {
    let rig = Rig::start(small());
    let out = rig.run(Path::new(BIN), &["--max-unavailable", "worker=2"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let dir = current_journal(&rig.state).unwrap();

    let (o, v) = replay(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(v["result"], "re-derived", "{v:#}");
    assert_eq!(
        v["plan"]["recorded_plan_digest"],
        v["plan"]["rederived_plan_digest"]
    );
    assert!(v["decisions"].as_u64().unwrap() > 30, "{v:#}");
    assert_eq!(v["sealed"], true);
    assert!(
        v["operations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "done" || o["status"] == "skipped"),
        "{v:#}"
    );

    // The first intent of the run becomes a skip: "found done, nothing sent".
    let copy = rig.dir.path().join("doctored");
    doctor::copy_dir(&dir, &copy);
    let mut doctored = None;
    doctor::rewrite(&copy, |seq, e| match e {
        Event::OperationIntended { op, .. } if doctored.is_none() => {
            doctored = Some((seq, op.0.clone()));
            Event::OperationSkipped {
                op,
                reason: journal::Text::short("already done").unwrap(),
            }
        }
        e => e,
    });
    let (seq, op) = doctored.expect("the run has an intent");
    let verify = tool(&["journal", "verify", copy.to_str().unwrap()]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "the rewritten copy verifies: {}",
        describe(&verify)
    );
    let (o, v) = replay(&copy);
    assert_eq!(o.status.code(), Some(12), "{}", describe(&o));
    assert_eq!(v["result"], "diverged");
    assert_eq!(v["first_divergent_seq"], seq, "{v:#}");
    let d = &v["divergences"][0];
    assert_eq!(d["op"], op.as_str());
    assert_eq!(d["event"], "OperationSkipped");
    assert_eq!(d["decision"], "verdict");
    assert_eq!(d["recorded"], "done (skipped, nothing sent)");
    assert!(
        d["rederived"].as_str().unwrap().starts_with("not done"),
        "{d}"
    );
    // The report for people, as the lead's note shows it.
    let text = tool(&["journal", "replay", copy.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(12));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    println!("{text}");
    assert!(
        text.contains(&format!("#{seq}  OperationSkipped  {op}  (verdict)")),
        "{text}"
    );
    assert!(
        text.contains("recorded:   done (skipped, nothing sent)"),
        "{text}"
    );

    // The state as of a record: the doctored op is skipped there.
    let o = tool(&[
        "--output",
        "json",
        "journal",
        "replay",
        copy.to_str().unwrap(),
        "--at",
        &seq.to_string(),
    ]);
    let v = json(&o);
    assert_eq!(v["records"], seq);
    let line = v["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["op"] == op.as_str())
        .unwrap()
        .clone();
    assert_eq!(line["status"], "skipped", "{line}");

    // A sealed run is not reset.
    let o = tool(&[
        "--yes",
        "journal",
        "reset",
        dir.to_str().unwrap(),
        "--to-step",
        "M5",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sealed"),
        "{}",
        describe(&o)
    );
}

#[test]
fn a_reset_run_redoes_its_steps_on_resume_and_replays() {
    let rig = Rig::start(small());
    // Planned, then killed as M8 starts to wait: M0–M7 done.
    let plan = rig
        .tool(Path::new(BIN), &["kuryr", "plan", "--no-progress"])
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", describe(&plan));
    let dir = current_journal(&rig.state).unwrap();
    let planned = rig
        .block_on(steps::workflow::load_run::<Session>(
            Journal::open_read(&dir).unwrap(),
        ))
        .unwrap();
    let m8 = planned
        .plan
        .operations
        .iter()
        .find(|o| o.key.contains("/M8/"))
        .unwrap()
        .key
        .clone();
    drop(planned);
    let out = rig.run_killed_at(Path::new(BIN), &format!("WaitStarted:{m8}#1"));
    assert!(!out.status.success(), "{}", describe(&out));
    let dir = current_journal(&rig.state).unwrap();
    let d = dir.to_str().unwrap();

    // While a run holds the journal, no reset.
    {
        let held = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
        let o = tool(&["--yes", "journal", "reset", d, "--to-step", "M5"]);
        assert_eq!(o.status.code(), Some(7), "{}", describe(&o));
        drop(held);
    }
    let o = tool(&["--yes", "journal", "reset", d, "--to-step", "M9"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "nothing of M9 ran: {}",
        describe(&o)
    );
    let o = tool(&["--yes", "journal", "reset", d, "--to-step", "M99"]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no such step"),
        "{}",
        describe(&o)
    );

    let before = Journal::open_read(&dir).unwrap().head();
    let o = tool(&[
        "--yes",
        "--output",
        "json",
        "journal",
        "reset",
        d,
        "--to-step",
        "M5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let v = json(&o);
    assert_eq!(v["epoch"], 1);
    assert_eq!(v["previous_head"], before.1.to_string());
    assert_eq!(v["epoch_seq"], before.0 + 1);
    let redo: Vec<String> = v["redo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert!(
        redo.iter().any(|o| o.contains("/M5/")) && redo.iter().any(|o| o.contains("/M7/")),
        "{redo:?}"
    );
    assert!(!redo.iter().any(|o| o.contains("/M3/")), "{redo:?}");

    // Nothing was rewritten: the records before the epoch are the same.
    let j = Journal::open_read(&dir).unwrap();
    let (seq, head) = (before.0, before.1);
    assert_eq!(j.read(seq).unwrap().unwrap().hash, head);
    drop(j);

    let (o, v) = replay(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(v["epoch"], 1);
    assert_eq!(v["reset_to"], "M5");
    let status = |v: &Value, op: &str| {
        v["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["op"] == op)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&v, &redo[0]), "not_started", "{v:#}");

    let st = rig
        .tool(
            Path::new(BIN),
            &["--no-progress", "--output", "json", "kuryr", "status"],
        )
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0), "{}", describe(&st));
    let st = json(&st);
    assert_eq!(st["epoch"], 1, "{st:#}");
    assert!(
        st["finished"].as_u64().unwrap() < st["planned"].as_u64().unwrap(),
        "the redone operations are not finished: {st:#}"
    );

    let out = rig.resume(Path::new(BIN), &[]);
    assert!(out.status.success(), "{}", describe(&out));
    let (o, v) = replay(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(v["sealed"], true);
    assert_eq!(status(&v, &redo[0]), "done", "{v:#}");

    // The redone operations ran again in the new epoch.
    let j = Journal::open_read(&dir).unwrap();
    let mut again = 0;
    for r in j.iter(before.0 + 1) {
        let e = r.unwrap().event;
        if let Event::WaitStarted { wait, .. } | Event::ConditionObserved { wait, .. } = &e
            && wait == &redo[0]
        {
            again += 1;
        }
        if let Some(op) = e.op()
            && op.0 == redo[0]
        {
            again += 1;
        }
    }
    assert!(again > 0, "{} ran again after the reset", redo[0]);
    drop(j);

    // show and status follow the epoch.
    let o = tool(&["journal", "show", d]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("epoch 1 started: reset to step M5"),
        "{}",
        describe(&o)
    );
}
