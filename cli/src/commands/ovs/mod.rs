//! `ovn-migrate ovs …`: preparing an OpenStack cloud whose Neutron runs
//! ML2/OVS for ML2/OVN (`spec/ovs-to-ovn.md`). `assess` is read-only and not
//! journaled; `fix` applies the safe remediations and `prepare` the
//! preparation (canaries, DHCP lease, the Neutron database backup), each a
//! journaled workflow on the engine.

pub mod assess;
pub mod fix;
pub mod prepare;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `ovs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OvsCommand {
    Assess(assess::AssessArgs),
    Fix(Box<fix::FixCommand>),
    Prepare(Box<prepare::PrepareArgs>),
}

/// Runs an `ovs` subcommand.
pub fn run(cmd: OvsCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        OvsCommand::Assess(args) => assess::run(args, ctx),
        OvsCommand::Fix(cmd) => fix::run(*cmd, ctx),
        OvsCommand::Prepare(args) => prepare::run(*args, ctx),
    }
}
