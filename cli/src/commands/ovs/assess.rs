//! `ovn-migrate ovs assess`: the readiness checks, read-only.
//!
//! Connects to the cloud as the kuryr commands do (clouds.yaml / `OS_*`) and,
//! for the settings, to the cluster's OpenStackDeployment when a kubeconfig
//! is at hand (`--no-deployment` skips it); collects the inventory
//! ([`steps::ovs::collect`]), runs every check, prints the table (or
//! `--output json`), writes the reference's YAML with `--report FILE`, and
//! exits [`ExitCode::PRECHECK_FAILED`] when a critical check failed.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use steps::kube::{ClientOptions, KubeError, connect};
use steps::openstack::{CloudConfig, Error as OsError, OpenStack};
use steps::ovs::checks::{ALL, CheckResult};
use steps::ovs::{CollectOptions, Flags, Settings, collect, read_deployment, report};

use crate::context::Context;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;

/// Assess an ML2/OVS cloud's readiness for ML2/OVN (read-only).
///
/// Runs the reference's twelve preflight checks (osctl-ovs-ovn-migrate) and
/// five it misses: DHCPv6, stateless groups, the metadata port's free IP per
/// subnet, canaries per compute host and the DHCP lease duration (remote
/// address groups and GRE networks are part of the DHCPv4 and MTU checks).
/// Settings come from the OpenStackDeployment (lcm.mirantis.com/v1alpha1,
/// namespace openstack) where it sets them, else from the flags below, else
/// from Neutron's defaults. Nothing is changed, and this command does not
/// journal yet. Exits 5 when a critical check failed.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Write the report as YAML, in the reference's shape {id: {state, description, violations}}.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Run only this check (repeatable).
    #[arg(long = "check", value_name = "ID")]
    pub checks: Vec<String>,
    /// Do not read the OpenStackDeployment; take the settings from the flags only.
    #[arg(long)]
    pub no_deployment: bool,
    /// [DEFAULT] global_physnet_mtu, when the OpenStackDeployment does not set it [Neutron: 1500].
    #[arg(long, value_name = "MTU")]
    pub global_physnet_mtu: Option<u32>,
    /// [ml2] path_mtu, when the OpenStackDeployment does not set it [Neutron: 0, unset].
    #[arg(long, value_name = "MTU")]
    pub path_mtu: Option<u32>,
    /// [ml2] overlay_ip_version (4 or 6), when the OpenStackDeployment does not set it [4].
    #[arg(long, value_name = "4|6", value_parser = ip_version)]
    pub overlay_ip_version: Option<u8>,
    /// [ml2_type_geneve] max_header_size, when the OpenStackDeployment does not set it [38, OVN's minimum].
    #[arg(long, value_name = "BYTES")]
    pub max_header_size: Option<u32>,
    /// [ml2] tenant_network_types, comma-separated, when the OpenStackDeployment does not set them.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub tenant_network_types: Option<Vec<String>>,
    /// dhcp_lease_duration in seconds, when the OpenStackDeployment does not set it.
    #[arg(long, value_name = "SECONDS")]
    pub dhcp_lease_duration: Option<u64>,
    /// Listings in flight at once (1: one call at a time, for services on SQLite).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,
    /// Page size (limit) of every listing.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
    /// How long one request may take, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub request_timeout_s: u64,
}

/// Parses `--overlay-ip-version`: 4 or 6.
fn ip_version(v: &str) -> std::result::Result<u8, String> {
    match v {
        "4" => Ok(4),
        "6" => Ok(6),
        _ => Err(format!("{v} is not an IP version: give 4 or 6")),
    }
}

