//! `ovn-migrate ovs …`: preparing an OpenStack cloud whose Neutron runs
//! ML2/OVS for ML2/OVN (`spec/ovs-to-ovn.md`). Only `assess` exists so far:
//! read-only, not journaled yet; `fix` and `prepare` come with the new engine.

pub mod assess;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `ovs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OvsCommand {
    Assess(assess::AssessArgs),
}

/// Runs an `ovs` subcommand.
pub fn run(cmd: OvsCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        OvsCommand::Assess(args) => assess::run(args, ctx),
    }
}
