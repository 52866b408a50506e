//! Appending, reopening, the operation index, blobs, locking and targets.

mod common;

use common::*;
use journal::{
    BlobHash, Error, Event, Journal, LockError, OpId, OpenOptions, VerifyStatus, verify_journal,
};

#[test]
fn appends_are_contiguous_and_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = create(&dir);
    assert_eq!(j.head().0, 1, "RunStarted is record 1");
    assert_eq!(j.append(intent(1)).unwrap(), 2);
    assert_eq!(
        j.append_group(&[success(1), intent(2), intent(3)]).unwrap(),
        3..=5
    );
    assert_eq!(j.append_buffered(success(3)).unwrap(), 6);
    j.sync().unwrap();
    let head = j.head();
    drop(j);
    let j = Journal::open(&dir, &target("c1"), &OpenOptions::default()).unwrap();
    assert_eq!(j.head(), head);
    let seqs: Vec<u64> = j.iter(1).map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    assert_eq!(j.append(intent(4)).unwrap(), 7);
    assert!(matches!(
        j.read(1).unwrap().unwrap().event,
        Event::RunStarted { .. }
    ));
}

#[test]
fn index_finds_operations_in_doubt() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    j.append_group(&[intent(1), intent(2), intent(3)]).unwrap();
    j.append(success(2)).unwrap();
    j.append(Event::OperationFailed {
        op: OpId("op-3".into()),
        attempt: 1,
        http_status: Some(503),
        error: journal::Text::short("boom").unwrap(),
        retryable: true,
        duration_ms: 1,
    })
    .unwrap();
    let doubt: Vec<String> = j
        .in_doubt()
        .unwrap()
        .into_iter()
        .map(|(op, _)| op.0)
        .collect();
    assert_eq!(doubt, vec!["op-1"]);
    let s2 = j.op_state(&OpId("op-2".into())).unwrap().unwrap();
    assert!(s2.done && !s2.in_doubt() && s2.attempts == 1);
    let s3 = j.op_state(&OpId("op-3".into())).unwrap().unwrap();
    assert!(!s3.done && !s3.in_doubt());
    // A second attempt puts op-3 in doubt again, then its success settles it.
    j.append(intent(3)).unwrap();
    assert_eq!(j.in_doubt().unwrap().len(), 2);
    j.append(success(3)).unwrap();
    let s3 = j.op_state(&OpId("op-3".into())).unwrap().unwrap();
    assert!(s3.done && s3.attempts == 2);
    assert!(j.op_state(&OpId("nope".into())).unwrap().is_none());
}

#[test]
fn seal_ends_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    j.append(intent(1)).unwrap();
    let (_, head) = j.head();
    let seal = j
        .append(Event::RunSealed {
            head,
            outcome: journal::RunOutcome::Completed,
        })
        .unwrap();
    assert_eq!(j.sealed(), Some(seal));
    assert!(matches!(j.append(intent(2)), Err(Error::Sealed(s)) if s == seal));
    let report = verify_journal(&j).unwrap();
    assert_eq!(report.status, VerifyStatus::Sealed { seal });
    assert_eq!(report.records, seal);
}

#[test]
fn unsealed_journal_verifies_as_unsealed() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    j.append(intent(1)).unwrap();
    assert_eq!(
        verify_journal(&j).unwrap().status,
        VerifyStatus::Unsealed { last: 2 }
    );
}

#[test]
fn blobs_are_content_addressed_chunked_and_deduplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    let big: Vec<u8> = (0..30_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let h = j.put_blob(&big).unwrap();
    assert_eq!(h, BlobHash::of(&big));
    assert_eq!(j.put_blob(&big).unwrap(), h, "same bytes, same address");
    assert_eq!(j.get_blob(&h).unwrap().unwrap(), big);
    assert!(j.get_blob(&BlobHash::of(b"absent")).unwrap().is_none());
    j.sync().unwrap();
    // Every value stayed inside sled's db file: no external blob files to sync.
    let external = std::fs::read_dir(tmp.path().join("blobs")).unwrap().count();
    assert_eq!(external, 0, "sled wrote values outside its db file");
}

