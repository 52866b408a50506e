//! Damage done to the journal's files, not through sled's API (issue 12, #2):
//! truncating `db` by 1 byte, 5 KB and half; flipping one byte at 10
//! positions; deleting the head witness; swapping two journals' witnesses.
//! Each is detected by `verify` (a reader, which must not change the files)
//! and refused by a writer's open, never read as a shorter whole journal.

mod common;

use std::path::Path;

use common::*;
use journal::{Error, Event, Journal, OpenOptions, RunInfo, VerifyStatus, verify};

/// Writes a sealed journal of 64 records (like the issue's) and closes it.
fn sealed_journal(dir: &Path, run_id: &str) {
    let run = RunInfo {
        run_id: run_id.into(),
        workflow: "kuryr".into(),
        tool_version: "test".into(),
        target: target("c1"),
    };
    let j = Journal::create(dir, &run, &OpenOptions::default()).unwrap();
    for n in 1..=31 {
        j.append(intent(n)).unwrap();
        j.append(success(n)).unwrap();
    }
    let (_, head) = j.head();
    j.append(Event::RunSealed {
        head,
        outcome: journal::RunOutcome::Completed,
    })
    .unwrap();
    assert_eq!(j.head().0, 64);
}

/// Returns a fresh copy of `from` (a pristine journal) in a new temp dir.
fn copy_of(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
        }
    }
    to
}

/// Asserts that `verify` and a writer's open both refuse the journal in `dir`.
fn detected(dir: &Path, what: &str) {
    match verify(dir) {
        Ok(r) => assert!(
            matches!(
                r.status,
                VerifyStatus::Damaged { .. } | VerifyStatus::Broken { .. }
            ),
            "{what}: verify says {r:?}"
        ),
        Err(e) => assert!(
            matches!(e, Error::Damaged { .. } | Error::Corrupt { .. }),
            "{what}: verify failed otherwise: {e:?}"
        ),
    }
    match Journal::open(dir, &target("c1"), &OpenOptions::default()) {
        Ok(j) => panic!("{what}: opened for writing with head {:?}", j.head()),
        Err(Error::Damaged { .. } | Error::Corrupt { .. }) => {}
        Err(e) => panic!("{what}: refused, but not as damage: {e:?}"),
    }
}

fn pristine() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    sealed_journal(tmp.path(), "run-1");
    assert!(verify(tmp.path()).unwrap().is_sealed_and_whole());
    tmp
}

#[test]
fn truncating_the_db_is_detected() {
    let orig = pristine();
    let len = std::fs::metadata(orig.path().join("db")).unwrap().len();
    for cut in [1, 5_000, len / 2] {
        let tmp = copy_of(orig.path());
        let db = std::fs::OpenOptions::new()
            .write(true)
            .open(tmp.path().join("db"))
            .unwrap();
        db.set_len(len - cut).unwrap();
        drop(db);
        detected(tmp.path(), &format!("db cut by {cut} of {len} bytes"));
    }
}

#[test]
fn one_flipped_byte_is_detected_at_ten_positions() {
    let orig = pristine();
    let bytes = std::fs::read(orig.path().join("db")).unwrap();
    let mut missed = Vec::new();
    for i in 0..10u64 {
        let at = (bytes.len() as u64 * (2 * i + 1) / 20) as usize;
        let tmp = copy_of(orig.path());
        let mut b = bytes.clone();
        b[at] ^= 0x5a;
        std::fs::write(tmp.path().join("db"), &b).unwrap();
        let res = std::panic::catch_unwind(|| detected(tmp.path(), &format!("byte {at} flipped")));
        if res.is_err() {
            missed.push(at);
        }
    }
    assert!(
        missed.is_empty(),
        "not detected at {missed:?} of {}",
        bytes.len()
    );
}

#[test]
fn a_deleted_witness_is_detected() {
    let tmp = pristine();
    std::fs::remove_file(tmp.path().join(journal::witness::FILE)).unwrap();
    detected(tmp.path(), "witness deleted");
}

#[test]
fn swapped_witnesses_are_detected() {
    let a = pristine();
    let b = tempfile::tempdir().unwrap();
    sealed_journal(b.path(), "run-2");
    let (wa, wb) = (
        a.path().join(journal::witness::FILE),
        b.path().join(journal::witness::FILE),
    );
    let (ba, bb) = (std::fs::read(&wa).unwrap(), std::fs::read(&wb).unwrap());
    std::fs::write(&wa, bb).unwrap();
    std::fs::write(&wb, ba).unwrap();
    detected(a.path(), "witness of run-2 in run-1");
    detected(b.path(), "witness of run-1 in run-2");
}

#[test]
fn a_db_of_random_bytes_is_damage_not_missing() {
    let tmp = pristine();
    let len = std::fs::metadata(tmp.path().join("db")).unwrap().len() as usize;
    let noise: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(tmp.path().join("db"), noise).unwrap();
    for e in std::fs::read_dir(tmp.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("snap.")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    detected(tmp.path(), "db of random bytes");
    let err = Journal::open_read(tmp.path()).err().unwrap();
    assert!(!err.to_string().contains("no journal there"), "{err}");
}
