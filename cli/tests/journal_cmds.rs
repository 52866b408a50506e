//! `journal verify` and `journal list`, run as the built binary against
//! journals made with the `journal` crate in temporary directories.

use std::path::Path;
use std::process::{Command, Output};

use journal::{Event, Journal, OpenOptions, RunInfo, Target};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate");

fn target(cluster: &str) -> Target {
    Target {
        cluster_id: cluster.into(),
        api_server: format!("https://api.{cluster}:6443"),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "proj".into(),
    }
}

/// Creates a journal of run `run_id` with `extra` records after `RunStarted`.
fn make_journal(dir: &Path, run_id: &str, extra: u64) -> Journal {
    let run = RunInfo {
        run_id: run_id.into(),
        workflow: "kuryr".into(),
        tool_version: "test".into(),
        target: target("ostest-abc12"),
    };
    let j = Journal::create(dir, &run, &OpenOptions::default()).unwrap();
    for n in 0..extra {
        j.append(Event::RunPaused {
            reason: journal::PauseReason::Stopped {
                detail: journal::Text::short(&format!("pause {n}")).unwrap(),
            },
        })
        .unwrap();
    }
    j
}

/// Opens the journal's sled database directly once the dropped journal's
/// sled has let go of its file lock (its I/O threads release it shortly after
/// the last handle is dropped).
fn open_sled_when_released(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("sled still holds {}: {e}", dir.display()),
        }
    }
}

fn ovn(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("OVN_MIGRATE_STATE_DIR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn verify_reports_a_whole_unsealed_chain_in_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("20250101T020304Z-a1b2");
    drop(make_journal(&dir, "20250101T020304Z-a1b2", 2));
    let d = dir.to_str().unwrap();

    let o = ovn(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("whole, not sealed: all 3 records link"),
        "{text}"
    );
    assert!(text.contains("cluster: ostest-abc12"), "{text}");

    let o = ovn(&["journal", "verify", d, "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["status"], "unsealed");
    assert_eq!(doc["whole"], true);
    assert_eq!(doc["sealed"], false);
    assert_eq!(doc["records"], 3);
    assert_eq!(doc["run_id"], "20250101T020304Z-a1b2");
}

#[test]
fn verify_reports_a_sealed_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let j = make_journal(tmp.path(), "r", 1);
    j.append(Event::RunSealed {
        head: j.head().1,
        outcome: journal::RunOutcome::Completed,
    })
    .unwrap();
    drop(j);
    let o = ovn(&[
        "--output",
        "json",
        "journal",
        "verify",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["seal"].as_u64()),
        (Some("sealed"), Some(3))
    );
}

#[test]
fn verify_of_a_broken_chain_exits_journal_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    drop(make_journal(tmp.path(), "r", 4));
    {
        let db = open_sled_when_released(tmp.path());
        let tree = db.open_tree("journal").unwrap();
        let mut key = vec![b'e'];
        key.extend_from_slice(&3u64.to_be_bytes());
        assert!(tree.remove(key).unwrap().is_some(), "record 3 exists");
        db.flush().unwrap();
    }
    let o = ovn(&["journal", "verify", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(9), "{}", stdout(&o));
    assert!(stdout(&o).contains("BROKEN at record 3"), "{}", stdout(&o));
    assert!(stderr(&o).contains("hint: keep a copy"), "{}", stderr(&o));
    let o = ovn(&[
        "journal",
        "verify",
        tmp.path().to_str().unwrap(),
        "--output=json",
    ]);
    assert_eq!(o.status.code(), Some(9));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["broken_at"].as_u64()),
        (Some("broken"), Some(3))
    );
}

#[test]
fn verify_of_a_non_journal_is_a_usage_error_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let o = ovn(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "nothing on stdout: {}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("error: {d} is not a journal directory")),
        "{err}"
    );
    assert!(err.contains("\nhint: "), "{err}");
    assert!(
        !tmp.path().join("db").exists(),
        "verify must not create a journal"
    );

    let o = ovn(&["journal", "verify", d, "--output", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["error"]["kind"], "user");
    assert!(!doc["error"]["hints"].as_array().unwrap().is_empty());
}

#[test]
fn list_shows_a_journal_and_the_holder_of_a_locked_one() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let cluster = state.join("ostest-abc12");
    drop(make_journal(
        &cluster.join("20250101T020304Z-a1b2"),
        "20250101T020304Z-a1b2",
        1,
    ));
    std::fs::write(cluster.join("current"), "kuryr 20250102T000000Z-ffff\n").unwrap();
    let s = state.to_str().unwrap();

    let o = ovn(&["journal", "list", "--state-dir", s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("ostest-abc12  20250101T020304Z-a1b2  kuryr"),
        "{text}"
    );
    assert!(text.contains("open"), "{text}");

    // A second run, held open (and so locked) by this test process.
    let held = make_journal(
        &cluster.join("20250102T000000Z-ffff"),
        "20250102T000000Z-ffff",
        0,
    );
    let o = ovn(&["journal", "list", "--output", "json", "--state-dir", s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = doc["journals"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{doc}");
    assert_eq!(rows[0]["records"], 2);
    assert_eq!(rows[0]["sealed"], false);
    assert_eq!(rows[0]["workflow"], "kuryr");
    assert!(rows[0]["lock_holder"].is_null());
    let holder = rows[1]["lock_holder"]
        .as_str()
        .expect("held journal names its holder");
    assert!(
        holder.contains(&format!("pid {}", std::process::id())),
        "{holder}"
    );
    // A reader takes no lock: the journal in use is read up to its durable head.
    assert_eq!(rows[1]["records"], 1);
    assert_eq!(rows[1]["workflow"], "kuryr");
    assert_eq!(rows[1]["current"], true);
    drop(held);
}
