//! `ovn-migrate ovs fix`: the readiness checks' safe remediations, each a
//! journaled, idempotent operation ([`steps::ovs::fix`]).
//!
//! `ovs fix --check ID…` (or `--all-safe`) plans, shows, asks and runs, or
//! with `--dry-run` prints every change with before → after and changes
//! nothing ([`run`]); `ovs fix resume` carries on an interrupted run
//! ([`resume`]); `ovs fix status` reads where a run is from its journal
//! alone ([`status`]). Connecting is [`connect`], the workflow's
//! presentation [`workflow`], its errors [`errors`]; planning and running
//! are the generic [`crate::driver`]'s.

pub mod connect;
pub mod errors;
pub mod resume;
pub mod run;
pub mod status;
pub mod workflow;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::error::Result;

/// Apply the readiness checks' safe remediations, journaled.
///
/// Remedies, for each check named with --check (repeatable) or every one
/// with --all-safe: subnets_without_dns_nameservers_check (sets
/// dns_nameservers from the OpenStackDeployment's DNS servers or --dns),
/// ports_with_blocked_access_to_dhcpv4_check and the DHCPv6 one (adds egress
/// UDP 67 / 547 rules to one group of each port),
/// stateless_security_groups_dhcp_check (adds ingress UDP 68 / 546 reply
/// rules) and networks_mtu_size_check (sets each VXLAN/GRE network's MTU to
/// the Geneve MTU and tags it ovn-migrate:adapted-mtu; the original MTU is
/// journaled, so no crash lowers it twice). The other checks have no safe
/// automatic fix: naming one lists why and what to do by hand, changes
/// nothing and exits 2.
///
/// Every change is journaled before it is made; an interrupted run carries
/// on with `ovs fix resume`. With a kubeconfig (--kubeconfig, KUBECONFIG or
/// ~/.kube/config: the MOSK cluster) the settings come from the
/// OpenStackDeployment and the cluster lease kube-system/ovn-migrate keeps
/// other machines out; without one (or with --no-deployment) the settings
/// come from the flags and a local lock keeps out only the other runs on
/// this machine. --dry-run prints every change, before → after, and changes
/// nothing. Exits 1 when some violations have no automatic fix (they are
/// listed).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FixCommand {
    #[command(subcommand)]
    pub sub: Option<FixSub>,
    #[command(flatten)]
    pub args: run::FixArgs,
}

/// The `ovs fix` subcommands besides fixing.
#[derive(Debug, Subcommand)]
pub enum FixSub {
    Resume(resume::ResumeArgs),
    Status(status::StatusArgs),
}

/// Runs `ovs fix`, or one of its subcommands.
pub fn run(cmd: FixCommand, ctx: &Context) -> Result<i32> {
    match cmd.sub {
        Some(FixSub::Resume(args)) => resume::run(args, ctx),
        Some(FixSub::Status(args)) => status::run(args, ctx),
        None => run::run(cmd.args, ctx),
    }
}
