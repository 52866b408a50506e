//! `verify` finds tampering and damage, each at the right seq.

mod common;

use common::*;
use journal::{Event, Journal, OpenOptions, VerifyStatus, verify};

/// Writes a journal of 10 records (RunStarted + 9 intents) and closes it.
fn ten_records(dir: &std::path::Path) {
    let j = create(dir);
    for n in 1..=9 {
        j.append(intent(n)).unwrap();
    }
    assert_eq!(j.head().0, 10);
}

fn broken_at(dir: &std::path::Path) -> (u64, String) {
    match verify(dir).unwrap().status {
        VerifyStatus::Broken { seq, reason } => (seq, reason),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn intact_unsealed_journal_is_reported_as_unsealed_tail() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    let r = verify(tmp.path()).unwrap();
    assert_eq!(r.status, VerifyStatus::Unsealed { last: 10 });
    assert_eq!(r.records, 10);
}

#[test]
fn flipped_byte_is_reported_at_its_seq() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    for (seq, offset) in [(4u64, 20usize), (7, 12)] {
        let (db, tree) = raw_tree(tmp.path());
        let mut v = tree.get(event_key(seq)).unwrap().unwrap().to_vec();
        v[offset] ^= 0x01;
        tree.insert(event_key(seq), v).unwrap();
        db.flush().unwrap();
        drop((tree, db));
        let (at, reason) = broken_at(tmp.path());
        assert_eq!(at, 4, "first bad seq ({reason})");
    }
}

#[test]
fn truncated_value_is_reported_at_its_seq() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    let (db, tree) = raw_tree(tmp.path());
    let v = tree.get(event_key(6)).unwrap().unwrap().to_vec();
    tree.insert(event_key(6), &v[..v.len() - 5]).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    let (at, reason) = broken_at(tmp.path());
    assert_eq!(at, 6);
    assert!(reason.contains("truncated"), "{reason}");
}

#[test]
fn reordered_records_are_reported_at_the_first_swapped_seq() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    let (db, tree) = raw_tree(tmp.path());
    let a = tree.get(event_key(5)).unwrap().unwrap();
    let b = tree.get(event_key(6)).unwrap().unwrap();
    tree.insert(event_key(5), b).unwrap();
    tree.insert(event_key(6), a).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    let (at, reason) = broken_at(tmp.path());
    assert_eq!(at, 5);
    assert!(reason.contains("does not link"), "{reason}");
}

#[test]
fn missing_record_is_a_gap_and_missing_tail_is_unsealed() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    let (db, tree) = raw_tree(tmp.path());
    tree.remove(event_key(10)).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    // Losing the tail of an unsealed run is no longer a shorter run: the
    // head witness remembers record 10…
    match verify(tmp.path()).unwrap().status {
        VerifyStatus::Damaged {
            witness_seq,
            readable,
            reason,
            ..
        } => {
            assert_eq!((witness_seq, readable), (Some(10), 9), "{reason}");
            assert!(reason.contains("only up to 9"), "{reason}");
        }
        other => panic!("expected damage, got {other:?}"),
    }
    assert!(matches!(
        Journal::open(tmp.path(), &target("c1"), &OpenOptions::default()),
        Err(journal::Error::Damaged { readable: 9, .. })
    ));
    let (db, tree) = raw_tree(tmp.path());
    tree.remove(event_key(3)).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    // …and a hole in the middle breaks the chain.
    let (at, reason) = broken_at(tmp.path());
    assert_eq!(at, 3);
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn truncating_a_sealed_run_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    j.append(intent(1)).unwrap();
    let (_, head) = j.head();
    j.append(Event::RunSealed {
        head,
        outcome: journal::RunOutcome::Completed,
    })
    .unwrap();
    drop(j);
    assert_eq!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Sealed { seal: 3 }
    );
    let (db, tree) = raw_tree(tmp.path());
    tree.remove(event_key(3)).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    // Without its seal the run would read as an unsealed tail; the witness
    // says the seal was made durable.
    assert!(matches!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Damaged {
            witness_seq: Some(3),
            readable: 2,
            ..
        }
    ));
}

#[test]
fn corrupt_tail_is_a_clear_error_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    ten_records(tmp.path());
    let (db, tree) = raw_tree(tmp.path());
    tree.insert(event_key(10), b"garbage".to_vec()).unwrap();
    db.flush().unwrap();
    drop((tree, db));
    let err = Journal::open(tmp.path(), &target("c1"), &OpenOptions::default())
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(msg.contains("record 10"), "{msg}");
}
