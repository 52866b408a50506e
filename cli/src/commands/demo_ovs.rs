//! `ovn-migrate demo ovs`: the OVS → OVN preparation against the lab, in one
//! command, on this machine only. Starts the OVS lab (an ML2/OVS Neutron
//! with a violation of every check, Nova with three compute hosts, MOSK's
//! OpenStackDeployment and the MariaDB Galera StatefulSet whose pods answer
//! exec), then runs `ovs assess`, `ovs fix --all-safe` (journaled), `ovs
//! assess` again, `ovs prepare` as a journaled run with `--old-lease-s 0`,
//! `ovs assess` a last time, and prints a summary of what each did.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use journal::{Event, Journal};
use lab::galera::GaleraBackend;
use steps::kube::{ClientOptions, KubeClient};
use steps::openstack::{CloudConfig, OpenStack};
use steps::ovs::fix::FixOptions;
use steps::ovs::prepare::{Exec, KubeExec, PrepareOptions, PrepareSession};
use steps::ovs::{CollectOptions, Flags, Settings, collect, read_deployment, report};

use super::kuryr::errors::{kube_error, os_error};
use super::kuryr::options::TimingFlags;
use super::ovs::prepare::workflow::prepare_error;
use crate::context::Context;
use crate::driver;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;
use crate::state;

/// Which Galera answers the lab's `mariadb-server` pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GaleraChoice {
    /// The real three-member MariaDB Galera of `lab/real/galera.sh up` ($GALERA_DIR).
    Real,
    /// An in-process model of the wsrep states (no MariaDB; the dump is a stand-in).
    Simulated,
}

/// Rehearse `ovs assess`, `fix` and `prepare` against a simulated MOSK cloud on this machine.
///
/// Starts the OVS lab on 127.0.0.1 (Neutron with a violation of every
/// check, Nova with three compute hosts, the OpenStackDeployment, the Galera
/// StatefulSet), assesses it, applies the safe fixes, assesses again, then
/// prepares it (canaries, DHCP lease, the Neutron database backup) as a
/// journaled run, and prints a summary.
/// Touches nothing outside this machine.
#[derive(Debug, Args)]
pub struct DemoOvsArgs {
    /// The Galera behind the pods: `real` needs `bash lab/real/galera.sh up` first.
    #[arg(long, value_enum, default_value_t = GaleraChoice::Real)]
    pub galera: GaleraChoice,
}

/// Runs `demo ovs`.
pub fn run(args: DemoOvsArgs, ctx: &Context) -> Result<i32> {
    let backend = match args.galera {
        GaleraChoice::Real => GaleraBackend::real_from_env(),
        GaleraChoice::Simulated => GaleraBackend::Simulated,
    };
    let files = ctx.ensure_state_dir()?.join("demo-ovs-lab");
    state::ensure_private_dir(&files)?;
    let rt = ctx.runtime()?;
    let lab = rt
        .block_on(lab::OvsLab::start_with_galera(
            &lab::scenario::OvsConfig::default(),
            vec![],
            Some(backend),
        ))
        .map_err(|e| {
            CliError::new(
                ErrorKind::Internal,
                ExitCode::FAILURE,
                format!("failed to start the OVS lab: {e}"),
            )
            .with_hint("or run the demo with `--galera simulated` (no MariaDB)")
        })?;
    let banner = lab.galera().map(|g| g.banner()).unwrap_or_default();
    let result = (|| {
        let kubeconfig = lab.write_kubeconfig(&files)?;
        let clouds = lab.write_clouds_yaml(&files)?;
        Ok::<(PathBuf, PathBuf), std::io::Error>((kubeconfig, clouds))
    })()
    .map_err(CliError::from)
    .and_then(|(kubeconfig, clouds)| demo(ctx, &banner, kubeconfig, clouds));
    lab.shutdown();
    result
}

