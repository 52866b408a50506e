//! Connecting as the users' own tools do: the cluster from `--kubeconfig`,
//! `KUBECONFIG` and `--context`; the cloud from `--os-cloud`, `OS_CLOUD`,
//! clouds.yaml or the `OS_*` variables.

use std::time::Duration;

use steps::kube::ClientOptions;
use steps::kuryr::migrate::Session;
use steps::openstack::CloudConfig;

use super::errors::{migrate_error, os_error};
use crate::context::Context;
use crate::error::Result;

/// How long one request may take when a command has no `--request-timeout-s`
/// (shorter than the default 60 s lease, as `steps::kube::lease` requires).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to the cluster (`--kubeconfig`, `KUBECONFIG`, `--context`) and the
/// cloud (`--os-cloud`, `OS_CLOUD`, clouds.yaml, `OS_*`).
pub fn connect(ctx: &Context) -> Result<Session> {
    connect_with_timeout(ctx, DEFAULT_REQUEST_TIMEOUT)
}

/// Connects as [`connect`] does; every request gives up after `timeout`.
pub fn connect_with_timeout(ctx: &Context, timeout: Duration) -> Result<Session> {
    let kube = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(timeout),
    };
    let cloud = CloudConfig::load(ctx.global.os_cloud.as_deref()).map_err(|e| os_error(&e))?;
    ctx.block_on(Session::connect(&kube, cloud, timeout))?
        .map_err(migrate_error)
}
