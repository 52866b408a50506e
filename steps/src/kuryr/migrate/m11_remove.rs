//! M11: remove the migration config (`spec.migration: null`) and wait until
//! the config network's `status.migration` is gone.

use serde_json::Value;

use crate::engine::{Verdict, WaitState};

/// Done when `spec.migration` is absent.
pub fn classify(live: &Value) -> Verdict {
    match live.pointer("/operator/spec/migration") {
        None | Some(Value::Null) => Verdict::Done("spec.migration is absent".into()),
        Some(_) => Verdict::NotDone("spec.migration is still set".into()),
    }
}

/// Met when `status.migration` is absent.
pub fn condition(live: &Value) -> WaitState {
    match live.pointer("/config/status/migration") {
        None | Some(Value::Null) => WaitState::Met("status.migration is gone".into()),
        Some(m) => WaitState::Pending(format!("status.migration = {m}")),
    }
}
