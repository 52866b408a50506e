//! `ovn-migrate ovs fix status`: where the current fix run is, from the
//! journal alone (no cloud access); the shared [`crate::run_status`] does
//! the reading.

use std::path::PathBuf;

use clap::Args;
use steps::ovs::fix::WORKFLOW;

use crate::context::Context;
use crate::error::Result;
use crate::run_status::{StatusOf, show};

/// Show where the current fix run is (from the journal; no cloud access).
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cloud's id, openstack-<project>-<hash> as `journal list` shows it
    /// [default: the only one in the state directory].
    #[arg(long, alias = "cloud", value_name = "ID")]
    pub cluster: Option<String>,
    /// The run's journal directory [default: the cloud's current fix run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
}

/// Runs `ovs fix status`.
pub fn run(args: StatusArgs, ctx: &Context) -> Result<i32> {
    let of = StatusOf {
        workflow: WORKFLOW,
        start_hint: "start one with `ovn-migrate ovs fix --check ID` (or --all-safe)",
        extra: None,
    };
    show(ctx, &of, args.journal.as_deref(), args.cluster.as_deref())
}
