//! `ovs prepare` as a [`Workflow`]: a [`PrepareSession`] connects to MOSK's
//! cluster (the OpenStackDeployment, the Galera StatefulSet, pod exec) and
//! the cloud (Nova), and supplies the driver's discovery, digest, plan, the
//! steps' context and the cluster lease. Starting, loading, drift, executing
//! and resuming are the generic driver's (`crate::workflow`).
//!
//! The journal is bound to the OpenStackDeployment (its name and uid) and
//! the cloud; the run's idempotency key and the dump's timestamp are made
//! at discovery and kept out of the digest, so a re-discovery for the drift
//! check compares only the cloud's state.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use journal::Target;

use super::galera::{NAMESPACE, STATEFULSET};
use super::plan::{self, Discovery, Plan, PlanError, PrepareOptions};
use super::{Exec, Operation, PrepareCx, p3_lease::lease_of, step_for};
use crate::engine::lease::{self, LeaseError, LeaseGuard, LeaseLost};
use crate::engine::{ErasedStep, Fence, Recorder};
use crate::kube::{self, ClientOptions, Kind, KubeClient, KubeError, ObjectRef};
use crate::openstack::{CloudConfig, OpenStack};
use crate::ovs::collect::read_deployment;
use crate::ovs::inventory::ComputeService;
use crate::workflow::{Execution, Held, LoadedRun, RunError, Workflow};

/// The workflow name prepare journals are recorded under.
pub const WORKFLOW: &str = "ovs-prepare";

/// What can stop `ovs prepare` before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("reach the cloud: {0}")]
    OpenStack(#[from] crate::openstack::Error),
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("read MOSK's cluster: {0}")]
    Cluster(String),
}

/// A connection to MOSK's cluster and its cloud.
pub struct PrepareSession {
    pub kube: KubeClient,
    pub openstack: OpenStack,
    pub exec: Arc<dyn Exec>,
    /// The OpenStackDeployment.
    pub deployment: ObjectRef,
    /// `<deployment name>-<uid prefix>`: names the state directory.
    pub cluster_id: String,
    pub target: Target,
}

impl PrepareSession {
    /// Connects to the cluster (finds its one OpenStackDeployment; `exec`
    /// runs commands in its pods) and authenticates to the cloud; every
    /// request gives up after `timeout`.
    pub async fn connect(
        kube_options: &ClientOptions,
        cloud: CloudConfig,
        timeout: Duration,
        exec: impl FnOnce(&KubeClient) -> Arc<dyn Exec>,
    ) -> Result<PrepareSession, PrepareError> {
        let kc = kube::connect(kube_options).await?;
        let exec = exec(&kc);
        let cr = read_deployment(&kc).await?.map_err(|why| {
            PrepareError::Cluster(format!(
                "{why}; point --kubeconfig / KUBECONFIG (and --context) at MOSK's management of this cloud"
            ))
        })?;
        let deployment = ObjectRef::of(Kind::OpenStackDeployment, &cr)
            .ok_or_else(|| PrepareError::Cluster("the OpenStackDeployment has no name".into()))?;
        let uid = cr["metadata"]["uid"].as_str().unwrap_or_default();
        let cluster_id = format!("mosk-{}-{}", deployment.name, &uid[..uid.len().min(8)]);
        let openstack = OpenStack::with_timeout(cloud, timeout)?;
        openstack.authenticate().await?;
        let cfg = openstack.config();
        let target = Target {
            cluster_id: cluster_id.clone(),
            api_server: crate::redact::userinfo(&kc.server).into_owned(),
            openstack_auth_url: crate::redact::userinfo(&cfg.auth_url).into_owned(),
            openstack_project: cfg
                .project_name
                .clone()
                .or_else(|| cfg.project_id.clone())
                .unwrap_or_default(),
        };
        Ok(PrepareSession {
            kube: kc,
            openstack,
            exec,
            deployment,
            cluster_id,
            target,
        })
    }

