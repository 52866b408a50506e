//! Files a run writes are private whatever the umask (issue 12, #5): under
//! `umask 000` the status file, the log, the network-config backup and the
//! journal's files (witness included) are 0600, and directories 0700.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use replay_tests::{FAST, Rig, current_journal, describe, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

#[test]
fn a_run_under_umask_000_leaves_only_private_files() {
    let rig = Rig::start(small());
    let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
    args.extend_from_slice(FAST);
    let inner = rig.tool(Path::new(BIN), &args);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(&args);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let journal = current_journal(&rig.state).unwrap();
    let cluster = journal.parent().unwrap();
    let mut seen = Vec::new();
    let mut stack = vec![rig.state.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode() & 0o777;
            if m.is_dir() {
                assert_eq!(mode, 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode, 0o600, "{}", p.display());
                seen.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    for want in ["head", "db", "current"] {
        assert!(seen.iter().any(|s| s == want), "{want} in {seen:?}");
    }
    for suffix in [".log", ".status.json", ".network-config.json"] {
        assert!(
            seen.iter().any(|s| s.ends_with(suffix)),
            "{suffix} in {seen:?} ({})",
            cluster.display()
        );
    }
}
