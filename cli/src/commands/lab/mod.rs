//! `ovn-migrate lab …`: a simulated cluster and cloud to rehearse against.

pub mod up;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `lab` subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    Up(up::UpArgs),
}

/// Runs a `lab` subcommand.
pub fn run(cmd: LabCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        LabCommand::Up(args) => up::run(args, ctx),
    }
}
