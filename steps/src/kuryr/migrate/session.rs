//! A migration run from connection to seal: connect to the cluster and the
//! cloud ([`Session::connect`]), discover and plan ([`Session::plan`]), start a
//! journaled run ([`start_run`]: `RunStarted`, the discovery and options as
//! observations, `PlanRecorded`), load a run back from its journal alone
//! ([`load_run`]: resume never re-plans from the live cluster), refuse a plan
//! whose cluster drifted before anything ran ([`Session::check_drift`]), and
//! [`execute`] it under the cluster lease.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use journal::event::now_ms;
use journal::{Event, Journal, OpenOptions, RunInfo, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::discover::{Discovered, discover};
use super::{MigrationCx, MigrationStep};
use crate::engine::lease::{self, LeaseError};
use crate::engine::{Progress, Recorder, RunOutcome, RunSummary, Timing, crash_hook, run};
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
    #[error(
        "run the plan: the cluster changed since it was made (discovery digest {planned}, now {live}); \
         make a new plan with `ovn-migrate kuryr plan`"
    )]
    Drifted { planned: String, live: String },
    #[error("load the run from its journal: {0}")]
    Load(String),
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
            .ok_or_else(|| MigrateError::Load("infrastructures.config.openshift.io/cluster not found: is this an OpenShift cluster?".into()))?;
        let id = cluster_id(&infra).map_err(|e| MigrateError::Load(e.to_string()))?;
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
            api_server: kc.server.clone(),
            openstack_auth_url: cfg.auth_url.clone(),
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

    /// Makes the plan for a discovery and the user's options (pure but for errors).
    pub fn plan(
        &self,
        discovered: &Discovered,
        options: &MigrationOptions,
    ) -> Result<Plan, MigrateError> {
        plan(discovered, options)
    }

    /// Refuses a plan whose cluster changed before any of it ran.
    pub async fn check_drift(&self, loaded: &LoadedRun) -> Result<(), MigrateError> {
        let live = self.discover().await?;
        let live_digest = digest(&live.as_discovery().to_value());
        if live_digest != loaded.plan.discovery_digest {
            return Err(MigrateError::Drifted {
                planned: loaded.plan.discovery_digest.clone(),
                live: live_digest,
            });
        }
        Ok(())
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
        .map_err(|e| MigrateError::Load(e.to_string()))?;
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

/// A run read back from its journal.
pub struct LoadedRun {
    pub journal: Journal,
    pub run_id: String,
    pub discovered: Discovered,
    pub options: MigrationOptions,
    pub plan: Plan,
    /// Whether any operation has started (an intent, outcome, skip or wait).
    pub started: bool,
}

/// Creates the run's journal in `dir` and records discovery, options and plan.
pub async fn start_run(
    session: &Session,
    dir: PathBuf,
    run_id: &str,
    tool_version: &str,
    discovered: &Discovered,
    options: &MigrationOptions,
    plan: &Plan,
) -> Result<Journal, MigrateError> {
    let run = RunInfo {
        run_id: run_id.to_string(),
        workflow: WORKFLOW.into(),
        tool_version: tool_version.into(),
        target: session.target.clone(),
    };
    let journal =
        tokio::task::spawn_blocking(move || Journal::create(&dir, &run, &OpenOptions::default()))
            .await
            .map_err(|e| MigrateError::Load(e.to_string()))??;
    crash_hook(&(1..=1));
    let rec = Recorder::new(journal.clone());
    rec.observe(
        "discovery",
        &serde_json::to_value(discovered).expect("discovery serialises"),
    )
    .await?;
    rec.observe(
        "options",
        &serde_json::to_value(options).expect("options serialise"),
    )
    .await?;
    let plan_json = serde_json::to_vec(plan).expect("plan serialises");
    let plan_digest = blake3::hash(&plan_json).to_hex().to_string();
    let blob = rec.put_blob(plan_json).await?;
    rec.append(Event::PlanRecorded {
        plan_digest,
        discovery_digest: plan.discovery_digest.clone(),
        operations: blob,
        count: plan.operations.len() as u32,
        at_ms: now_ms(),
    })
    .await?;
    Ok(journal)
}

/// Reads discovery, options and plan back from a run's journal, after
/// verifying its chain (a broken chain is [`journal::Error::Corrupt`]).
pub async fn load_run(journal: Journal) -> Result<LoadedRun, MigrateError> {
    let j = journal.clone();
    tokio::task::spawn_blocking(move || load_blocking(j))
        .await
        .map_err(|e| MigrateError::Load(e.to_string()))?
}

fn load_blocking(journal: Journal) -> Result<LoadedRun, MigrateError> {
    // A run is resumed from its journal alone, so the chain must hold first:
    // a damaged record would otherwise be read as if it were what was written.
    if let journal::VerifyStatus::Broken { seq, reason } = journal::verify_journal(&journal)?.status
    {
        return Err(journal::Error::Corrupt { seq, reason }.into());
    }
    let mut discovered: Option<Discovered> = None;
    let mut options: Option<MigrationOptions> = None;
    let mut plan: Option<Plan> = None;
    let mut run_id = String::new();
    let mut started = false;
    let body =
        |inline: &journal::Json, blob: &Option<journal::BlobHash>| -> Result<Value, MigrateError> {
            match blob {
                Some(h) => {
                    let bytes = journal
                        .get_blob(h)?
                        .ok_or_else(|| MigrateError::Load(format!("blob {h} is missing")))?;
                    serde_json::from_slice(&bytes).map_err(|e| MigrateError::Load(e.to_string()))
                }
                None => Ok(inline.value()),
            }
        };
    for r in journal.iter(1) {
        match r?.event {
            Event::RunStarted {
                run_id: id,
                workflow,
                ..
            } => {
                if workflow != WORKFLOW {
                    return Err(MigrateError::Load(format!(
                        "this journal records a {workflow} run, not {WORKFLOW}"
                    )));
                }
                run_id = id;
            }
            Event::ObservationRecorded {
                key, body: b, blob, ..
            } if key == "discovery" && discovered.is_none() => {
                discovered = Some(
                    serde_json::from_value(body(&b, &blob)?)
                        .map_err(|e| MigrateError::Load(e.to_string()))?,
                );
            }
            Event::ObservationRecorded {
                key, body: b, blob, ..
            } if key == "options" && options.is_none() => {
                options = Some(
                    serde_json::from_value(body(&b, &blob)?)
                        .map_err(|e| MigrateError::Load(e.to_string()))?,
                );
            }
            Event::PlanRecorded { operations, .. } if plan.is_none() => {
                let bytes = journal
                    .get_blob(&operations)?
                    .ok_or_else(|| MigrateError::Load("the plan blob is missing".into()))?;
                plan = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| MigrateError::Load(e.to_string()))?,
                );
            }
            Event::OperationIntended { .. }
            | Event::OperationSucceeded { .. }
            | Event::OperationSkipped { .. }
            | Event::OperationFailed { .. }
            | Event::WaitStarted { .. } => started = true,
            _ => {}
        }
    }
    let missing = |what: &str| {
        MigrateError::Load(format!(
            "the journal has no {what}: the run was interrupted before it was planned; start a new run"
        ))
    };
    Ok(LoadedRun {
        run_id,
        discovered: discovered.ok_or_else(|| missing("discovery"))?,
        options: options.ok_or_else(|| missing("options"))?,
        plan: plan.ok_or_else(|| missing("plan"))?,
        started,
        journal,
    })
}

