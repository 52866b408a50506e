//! `ovn-migrate ovs prepare status`: where the current prepare run is and
//! whether the old DHCP leases have expired, from the journal alone (no
//! cluster access); the shared [`crate::run_status`] does the reading.

use std::path::PathBuf;

use clap::Args;
use journal::Journal;
use serde_json::Value;
use steps::ovs::prepare::{WORKFLOW, lease_gate};

use crate::context::Context;
use crate::error::Result;
use crate::run_status::{StatusOf, show};

/// Show where the current `ovs prepare` run is and the old leases' gate (from the journal).
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The state directory's cluster id (mosk-<deployment>-<uid>) [default: the only one].
    #[arg(long)]
    pub cluster: Option<String>,
    /// The run's journal directory [default: the cluster's current prepare run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
}

/// Returns the lease gate as (JSON, line).
fn gate(j: &Journal) -> (Value, String) {
    match lease_gate(j, journal::event::now_ms()) {
        Ok(g) => (
            serde_json::to_value(&g).unwrap_or(Value::Null),
            g.describe(),
        ),
        Err(e) => (Value::Null, format!("old DHCP leases: unknown ({e})")),
    }
}

/// Runs `ovs prepare status`.
pub fn run(args: StatusArgs, ctx: &Context) -> Result<i32> {
    let of = StatusOf {
        workflow: WORKFLOW,
        start_hint: "start one with `ovn-migrate ovs prepare`",
        extra: Some(("lease_gate", &gate)),
    };
    show(ctx, &of, args.journal.as_deref(), args.cluster.as_deref())
}
