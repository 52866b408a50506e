//! The migration phase as a [`Workflow`]: a [`Session`] connects to the
//! cluster and the cloud ([`Session::connect`]) and supplies what the
//! generic driver (`crate::workflow`) needs: the target, discovery, the
//! digest, the plan for [`MigrationOptions`], each operation's step, the
//! steps' context and the cluster lease. Starting, loading, drift and option
//! checks, executing and resuming are the driver's.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use journal::Target;
use serde::{Deserialize, Serialize};

use super::discover::{Discovered, discover};
use super::{MigrationCx, step_for};
use crate::engine::lease::{self, LeaseError, LeaseGuard, LeaseLost};
use crate::engine::{ErasedStep, Fence, Recorder};
use crate::kube::{self, ClientOptions, KubeClient, KubeError};
use crate::kuryr::cidr::Cidr;
use crate::kuryr::digest::digest;
use crate::kuryr::identity::cluster_id;
use crate::kuryr::plan::{Plan, PlanError, PlanOptions, RebootMethod, build_plan};
use crate::kuryr::reboot::RebootLimits;
use crate::kuryr::rollout::baseline;
use crate::kuryr::settings::{
    NetworkFacts, OvnSettings, SettingsError, decide, networks_from_config,
};
use crate::kuryr::ssh::{SshTemplate, TemplateError};
use crate::openstack::{CloudConfig, OpenStack, Query};
use crate::workflow::{Execution, Held, LoadedRun, RunError, Workflow};

/// The workflow name journals of this phase are recorded under.
pub const WORKFLOW: &str = "kuryr-migrate";

/// How nodes are rebooted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RebootChoice {
    /// Nova soft reboot of the server in the node's `spec.providerID`.
    Nova,
    /// This command template (`{ip}`, `{name}`), e.g. `ssh core@{ip} sudo shutdown -r -t 3`.
    Ssh(String),
}

/// The user's choices for the migration phase (journaled with the plan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationOptions {
    pub mtu: Option<u32>,
    pub geneve_port: Option<u32>,
    pub v4_internal_subnet: Option<String>,
    pub v6_internal_subnet: Option<String>,
    /// New cluster networks for M7 (cidr, hostPrefix); empty keeps the current ones.
    pub cluster_network: Vec<(String, u32)>,
    pub reboot: RebootChoice,
    /// Nodes of a pool rebooted at once, per pool (the control plane defaults to 1).
    pub max_unavailable: BTreeMap<String, usize>,
    /// For pools not named in `max_unavailable` (workers).
    pub default_max_unavailable: usize,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        Self {
            mtu: None,
            geneve_port: None,
            v4_internal_subnet: None,
            v6_internal_subnet: None,
            cluster_network: Vec::new(),
            reboot: RebootChoice::Nova,
            max_unavailable: BTreeMap::new(),
            default_max_unavailable: 1,
        }
    }
}

/// What can stop a migration before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("reach the cloud: {0}")]
    OpenStack(#[from] crate::openstack::Error),
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("use the ssh template: {0}")]
    Template(#[from] TemplateError),
    #[error("use the OVN-Kubernetes settings: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Settings(Vec<SettingsError>),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("read the cluster: {0}")]
    Cluster(String),
}

/// A connection to one cluster and its cloud.
pub struct Session {
    pub kube: KubeClient,
    pub openstack: OpenStack,
    /// What the journal is bound to.
    pub target: Target,
    /// The cluster id.
    pub cluster_id: String,
}

impl Session {
    /// Connects to the cluster and authenticates to the cloud; errors say which and why.
    /// Every OpenStack request times out after `timeout` (the cluster's after
    /// `kube_options.timeout`).
    pub async fn connect(
        kube_options: &ClientOptions,
        cloud: CloudConfig,
        timeout: Duration,
    ) -> Result<Session, MigrateError> {
        let kc = kube::connect(kube_options).await?;
        kube::check_reachable(&kc).await?;
        let infra = kube::get(&kc, &kube::ObjectRef::cluster(kube::Kind::Infrastructure, "cluster"))
            .await?
            .ok_or_else(|| MigrateError::Cluster("infrastructures.config.openshift.io/cluster not found: is this an OpenShift cluster?".into()))?;
        let id = cluster_id(&infra).map_err(|e| MigrateError::Cluster(e.to_string()))?;
        let openstack = OpenStack::with_timeout(cloud, timeout)?;
        openstack.authenticate().await?;
        crate::openstack::roles::require_writer(&openstack).await?;
        let cfg = openstack.config();
        let project = cfg
            .project_name
            .clone()
            .or_else(|| cfg.project_id.clone())
            .unwrap_or_default();
        let target = Target {
            cluster_id: id.clone(),
            // Stored and printed: never with the userinfo of a URL.
            api_server: crate::redact::userinfo(&kc.server).into_owned(),
            openstack_auth_url: crate::redact::userinfo(&cfg.auth_url).into_owned(),
            openstack_project: project,
        };
        Ok(Session {
            kube: kc,
            openstack,
            target,
            cluster_id: id,
        })
    }

