//! `ovn-migrate journal …`: inspect journals without changing a cluster.

pub mod list;
pub mod verify;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `journal` subcommands.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    Verify(verify::VerifyArgs),
    List(list::ListArgs),
}

/// Runs a `journal` subcommand.
pub fn run(cmd: JournalCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        JournalCommand::Verify(args) => verify::run(args, ctx),
        JournalCommand::List(args) => list::run(args, ctx),
    }
}
