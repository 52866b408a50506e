//! The cleanup's options on the command line, and connecting for it (the
//! migration's connection: `--kubeconfig`/`KUBECONFIG`/`--context` and
//! `--os-cloud`/clouds.yaml/`OS_*`).

use std::time::Duration;

use clap::Args;
use steps::kuryr::cleanup::run::{CleanupOptions, CleanupSession};

use crate::commands::kuryr::connect::connect_with_timeout;
use crate::context::Context;
use crate::error::Result;

/// What the cleanup may delete beyond its own rules.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Cleanup options")]
pub struct CleanupFlags {
    /// Also delete this port on a Kuryr network that Kuryr did not make (a
    /// user's VM port the plan lists as kept), and what it blocked
    /// (repeatable; journaled as your decision).
    #[arg(long = "delete-foreign-port", value_name = "ID")]
    pub delete_foreign_port: Vec<String>,
    /// OpenStack reads in flight while taking the snapshot (use 1 against services on SQLite).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub read_concurrency: usize,
}

impl CleanupFlags {
    /// Returns whether an option that changes the plan was named.
    pub fn named(&self) -> bool {
        !self.delete_foreign_port.is_empty()
    }

    /// Returns the options these flags ask for, `concurrency` operations in flight.
    pub fn options(&self, concurrency: usize) -> CleanupOptions {
        let mut ports = self.delete_foreign_port.clone();
        ports.sort();
        ports.dedup();
        CleanupOptions {
            delete_foreign_ports: ports,
            concurrency: concurrency.max(1),
        }
    }
}

/// Connects to the cluster and the cloud for the cleanup.
pub fn connect(
    ctx: &Context,
    timeout: Duration,
    read_concurrency: usize,
) -> Result<CleanupSession> {
    let session = connect_with_timeout(ctx, timeout)?;
    Ok(CleanupSession::from_session(
        session,
        read_concurrency.max(1),
    ))
}
