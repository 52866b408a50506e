//! `ovs fix` as a [`Workflow`]: a [`FixSession`] holds the cloud (and the
//! MOSK cluster when a kubeconfig is given) and supplies what the generic
//! driver needs: the target, discovery (the inventory and settings, read as
//! `assess` reads them), the digest, the plan, each operation's step, the
//! steps' context and the exclusion ([`super::exclusion`]).
//!
//! The journal is bound to the cloud: its id ([`cloud_id`]) names the
//! project and a digest of the Keystone URL, so two clouds with a project of
//! the same name never share a state directory.

use journal::Target;

use super::exclusion::{Lease, take_local};
use super::plan::{FixDiscovery, FixOptions, FixPlan, PlanError, digest, plan};
use super::{FixCx, Operation, step_for};
use crate::engine::{ErasedStep, Recorder, lease};
use crate::kube::lease::LeaseError;
use crate::kube::{KubeClient, KubeError};
use crate::openstack::OpenStack;
use crate::ovs::collect::{CollectOptions, collect, read_deployment};
use crate::ovs::inventory::Part;
use crate::ovs::settings::{Flags, Settings};
use crate::workflow::{Execution, Held, LoadedRun, RunError, Workflow};

/// The workflow name journals of `ovs fix` are recorded under.
pub const WORKFLOW: &str = "ovs-fix";

/// What can stop `ovs fix` before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("reach the cloud: {0}")]
    OpenStack(#[from] crate::openstack::Error),
    #[error("read the OpenStackDeployment: {0}")]
    Kube(#[from] KubeError),
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("take the local lock of this cloud's runs: {0}")]
    Lock(#[from] journal::LockError),
}

/// A connection to one cloud (and its MOSK cluster, if given).
pub struct FixSession {
    pub openstack: OpenStack,
    /// The MOSK cluster: the OpenStackDeployment and the cluster lease.
    pub kube: Option<KubeClient>,
    /// The settings flags (`--global-physnet-mtu`…), for what the CR does not set.
    pub flags: Flags,
    pub collect: CollectOptions,
    /// What the journal is bound to.
    pub target: Target,
    /// The cloud's id (names its state directory).
    pub cloud_id: String,
}

/// Returns the id of a cloud: `openstack-<project>-<12 hex of the Keystone URL and project>`.
pub fn cloud_id(auth_url: &str, project: &str) -> String {
    let h = blake3::hash(format!("{}\n{project}", auth_url.trim_end_matches('/')).as_bytes());
    let safe: String = project
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("openstack-{safe}-{}", &h.to_hex()[..12])
}

impl FixSession {
    /// Authenticates to the cloud (refused early without a role that can write)
    /// and binds the session to it; `kube` is the MOSK cluster, if given.
    pub async fn connect(
        openstack: OpenStack,
        kube: Option<KubeClient>,
        flags: Flags,
        collect: CollectOptions,
    ) -> Result<FixSession, FixError> {
        openstack.authenticate().await?;
        crate::openstack::roles::require_writer(&openstack).await?;
        let cfg = openstack.config();
        let project = cfg
            .project_name
            .clone()
            .or_else(|| cfg.project_id.clone())
            .unwrap_or_default();
        let auth_url = crate::redact::userinfo(&cfg.auth_url).into_owned();
        let id = cloud_id(&auth_url, &project);
        let target = Target {
            cluster_id: id.clone(),
            api_server: kube
                .as_ref()
                .map(|k| crate::redact::userinfo(&k.server).into_owned())
                .unwrap_or_default(),
            openstack_auth_url: auth_url,
            openstack_project: project,
        };
        Ok(FixSession {
            openstack,
            kube,
            flags,
            collect,
            target,
            cloud_id: id,
        })
    }

    /// Reads the inventory and resolves the settings (the CR's when there is one).
    pub async fn discover(&self) -> Result<FixDiscovery, FixError> {
        let (mut inventory, _) = collect(&self.openstack, self.collect, &|_, _| {}).await?;
        // No fix reads IP availability, and its counts (an IPv6 /64 holds
        // 2^64 addresses) do not fit the journal's JSON numbers: not kept.
        inventory.ip_availabilities =
            Part::Unavailable("not kept by ovs fix: no fix reads IP availability".into());
        let (cr, why) = match &self.kube {
            None => (
                None,
                Some("no kubeconfig given: the OpenStackDeployment was not read".to_string()),
            ),
            Some(kc) => match read_deployment(kc).await? {
                Ok(cr) => (Some(cr), None),
                Err(why) => (None, Some(why)),
            },
        };
        let mut settings = Settings::resolve(cr.as_ref(), &self.flags);
        if let Some(why) = why {
            settings
                .notes
                .push(format!("{why}: settings come from the flags"));
        }
        Ok(FixDiscovery {
            inventory,
            settings,
        })
    }
}

impl Workflow for FixSession {
    const NAME: &'static str = WORKFLOW;
    type Options = FixOptions;
    type Discovery = FixDiscovery;
    type Operation = Operation;
    type Plan = FixPlan;
    type Cx = FixCx;
    type Error = FixError;

    fn target(&self) -> Target {
        self.target.clone()
    }

    async fn discover(&self) -> Result<FixDiscovery, FixError> {
        FixSession::discover(self).await
    }

    fn digest(d: &FixDiscovery) -> String {
        digest(d)
    }

    fn plan(d: &FixDiscovery, o: &FixOptions) -> Result<FixPlan, FixError> {
        Ok(plan(d, o)?)
    }

    fn planned_digest(plan: &FixPlan) -> &str {
        &plan.discovery_digest
    }

    fn operations(plan: &FixPlan) -> &[Operation] {
        &plan.operations
    }

    fn step(op: &Operation) -> Box<dyn ErasedStep<FixCx>> {
        step_for(op)
    }

    fn context(
        &self,
        _run: &LoadedRun<Self>,
        _rec: &Recorder,
        _how: &Execution<'_>,
    ) -> Result<FixCx, FixError> {
        Ok(FixCx {
            openstack: self.openstack.clone(),
        })
    }

    async fn exclude(&self, run_id: &str, how: &Execution<'_>) -> Result<Box<dyn Held>, FixError> {
        match &self.kube {
            Some(kc) => {
                let guard =
                    lease::acquire(kc, &lease::identity(run_id), how.lease, how.cancel.clone())
                        .await?;
                Ok(Box::new(Lease(guard)))
            }
            None => Ok(Box::new(take_local(&how.journal_dir, &how.tool_version)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_ids_are_safe_and_tell_clouds_apart() {
        let a = cloud_id("http://keystone:5000/v3/", "admin");
        assert_eq!(a, cloud_id("http://keystone:5000/v3", "admin"));
        assert!(a.starts_with("openstack-admin-") && a.len() == "openstack-admin-".len() + 12);
        assert_ne!(a, cloud_id("http://other:5000/v3", "admin"));
        assert_ne!(a, cloud_id("http://keystone:5000/v3", "demo"));
        let odd = cloud_id("http://k", "../x y");
        assert!(odd.starts_with("openstack-___x_y-"), "{odd}");
    }
}