    /// Reads what the plan is made from.
    pub async fn discover(&self) -> Result<Discovery, PrepareError> {
        let cr = kube::get(&self.kube, &self.deployment)
            .await?
            .ok_or_else(|| PrepareError::Cluster(format!("{} is gone", self.deployment)))?;
        let services = self
            .openstack
            .list_compute_services::<ComputeService>()
            .await?
            .items;
        let mut compute_hosts: Vec<String> = services
            .into_iter()
            .filter(|s| s.status == "enabled")
            .map(|s| s.host)
            .collect();
        compute_hosts.sort();
        compute_hosts.dedup();
        let sts = kube::get(
            &self.kube,
            &ObjectRef::namespaced(Kind::StatefulSet, NAMESPACE, STATEFULSET),
        )
        .await?
        .ok_or_else(|| {
            PrepareError::Cluster(format!(
                "the StatefulSet {NAMESPACE}/{STATEFULSET} (Neutron's Galera) does not exist"
            ))
        })?;
        let now = chrono::Utc::now();
        let seed = format!(
            "{}/{}/{}",
            now.timestamp_nanos_opt().unwrap_or_default(),
            std::process::id(),
            self.cluster_id
        );
        Ok(Discovery {
            key: blake3::hash(seed.as_bytes()).to_hex()[..10].to_string(),
            stamp: now.format("%Y%m%d%H%M%S").to_string(),
            deployment: format!(
                "{}/{}",
                self.deployment.namespace.as_deref().unwrap_or(NAMESPACE),
                self.deployment.name
            ),
            deployment_uid: cr["metadata"]["uid"].as_str().unwrap_or_default().into(),
            lease_duration: lease_of(&cr),
            compute_hosts,
            galera_replicas: sts["spec"]["replicas"].as_u64().unwrap_or(1) as u32,
        })
    }
}

/// Returns the digest of what a discovery read (the key and stamp excluded).
pub fn digest(d: &Discovery) -> String {
    let bytes = serde_json::to_vec(&d.digested()).unwrap_or_default();
    blake3::hash(&bytes).to_hex().to_string()
}

impl Workflow for PrepareSession {
    const NAME: &'static str = WORKFLOW;
    type Options = PrepareOptions;
    type Discovery = Discovery;
    type Operation = Operation;
    type Plan = Plan;
    type Cx = PrepareCx;
    type Error = PrepareError;

    fn target(&self) -> Target {
        self.target.clone()
    }

    async fn discover(&self) -> Result<Discovery, PrepareError> {
        PrepareSession::discover(self).await
    }

    fn digest(d: &Discovery) -> String {
        digest(d)
    }

    fn plan(d: &Discovery, o: &PrepareOptions) -> Result<Plan, PrepareError> {
        Ok(plan::build(d, o, &digest(d))?)
    }

    fn planned_digest(plan: &Plan) -> &str {
        &plan.discovery_digest
    }

    fn operations(plan: &Plan) -> &[Operation] {
        &plan.operations
    }

    fn step(op: &Operation) -> Box<dyn ErasedStep<PrepareCx>> {
        step_for(op)
    }

    fn context(
        &self,
        run: &LoadedRun<Self>,
        _rec: &Recorder,
        _how: &Execution<'_>,
    ) -> Result<PrepareCx, PrepareError> {
        Ok(PrepareCx {
            kube: self.kube.clone(),
            openstack: self.openstack.clone(),
            exec: self.exec.clone(),
            deployment: self.deployment.clone(),
            mysql_defaults: run.options.mysql_defaults_file.clone(),
        })
    }

    async fn exclude(
        &self,
        run_id: &str,
        how: &Execution<'_>,
    ) -> Result<Box<dyn Held>, PrepareError> {
        let guard = lease::acquire(
            &self.kube,
            &lease::identity(run_id),
            how.lease,
            how.cancel.clone(),
        )
        .await?;
        Ok(Box::new(PrepareLease(guard)))
    }
}

/// The cluster lease, as the driver holds it.
pub struct PrepareLease(LeaseGuard);

impl Fence for PrepareLease {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.0.ensure_held()
    }
}

impl Held for PrepareLease {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.release().await })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A context whose Kubernetes and OpenStack clients point nowhere (for
    /// steps whose tests only exec).
    pub(crate) fn cx(exec: Arc<dyn Exec>) -> PrepareCx {
        let config = ::kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = ::kube::Client::try_from(config).unwrap();
        let cloud = CloudConfig {
            name: "test".into(),
            auth_url: "http://127.0.0.1:9/v3".into(),
            credentials: crate::openstack::Credentials::ApplicationCredential {
                id: "test".into(),
                secret: journal::Secret::new("test"),
            },
            project_name: None,
            project_id: None,
            project_domain_name: None,
            project_domain_id: None,
            region_name: None,
            interface: "public".into(),
        };
        PrepareCx {
            kube: KubeClient {
                client,
                context: "test".into(),
                server: "http://127.0.0.1:9".into(),
            },
            openstack: OpenStack::with_timeout(cloud, Duration::from_secs(1)).unwrap(),
            exec,
            deployment: ObjectRef::namespaced(Kind::OpenStackDeployment, "openstack", "osh"),
            mysql_defaults: None,
        }
    }

    #[test]
    fn the_digest_is_the_discovery_without_its_key() {
        let a = super::super::plan::tests::discovery();
        let mut b = a.clone();
        b.key = "another".into();
        assert_eq!(digest(&a), digest(&b));
        b.galera_replicas = 5;
        assert_ne!(digest(&a), digest(&b));
    }
}
