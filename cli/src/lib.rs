//! The `ovn-migrate` command line as a library; `main.rs` only parses and exits.
//!
//! A subcommand is a file under [`commands`] with an `XxxArgs` clap struct and
//! `run(args, &Context) -> error::Result<i32>`, wired into [`cli::Command`];
//! the commands of a workflow are thin calls into [`driver`], which plans,
//! runs and resumes every workflow the same way.
//! It reads the global options and output from [`context::Context`], prints
//! through [`output::Output`], draws [`output::Progress`], finds journals
//! with [`state`], asks with [`confirm`], and fails with an
//! [`error::CliError`] whose exit code comes from [`exit::ExitCode`].

pub mod cli;
pub mod commands;
pub mod confirm;
pub mod context;
pub mod driver;
pub mod entry;
pub mod error;
pub mod exit;
pub mod global;
pub mod logging;
pub mod output;
pub mod run_progress;
pub mod run_status;
pub mod signals;
pub mod state;
