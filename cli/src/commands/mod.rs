//! The subcommands, one file each: an `XxxArgs` struct and `run(args, ctx)`.
//!
//! Every `run` returns `Ok(exit code)` (usually [`crate::exit::ExitCode::OK`])
//! after printing its result through [`crate::output::Output`], or a
//! [`crate::error::CliError`] that `main` prints; in JSON mode a command that
//! returns an error must not have printed its own document.

pub mod completions;
pub mod demo;
pub mod demo_ovs;
pub mod journal;
pub mod kuryr;
pub mod lab;
pub mod man;
pub mod ovs;
