//! `ovn-migrate ovs prepare …`: preparing an ML2/OVS cloud for the move to
//! ML2/OVN (P1 canaries, P3 the DHCP lease, P4 the Galera-safe backup of
//! Neutron's database, then the old leases' gate), a journaled workflow on
//! the engine.
//!
//! `ovs prepare` (or `ovs prepare run`) plans and runs it, or carries on the
//! current run; `resume` carries on an interrupted one; `status` reports
//! where it is and the lease gate, from the journal alone. Connecting is
//! [`connect`], the workflow's presentation and errors [`workflow`], and
//! planning, running and resuming the generic [`crate::driver`].

pub mod connect;
pub mod resume;
pub mod run;
pub mod status;
pub mod workflow;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::error::Result;

/// Prepare an ML2/OVS cloud for ML2/OVN: canaries, DHCP lease, Neutron database backup.
///
/// First every Galera member of openstack/mariadb-server is checked (a
/// cluster that cannot be backed up stops the run before any change); P1
/// boots one canary instance per enabled compute host (availability zone
/// nova:<host>, tagged openstack.lcm.mirantis.com:prober) and waits for
/// ACTIVE; P3 raises the OpenStackDeployment's dhcp_lease_duration to
/// 259200 s; P4 desyncs the highest-index member, dumps database neutron
/// with mariadb-dump (size and sha256 journaled) and resyncs it, also after
/// an error or Ctrl-C; P5 waits a full old lease (--old-lease-s) after P3
/// before the run completes. Every change is
/// journaled before it is made; an interrupted run carries on where it
/// stopped and never boots a canary or takes the dump twice.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PrepareArgs {
    #[command(subcommand)]
    pub command: Option<PrepareCommand>,
    #[command(flatten)]
    pub run: run::RunArgs,
}

/// The `ovs prepare` subcommands.
#[derive(Debug, Subcommand)]
pub enum PrepareCommand {
    /// The same as `ovs prepare` with these flags.
    Run(run::RunArgs),
    Resume(resume::ResumeArgs),
    Status(status::StatusArgs),
}

/// Runs `ovs prepare` or one of its subcommands.
pub fn run(args: PrepareArgs, ctx: &Context) -> Result<i32> {
    match args.command {
        None => run::run(args.run, ctx),
        Some(PrepareCommand::Run(a)) => run::run(a, ctx),
        Some(PrepareCommand::Resume(a)) => resume::run(a, ctx),
        Some(PrepareCommand::Status(a)) => status::run(a, ctx),
    }
}
