//! `ovn-migrate journal …`: inspect journals, and salvage a damaged one,
//! without changing a cluster.

pub mod anchor;
pub mod export;
pub mod list;
pub mod replay;
pub mod reset;
mod resolve;
pub mod salvage;
pub mod show;
mod timeline;
pub mod verify;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `journal` subcommands.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    Verify(verify::VerifyArgs),
    List(list::ListArgs),
    Show(show::ShowArgs),
    Export(export::ExportArgs),
    Salvage(salvage::SalvageArgs),
    Replay(replay::ReplayArgs),
    Reset(reset::ResetArgs),
}

/// Runs a `journal` subcommand.
pub fn run(cmd: JournalCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        JournalCommand::Verify(args) => verify::run(args, ctx),
        JournalCommand::List(args) => list::run(args, ctx),
        JournalCommand::Show(args) => show::run(args, ctx),
        JournalCommand::Export(args) => export::run(args, ctx),
        JournalCommand::Salvage(args) => salvage::run(args, ctx),
        JournalCommand::Replay(args) => replay::run(args, ctx),
        JournalCommand::Reset(args) => reset::run(args, ctx),
    }
}
