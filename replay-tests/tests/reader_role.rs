//! Credentials that can read but not write: the lab's `lab-reader` cloud (a
//! user with only the reader role, whose writes the simulated services refuse
//! with 403 as OpenStack's default policies do). `kuryr plan` and `kuryr run`
//! stop before any change with exit 3 and an error that names the missing
//! role and says what to do; the lab sees no mutating call at all.

use std::path::Path;
use std::time::Duration;

use replay_tests::{FAST, Rig, code, current_journal, describe, output_within, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const CONFIG: i32 = 3;

fn refused(rig: &Rig, args: &[&str], what: &str) {
    let mut cmd = rig.tool(Path::new(BIN), args);
    cmd.env("OS_CLOUD", "lab-reader");
    let out = output_within(cmd, what, Duration::from_secs(120));
    assert_eq!(code(&out), CONFIG, "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{what}: {err}");
    for needle in ["\"member\" role", "reader", "hint:", "nothing was changed"] {
        assert!(
            err.contains(needle),
            "the error should say {needle:?}: {}",
            describe(&out)
        );
    }
    assert!(
        !err.contains("reader-secret"),
        "the password is not shown: {}",
        describe(&out)
    );
    assert!(
        rig.calls().is_empty(),
        "no mutating call: {:?}",
        rig.calls()
    );
}

#[test]
fn a_reader_only_credential_is_refused_before_any_change() {
    let rig = Rig::start(small());
    let text = std::fs::read_to_string(&rig.clouds).unwrap();
    assert!(
        text.contains("lab-reader:"),
        "the lab writes a reader cloud: {text}"
    );

    refused(
        &rig,
        &["kuryr", "plan", "--no-progress"],
        "plan as a reader",
    );
    let mut run = vec!["kuryr", "run", "--yes", "--no-progress"];
    run.extend_from_slice(FAST);
    refused(&rig, &run, "run as a reader");
    assert!(current_journal(&rig.state).is_none(), "no run was started");

    // The same lab with the writer's credentials plans fine.
    let out = output_within(
        rig.tool(Path::new(BIN), &["kuryr", "plan", "--no-progress"]),
        "plan as the admin",
        Duration::from_secs(120),
    );
    assert_eq!(code(&out), 0, "{}", describe(&out));
}
