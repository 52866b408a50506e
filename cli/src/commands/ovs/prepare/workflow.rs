//! `ovs prepare` as the CLI drives it: how its plan is shown and its errors
//! mapped ([`CliWorkflow`] for the [`PrepareSession`]).

use serde::Serialize;
use serde_json::json;
use steps::engine::lease::LeaseError;
use steps::ovs::prepare::{Plan, PrepareError, PrepareSession, action_name};
use steps::workflow::RunError;

use crate::commands::kuryr::errors::{kube_error, os_error};
use crate::driver::CliWorkflow;
use crate::error::{CliError, ErrorKind, chain};
use crate::exit::ExitCode;

impl CliWorkflow for PrepareSession {
    const COMMAND: &'static str = "ovs prepare";
    const COMPLETED: &'static str = "prepared: canaries ACTIVE, DHCP lease raised and the old leases expired, Neutron's database dumped with its member Synced again";

    fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn anchor_client(&self) -> Option<&steps::kube::KubeClient> {
        Some(&self.kube)
    }

    fn show_plan(plan: &Plan) -> (serde_json::Value, String) {
        show_plan(plan)
    }

    fn error(e: PrepareError) -> CliError {
        prepare_error(e)
    }
}

/// One planned operation, as shown to the user.
#[derive(Serialize)]
struct PlannedOp<'a> {
    id: &'a str,
    step: &'a str,
    action: &'static str,
    target: &'a str,
}

/// Returns the plan as JSON and as text.
pub fn show_plan(plan: &Plan) -> (serde_json::Value, String) {
    let ops: Vec<PlannedOp> = plan
        .operations
        .iter()
        .map(|o| PlannedOp {
            id: &o.id,
            step: &o.step,
            action: action_name(&o.action),
            target: &o.target,
        })
        .collect();
    let mut text = format!(
        "Prepare plan for {} ({} operations, run key {}, discovery {}):\n",
        plan.deployment,
        ops.len(),
        plan.key,
        &plan.discovery_digest[..12.min(plan.discovery_digest.len())]
    );
    for o in &ops {
        text.push_str(&format!("  {:<3} {:<24} {}\n", o.step, o.action, o.target));
    }
    let value = json!({"deployment": plan.deployment, "key": plan.key, "discovery_digest": plan.discovery_digest, "operations": ops});
    (value, text)
}

/// Maps a prepare error to the CLI's, with its exit code and hints.
pub fn prepare_error(e: PrepareError) -> CliError {
    match e {
        PrepareError::Kube(k) => kube_error(&k),
        PrepareError::OpenStack(o) => os_error(&o),
        PrepareError::Journal(j) => j.into(),
        PrepareError::Plan(p) => CliError::usage(format!("failed to {p}")),
        PrepareError::Lease(l @ LeaseError::Timing { .. }) => CliError::usage(format!(
            "failed to {l}"
        ))
        .with_hint("pass a --request-timeout-s shorter than --lease-s, or a longer --lease-s"),
        PrepareError::Lease(l @ LeaseError::Interrupted { .. }) => {
            CliError::cluster(ExitCode::INTERRUPTED, format!("failed to {}", chain(&l)))
                .with_hint("nothing was changed; run the same command again to go on watching")
        }
        PrepareError::Lease(l @ LeaseError::Held { .. }) => {
            CliError::cluster(ExitCode::LOCKED, format!("failed to {}", chain(&l))).with_hint(
                "wait for the other run to finish; if it died, run again: its lease is taken over \
                 once it stays unchanged for its whole duration while this tool watches",
            )
        }
        PrepareError::Lease(l @ LeaseError::Api(_)) => CliError::new(
            ErrorKind::Cluster,
            ExitCode::FAILURE,
            format!("failed to {}", chain(&l)),
        )
        .with_hint(
            "the cluster lease is the coordination.k8s.io/v1 Lease kube-system/ovn-migrate: \
             check that the namespace exists and this kubeconfig may create and update Leases there",
        ),
        PrepareError::Run(r) => run_error(r),
        PrepareError::Cluster(m) => CliError::new(
            ErrorKind::Cluster,
            ExitCode::FAILURE,
            format!("failed to {m}"),
        ),
    }
}

/// Maps the driver's refusals to the CLI's.
fn run_error(e: RunError) -> CliError {
    let msg = format!("failed to {}", chain(&e));
    match e {
        RunError::Drifted { .. } => CliError::cluster(ExitCode::NEEDS_OPERATOR, msg).with_hint(
            "make a new plan: `ovn-migrate ovs prepare --new-plan` (with the same flags)",
        ),
        RunError::OptionsChanged { .. } => CliError::usage(msg).with_hint(
            "carry on the current run without these flags (`ovn-migrate ovs prepare resume`), or plan anew with `--new-plan`; \
             `ovn-migrate ovs prepare status` shows the current run",
        ),
        RunError::Load { .. } => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}
