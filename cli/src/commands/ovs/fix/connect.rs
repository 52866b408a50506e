//! Connecting `ovs fix` as `ovs assess` does: the cloud from `--os-cloud`,
//! `OS_CLOUD`, clouds.yaml or the `OS_*` variables; the MOSK cluster (for the
//! OpenStackDeployment and the cluster lease) from `--kubeconfig`,
//! `KUBECONFIG` or `~/.kube/config` when there is one, unless
//! `--no-deployment`.

use std::time::Duration;

use clap::Args;
use steps::kube::{ClientOptions, KubeClient, KubeError};
use steps::openstack::{CloudConfig, OpenStack};
use steps::ovs::fix::FixSession;
use steps::ovs::{CollectOptions, Flags};

use super::errors::{fix_error, kube_error};
use crate::commands::kuryr::errors::os_error;
use crate::context::Context;
use crate::error::Result;

/// Where the settings come from, and how the cloud is read.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Settings and reading")]
pub struct ConnectFlags {
    /// Use no cluster: settings from the flags only, and a local lock instead of the cluster lease.
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
    /// Listings in flight at once while reading the cloud (1 for services on SQLite).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub read_concurrency: u64,
    /// Page size (limit) of every listing.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,
}

impl ConnectFlags {
    /// Returns the settings flags.
    pub fn flags(&self) -> Flags {
        Flags {
            global_physnet_mtu: self.global_physnet_mtu,
            path_mtu: self.path_mtu,
            overlay_ip_version: self.overlay_ip_version,
            max_header_size: self.max_header_size,
            tenant_network_types: None,
            dhcp_lease_duration: None,
        }
    }

    /// Returns how the cloud is read.
    pub fn collect(&self) -> CollectOptions {
        CollectOptions {
            concurrency: self.read_concurrency as usize,
            page_size: self.page_size as usize,
        }
    }
}

/// Parses `--overlay-ip-version`: 4 or 6.
fn ip_version(v: &str) -> std::result::Result<u8, String> {
    match v {
        "4" => Ok(4),
        "6" => Ok(6),
        _ => Err(format!("{v} is not an IP version: give 4 or 6")),
    }
}

/// Connects to the MOSK cluster when a kubeconfig is at hand; `None` (said on stderr) otherwise.
fn cluster(ctx: &Context, no_deployment: bool, timeout: Duration) -> Result<Option<KubeClient>> {
    if no_deployment {
        ctx.output.note(
            "no cluster (--no-deployment): settings from the flags, and a local lock (this machine only)",
        );
        return Ok(None);
    }
    let explicit = ctx.global.kubeconfig.is_some() || std::env::var_os("KUBECONFIG").is_some();
    let options = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(timeout),
    };
    match ctx.block_on(steps::kube::connect(&options))? {
        Ok(kc) => {
            ctx.output.note(format!(
                "cluster {} (context {}): the OpenStackDeployment's settings, and the cluster lease",
                steps::redact::userinfo(&kc.server),
                kc.context
            ));
            Ok(Some(kc))
        }
        Err(KubeError::KubeconfigMissing { .. }) if !explicit => {
            ctx.output.note("no kubeconfig found: settings from the flags, and a local lock (this machine only); pass --kubeconfig for the MOSK cluster");
            Ok(None)
        }
        Err(e) => Err(kube_error(&e)),
    }
}

/// Connects from the command line's cloud and cluster.
pub fn connect(ctx: &Context, flags: &ConnectFlags, timeout: Duration) -> Result<FixSession> {
    let kube = cluster(ctx, flags.no_deployment, timeout)?;
    let cloud = CloudConfig::load(ctx.global.os_cloud.as_deref()).map_err(|e| os_error(&e))?;
    connect_to(ctx, kube, cloud, flags.flags(), flags.collect(), timeout)
}

/// Connects to a given cloud and (optional) cluster: the demo's way in.
pub fn connect_to(
    ctx: &Context,
    kube: Option<KubeClient>,
    cloud: CloudConfig,
    flags: Flags,
    collect: CollectOptions,
    timeout: Duration,
) -> Result<FixSession> {
    let os = OpenStack::with_timeout(cloud, timeout).map_err(|e| os_error(&e))?;
    ctx.block_on(FixSession::connect(os, kube, flags, collect))?
        .map_err(fix_error)
}
