//! Every decision of a run can be made again from the journal alone: for
//! each effect, the observation journaled before it classifies (through the
//! same step type) to what the run did (an intent when not done, a skip when
//! done); for each wait, every journaled condition is what the step's
//! condition says of the object journaled with it. This is what forensic
//! replay will rest on.

use std::collections::BTreeMap;
use std::path::Path;

use journal::{Event, Journal};
use replay_tests::{Rig, current_journal, describe, small};
use serde_json::Value;
use steps::engine::{Verdict, WaitState, resolve};
use steps::kuryr::migrate::{Session, step_for};
use steps::workflow::load_run;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

#[test]
fn every_decision_is_recomputed_from_the_journal_alone() {
    let rig = Rig::start(small());
    let out = rig.run(Path::new(BIN), &["--max-unavailable", "worker=2"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let dir = current_journal(&rig.state).unwrap();
    let j = Journal::open_read(&dir).unwrap();
    let run = rig.block_on(load_run::<Session>(j.clone())).unwrap();
    let steps: BTreeMap<String, _> = run
        .plan
        .operations
        .iter()
        .map(|op| (op.key.clone(), step_for(op)))
        .collect();

    let mut observed: BTreeMap<String, Value> = BTreeMap::new();
    let mut intents: BTreeMap<String, Value> = BTreeMap::new();
    let (mut effects, mut conditions) = (0, 0);
    for r in j.iter(1) {
        match r.unwrap().event {
            Event::ObservationRecorded { key, body } => {
                if let Some(op) = key.strip_prefix("observed/") {
                    observed.insert(op.to_string(), resolve(&j, &body).unwrap());
                }
            }
            Event::OperationIntended { op, params, .. } => {
                let eff = steps[&op.0].as_effect().expect("only effects intend");
                let live = observed
                    .remove(&op.0)
                    .expect("the observation before the intent");
                let verdict = eff.classify(&live, intents.get(&op.0)).unwrap();
                assert!(
                    matches!(verdict, Verdict::NotDone(_) | Verdict::Pending(_)),
                    "{op}: {verdict:?}"
                );
                assert_eq!(
                    eff.params(&live).unwrap(),
                    resolve(&j, &params).unwrap(),
                    "{op}"
                );
                intents.insert(op.0.clone(), resolve(&j, &params).unwrap());
                effects += 1;
            }
            Event::OperationSkipped { op, .. } => {
                let eff = steps[&op.0].as_effect().expect("a skipped effect");
                let live = observed
                    .remove(&op.0)
                    .expect("the observation before the skip");
                let verdict = eff.classify(&live, intents.get(&op.0)).unwrap();
                assert!(matches!(verdict, Verdict::Done(_)), "{op}: {verdict:?}");
                effects += 1;
            }
            Event::ConditionObserved {
                wait,
                condition,
                detail,
            } => {
                let step = &steps[&wait];
                let live = resolve(&j, &detail).unwrap();
                let state = match step.as_effect() {
                    Some(eff) => eff.settle(&live, intents.get(&wait)).unwrap(),
                    None => step.watch(&live).unwrap(),
                }
                .expect("a condition");
                let text = match &state {
                    WaitState::Met(s) | WaitState::Pending(s) | WaitState::Failed(s) => s,
                };
                assert_eq!(text, &j.full_text(&condition).unwrap(), "{wait}");
                conditions += 1;
            }
            _ => {}
        }
    }
    let planned_effects = steps.values().filter(|s| s.as_effect().is_some()).count();
    assert_eq!(
        effects, planned_effects,
        "every effect's decision was recomputed"
    );
    assert!(conditions >= 12, "conditions recomputed: {conditions}");
}