fn demo(ctx: &Context, banner: &str, kubeconfig: PathBuf, clouds: PathBuf) -> Result<i32> {
    ctx.output.note(format!(
        "lab up on 127.0.0.1: Kubernetes API (kubeconfig {}) and OpenStack\n{banner}",
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
    let timeout = timing.request_timeout()?;
    let cloud = CloudConfig::from_clouds_yaml(&clouds, "lab").map_err(|e| os_error(&e))?;
    let kube = ClientOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        timeout: Some(timeout),
    };

    ctx.output.note("\n== 1. ovs assess (read-only)");
    let (failed, critical) = assess(ctx, &kube, cloud.clone(), timeout)?;

    ctx.output.note("\n== 2. ovs fix --all-safe (journaled)");
    let kc = ctx
        .block_on(steps::kube::connect(&kube))?
        .map_err(|e| kube_error(&e))?;
    let fix = super::ovs::fix::connect::connect_to(
        ctx,
        Some(kc),
        cloud.clone(),
        Flags::default(),
        CollectOptions::default(),
        timeout,
    )?;
    let fix_options = FixOptions::new(&[], true, &[], None);
    let (fix_code, fix_dir) =
        super::ovs::fix::run::run_unasked(ctx, &fix, &fix_options, &timing.run_timing()?)?;
    let (after, after_critical) = assess(ctx, &kube, cloud.clone(), timeout)?;

    ctx.output
        .note("\n== 3. ovs prepare --old-lease-s 0 (journaled)");
    let exec = |kc: &KubeClient| -> Arc<dyn Exec> {
        Arc::new(KubeExec {
            client: kc.clone(),
            timeout,
            dump_timeout: Duration::from_secs(600),
        })
    };
    let cloud_again = cloud.clone();
    let session = ctx
        .block_on(PrepareSession::connect(&kube, cloud, timeout, exec))?
        .map_err(prepare_error)?;
    let options = PrepareOptions {
        old_lease_s: 0,
        image: Some("cirros-0.6".into()),
        flavor: Some("m1.tiny".into()),
        network: None,
        ..PrepareOptions::default()
    };
    let (code, dir) = driver::run_new(ctx, &session, &options, &timing.run_timing()?, false)?;
    let dump = dump_of(&dir).unwrap_or_else(|| "not taken".into());
    ctx.output.note("\n== 4. ovs assess, after prepare");
    let (last, last_critical) = assess(ctx, &kube, cloud_again, timeout)?;
    ctx.output.note(format!(
        "\n== Summary\n\
         assess:  {failed} checks failed ({critical} critical) before the fix\n\
         fix:     exit {fix_code} (1: some violations have no safe automatic fix); journal {fix_dir}\n\
         \x20        then {after} checks failed ({after_critical} critical): what is left is for people\n\
         prepare: exit {code}; canaries, lease and backup in journal {dir}\n\
         \x20        dump: {dump}\n\
         \x20        then {last} checks failed ({last_critical} critical): the canaries and the lease pass now\n\
         {banner}\n\
         --old-lease-s 0: the lab's instances hold no DHCP lease, so the old leases' gate\n\
         \x20 (P5) opens at once. On a real cloud leave the default (86400 s, Neutron's default\n\
         \x20 lease): `ovs prepare` then pauses (exit 8) a full old lease after raising the lease\n\
         \x20 duration, `ovs prepare status` shows the time left, and `ovs prepare resume`\n\
         \x20 after that time completes it; a later migration step asks the same gate.\n\
         Look at the run with:\n  ovn-migrate journal verify {dir}\n  ovn-migrate ovs prepare status --cluster {id}",
        dir = dir.display(),
        fix_dir = fix_dir.display(),
        id = session.cluster_id
    ));
    Ok(code)
}

/// Runs the checks as `ovs assess` does and prints the table; returns
/// (failed checks, failed critical checks).
fn assess(
    ctx: &Context,
    kube: &ClientOptions,
    cloud: CloudConfig,
    timeout: Duration,
) -> Result<(usize, usize)> {
    let kc = ctx
        .block_on(steps::kube::connect(kube))?
        .map_err(|e| kube_error(&e))?;
    let cr = ctx
        .block_on(read_deployment(&kc))?
        .map_err(|e| kube_error(&e))?
        .ok();
    let settings = Settings::resolve(cr.as_ref(), &Flags::default());
    let os = OpenStack::with_timeout(cloud, timeout).map_err(|e| os_error(&e))?;
    ctx.block_on(os.authenticate())?.map_err(|e| os_error(&e))?;
    let (inv, _) = ctx
        .block_on(collect(&os, CollectOptions::default(), &|_, _| {}))?
        .map_err(|e| os_error(&e))?;
    let results = steps::ovs::run_all(&inv, &settings, &[]);
    ctx.output.note(report::table(&results));
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    let critical = failed.iter().filter(|r| r.state() == "ERROR").count();
    Ok((failed.len(), critical))
}

/// Returns the dump's path, size and sha256 as the run's journal holds them.
fn dump_of(dir: &std::path::Path) -> Option<String> {
    let j = Journal::open_read(dir).ok()?;
    let mut found = None;
    for r in j.iter(1) {
        let ev = r.ok()?.event;
        let doc = match &ev {
            Event::OperationSucceeded { op, observed, .. } if op.0 == "p4-dump" => observed,
            Event::ObservationRecorded { key, body } if key == "observed/p4-dump" => body,
            _ => continue,
        };
        let v = steps::engine::resolve(&j, doc).ok()?;
        if let (Some(path), Some(size), Some(sum)) =
            (v["path"].as_str(), v["size"].as_u64(), v["sha256"].as_str())
        {
            found = Some(format!("{path}, {size} bytes, sha256 {sum}"));
        }
    }
    found
}
