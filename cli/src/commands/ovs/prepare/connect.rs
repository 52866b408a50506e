//! Connecting for `ovs prepare`: MOSK's cluster from `--kubeconfig`,
//! `KUBECONFIG` and `--context` (the OpenStackDeployment, the Galera
//! StatefulSet, exec into its pods), the cloud from `--os-cloud`,
//! `OS_CLOUD`, clouds.yaml or the `OS_*` variables.

use std::sync::Arc;
use std::time::Duration;

use steps::kube::{ClientOptions, KubeClient};
use steps::openstack::CloudConfig;
use steps::ovs::prepare::{Exec, KubeExec, PrepareSession};

use super::workflow::prepare_error;
use crate::commands::kuryr::errors::os_error;
use crate::context::Context;
use crate::error::Result;

/// How long `mariadb-dump` may run in a pod before the exec is abandoned.
pub const DUMP_TIMEOUT: Duration = Duration::from_secs(3600);

/// Connects to the cluster and the cloud; every request gives up after
/// `timeout` (a dump after [`DUMP_TIMEOUT`]).
pub fn connect(ctx: &Context, timeout: Duration) -> Result<PrepareSession> {
    let kube = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(timeout),
    };
    let cloud = CloudConfig::load(ctx.global.os_cloud.as_deref()).map_err(|e| os_error(&e))?;
    let exec = |kc: &KubeClient| -> Arc<dyn Exec> {
        Arc::new(KubeExec {
            client: kc.clone(),
            timeout,
            dump_timeout: DUMP_TIMEOUT,
        })
    };
    ctx.block_on(PrepareSession::connect(&kube, cloud, timeout, exec))?
        .map_err(prepare_error)
}
