//! `ovn-migrate demo`: the whole migration phase against the lab, in one
//! command, on this machine only. Starts a simulated Kuryr cluster and its
//! cloud in-process, plans and runs M0–M11 with progress, and prints where
//! the journal is and how to look at it.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use steps::kube::ClientOptions;
use steps::kuryr::migrate::{MigrationOptions, Session};
use steps::openstack::CloudConfig;

use super::kuryr::errors::{migrate_error, os_error};
use super::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;
use crate::state;

/// Rehearse the migration against a simulated cluster on this machine.
///
/// Starts the lab (a Kuryr cluster on a simulated OpenStack, on 127.0.0.1),
/// runs the migration phase with its journal, and tells you how to inspect
/// the result. Touches nothing outside this machine.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub command: Option<DemoCommand>,
    /// Application namespaces in the simulated cluster.
    #[arg(long, default_value_t = 20)]
    pub namespaces: usize,
    /// Worker nodes (there are always 3 control-plane nodes).
    #[arg(long, default_value_t = 3)]
    pub workers: usize,
    /// Scenario seed.
    #[arg(long, default_value_t = lab::LabConfig::default().seed)]
    pub seed: u64,
}

/// The `demo` subcommands (without one: the Kuryr migration).
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    Ovs(super::demo_ovs::DemoOvsArgs),
}

/// Runs `demo`.
pub fn run(args: DemoArgs, ctx: &Context) -> Result<i32> {
    if let Some(DemoCommand::Ovs(a)) = args.command {
        return super::demo_ovs::run(a, ctx);
    }
    let cfg = lab::LabConfig {
        seed: args.seed,
        namespaces: args.namespaces,
        workers: args.workers,
        ..lab::LabConfig::default()
    };
    let state_dir = ctx.ensure_state_dir()?;
    let files = state_dir.join("demo-lab");
    state::ensure_private_dir(&files)?;
    let rt = ctx.runtime()?;
    let lab = rt.block_on(lab::Lab::start(cfg)).map_err(|e| {
        CliError::new(
            ErrorKind::Internal,
            ExitCode::FAILURE,
            format!("failed to start the lab: {e}"),
        )
    })?;
    let result = (|| {
        let kubeconfig = lab.write_kubeconfig(&files)?;
        let clouds = lab.write_clouds_yaml(&files)?;
        Ok::<(PathBuf, PathBuf), std::io::Error>((kubeconfig, clouds))
    })()
    .map_err(CliError::from)
    .and_then(|(kubeconfig, clouds)| migrate(ctx, kubeconfig, clouds));
    lab.shutdown();
    result
}

fn migrate(ctx: &Context, kubeconfig: PathBuf, clouds: PathBuf) -> Result<i32> {
    ctx.output.note(format!(
        "lab up: Kubernetes API and OpenStack on 127.0.0.1 (kubeconfig {})",
        kubeconfig.display()
    ));
    let timing = TimingFlags {
        poll_ms: 50,
        wait_timeout_s: 300,
        in_doubt_grace_s: 5,
        max_attempts: 8,
        retry_base_ms: 100,
        lease_s: 15,
        request_timeout_s: None,
        concurrency: 16,
    };
    let request_timeout = timing.request_timeout()?;
    let cloud = CloudConfig::from_clouds_yaml(&clouds, "lab").map_err(|e| os_error(&e))?;
    let kube = ClientOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        timeout: Some(request_timeout),
    };
    let session = ctx
        .block_on(Session::connect(&kube, cloud, request_timeout))?
        .map_err(migrate_error)?;
    let options = MigrationOptions {
        default_max_unavailable: 2,
        ..MigrationOptions::default()
    };
    let (code, dir) = driver::run_new(ctx, &session, &options, &timing.run_timing()?, false)?;
    ctx.output.note(format!(
        "\nThe journal of this run is {dir}.\nLook at it with:\n  ovn-migrate journal verify {dir}\n  ovn-migrate kuryr status --cluster {id}\n  ovn-migrate journal list",
        dir = dir.display(),
        id = session.cluster_id
    ));
    Ok(code)
}
