//! Traces the torture child's system calls (Debian's `strace`) and proves that
//! every durable append and every group commit `fdatasync`ed sled's database
//! file after sled wrote it and before the child reported it durable, and that
//! creating the journal `fsync`ed its directory.

use std::path::Path;
use std::process::Command;

const CHILD: &str = env!("CARGO_BIN_EXE_journal-torture");

/// One completed system call: thread, name, first argument (with -y path), text.
struct Call {
    name: String,
    arg0: String,
    line: String,
}

/// Parses `strace -f -y` output into completed calls, joining unfinished/resumed halves.
fn parse(trace: &str) -> Vec<Call> {
    let mut pending: std::collections::HashMap<String, String> = Default::default();
    let mut calls = Vec::new();
    for raw in trace.lines() {
        let (pid, rest) = raw.split_once(' ').unwrap_or(("", raw));
        let rest = rest.trim_start();
        let full = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_string(), head.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let Some(head) = pending.remove(pid) else {
                continue;
            };
            let tail = rest.split_once("resumed>").map(|(_, t)| t).unwrap_or("");
            format!("{head}{tail}")
        } else {
            rest.to_string()
        };
        let Some((name, args)) = full.split_once('(') else {
            continue;
        };
        if name.starts_with('+') || name.starts_with('-') {
            continue; // signals and exit notes
        }
        let arg0 = args.split([',', ')']).next().unwrap_or("").to_string();
        calls.push(Call {
            name: name.to_string(),
            arg0,
            line: full.clone(),
        });
    }
    calls
}

fn trace(dir: &Path, mode: &str, count: u32) -> Vec<Call> {
    let out = dir.join(format!("trace-{mode}.txt"));
    let status = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-s",
            "64",
            "-e",
            "trace=fdatasync,fsync,write,pwrite64,sync_file_range",
            "-o",
        ])
        .arg(&out)
        .arg(CHILD)
        .arg(dir.join("j"))
        .arg(mode)
        .args(["--count", &count.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("strace is needed for this test (apt-get install strace): {e}"));
    assert!(status.success(), "traced child failed");
    parse(&std::fs::read_to_string(out).unwrap())
}

fn is_db(arg0: &str) -> bool {
    arg0.ends_with("/j/db>")
}

/// Checks the ordering; returns (reports, fdatasyncs of db).
fn check(calls: &[Call]) -> (usize, usize) {
    let (mut reports, mut syncs) = (0, 0);
    let mut wrote_db = false;
    let mut synced_after_write = false;
    for c in calls {
        match c.name.as_str() {
            "pwrite64" | "sync_file_range" if is_db(&c.arg0) => {
                wrote_db = true;
                synced_after_write = false;
            }
            "fdatasync" if is_db(&c.arg0) && c.line.ends_with("= 0") => {
                syncs += 1;
                if wrote_db {
                    synced_after_write = true;
                }
            }
            "write" if c.arg0.starts_with("1<") && c.line.contains("\"durable ") => {
                assert!(
                    wrote_db,
                    "reported durable before sled wrote anything: {}",
                    c.line
                );
                assert!(
                    synced_after_write,
                    "reported durable without an fdatasync of db after sled's write: {}",
                    c.line
                );
                reports += 1;
                wrote_db = false;
                synced_after_write = false;
            }
            _ => {}
        }
    }
    (reports, syncs)
}

#[test]
fn every_durable_append_fdatasyncs_the_db_file_before_reporting() {
    let tmp = tempfile::tempdir().unwrap();
    let calls = trace(tmp.path(), "single", 50);
    let (reports, syncs) = check(&calls);
    assert_eq!(reports, 50);
    assert!(syncs >= 50, "{syncs} fdatasyncs for 50 durable appends");
    // Creating the journal fsynced its directory (and the parent it was made in).
    let dir = tmp.path().join("j");
    let dir_synced = calls
        .iter()
        .any(|c| c.name == "fsync" && c.arg0.ends_with(&format!("{}>", dir.display())));
    assert!(dir_synced, "no fsync of the new journal directory");
}

#[test]
fn every_group_commit_fdatasyncs_once_before_reporting() {
    let tmp = tempfile::tempdir().unwrap();
    let calls = trace(tmp.path(), "group", 64 * 20);
    let (reports, syncs) = check(&calls);
    assert_eq!(reports, 20, "one report per group of 64");
    // One fdatasync per group, plus the few of creating the journal.
    assert!(
        (20..=24).contains(&syncs),
        "{syncs} fdatasyncs for 20 group commits"
    );
}
