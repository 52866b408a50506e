//! The options every subcommand accepts, and their value types. A leaf
//! module: it imports nothing of the crate, so the modules that read the
//! global options (context, state, output, logging) never depend on the
//! command tree in `cli.rs`.

use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};

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
