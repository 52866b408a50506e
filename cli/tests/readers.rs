//! The CLI's readers never write (issue 12, #3, #5): `journal verify`,
//! `journal list` and `kuryr status` change no byte of a journal (sha256 of
//! every file), work on a read-only bind mount and on a killed writer's
//! journal (they exited 7 and suggested `--break-lock` before); a `db` that
//! is not a sled file is exit 9, not "no journal"; with HOME unset and no
//! state directory given, commands say what to set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use journal::{Event, Journal, OpenOptions, RunInfo, Target};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate");

fn target() -> Target {
    Target {
        cluster_id: "ostest-abc12".into(),
        api_server: "https://api.ostest:6443".into(),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "proj".into(),
    }
}

/// Makes `<state>/ostest-abc12/<run>` with a few records, as the current run.
fn state_with_journal(state: &Path) -> std::path::PathBuf {
    let run = "20250101T020304Z-a1b2";
    let cluster = state.join("ostest-abc12");
    let dir = cluster.join(run);
    let j = Journal::create(
        &dir,
        &RunInfo {
            run_id: run.into(),
            workflow: "kuryr-migrate".into(),
            tool_version: "test".into(),
            target: target(),
        },
        &OpenOptions::default(),
    )
    .unwrap();
    for n in 0..5 {
        j.append(Event::RunPaused {
            reason: journal::PauseReason::Stopped {
                detail: journal::Text::short(&format!("pause {n}")).unwrap(),
            },
        })
        .unwrap();
    }
    drop(j);
    std::fs::write(cluster.join("current"), format!("kuryr-migrate {run}\n")).unwrap();
    dir
}

fn ovn(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("OVN_MIGRATE_STATE_DIR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn describe(o: &Output) -> String {
    format!(
        "{:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Returns `relative path → sha256` of every file under `dir` (and modes).
fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let o = Command::new("sh")
        .arg("-c")
        .arg(
            "cd \"$0\" && find . -type f -exec sha256sum {} + && find . -exec stat -c '%n %a' {} +",
        )
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| (l.to_string(), String::new()))
        .collect()
}

fn readers(state: &Path, dir: &Path) -> Vec<(Vec<String>, Output)> {
    let (s, d) = (state.to_str().unwrap(), dir.to_str().unwrap());
    [
        vec!["journal", "verify", d],
        vec!["journal", "list", "--state-dir", s],
        vec!["kuryr", "status", "--journal", d],
        vec!["kuryr", "status", "--state-dir", s],
    ]
    .into_iter()
    .map(|a| {
        let out = ovn(&a);
        (a.iter().map(|x| x.to_string()).collect(), out)
    })
    .collect()
}

#[test]
fn readers_change_no_byte_even_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let dir = state_with_journal(&state);
    // A writer killed with -9 leaves its note behind, naming a dead pid.
    let note = serde_json::json!({"host": journal::lock::hostname(), "pid": 999_999_999u32,
        "user": "op", "since": "2025-01-01T02:03:04Z", "tool_version": "0.1.0", "start_ticks": 1});
    std::fs::write(dir.join("lock.holder"), note.to_string()).unwrap();
    let before = fingerprint(&state);
    for (args, out) in readers(&state, &dir) {
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
    }
    assert_eq!(
        fingerprint(&state),
        before,
        "a reader changed the state directory"
    );
}

#[test]
fn verify_works_on_a_read_only_bind_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = state_with_journal(&tmp.path().join("state"));
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let script = format!(
        "mount --bind '{src}' '{ro}' && mount -o remount,ro,bind '{ro}' && \
         (touch '{ro}/probe' 2>/dev/null && echo WRITABLE; exec '{bin}' journal verify '{ro}')",
        src = dir.display(),
        ro = ro.display(),
        bin = BIN
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("WRITABLE"), "the mount must be read-only");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text.contains("whole, not sealed: all 6 records link"),
        "{text}"
    );
}

#[test]
fn a_db_that_is_not_sled_is_corrupt_not_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = state_with_journal(&tmp.path().join("state"));
    let len = std::fs::metadata(dir.join("db")).unwrap().len() as usize;
    let noise: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(dir.join("db"), noise).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("snap.")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = ovn(&["journal", "verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(9), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("it has no `db`"), "{err}");
    assert!(err.contains("damaged"), "{err}");
}

#[test]
fn no_home_and_no_state_dir_says_what_to_set() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["journal", "list"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HOME is not set") && err.contains("--state-dir"),
        "{err}"
    );
    assert!(
        !tmp.path().join(".ovn-migrate-state").exists(),
        "nothing was created in the current directory"
    );
}
