//! Every event kind survives encode → store → decode unchanged, alone and
//! through a real journal.

mod common;

use journal::chain::ChainHash;
use journal::format::{decode, encode};
use journal::{
    BlobHash, BlobRef, Doc, Event, Json, OpId, PauseReason, ReobservedVerdict, RunOutcome, Target,
    Text, WaitOutcome,
};
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

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        s().prop_map(|x| Text::short(&x).unwrap()),
        "[a-zé ]{250,600}".prop_map(|x| Text::new(&x, |b| Ok(BlobHash::of(b))).unwrap()),
    ]
}
fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        json().prop_map(|j| Doc::short(j).unwrap()),
        "[a-z]{1000,1400}"
            .prop_map(|x| Doc::new(Json(format!("{x:?}")), |b| Ok(BlobHash::of(b))).unwrap()),
    ]
}
fn pause() -> impl Strategy<Value = PauseReason> {
    prop_oneof![
        Just(PauseReason::Interrupted),
        text().prop_map(|detail| PauseReason::Stopped { detail }),
        (op(), text(), doc()).prop_map(|(op, detail, live)| PauseReason::NeedsOperator {
            op,
            detail,
            live
        }),
        (op(), text()).prop_map(|(op, detail)| PauseReason::CheckFailed { op, detail }),
        (op(), text()).prop_map(|(op, error)| PauseReason::Failed { op, error }),
    ]
}
fn outcome() -> impl Strategy<Value = RunOutcome> {
    prop_oneof![
        Just(RunOutcome::Completed),
        text().prop_map(|detail| RunOutcome::Abandoned { detail }),
    ]
}

/// Returns a strategy producing every event kind.
fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (s(), s(), s(), target(), s(), s(), any::<u32>()).prop_map(
            |(run_id, workflow, tool_version, target, host, user, pid)| Event::RunStarted {
                run_id,
                workflow,
                tool_version,
                target,
                host,
                user,
                pid,
            }
        ),
        (s(), s(), hash32(), any::<u32>()).prop_map(|(p, d, h, count)| Event::PlanRecorded {
            plan_digest: p,
            discovery_digest: d,
            operations: BlobHash(h),
            count,
        }),
        (s(), doc()).prop_map(|(key, body)| Event::ObservationRecorded { key, body }),
        (s(), proptest::collection::vec((s(), s(), hash32()), 0..3)).prop_map(|(label, b)| {
            Event::SnapshotRecorded {
                label,
                blobs: b
                    .into_iter()
                    .map(|(kind, name, h)| BlobRef {
                        kind,
                        name,
                        hash: BlobHash(h),
                    })
                    .collect(),
            }
        }),
        (op(), s(), s(), s(), s(), any::<u32>(), doc()).prop_map(
            |(op, step, action, target, idempotency_key, attempt, params)| {
                Event::OperationIntended {
                    op,
                    step,
                    action,
                    target,
                    idempotency_key,
                    attempt,
                    params,
                }
            }
        ),
        (
            op(),
            any::<u32>(),
            proptest::option::of(any::<u16>()),
            doc(),
            any::<u64>()
        )
            .prop_map(|(op, attempt, http_status, observed, duration_ms)| {
                Event::OperationSucceeded {
                    op,
                    attempt,
                    http_status,
                    observed,
                    duration_ms,
                }
            }),
        (
            op(),
            any::<u32>(),
            proptest::option::of(any::<u16>()),
            text(),
            any::<bool>(),
            any::<u64>()
        )
            .prop_map(
                |(op, attempt, http_status, error, retryable, duration_ms)| {
                    Event::OperationFailed {
                        op,
                        attempt,
                        http_status,
                        error,
                        retryable,
                        duration_ms,
                    }
                }
            ),
        (op(), text()).prop_map(|(op, reason)| Event::OperationSkipped { op, reason }),
        (
            op(),
            prop_oneof![
                Just(ReobservedVerdict::Done),
                Just(ReobservedVerdict::NotDone),
                Just(ReobservedVerdict::Ambiguous)
            ],
            doc()
        )
            .prop_map(|(op, verdict, observed)| Event::OperationReobserved {
                op,
                verdict,
                observed
            }),
        (s(), s()).prop_map(|(wait, step)| Event::WaitStarted { wait, step }),
        (s(), text(), doc()).prop_map(|(wait, condition, detail)| Event::ConditionObserved {
            wait,
            condition,
            detail,
        }),
        (
            s(),
            prop_oneof![
                Just(WaitOutcome::Met),
                Just(WaitOutcome::TimedOut),
                Just(WaitOutcome::Interrupted),
                Just(WaitOutcome::Failed)
            ]
        )
            .prop_map(|(wait, outcome)| Event::WaitFinished { wait, outcome }),
        (s(), text(), s()).prop_map(|(decision, detail, by)| Event::DecisionRecorded {
            decision,
            detail,
            by,
        }),
        pause().prop_map(|reason| Event::RunPaused { reason }),
        (s(), s(), any::<u32>(), s()).prop_map(|(host, user, pid, tool_version)| {
            Event::RunResumed {
                host,
                user,
                pid,
                tool_version,
            }
        }),
        (any::<u32>(), s(), hash32()).prop_map(|(epoch, reset_to, h)| Event::EpochStarted {
            epoch,
            reset_to,
            previous_head: ChainHash(h),
        }),
        (hash32(), outcome()).prop_map(|(h, outcome)| Event::RunSealed {
            head: ChainHash(h),
            outcome,
        }),
        (s(), any::<u32>(), s(), s(), s()).prop_map(|(host, pid, user, since, tool_version)| {
            Event::LockRecovered {
                host,
                pid,
                user,
                since,
                tool_version,
            }
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
        Event::LockRecovered { .. } => 17,
    }
}
const KINDS: usize = 18;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_event_round_trips_through_the_envelope(ev in event(), at in any::<i64>(), seq in 1u64..u64::MAX, prev in hash32()) {
        let prev = ChainHash(prev);
        let (rec, hash) = encode(&ev, at, seq, &prev).unwrap();
        prop_assert!(rec.len() <= 4096, "a record of {} bytes", rec.len());
        let (version, at_ms, back, stored_hash) = decode(&rec).unwrap();
        prop_assert_eq!(version, journal::format::CURRENT_VERSION);
        prop_assert_eq!(at_ms, at);
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
