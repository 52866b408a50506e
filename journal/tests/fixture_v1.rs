//! A journal written in format version 1 keeps decoding, upcast, forever.
//!
//! `tests/fixtures/v1-journal.txt` was written once, with the frozen v1 types,
//! from the events in [`v1_events`] followed by a seal, and is never
//! regenerated: a missing or altered fixture fails these tests. The first line
//! is the run id and target, each further line `seq hex(record)`.

mod common;

use journal::chain::{ChainHash, genesis};
use journal::format::{self, v1};
use journal::{Event, Journal, Json, OpId, OpenOptions, Target, VerifyStatus, verify};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1-journal.txt");

fn fixture_target() -> Target {
    common::target("legacy")
}

fn v1_events() -> Vec<v1::Event> {
    vec![
        v1::Event::RunStarted {
            run_id: "run-v1".into(),
            workflow: "kuryr".into(),
            tool_version: "0.0.1".into(),
            target: fixture_target(),
            at_ms: 1_700_000_000_000,
        },
        v1::Event::ObservationRecorded {
            key: "network".into(),
            body: Json("{\"networkType\":\"Kuryr\"}".into()),
            at_ms: 1_700_000_000_100,
        },
        v1::Event::OperationIntended {
            op: OpId("M3/set-migration".into()),
            step: "M3".into(),
            action: "merge-patch".into(),
            target: "operator.openshift.io/v1/networks/cluster".into(),
            idempotency_key: "run-v1/M3".into(),
            params: Json("{\"spec\":{\"migration\":{\"networkType\":\"OVNKubernetes\"}}}".into()),
            at_ms: 1_700_000_000_200,
        },
        v1::Event::OperationSucceeded {
            op: OpId("M3/set-migration".into()),
            observed: Json::null(),
            at_ms: 1_700_000_000_300,
        },
        v1::Event::OperationIntended {
            op: OpId("C6/lb-1".into()),
            step: "C6".into(),
            action: "delete".into(),
            target: "octavia/loadbalancers/1".into(),
            idempotency_key: "run-v1/C6/1".into(),
            params: Json::null(),
            at_ms: 1_700_000_000_400,
        },
        v1::Event::OperationFailed {
            op: OpId("C6/lb-1".into()),
            error: "409 PENDING_UPDATE".into(),
            at_ms: 1_700_000_000_500,
        },
        v1::Event::RunPaused {
            reason: "interrupted".into(),
            at_ms: 1_700_000_000_600,
        },
        v1::Event::RunResumed {
            at_ms: 1_700_000_000_700,
        },
        v1::Event::SnapshotRecorded {
            label: "kuryr".into(),
            blobs: vec![],
            at_ms: 1_700_000_000_800,
        },
    ]
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn read_fixture() -> (String, Target, Vec<(u64, Vec<u8>)>) {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap_or_else(|e| panic!("{FIXTURE}: {e}; the fixture is committed, never regenerated"));
    let mut lines = text.lines();
    let (run_id, target) = lines.next().unwrap().split_once(' ').unwrap();
    let target: Target = serde_json::from_str(target).unwrap();
    let records = lines
        .map(|l| {
            let (seq, hex) = l.split_once(' ').unwrap();
            (seq.parse().unwrap(), hex_decode(hex))
        })
        .collect();
    (run_id.to_string(), target, records)
}

#[test]
fn v1_records_decode_upcast_and_link() {
    let (run_id, target, records) = read_fixture();
    assert_eq!(records.len(), 10);
    let mut prev: ChainHash = genesis(&run_id, &target.fingerprint());
    let mut events = Vec::new();
    for (seq, rec) in &records {
        let (version, at_ms, event, hash) = format::decode(rec).unwrap();
        assert_eq!(version, 1, "record {seq}");
        assert_eq!(
            at_ms,
            1_700_000_000_000 + 100 * (*seq as i64 - 1),
            "time of {seq}"
        );
        assert_eq!(
            hash,
            journal::chain::link(*seq, &prev, &rec[..rec.len() - 32]),
            "link {seq}"
        );
        prev = hash;
        events.push(event);
    }
    for (i, old) in v1_events().into_iter().enumerate() {
        let (want, _) = format::v2::upcast(v1::upcast(old));
        assert_eq!(events[i], want, "record {}", i + 1);
    }
    match events[2].clone() {
        Event::OperationIntended {
            attempt,
            op,
            params,
            ..
        } => {
            assert_eq!(
                params.inline_value().unwrap()["spec"]["migration"]["networkType"],
                "OVNKubernetes"
            );
            assert_eq!(attempt, 1);
            assert_eq!(op.0, "M3/set-migration");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(matches!(
        &events[5],
        Event::OperationFailed {
            retryable: false,
            http_status: None,
            ..
        }
    ));
    assert!(matches!(
        &events[1],
        Event::ObservationRecorded { body, .. } if body.full_blob().is_none()
    ));
    assert!(matches!(
        &events[6],
        Event::RunPaused {
            reason: journal::PauseReason::Interrupted
        }
    ));
    assert!(matches!(
        &events[9],
        Event::RunSealed {
            outcome: journal::RunOutcome::Unrecorded,
            ..
        }
    ));
    assert!(matches!(&events[9], Event::RunSealed { .. }));
}

#[test]
fn a_v1_journal_opens_and_verifies() {
    let (run_id, target, records) = read_fixture();
    let tmp = tempfile::tempdir().unwrap();
    // Lay the old records into a journal directory the way version 1 stored them.
    {
        let (db, tree) = common::raw_tree(tmp.path());
        tree.insert(b"mtarget", serde_json::to_vec(&target).unwrap())
            .unwrap();
        tree.insert(b"mrun", run_id.as_bytes()).unwrap();
        for (seq, rec) in &records {
            tree.insert(common::event_key(*seq), rec.clone()).unwrap();
        }
        db.flush().unwrap();
    }
    assert_eq!(
        verify(tmp.path()).unwrap().status,
        VerifyStatus::Sealed { seal: 10 }
    );
    let j = Journal::open(tmp.path(), &target, &OpenOptions::default()).unwrap();
    assert_eq!(j.sealed(), Some(10));
    let kinds: Vec<&str> = j.iter(1).map(|r| r.unwrap().event.name()).collect();
    assert_eq!(kinds[0], "RunStarted");
    assert_eq!(kinds.len(), 10);
}
