//! `ovn-migrate demo`: the whole procedure against the lab, in one command,
//! on this machine only. Starts a simulated Kuryr cluster and its cloud
//! in-process (sharing its project with a second Kuryr cluster, an
//! appliance's trunk and a user's VM), plans and runs M0–M11 with progress,
//! then the cleanup C0–C22, prints what the cleanup deleted, what it kept
//! and why, and where the journals are and how to look at them.

use std::path::PathBuf;

use clap::Args;
use std::collections::BTreeMap;
use steps::kube::ClientOptions;

use steps::kuryr::cleanup::record::{CleanupRecord, read_cleanup};
use steps::kuryr::cleanup::run::{CleanupOptions, CleanupSession};
use steps::kuryr::migrate::{MigrationOptions, Session};
use steps::openstack::CloudConfig;

use super::kuryr::errors::{migrate_error, os_error};
use super::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;
use crate::state;

/// Rehearse the migration and the cleanup against a simulated cluster on this machine.
///
/// Starts the lab (a Kuryr cluster on a simulated OpenStack, on 127.0.0.1,
/// in a project it shares with a second cluster and a user's VM), runs the
/// migration phase, then the cleanup, each with its journal, prints what
/// the cleanup deleted and kept and why, and tells you how to inspect the
/// result. Touches nothing outside this machine.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Application namespaces in the simulated cluster (at least 3).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(3..))]
    pub namespaces: u64,
    /// Worker nodes (there are always 3 control-plane nodes).
    #[arg(long, default_value_t = 3)]
    pub workers: usize,
    /// Scenario seed.
    #[arg(long, default_value_t = lab::LabConfig::default().seed)]
    pub seed: u64,
}

/// Runs `demo`.
pub fn run(args: DemoArgs, ctx: &Context) -> Result<i32> {
    let cfg = lab::LabConfig {
        seed: args.seed,
        namespaces: args.namespaces as usize,
        workers: args.workers,
        shared_project: true,
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
    let id = session.cluster_id.clone();
    ctx.output.note(format!(
        "\nThe journal of the migration is {dir}.\nLook at it with:\n  ovn-migrate journal verify {dir}\n  ovn-migrate kuryr status --cluster {id}\n  ovn-migrate journal list",
        dir = dir.display(),
    ));
    if code != ExitCode::OK {
        return Ok(code);
    }
    ctx.output
        .note("\nNow the cleanup of Kuryr's leftovers (C0–C22):".to_string());
    let cleanup = CleanupSession::from_session(session, 16);
    let options = CleanupOptions::default();
    let (code, dir) = driver::run_new(ctx, &cleanup, &options, &timing.run_timing()?, false)?;
    let rec = journal::Journal::open_read(&dir)
        .map_err(CliError::from)
        .and_then(|j| {
            read_cleanup(&j).map_err(|e| CliError::new(ErrorKind::Internal, ExitCode::FAILURE, e))
        })?;
    ctx.output.note(cleanup_report(&rec));
    ctx.output.note(format!(
        "\nThe journal of the cleanup is {dir}.\nLook at it with:\n  ovn-migrate journal verify {dir}\n  ovn-migrate kuryr cleanup status --cluster {id}",
        dir = dir.display(),
    ));
    Ok(code)
}

/// Returns what a cleanup deleted (by kind) and what it kept, each with why.
fn cleanup_report(rec: &CleanupRecord) -> String {
    let mut deleted: BTreeMap<String, usize> = BTreeMap::new();
    for (kind, _) in &rec.deleted {
        *deleted.entry(kind.to_string()).or_default() += 1;
    }
    let mut t = String::from("\nDeleted (the run's own successful operations):");
    for (kind, n) in &deleted {
        t.push_str(&format!("\n  {n} × {kind}"));
    }
    let k8s = rec
        .graph
        .nodes
        .iter()
        .filter(|n| {
            steps::kuryr::cleanup::edge::target(&n.op).is_some() && rec.done.contains(&n.id)
        })
        .count();
    t.push_str(&format!(
        "\n  {k8s} Kubernetes changes (finalizers, the gateway service, the namespace, CRs, CRDs)"
    ));
    t.push_str("\nKept on purpose:");
    for e in &rec.selection.keep {
        let parent = e
            .parent
            .as_deref()
            .map(|p| format!(" on {p}"))
            .unwrap_or_default();
        t.push_str(&format!(
            "\n  {} {} {:?}{parent}: {}",
            e.kind, e.id, e.name, e.reason
        ));
    }
    t
}