/// Maps an OpenStack error to the CLI's, with its exit code and hints.
fn os_error(e: &OsError) -> CliError {
    let msg = format!("failed to {e}");
    match e {
        OsError::NoCloudsFile { .. }
        | OsError::CloudNotFound { .. }
        | OsError::ReadConfig { .. }
        | OsError::ParseConfig { .. }
        | OsError::MissingConfig(_)
        | OsError::Unauthorized { .. } => CliError::config(msg).with_hint(
            "point --os-cloud / OS_CLOUD at a cloud in clouds.yaml (OS_CLIENT_CONFIG_FILE), or set OS_AUTH_URL and friends",
        ),
        OsError::Unreachable { .. } | OsError::Transport { .. } => {
            CliError::cluster(ExitCode::UNREACHABLE, msg)
                .with_hint("check that the cloud's endpoints are reachable from here")
        }
        _ => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

/// Maps a Kubernetes error to the CLI's.
fn kube_error(e: &KubeError) -> CliError {
    let msg = format!("failed to read the OpenStackDeployment: {e}");
    let hint = "point --kubeconfig / KUBECONFIG (and --context) at the MOSK cluster, or pass --no-deployment and give the settings as flags";
    match e {
        KubeError::Unreachable { .. } | KubeError::Transport { .. } => {
            CliError::cluster(ExitCode::UNREACHABLE, msg).with_hint(hint)
        }
        _ => CliError::config(msg).with_hint(hint),
    }
}

/// Reads the OpenStackDeployment, or says on stderr why there is none.
fn deployment(
    args: &AssessArgs,
    ctx: &Context,
    timeout: Duration,
) -> Result<Option<serde_json::Value>> {
    if args.no_deployment {
        ctx.output
            .note("not reading the OpenStackDeployment (--no-deployment): settings from the flags");
        return Ok(None);
    }
    let explicit = ctx.global.kubeconfig.is_some() || std::env::var_os("KUBECONFIG").is_some();
    let options = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(timeout),
    };
    let kc = match ctx.block_on(connect(&options))? {
        Ok(kc) => kc,
        Err(KubeError::KubeconfigMissing { .. }) if !explicit => {
            ctx.output.note("no kubeconfig found: the OpenStackDeployment is not read, settings come from the flags (pass --kubeconfig to read it)");
            return Ok(None);
        }
        Err(e) => return Err(kube_error(&e)),
    };
    match ctx.block_on(read_deployment(&kc))? {
        Ok(Ok(cr)) => {
            ctx.output.note(format!(
                "settings from OpenStackDeployment openstack/{} (context {})",
                cr["metadata"]["name"].as_str().unwrap_or("?"),
                kc.context
            ));
            Ok(Some(cr))
        }
        Ok(Err(why)) => {
            ctx.output
                .note(format!("{why}: settings come from the flags"));
            Ok(None)
        }
        Err(e) => Err(kube_error(&e)),
    }
}

/// Runs `ovs assess`.
pub fn run(args: AssessArgs, ctx: &Context) -> Result<i32> {
    if let Some(bad) = args
        .checks
        .iter()
        .find(|c| !ALL.iter().any(|k| k.id == c.as_str()))
    {
        let ids: Vec<&str> = ALL.iter().map(|c| c.id).collect();
        return Err(
            CliError::usage(format!("--check {bad}: there is no such check"))
                .with_hint(format!("the checks are: {}", ids.join(", "))),
        );
    }
    let timeout = Duration::from_secs(args.request_timeout_s.max(1));
    let cr = deployment(&args, ctx, timeout)?;
    let flags = Flags {
        global_physnet_mtu: args.global_physnet_mtu,
        path_mtu: args.path_mtu,
        overlay_ip_version: args.overlay_ip_version,
        max_header_size: args.max_header_size,
        tenant_network_types: args.tenant_network_types.clone(),
        dhcp_lease_duration: args.dhcp_lease_duration,
    };
    let settings = Settings::resolve(cr.as_ref(), &flags);
    for n in &settings.notes {
        ctx.output.note(format!("note: {n}"));
    }
    let cloud = CloudConfig::load(ctx.global.os_cloud.as_deref()).map_err(|e| os_error(&e))?;
    let os = OpenStack::with_timeout(cloud, timeout).map_err(|e| os_error(&e))?;
    ctx.block_on(os.authenticate())?.map_err(|e| os_error(&e))?;
    let progress = ctx.progress();
    progress.step("reading the cloud", 12);
    let on = |collection: &str, items: usize| {
        progress.inc(1);
        progress.message(format!("{collection}: {items}"));
        tracing::info!(collection, items, "collected");
    };
    let options = CollectOptions {
        concurrency: args.concurrency as usize,
        page_size: args.page_size as usize,
    };
    let (inv, stats) = ctx
        .block_on(collect(&os, options, &on))?
        .map_err(|e| os_error(&e))?;
    progress.finish();
    ctx.output.note(format!(
        "read {} networks, {} subnets, {} ports, {} security group rules in {:.2} s ({} API calls)",
        inv.networks.len(),
        inv.subnets.len(),
        inv.ports.len(),
        inv.security_group_rules.len(),
        stats.millis as f64 / 1000.0,
        stats.calls
    ));
    for c in stats.collections.iter().filter(|c| c.unavailable.is_some()) {
        ctx.output.note(format!(
            "note: {}",
            c.unavailable.as_deref().unwrap_or_default()
        ));
    }
    let results = steps::ovs::run_all(&inv, &settings, &args.checks);
    if let Some(path) = &args.report {
        write_report(path, &results)?;
        ctx.output
            .note(format!("report written to {}", path.display()));
    }
    let doc = json!({
        "checks": results,
        "critical_failed": report::any_critical(&results),
        "settings": settings,
        "collection": stats,
        "journaled": false,
    });
    ctx.output.print(&doc, || report::table(&results))?;
    Ok(if report::any_critical(&results) {
        ExitCode::PRECHECK_FAILED
    } else {
        ExitCode::OK
    })
}

fn write_report(path: &PathBuf, results: &[CheckResult]) -> Result<()> {
    let yaml = report::yaml(results).map_err(CliError::internal)?;
    std::fs::write(path, yaml).map_err(|e| {
        CliError::config(format!(
            "failed to write the report {}: {e}",
            path.display()
        ))
        .with_hint("choose a writable path for --report")
    })
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use crate::commands::ovs::OvsCommand;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<super::AssessArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["ovn-migrate", "ovs", "assess"], args].concat())?;
        match cli.command {
            Command::Ovs(OvsCommand::Assess(a)) => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_parse_and_bad_values_are_refused() {
        let a = parse(&[
            "--tenant-network-types",
            "vxlan,geneve",
            "--overlay-ip-version",
            "6",
            "--check",
            "a_check",
            "--check",
            "b_check",
        ])
        .unwrap();
        assert_eq!(
            a.tenant_network_types,
            Some(vec!["vxlan".to_string(), "geneve".to_string()])
        );
        assert_eq!(a.overlay_ip_version, Some(6));
        assert_eq!(a.checks, ["a_check", "b_check"]);
        assert_eq!((a.concurrency, a.page_size), (8, 1000));
        assert!(parse(&["--overlay-ip-version", "5"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--page-size", "0"]).is_err());
    }
}
