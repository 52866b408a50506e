//! The command tree: global options and subcommands, as clap derive types.
//!
//! [`Cli`] is what `main` parses. [`GlobalArgs`] holds the options every
//! subcommand accepts (they are `global`, so they may come before or after the
//! subcommand); commands read them through [`crate::context::Context::global`].
//! Each subcommand's options live in its own file under `commands/`, as an
//! `XxxArgs` struct whose doc comment is its help text.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::commands::{completions, demo, journal, kuryr, lab, man, ovs};
use crate::context::Context;
use crate::error::Result;

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
    /// Inspect journals: verify their chain, list them.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    Completions(completions::CompletionsArgs),
    Man(man::ManArgs),
}

/// Options accepted by every subcommand.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Kubeconfig file of the cluster [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use [default: the current context].
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Cloud in clouds.yaml that the cluster runs on.
    #[arg(long, global = true, env = "OS_CLOUD", value_name = "NAME")]
    pub os_cloud: Option<String>,

    /// Where journals and logs are kept
    /// [default: $XDG_STATE_HOME/ovn-migrate, or ~/.local/state/ovn-migrate].
    #[arg(long, global = true, env = "OVN_MIGRATE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Output format: human text, or one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// Log more on stderr: -v for info, -vv for debug (RUST_LOG overrides).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Format of log lines, on stderr and in the log file.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Answer yes to every confirmation (required without a terminal).
    #[arg(long, global = true)]
    pub yes: bool,

    /// Draw no progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

/// What stdout carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text for people; progress bars on stderr when it is a terminal.
    #[default]
    Human,
    /// Exactly one JSON document on stdout; never progress, logs only on stderr.
    Json,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
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
