//! `ovn-migrate ovs …`: preparing an OpenStack cloud whose Neutron runs
//! ML2/OVS for ML2/OVN (`spec/ovs-to-ovn.md`): `assess` (read-only, not
//! journaled) and `prepare` (a journaled workflow on the engine).

pub mod assess;
pub mod prepare;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `ovs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OvsCommand {
    Assess(assess::AssessArgs),
    Prepare(Box<prepare::PrepareArgs>),
}

/// Runs an `ovs` subcommand.
pub fn run(cmd: OvsCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        OvsCommand::Assess(args) => assess::run(args, ctx),
        OvsCommand::Prepare(args) => prepare::run(*args, ctx),
    }
}
