//! The error mapping of `ovs fix`: the workflow's, the driver's, the
//! cluster's and the cloud's errors turned into the CLI's, each with its
//! exit code and a hint saying what to do next.

use steps::engine::lease::LeaseError;
use steps::kube::KubeError;
use steps::ovs::fix::{FIXABLE, FixError, PlanError};
use steps::workflow::RunError;

use crate::commands::kuryr::errors::os_error;
use crate::error::{CliError, ErrorKind, chain};
use crate::exit::ExitCode;

/// Maps a Kubernetes error (reading the OpenStackDeployment, or the lease) to the CLI's.
pub fn kube_error(e: &KubeError) -> CliError {
    let hint = "point --kubeconfig / KUBECONFIG (and --context) at the MOSK cluster, or pass \
                --no-deployment (settings from the flags, and a local lock instead of the cluster lease)";
    let base = crate::commands::kuryr::errors::kube_error(e);
    CliError::new(base.kind(), base.code(), base.message().to_string()).with_hint(hint)
}

/// Returns the hint naming the checks `ovs fix` remedies.
pub fn fixable_hint() -> String {
    format!(
        "the checks with a safe fix are: {} (--all-safe names them all)",
        FIXABLE.join(", ")
    )
}

/// Maps a planning error to the CLI's.
pub fn plan_error(e: PlanError) -> CliError {
    let msg = format!("failed to {e}");
    match e {
        PlanError::NoChecks | PlanError::Unknown(_) | PlanError::Manual(_) => {
            CliError::usage(msg).with_hint(fixable_hint())
        }
        PlanError::BadDns { .. } => CliError::usage(msg).with_hint(
            "give IP addresses with --dns (repeatable), or fix features.neutron.dns_servers in the OpenStackDeployment",
        ),
        PlanError::Undecided { .. } => CliError::cluster(ExitCode::PRECHECK_FAILED, msg)
            .with_hint("nothing was changed; `ovn-migrate ovs assess` shows what the check needs"),
    }
}

fn run_error(e: RunError) -> CliError {
    let msg = format!("failed to {}", chain(&e));
    match e {
        RunError::Drifted { .. } => CliError::cluster(ExitCode::NEEDS_OPERATOR, msg)
            .with_hint("run `ovn-migrate ovs fix --check …` again: it plans afresh"),
        RunError::OptionsChanged { .. } => CliError::usage(msg).with_hint(
            "finish the interrupted run first with `ovn-migrate ovs fix resume` \
             (`ovn-migrate ovs fix status` shows it), then run this one",
        ),
        RunError::Load { .. } => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

/// Maps a fix error to the CLI's, with its exit code and hints.
pub fn fix_error(e: FixError) -> CliError {
    match e {
        FixError::OpenStack(o) => os_error(&o),
        FixError::Kube(k) => kube_error(&k),
        FixError::Journal(j) => j.into(),
        FixError::Run(r) => run_error(r),
        FixError::Plan(p) => plan_error(p),
        FixError::Lease(l @ LeaseError::Timing { .. }) => CliError::usage(format!("failed to {l}"))
            .with_hint("pass a --request-timeout-s shorter than --lease-s, or a longer --lease-s"),
        FixError::Lease(l @ LeaseError::Interrupted { .. }) => {
            CliError::cluster(ExitCode::INTERRUPTED, format!("failed to {}", chain(&l)))
                .with_hint("nothing was changed; run the same command again to go on watching")
        }
        FixError::Lease(l) => CliError::cluster(ExitCode::LOCKED, format!("failed to {}", chain(&l)))
            .with_hint(
                "another ovn-migrate works on this cloud's cluster: wait for it to finish; if it died, \
                 run again (its lease is taken over once it stays unchanged for its whole duration)",
            ),
        FixError::Lock(l) => CliError::cluster(ExitCode::LOCKED, format!("failed to {}", chain(&l)))
            .with_hint("another `ovs fix` on this machine works on this cloud: wait for it to finish"),
    }
}
