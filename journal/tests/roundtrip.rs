//! Every event kind survives encode → store → decode unchanged, alone and
//! through a real journal.

mod common;

use journal::chain::ChainHash;
use journal::format::{decode, encode};
use journal::{BlobHash, BlobRef, Event, Json, OpId, ReobservedVerdict, Target, WaitOutcome};
use proptest::prelude::*;

fn s() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._:-]{0,24}"
}
fn json() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::null()),
        s().prop_map(|x| Json(format!("{{\"k\":{x:?}}}")))
    ]
}
fn hash32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}
fn target() -> impl Strategy<Value = Target> {
    (s(), s(), s(), s()).prop_map(|(a, b, c, d)| Target {
        cluster_id: a,
        api_server: b,
        openstack_auth_url: c,
        openstack_project: d,
    })
}
fn op() -> impl Strategy<Value = OpId> {
    s().prop_map(OpId)
}

/// Returns a strategy producing every event kind.
fn event() -> impl Strategy<Value = Event> {
    let t = any::<i64>();
    prop_oneof![
        (s(), s(), s(), target(), s(), s(), any::<u32>(), t).prop_map(
            |(run_id, workflow, tool_version, target, host, user, pid, at_ms)| Event::RunStarted {
                run_id,
                workflow,
                tool_version,
                target,
                host,
                user,
                pid,
                at_ms
            }
        ),
        (s(), s(), hash32(), any::<u32>(), t).prop_map(|(p, d, h, count, at_ms)| {
            Event::PlanRecorded {
                plan_digest: p,
                discovery_digest: d,
                operations: BlobHash(h),
                count,
                at_ms,
            }
        }),
        (s(), json(), proptest::option::of(hash32()), t).prop_map(|(key, body, b, at_ms)| {
            Event::ObservationRecorded {
                key,
                body,
                blob: b.map(BlobHash),
                at_ms,
            }
        }),
        (
            s(),
            proptest::collection::vec((s(), s(), hash32()), 0..4),
            t
        )
            .prop_map(|(label, b, at_ms)| {
                let blobs = b
                    .into_iter()
                    .map(|(kind, name, h)| BlobRef {
                        kind,
                        name,
                        hash: BlobHash(h),
                    })
                    .collect();
                Event::SnapshotRecorded {
                    label,
                    blobs,
                    at_ms,
                }
            }),
        (op(), s(), s(), s(), s(), any::<u32>(), json(), t).prop_map(
            |(op, step, action, target, idempotency_key, attempt, params, at_ms)| {
                Event::OperationIntended {
                    op,
                    step,
                    action,
                    target,
                    idempotency_key,
                    attempt,
                    params,
                    at_ms,
                }
            }
        ),
        (
            op(),
            any::<u32>(),
            any::<Option<u16>>(),
            json(),
            any::<u64>(),
            t
        )
            .prop_map(|(op, attempt, http_status, observed, duration_ms, at_ms)| {
                Event::OperationSucceeded {
                    op,
                    attempt,
                    http_status,
                    observed,
                    duration_ms,
                    at_ms,
                }
            }),
        (
            op(),
            any::<u32>(),
            any::<Option<u16>>(),
            s(),
            any::<bool>(),
            any::<u64>(),
            t
        )
            .prop_map(
                |(op, attempt, http_status, error, retryable, duration_ms, at_ms)| {
                    Event::OperationFailed {
                        op,
                        attempt,
                        http_status,
                        error,
                        retryable,
                        duration_ms,
                        at_ms,
                    }
                }
            ),
        (op(), s(), t).prop_map(|(op, reason, at_ms)| Event::OperationSkipped {
            op,
            reason,
            at_ms
        }),
        (
            op(),
            prop_oneof![
                Just(ReobservedVerdict::Done),
                Just(ReobservedVerdict::NotDone),
                Just(ReobservedVerdict::Ambiguous)
            ],
            json(),
            t
        )
            .prop_map(
                |(op, verdict, observed, at_ms)| Event::OperationReobserved {
                    op,
                    verdict,
                    observed,
                    at_ms
                }
            ),
        (s(), s(), t).prop_map(|(wait, step, at_ms)| Event::WaitStarted { wait, step, at_ms }),
        (s(), s(), json(), t).prop_map(|(wait, condition, detail, at_ms)| {
            Event::ConditionObserved {
                wait,
                condition,
                detail,
                at_ms,
            }
        }),
        (
            s(),
            prop_oneof![
                Just(WaitOutcome::Met),
                Just(WaitOutcome::TimedOut),
                Just(WaitOutcome::Interrupted),
                Just(WaitOutcome::Failed)
            ],
            t
        )
            .prop_map(|(wait, outcome, at_ms)| Event::WaitFinished {
                wait,
                outcome,
                at_ms
            }),
        (s(), s(), s(), t).prop_map(|(decision, detail, by, at_ms)| Event::DecisionRecorded {
            decision,
            detail,
            by,
            at_ms
        }),
        (s(), t).prop_map(|(reason, at_ms)| Event::RunPaused { reason, at_ms }),
        (s(), s(), any::<u32>(), s(), t).prop_map(|(host, user, pid, tool_version, at_ms)| {
            Event::RunResumed {
                host,
                user,
                pid,
                tool_version,
                at_ms,
            }
        }),
        (any::<u32>(), s(), hash32(), t).prop_map(|(epoch, reset_to, h, at_ms)| {
            Event::EpochStarted {
                epoch,
                reset_to,
                previous_head: ChainHash(h),
                at_ms,
            }
        }),
        (hash32(), s(), t).prop_map(|(h, outcome, at_ms)| Event::RunSealed {
            head: ChainHash(h),
            outcome,
            at_ms
        }),
    ]
}

