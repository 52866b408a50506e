//! Epochs: how `journal reset --to-step S` makes steps run again without
//! rewriting a record.
//!
//! A reset appends, in one durable group:
//!
//! 1. `DecisionRecorded { decision: "reset", .. }`: who reset, to which step;
//! 2. `EpochStarted { epoch, reset_to, previous_head }`, whose
//!    `previous_head` is the chain hash of the record just before it (the
//!    head the reset went back from: it stays in the chain);
//! 3. one `ObservationRecorded { key: "redo/<op>" }` per operation (or wait)
//!    to run again, whose body says the epoch.
//!
//! Only existing event kinds are used, so the format does not change and a
//! journal with epochs reads with every tool that reads format 3. The index
//! follows the `redo/` records ([`crate::Journal`]'s one append function): a
//! redone operation's index entry forgets its intent and outcome (its attempt
//! count goes on), and a redone wait is no longer met. So the next `resume`
//! runs those operations again, judged afresh from the live state, and the
//! records of the earlier epoch remain what they were.

/// The key prefix of the records naming what an epoch redoes.
pub const REDO_PREFIX: &str = "redo/";

/// The decision name a reset is recorded under.
pub const RESET_DECISION: &str = "reset";

/// Returns the observation key recording that `op` is redone.
pub fn redo_key(op: &str) -> String {
    format!("{REDO_PREFIX}{op}")
}

/// Returns the operation a `redo/<op>` key names, if it is one.
pub fn redone(key: &str) -> Option<&str> {
    key.strip_prefix(REDO_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(redo_key("M3/set"), "redo/M3/set");
        assert_eq!(redone("redo/M3/set"), Some("M3/set"));
        assert_eq!(redone("observed/M3/set"), None);
    }
}