#[test]
fn oversized_events_are_refused_as_too_large_not_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    // Free text cannot be too large: it is bounded when it is made.
    let body = j
        .doc_json(journal::Json(format!("\"{}\"", "x".repeat(10_000))))
        .unwrap();
    assert!(body.full_blob().is_some());
    j.append(Event::ObservationRecorded {
        key: "x".into(),
        body,
    })
    .unwrap();
    // An identifier can be; a list of blob references too.
    let long_key = Event::ObservationRecorded {
        key: "k".repeat(journal::MAX_IDENTIFIER + 1),
        body: journal::Doc::null(),
    };
    let err = j.append(long_key).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing was appended"), "{err}");
    let many = Event::SnapshotRecorded {
        label: "many".into(),
        blobs: (0..100u8)
            .map(|i| journal::BlobRef {
                kind: "kuryrnetworks".into(),
                name: format!("ns-{i}/net"),
                hash: BlobHash([i; 32]),
            })
            .collect(),
    };
    let err = j.append(many).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { size, limit: 4096, .. } if size > 4096),
        "{err:?}"
    );
    assert_eq!(j.head().0, 2, "nothing more was appended");
    // The journal is not poisoned: the run goes on.
    j.append(intent(1)).unwrap();
}

#[test]
fn second_writer_is_refused_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let _j = create(tmp.path());
    match Journal::open(tmp.path(), &target("c1"), &OpenOptions::default()) {
        Err(Error::Locked(LockError::Held { holder, .. })) => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.tool_version, env!("CARGO_PKG_VERSION"));
            let msg = Error::Locked(LockError::Held {
                path: tmp.path().into(),
                holder,
            })
            .to_string();
            assert!(msg.contains("in use by pid"), "{msg}");
        }
        other => panic!(
            "expected the lock to be refused, got {:?}",
            other.map(|_| ())
        ),
    }
}

#[test]
fn journal_of_another_target_is_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let err = Journal::open(tmp.path(), &target("c2"), &OpenOptions::default())
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, Error::TargetMismatch { .. }));
    assert!(
        msg.contains("cluster c1") && msg.contains("cluster c2"),
        "{msg}"
    );
    // The refused open changed nothing.
    let j = Journal::open(tmp.path(), &target("c1"), &OpenOptions::default()).unwrap();
    assert_eq!(j.head().0, 1);
}

#[test]
fn missing_journal_and_double_create_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Journal::open(
        &tmp.path().join("none"),
        &target("c1"),
        &OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(e, Error::NotAJournal(_)));
    drop(create(tmp.path()));
    let run = journal::RunInfo {
        run_id: "r2".into(),
        workflow: "kuryr".into(),
        tool_version: "t".into(),
        target: target("c1"),
    };
    assert!(matches!(
        Journal::create(tmp.path(), &run, &OpenOptions::default()),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    drop(create(&dir));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("db")), 0o600);
}

#[test]
fn checkpoint_keeps_everything_and_readers_page_across_it() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    for n in 0..3000 {
        j.append_buffered(intent(n)).unwrap();
    }
    j.sync().unwrap();
    let mut it = j.iter(1);
    let first: Vec<u64> = it.by_ref().take(1500).map(|r| r.unwrap().seq).collect();
    j.checkpoint().unwrap();
    j.append(success(1)).unwrap();
    let rest: Vec<u64> = it.map(|r| r.unwrap().seq).collect();
    assert_eq!(
        first.len() + rest.len(),
        3002,
        "every record read once, across the checkpoint"
    );
    assert_eq!(*rest.last().unwrap(), 3002);
    assert_eq!(j.in_doubt().unwrap().len(), 2999);
    assert_eq!(
        verify_journal(&j).unwrap().status,
        VerifyStatus::Unsealed { last: 3002 }
    );
}

#[test]
fn met_waits_are_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let j = create(tmp.path());
    assert_eq!(j.wait_met("w1").unwrap(), None);
    j.append(Event::WaitFinished {
        wait: "w1".into(),
        outcome: journal::WaitOutcome::TimedOut,
    })
    .unwrap();
    assert_eq!(
        j.wait_met("w1").unwrap(),
        None,
        "a timed-out wait was not met"
    );
    let seq = j
        .append(Event::WaitFinished {
            wait: "w1".into(),
            outcome: journal::WaitOutcome::Met,
        })
        .unwrap();
    assert_eq!(j.wait_met("w1").unwrap(), Some(seq));
}
