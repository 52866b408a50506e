//! Readers never write (issue 12, #3): `Journal::open_read` and `verify`
//! take no lock and change no byte of the journal directory, on a closed
//! journal, on a killed writer's journal and while a writer is live (then
//! they read up to the last durable head). sha256 of every file, before and
//! after, from `sha256sum`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use journal::{Event, Journal, VerifyStatus, verify, verify_journal};

const CHILD: &str = env!("CARGO_BIN_EXE_journal-torture");

/// Returns `relative path → (sha256, mode)` of every entry under `dir`.
pub fn fingerprint(dir: &Path) -> BTreeMap<String, (String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let mode = meta.permissions().mode();
            if meta.is_dir() {
                out.insert(rel, ("dir".into(), mode));
                stack.push(p);
            } else {
                let o = Command::new("sha256sum").arg(&p).output().unwrap();
                assert!(o.status.success());
                let sum = String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
                out.insert(rel, (sum, mode));
            }
        }
    }
    out
}

/// Every way this crate reads a journal, once.
fn read_every_way(dir: &Path) -> u64 {
    let r = Journal::open_read(dir).unwrap();
    let n = r.iter(1).inspect(|e| assert!(e.is_ok())).count() as u64;
    let _ = r.in_doubt().unwrap();
    let _ = r.op_state(&journal::OpId("op-1".into())).unwrap();
    assert!(r.append(intent(999)).is_err(), "a reader cannot append");
    assert!(r.sync().is_err(), "nor sync");
    assert!(matches!(
        verify_journal(&r).unwrap().status,
        VerifyStatus::Sealed { .. } | VerifyStatus::Unsealed { .. }
    ));
    drop(r);
    let d = Journal::open_damaged(dir).unwrap();
    assert!(d.damage().is_none());
    drop(d);
    let _ = verify(dir).unwrap();
    n
}

#[test]
fn readers_change_no_byte_of_a_closed_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    for n in 1..=20 {
        j.append(intent(n)).unwrap();
        j.append(success(n)).unwrap();
    }
    let (_, head) = j.head();
    j.append(Event::RunSealed {
        head,
        outcome: journal::RunOutcome::Completed,
    })
    .unwrap();
    drop(j);
    let before = fingerprint(tmp.path());
    assert_eq!(read_every_way(tmp.path()), 42);
    assert_eq!(fingerprint(tmp.path()), before);
}

/// Starts the torture child on `dir`; returns it and a receiver of the
/// highest seq it reported durable so far.
fn start_child(dir: &Path, mode: &str) -> (std::process::Child, std::sync::mpsc::Receiver<u64>) {
    let mut child = Command::new(CHILD)
        .arg(dir)
        .arg(mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last: u64 = line.rsplit(['-', ' ']).next().unwrap().parse().unwrap();
            if tx.send(last).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

#[test]
fn a_live_writer_is_read_up_to_its_durable_head_and_a_killed_ones_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, rx) = start_child(tmp.path(), "group");
    let mut promised = 0;
    for _ in 0..5 {
        // Wait for a few more durable groups, then read while it writes.
        for _ in 0..3 {
            promised = promised.max(rx.recv().unwrap());
        }
        let r = Journal::open_read(tmp.path()).unwrap();
        let (head, _) = r.head();
        assert!(
            head >= promised,
            "read up to {head}, {promised} was durable"
        );
        assert_eq!(
            verify_journal(&r).unwrap().status,
            VerifyStatus::Unsealed { last: head }
        );
        assert!(r.is_reader());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    while let Ok(s) = rx.try_recv() {
        promised = promised.max(s);
    }
    // The killed writer left its lock note; readers neither need nor touch it.
    assert!(journal::lock::holder(tmp.path()).is_some());
    let before = fingerprint(tmp.path());
    let r = Journal::open_read(tmp.path()).unwrap();
    assert!(r.head().0 >= promised);
    assert_eq!(r.iter(1).count() as u64, r.head().0);
    drop(r);
    assert!(matches!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Unsealed { .. }
    ));
    assert_eq!(
        fingerprint(tmp.path()),
        before,
        "the readers changed nothing"
    );
}
