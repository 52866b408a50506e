//! A journal written in format version 2 keeps decoding, upcast, forever.
//!
//! `tests/fixtures/v2-journal.txt` was written once, by the code of format 2
//! (commit "journal: a format-v2 fixture written once by today's code"), from
//! the events in [`v2_events`] followed by a `RunSealed { outcome:
//! "completed" }`; it is never regenerated: a missing or altered fixture fails
//! these tests. The first line is the run id and target, each further line
//! `seq hex(record)`.

mod common;

use journal::chain::{ChainHash, genesis, link};
use journal::format::{self, v2};
use journal::{
    BlobHash, BlobRef, Event, Journal, Json, OpId, OpenOptions, PauseReason, ReobservedVerdict,
    RunOutcome, Target, VerifyStatus, WaitOutcome, verify,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2-journal.txt");

fn fixture_target() -> Target {
    common::target("legacy2")
}

fn v2_events() -> Vec<v2::Event> {
    let op = |s: &str| OpId(s.into());
    vec![
        v2::Event::RunStarted {
            run_id: "run-v2".into(),
            workflow: "kuryr-to-ovnk".into(),
            tool_version: "0.1.0".into(),
            target: fixture_target(),
            host: "bastion".into(),
            user: "core".into(),
            pid: 4242,
            at_ms: 1_710_000_000_000,
        },
        v2::Event::ObservationRecorded {
            key: "discovery".into(),
            body: Json("{\"nodes\":3}".into()),
            blob: None,
            at_ms: 1_710_000_000_010,
        },
        v2::Event::ObservationRecorded {
            key: "kuryrnetworks".into(),
            body: Json::null(),
            blob: Some(BlobHash([7; 32])),
            at_ms: 1_710_000_000_020,
        },
        v2::Event::PlanRecorded {
            plan_digest: "p-digest".into(),
            discovery_digest: "d-digest".into(),
            operations: BlobHash([9; 32]),
            count: 15,
            at_ms: 1_710_000_000_030,
        },
        v2::Event::SnapshotRecorded {
            label: "network-config-backup".into(),
            blobs: vec![BlobRef {
                kind: "networks.config.openshift.io".into(),
                name: "cluster".into(),
                hash: BlobHash([3; 32]),
            }],
            at_ms: 1_710_000_000_040,
        },
        v2::Event::OperationIntended {
            op: op("M3/set-migration"),
            step: "M3".into(),
            action: "merge-patch".into(),
            target: "operator.openshift.io/v1/networks/cluster".into(),
            idempotency_key: "run-v2/M3".into(),
            attempt: 1,
            params: Json("{\"spec\":{\"migration\":{\"networkType\":\"OVNKubernetes\"}}}".into()),
            at_ms: 1_710_000_000_050,
        },
        v2::Event::OperationSucceeded {
            op: op("M3/set-migration"),
            attempt: 1,
            http_status: Some(200),
            observed: Json("{\"ok\":true}".into()),
            duration_ms: 12,
            at_ms: 1_710_000_000_060,
        },
        v2::Event::OperationIntended {
            op: op("M9/reboot/worker-0"),
            step: "M9".into(),
            action: "reboot".into(),
            target: "nova/servers/worker-0".into(),
            idempotency_key: "run-v2/M9/worker-0".into(),
            attempt: 2,
            params: Json::null(),
            at_ms: 1_710_000_000_070,
        },
        v2::Event::OperationFailed {
            op: op("M9/reboot/worker-0"),
            attempt: 2,
            http_status: Some(409),
            error: "409 Conflict: instance is in task_state rebooting".into(),
            retryable: true,
            duration_ms: 30,
            at_ms: 1_710_000_000_080,
        },
        v2::Event::OperationSkipped {
            op: op("M2/cluster-id"),
            reason: "already set".into(),
            at_ms: 1_710_000_000_090,
        },
        v2::Event::OperationReobserved {
            op: op("M7/switch"),
            verdict: ReobservedVerdict::Ambiguous,
            observed: Json("{\"networkType\":\"Kuryr\"}".into()),
            at_ms: 1_710_000_000_100,
        },
        v2::Event::WaitStarted {
            wait: "M5/rollout".into(),
            step: "M5".into(),
            at_ms: 1_710_000_000_110,
        },
        v2::Event::ConditionObserved {
            wait: "M5/rollout".into(),
            condition: "Progressing=True".into(),
            detail: Json("{\"updated\":1}".into()),
            at_ms: 1_710_000_000_120,
        },
        v2::Event::WaitFinished {
            wait: "M5/rollout".into(),
            outcome: WaitOutcome::TimedOut,
            at_ms: 1_710_000_000_130,
        },
        v2::Event::DecisionRecorded {
            decision: "break-lock".into(),
            detail: "bastion:4242".into(),
            by: "core@bastion".into(),
            at_ms: 1_710_000_000_140,
        },
        v2::Event::RunPaused {
            reason: "interrupted".into(),
            at_ms: 1_710_000_000_150,
        },
        v2::Event::RunResumed {
            host: "bastion2".into(),
            user: "core".into(),
            pid: 77,
            tool_version: "0.1.1".into(),
            at_ms: 1_710_000_000_160,
        },
        v2::Event::RunPaused {
            reason: "{\"outcome\":\"needs_operator\",\"op\":\"M7/switch\",\"detail\":\"cannot tell\",\"live\":{\"networkType\":\"Kuryr\"}}".into(),
            at_ms: 1_710_000_000_170,
        },
        v2::Event::RunPaused {
            reason: "{\"outcome\":\"check_failed\",\"op\":\"M0/precheck\",\"detail\":\"2 findings\"}".into(),
            at_ms: 1_710_000_000_175,
        },
        v2::Event::RunPaused {
            reason: "{\"outcome\":\"failed\",\"op\":\"M9/reboot/worker-0\",\"error\":\"gave up\"}".into(),
            at_ms: 1_710_000_000_177,
        },
        v2::Event::RunPaused {
            reason: "wait M5/rollout timed out".into(),
            at_ms: 1_710_000_000_178,
        },
        v2::Event::EpochStarted {
            epoch: 1,
            reset_to: "M3".into(),
            previous_head: ChainHash([5; 32]),
            at_ms: 1_710_000_000_180,
        },
    ]
}

fn read_fixture() -> (String, Target, Vec<(u64, Vec<u8>)>) {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap_or_else(|e| panic!("{FIXTURE}: {e}; the fixture is committed, never regenerated"));
    let mut lines = text.lines();
    let (run_id, target) = lines.next().unwrap().split_once(' ').unwrap();
    let target: Target = serde_json::from_str(target).unwrap();
    let records = lines
        .map(|l| {
            let (seq, h) = l.split_once(' ').unwrap();
            (seq.parse().unwrap(), hex::decode(h).unwrap())
        })
        .collect();
    (run_id.to_string(), target, records)
}

#[test]
fn v2_records_decode_upcast_and_link() {
    let (run_id, target, records) = read_fixture();
    let expected = v2_events();
    assert_eq!(records.len(), expected.len() + 1);
    let mut prev: ChainHash = genesis(&run_id, &target.fingerprint());
    let mut events = Vec::new();
    for (seq, rec) in &records {
        let (version, at_ms, event, hash) = format::decode(rec).unwrap();
        assert_eq!(version, 2, "record {seq}");
        assert_eq!(
            hash,
            link(*seq, &prev, &rec[..rec.len() - 32]),
            "link {seq}"
        );
        prev = hash;
        events.push((at_ms, event));
    }
    for (i, old) in expected.into_iter().enumerate() {
        let (want, at) = v2::upcast(old);
        assert_eq!(events[i], (at, want), "record {}", i + 1);
    }
    // The time moved into the envelope; typed reasons and outcomes came from strings.
    assert_eq!(events[0].0, 1_710_000_000_000);
    assert!(matches!(
        &events[2].1,
        Event::ObservationRecorded { body, .. } if body.full_blob() == Some(BlobHash([7; 32]))
    ));
    assert!(matches!(
        &events[15].1,
        Event::RunPaused {
            reason: PauseReason::Interrupted
        }
    ));
    match &events[17].1 {
        Event::RunPaused {
            reason: PauseReason::NeedsOperator { op, detail, live },
        } => {
            assert_eq!(op.0, "M7/switch");
            assert_eq!(detail.inline(), "cannot tell");
            assert_eq!(live.inline_value().unwrap()["networkType"], "Kuryr");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(matches!(
        &events[18].1,
        Event::RunPaused {
            reason: PauseReason::CheckFailed { .. }
        }
    ));
    assert!(matches!(
        &events[19].1,
        Event::RunPaused {
            reason: PauseReason::Failed { .. }
        }
    ));
    assert!(matches!(
        &events[20].1,
        Event::RunPaused {
            reason: PauseReason::Stopped { .. }
        }
    ));
    match &events[8].1 {
        Event::OperationFailed {
            error, retryable, ..
        } => {
            assert!(*retryable);
            assert!(error.inline().starts_with("409 Conflict"));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(matches!(
        &events[22].1,
        Event::RunSealed {
            outcome: RunOutcome::Completed,
            ..
        }
    ));
}

#[test]
fn a_v2_journal_opens_verifies_and_takes_v3_records_after_it() {
    let (run_id, target, records) = read_fixture();
    let tmp = tempfile::tempdir().unwrap();
    {
        let (db, tree) = common::raw_tree(tmp.path());
        tree.insert(b"mtarget", serde_json::to_vec(&target).unwrap())
            .unwrap();
        tree.insert(b"mrun", run_id.as_bytes()).unwrap();
        // Every record but the seal, so that the run is still open.
        for (seq, rec) in &records[..records.len() - 1] {
            tree.insert(common::event_key(*seq), rec.clone()).unwrap();
        }
        db.flush().unwrap();
    }
    let n = records.len() as u64 - 1;
    assert_eq!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Unsealed { last: n }
    );
    let j = Journal::open(tmp.path(), &target, &OpenOptions::default()).unwrap();
    let seq = j
        .append(Event::RunPaused {
            reason: PauseReason::Interrupted,
        })
        .unwrap();
    assert_eq!(seq, n + 1);
    let back = j.read(seq).unwrap().unwrap();
    assert_eq!(back.version, 3);
    assert!(back.at_ms > 1_710_000_000_000);
    assert_eq!(j.read(1).unwrap().unwrap().version, 2);
    drop(j);
    assert_eq!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Unsealed { last: n + 1 }
    );
}

#[test]
fn every_v2_event_kind_is_in_the_fixture() {
    let (_, _, records) = read_fixture();
    let mut kinds: Vec<&str> = records
        .iter()
        .map(|(_, rec)| format::decode(rec).unwrap().2.name())
        .collect();
    kinds.sort();
    kinds.dedup();
    // 17 kinds in version 2 (LockRecovered is new in version 3).
    assert_eq!(kinds.len(), 17, "{kinds:?}");
    let _ = (
        Json::null(),
        OpId::from("x"),
        ReobservedVerdict::Done,
        WaitOutcome::Met,
    );
    let _ = BlobRef {
        kind: String::new(),
        name: String::new(),
        hash: BlobHash([0; 32]),
    };
}