/// How to execute a loaded run.
pub struct Execution<'a> {
    pub timing: Timing,
    pub progress: &'a dyn Progress,
    pub cancel: CancellationToken,
    /// Where M1 writes the network config backup.
    pub backup_path: PathBuf,
    /// How long the cluster lease lasts without renewal.
    pub lease_duration: Duration,
    pub tool_version: String,
}

/// Runs (or resumes) a loaded run under the cluster lease; seals it when complete.
pub async fn execute(
    session: &Session,
    run: &LoadedRun,
    how: &Execution<'_>,
) -> Result<RunSummary, MigrateError> {
    let rec = Recorder::new(run.journal.clone());
    if run.started {
        let me = journal::lock::Holder::me(&how.tool_version);
        rec.append(Event::RunResumed {
            host: me.host,
            user: me.user,
            pid: me.pid,
            tool_version: how.tool_version.clone(),
            at_ms: now_ms(),
        })
        .await?;
    }
    let lease = lease::acquire(
        &session.kube,
        &lease::identity(&run.run_id),
        how.lease_duration,
        how.cancel.clone(),
    )
    .await?;
    let cx = MigrationCx {
        kube: session.kube.clone(),
        openstack: session.openstack.clone(),
        recorder: rec.clone(),
        backup_path: how.backup_path.clone(),
        pools_before: baseline(&run.discovered.pools),
        geneve_port: run.options.geneve_port.unwrap_or(6081) as u16,
        discovered: run.discovered.clone(),
    };
    let steps: Vec<MigrationStep> = run
        .plan
        .operations
        .iter()
        .cloned()
        .map(|op| MigrationStep { op })
        .collect();
    let summary = run_steps(&steps, &cx, &rec, how).await;
    lease.release().await;
    let summary = summary?;
    if summary.outcome == RunOutcome::Completed {
        let (_, head) = run.journal.head();
        rec.append(Event::RunSealed {
            head,
            outcome: "completed".into(),
            at_ms: now_ms(),
        })
        .await?;
    }
    Ok(summary)
}

async fn run_steps(
    steps: &[MigrationStep],
    cx: &MigrationCx,
    rec: &Recorder,
    how: &Execution<'_>,
) -> Result<RunSummary, MigrateError> {
    Ok(run(steps, cx, rec, &how.timing, &how.cancel, how.progress).await?)
}