    /// Reads the cluster as the plan needs it.
    pub async fn discover(&self) -> Result<Discovered, MigrateError> {
        let mut d = discover(&self.kube).await?;
        let id = &self.cluster_id;
        let subnets = self
            .openstack
            .list_subnets(&Query::new().eq("name", format!("{id}-nodes")))
            .await?;
        d.machine_networks = subnets.iter().map(|s| s.cidr.clone()).collect();
        let nets = self
            .openstack
            .list_networks(&Query::new().eq("name", format!("{id}-openshift")))
            .await?;
        d.machine_mtu = nets.iter().filter_map(|n| n.mtu).min();
        Ok(d)
    }
}

/// Makes the plan for a discovery and options.
pub fn plan(discovered: &Discovered, options: &MigrationOptions) -> Result<Plan, MigrateError> {
    let settings = OvnSettings {
        mtu: options.mtu,
        geneve_port: options.geneve_port,
        v4_internal_subnet: options.v4_internal_subnet.clone(),
        v6_internal_subnet: options.v6_internal_subnet.clone(),
    };
    let (cluster_networks, service_networks) = networks_from_config(&discovered.config_network)
        .map_err(|e| MigrateError::Cluster(e.to_string()))?;
    let facts = NetworkFacts {
        smallest_node_mtu: discovered.machine_mtu.unwrap_or(1500),
        cluster_networks,
        service_networks,
        machine_networks: discovered
            .machine_networks
            .iter()
            .filter_map(|c| c.parse::<Cidr>().ok())
            .collect(),
    };
    let settings =
        decide(&settings, &facts, &discovered.operator_network).map_err(MigrateError::Settings)?;
    let reboot = match &options.reboot {
        RebootChoice::Nova => RebootMethod::Nova,
        RebootChoice::Ssh(t) => RebootMethod::Ssh(SshTemplate::parse(t)?),
    };
    let limits = RebootLimits {
        per_pool: options.max_unavailable.clone(),
        default: options.default_max_unavailable,
    };
    Ok(build_plan(
        &discovered.as_discovery(),
        &PlanOptions {
            settings,
            cluster_network: options.cluster_network.clone(),
            reboot,
            limits,
        },
    )?)
}

impl Workflow for Session {
    const NAME: &'static str = WORKFLOW;
    type Options = MigrationOptions;
    type Discovery = Discovered;
    type Operation = crate::kuryr::plan::Operation;
    type Plan = Plan;
    type Cx = MigrationCx;
    type Error = MigrateError;

    fn target(&self) -> Target {
        self.target.clone()
    }

    async fn discover(&self) -> Result<Discovered, MigrateError> {
        Session::discover(self).await
    }

    fn digest(d: &Discovered) -> String {
        digest(&d.as_discovery().to_value())
    }

    fn plan(d: &Discovered, o: &MigrationOptions) -> Result<Plan, MigrateError> {
        plan(d, o)
    }

    fn planned_digest(plan: &Plan) -> &str {
        &plan.discovery_digest
    }

    fn operations(plan: &Plan) -> &[crate::kuryr::plan::Operation] {
        &plan.operations
    }

    fn step(op: &crate::kuryr::plan::Operation) -> Box<dyn ErasedStep<MigrationCx>> {
        step_for(op)
    }

    fn context(
        &self,
        run: &LoadedRun<Self>,
        rec: &Recorder,
        how: &Execution<'_>,
    ) -> Result<MigrationCx, MigrateError> {
        Ok(MigrationCx {
            kube: self.kube.clone(),
            openstack: self.openstack.clone(),
            recorder: rec.clone(),
            backup_path: how.beside("network-config.json"),
            pools_before: baseline(&run.discovery.pools),
            geneve_port: run.options.geneve_port.unwrap_or(6081) as u16,
            discovered: run.discovery.clone(),
        })
    }

    async fn exclude(
        &self,
        run_id: &str,
        how: &Execution<'_>,
    ) -> Result<Box<dyn Held>, MigrateError> {
        let guard = lease::acquire(
            &self.kube,
            &lease::identity(run_id),
            how.lease,
            how.cancel.clone(),
        )
        .await?;
        Ok(Box::new(MigrationLease(guard)))
    }
}

/// The cluster lease, as the driver holds it.
pub struct MigrationLease(LeaseGuard);

impl Fence for MigrationLease {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.0.ensure_held()
    }
}

impl Held for MigrationLease {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.release().await })
    }
}
