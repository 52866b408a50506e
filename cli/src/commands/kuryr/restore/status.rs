//! `ovn-migrate kuryr restore status`: where the current restore run is,
//! from its journal alone (no cluster access), by the shared [`crate::run_status`].

use std::path::PathBuf;

use clap::Args;
use steps::kuryr::cleanup::restore_run::WORKFLOW;

use crate::context::Context;
use crate::error::Result;
use crate::run_status::{StatusOf, show};

/// Show where the current restore run is (from the journal; no cluster access).
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cluster id [default: the only cluster in the state directory].
    #[arg(long)]
    pub cluster: Option<String>,
    /// The run's journal directory [default: the cluster's current restore run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
}

/// Runs `kuryr restore status`.
pub fn run(args: StatusArgs, ctx: &Context) -> Result<i32> {
    let of = StatusOf {
        workflow: WORKFLOW,
        start_hint: "start one with `ovn-migrate kuryr restore --from <cleanup run>`",
        extra: None,
    };
    show(ctx, &of, args.journal.as_deref(), args.cluster.as_deref())
}