/// Index of an event kind; the match has no wildcard, so a new kind that is
/// not added here (and to the strategy) fails to compile.
fn kind(e: &Event) -> usize {
    match e {
        Event::RunStarted { .. } => 0,
        Event::PlanRecorded { .. } => 1,
        Event::ObservationRecorded { .. } => 2,
        Event::SnapshotRecorded { .. } => 3,
        Event::OperationIntended { .. } => 4,
        Event::OperationSucceeded { .. } => 5,
        Event::OperationFailed { .. } => 6,
        Event::OperationSkipped { .. } => 7,
        Event::OperationReobserved { .. } => 8,
        Event::WaitStarted { .. } => 9,
        Event::ConditionObserved { .. } => 10,
        Event::WaitFinished { .. } => 11,
        Event::DecisionRecorded { .. } => 12,
        Event::RunPaused { .. } => 13,
        Event::RunResumed { .. } => 14,
        Event::EpochStarted { .. } => 15,
        Event::RunSealed { .. } => 16,
    }
}
const KINDS: usize = 17;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_event_round_trips_through_the_envelope(ev in event(), seq in 1u64..u64::MAX, prev in hash32()) {
        let prev = ChainHash(prev);
        let (rec, hash) = encode(&ev, seq, &prev).unwrap();
        let (version, back, stored_hash) = decode(&rec).unwrap();
        prop_assert_eq!(version, journal::format::CURRENT_VERSION);
        prop_assert_eq!(back, ev);
        prop_assert_eq!(stored_hash, hash);
        prop_assert_eq!(hash, journal::chain::link(seq, &prev, &rec[..rec.len() - 32]));
    }
}

#[test]
fn the_strategy_covers_every_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = [false; KINDS];
    for _ in 0..2000 {
        seen[kind(&event().new_tree(&mut runner).unwrap().current())] = true;
    }
    assert!(seen.iter().all(|s| *s), "kinds never generated: {seen:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn events_round_trip_through_a_journal(events in proptest::collection::vec(event(), 1..20)) {
        let tmp = tempfile::tempdir().unwrap();
        let j = common::create(tmp.path());
        // A seal ends the run; keep any seal for last.
        let (mut body, seals): (Vec<_>, Vec<_>) =
            events.into_iter().partition(|e| !matches!(e, Event::RunSealed { .. }));
        body.extend(seals.into_iter().take(1));
        j.append_group(&body).unwrap();
        let back: Vec<Event> = j.iter(2).map(|r| r.unwrap().event).collect();
        prop_assert_eq!(back, body);
    }
}
