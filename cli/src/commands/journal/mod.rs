//! `ovn-migrate journal …`: inspect journals, and salvage a damaged one,
//! without changing a cluster.

pub mod list;
pub mod salvage;
pub mod verify;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `journal` subcommands.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    Verify(verify::VerifyArgs),
    List(list::ListArgs),
    Salvage(salvage::SalvageArgs),
}

/// Runs a `journal` subcommand.
pub fn run(cmd: JournalCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        JournalCommand::Verify(args) => verify::run(args, ctx),
        JournalCommand::List(args) => list::run(args, ctx),
        JournalCommand::Salvage(args) => salvage::run(args, ctx),
    }
}
