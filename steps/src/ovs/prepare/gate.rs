//! The old-leases gate, for every command that needs the DHCP leases handed
//! out before P3 to have expired (a future `ovs migrate`, `prepare status`).
//!
//! It is read from a prepare run's journal alone: the time P3's successful
//! outcome was journaled and the run's `old_lease_s` option. The gate opens
//! `old_lease_s` after that time; the same rule the engine applies to P5
//! (`Gate` in `engine/step.rs`), so both always agree.

use chrono::{DateTime, Utc};
use journal::{Event, Journal, OpId};
use serde::Serialize;

use super::plan::{DESYNC_OP, LEASE_OP, PrepareOptions, RESYNC_OP};
use crate::engine::resolve;

/// Where the gate stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum LeaseGate {
    /// P3 has not succeeded in this run: the clock has not started.
    NotStarted { old_lease_s: u64 },
    /// Closed until `opens_at_ms` (ms since the epoch).
    Closed {
        set_at_ms: i64,
        old_lease_s: u64,
        opens_at_ms: i64,
        remaining_s: u64,
    },
    /// Open since `opens_at_ms`.
    Open {
        set_at_ms: i64,
        old_lease_s: u64,
        opens_at_ms: i64,
    },
}

fn when(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

/// Returns `s` seconds as `1h 02m 03s`.
pub fn human(s: u64) -> String {
    format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60)
}

impl LeaseGate {
    /// Returns whether commands that need the old leases expired may run.
    pub fn is_open(&self) -> bool {
        matches!(self, LeaseGate::Open { .. })
    }

    /// Returns the gate as one line for people.
    pub fn describe(&self) -> String {
        match self {
            LeaseGate::NotStarted { old_lease_s } => format!(
                "old DHCP leases: not counting yet (the lease duration is not set by this run; then {} must pass)",
                human(*old_lease_s)
            ),
            LeaseGate::Closed {
                set_at_ms,
                opens_at_ms,
                remaining_s,
                ..
            } => format!(
                "old DHCP leases: may still be held until {} ({} left; the lease duration was set at {})",
                when(*opens_at_ms),
                human(*remaining_s),
                when(*set_at_ms)
            ),
            LeaseGate::Open {
                set_at_ms,
                opens_at_ms,
                ..
            } => format!(
                "old DHCP leases: expired since {} (the lease duration was set at {})",
                when(*opens_at_ms),
                when(*set_at_ms)
            ),
        }
    }

    /// Refuses (with the time left and what to do) unless the gate is open.
    pub fn require_open(&self, what: &str) -> Result<(), String> {
        match self {
            LeaseGate::Open { .. } => Ok(()),
            LeaseGate::NotStarted { .. } => Err(format!(
                "{what}: the DHCP lease duration has not been raised by `ovn-migrate ovs prepare` yet; run it, then wait a full old lease"
            )),
            LeaseGate::Closed {
                opens_at_ms,
                remaining_s,
                ..
            } => Err(format!(
                "{what}: instances may still hold DHCP leases of the old duration for {} (until {}); wait until then",
                human(*remaining_s),
                when(*opens_at_ms)
            )),
        }
    }
}

/// Returns the gate of the prepare run in `journal` at `now_ms`.
pub fn lease_gate(journal: &Journal, now_ms: i64) -> Result<LeaseGate, journal::Error> {
    let mut options: Option<PrepareOptions> = None;
    for r in journal.iter(1) {
        if let Event::ObservationRecorded { key, body } = r?.event
            && key == "options"
        {
            options = serde_json::from_value(resolve(journal, &body)?).ok();
            break;
        }
    }
    let old_lease_s = options.unwrap_or_default().old_lease_s;
    let state = journal
        .op_state(&OpId(LEASE_OP.into()))?
        .unwrap_or_default();
    let Some(seq) = state.outcome.filter(|_| state.done) else {
        return Ok(LeaseGate::NotStarted { old_lease_s });
    };
    let Some(set_at_ms) = journal.read(seq)?.map(|r| r.at_ms) else {
        return Ok(LeaseGate::NotStarted { old_lease_s });
    };
    Ok(decide(set_at_ms, old_lease_s, now_ms))
}

/// Returns whether the run in `journal` desynced a member without resyncing
/// it since (the desync's last intent is newer than the resync's last success).
pub fn open_desync(journal: &Journal) -> Result<bool, journal::Error> {
    let desync = journal
        .op_state(&OpId(DESYNC_OP.into()))?
        .unwrap_or_default();
    let resync = journal
        .op_state(&OpId(RESYNC_OP.into()))?
        .unwrap_or_default();
    Ok(
        match (desync.intent, resync.outcome.filter(|_| resync.done)) {
            (Some(_), None) => true,
            (Some(i), Some(r)) => i > r,
            _ => false,
        },
    )
}

/// Returns the gate for a lease set at `set_at_ms` (pure).
pub fn decide(set_at_ms: i64, old_lease_s: u64, now_ms: i64) -> LeaseGate {
    let opens_at_ms = set_at_ms.saturating_add((old_lease_s as i64).saturating_mul(1000));
    if now_ms < opens_at_ms {
        LeaseGate::Closed {
            set_at_ms,
            old_lease_s,
            opens_at_ms,
            remaining_s: ((opens_at_ms - now_ms) as u64).div_ceil(1000),
        }
    } else {
        LeaseGate::Open {
            set_at_ms,
            old_lease_s,
            opens_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_opens_a_full_old_lease_after_the_change() {
        let set = 1_764_662_400_000; // 2025-12-02 08:00:00 UTC
        let g = decide(set, 86_400, set + 3_600_000);
        assert_eq!(
            g,
            LeaseGate::Closed {
                set_at_ms: set,
                old_lease_s: 86_400,
                opens_at_ms: set + 86_400_000,
                remaining_s: 82_800
            }
        );
        let e = g.require_open("start the migration").unwrap_err();
        assert!(
            e.contains("23h 00m 00s") && e.contains("2025-12-03 08:00:00 UTC"),
            "{e}"
        );
        assert!(decide(set, 86_400, set + 86_400_000).is_open());
        assert!(decide(set, 0, set).is_open());
        assert!(
            LeaseGate::NotStarted { old_lease_s: 1 }
                .require_open("x")
                .unwrap_err()
                .contains("ovs prepare")
        );
    }
}
