//! `ovn-migrate ovs …`: preparing an OpenStack cloud whose Neutron runs
//! ML2/OVS for ML2/OVN (`spec/ovs-to-ovn.md`). `assess` is read-only and not
//! journaled; `fix` applies the safe remediations as a journaled workflow.

pub mod assess;
pub mod fix;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `ovs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OvsCommand {
    Assess(assess::AssessArgs),
    Fix(Box<fix::FixCommand>),
}

/// Runs an `ovs` subcommand.
pub fn run(cmd: OvsCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        OvsCommand::Assess(args) => assess::run(args, ctx),
        OvsCommand::Fix(cmd) => fix::run(*cmd, ctx),
    }
}
