//! The old → new ID map of a restore run: in memory while the run lives,
//! journaled in every restore operation's observation and outcome (their
//! `id_map` field), and read back from the journal alone when a run is
//! resumed or reported on.
//!
//! Every restore step that finds its object again (by its idempotency key)
//! records the pair in its observation; every step that creates one records
//! it in its outcome. So a run killed anywhere finds the same pairs again:
//! the journaled ones by [`read_id_map`], the one in flight by the step's
//! re-observation. Later steps resolve their references through the map
//! ([`IdMap::body`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use journal::{Event, Journal};
use serde_json::Value;

use crate::engine::{StepError, observation_key, resolve};
use crate::kuryr::cleanup::restore::Create;

/// The prefix of every restore operation's id.
pub const OP_PREFIX: &str = "restore/";

/// The old → new map, shared by the steps of one run.
#[derive(Clone, Debug, Default)]
pub struct IdMap(Arc<Mutex<BTreeMap<String, String>>>);

impl IdMap {
    /// Returns a map holding `pairs`.
    pub fn new(pairs: BTreeMap<String, String>) -> Self {
        Self(Arc::new(Mutex::new(pairs)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns a copy of the map.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    /// Returns the new ID of `old`, if it is mapped.
    pub fn get(&self, old: &str) -> Option<String> {
        self.lock().get(old).cloned()
    }

    /// Records the pairs of an observation or outcome (`{"id_map": {...}}`).
    pub fn record(&self, pairs: &BTreeMap<String, String>) {
        let mut m = self.lock();
        for (k, v) in pairs {
            m.insert(k.clone(), v.clone());
        }
    }

    /// Returns whether `new` is already the successor of another old ID than `old`.
    pub fn claimed_by_other(&self, old: &str, new: &str) -> bool {
        self.lock().iter().any(|(k, v)| v == new && k != old)
    }

    /// Returns the create call's body with every reference resolved; a
    /// reference not mapped yet is a bug in the plan's order (fatal).
    pub fn body(&self, create: &Create) -> Result<Value, StepError> {
        create
            .body(&self.lock())
            .map_err(|e| StepError::fatal(e.to_string()))
    }
}

/// Returns the `id_map` of a journaled observation or outcome (empty when it has none).
pub fn pairs_of(v: &Value) -> BTreeMap<String, String> {
    v.get("id_map")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the old → new map from a restore run's journal: the `id_map` of
/// every restore operation's observation, re-observation and outcome, in
/// journal order (a later pair for the same old ID wins).
pub fn read_id_map(journal: &Journal) -> Result<BTreeMap<String, String>, journal::Error> {
    let mut map = BTreeMap::new();
    let observed_prefix = observation_key(OP_PREFIX);
    for r in journal.iter(1) {
        let doc = match r?.event {
            Event::ObservationRecorded { key, body } if key.starts_with(&observed_prefix) => body,
            Event::OperationReobserved { op, observed, .. } if op.0.starts_with(OP_PREFIX) => {
                observed
            }
            Event::OperationSucceeded { op, observed, .. } if op.0.starts_with(OP_PREFIX) => {
                observed
            }
            _ => continue,
        };
        map.extend(pairs_of(&resolve(journal, &doc)?));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_are_read_from_the_id_map_field_only() {
        assert_eq!(
            pairs_of(&json!({"id_map": {"a": "A", "b": 3}, "x": {"c": "C"}})),
            [("a".to_string(), "A".to_string())].into_iter().collect()
        );
        assert!(pairs_of(&json!({"found": null})).is_empty());
    }

    #[test]
    fn a_new_id_claimed_by_another_old_one_is_seen() {
        let m = IdMap::default();
        m.record(
            &[("net-a".to_string(), "N1".to_string())]
                .into_iter()
                .collect(),
        );
        assert!(m.claimed_by_other("net-b", "N1"));
        assert!(!m.claimed_by_other("net-a", "N1"));
        assert!(!m.claimed_by_other("net-b", "N2"));
    }
}
