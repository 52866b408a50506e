//! The command tree: global options and subcommands, as clap derive types.
//!
//! [`Cli`] is what `main` parses. [`GlobalArgs`] holds the options every
//! subcommand accepts (they are `global`, so they may come before or after the
//! subcommand; they live in the leaf module [`crate::global`], so nothing
//! that reads them imports this file); commands read them through
//! [`crate::context::Context::global`].
//! Each subcommand's options live in its own file under `commands/`, as an
//! `XxxArgs` struct whose doc comment is its help text.

use clap::{Parser, Subcommand};

use crate::commands::{completions, demo, journal, kuryr, lab, man, ovs};
use crate::context::Context;
use crate::error::Result;
pub use crate::global::{GlobalArgs, LogFormat, OutputFormat};

/// Migrate OpenShift-on-OpenStack clusters from Kuryr to OVN-Kubernetes.
///
/// Every run keeps a durable, hash-chained journal under the state directory,
/// so an interrupted migration resumes where it stopped and can be audited
/// afterwards. Nothing is changed without a confirmation (or --yes).
#[derive(Debug, Parser)]
#[command(
    name = "ovn-migrate",
    version,
    propagate_version = true,
    after_help = crate::exit::help_table(),
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rehearse the migration against a simulated cluster on this machine.
    Demo(demo::DemoArgs),
    /// The Kuryr → OVN-Kubernetes migration phase: plan, run, resume, status.
    #[command(subcommand)]
    Kuryr(kuryr::KuryrCommand),
    /// OpenStack ML2/OVS → ML2/OVN readiness: assess (read-only).
    #[command(subcommand)]
    Ovs(ovs::OvsCommand),
    /// Run a simulated cluster and cloud to rehearse on.
    #[command(subcommand)]
    Lab(lab::LabCommand),
    /// Inspect journals: verify, list, show a timeline, export; salvage a damaged one.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    Completions(completions::CompletionsArgs),
    Man(man::ManArgs),
}

impl Command {
    /// Runs the subcommand; returns its exit code, or the error `main` prints.
    pub fn run(self, ctx: &Context) -> Result<i32> {
        match self {
            Command::Demo(args) => demo::run(args, ctx),
            Command::Kuryr(cmd) => kuryr::run(cmd, ctx),
            Command::Ovs(cmd) => ovs::run(cmd, ctx),
            Command::Lab(cmd) => lab::run(cmd, ctx),
            Command::Journal(cmd) => journal::run(cmd, ctx),
            Command::Completions(args) => completions::run(args, ctx),
            Command::Man(args) => man::run(args, ctx),
        }
    }
}

impl Cli {
    /// Returns the clap command tree (for completions and man pages).
    pub fn command() -> clap::Command {
        <Self as clap::CommandFactory>::command()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_parse_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "ovn-migrate",
            "journal",
            "list",
            "--output",
            "json",
            "-vv",
            "--state-dir",
            "/s",
            "--yes",
        ])
        .unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.verbose, 2);
        assert_eq!(cli.global.state_dir, Some(PathBuf::from("/s")));
        assert!(cli.global.yes);
        assert!(!cli.global.no_progress);
    }

    #[test]
    fn bad_output_format_is_rejected() {
        let err = Cli::try_parse_from(["ovn-migrate", "--output", "yaml", "man"]).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::USAGE);
    }
}
