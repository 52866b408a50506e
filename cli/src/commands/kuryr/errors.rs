//! The error mapping of the `kuryr` commands: the migration's, the
//! driver's, the Kubernetes client's and the OpenStack client's errors
//! turned into the CLI's, each with its exit code and a hint saying what to
//! do next.

use steps::engine::lease::LeaseError;
use steps::kube::{ErrorKind as KubeKind, KubeError};
use steps::kuryr::migrate::MigrateError;
use steps::openstack::Error as OsError;
use steps::workflow::RunError;

use crate::error::{CliError, ErrorKind, chain};
use crate::exit::ExitCode;

/// Maps an OpenStack configuration or connection error to the CLI's (its
/// whole source chain in the message).
pub fn os_error(e: &OsError) -> CliError {
    let msg = format!("failed to {}", chain(e));
    match e {
        OsError::NoCloudsFile { .. } | OsError::CloudNotFound { .. } | OsError::ReadConfig { .. } | OsError::ParseConfig { .. } | OsError::MissingConfig(_) => {
            CliError::config(msg).with_hint("point --os-cloud / OS_CLOUD at a cloud in clouds.yaml (OS_CLIENT_CONFIG_FILE), or set OS_AUTH_URL and friends")
        }
        OsError::Unreachable { .. } => CliError::cluster(ExitCode::UNREACHABLE, msg)
            .with_hint("check that the auth_url in clouds.yaml (or OS_AUTH_URL) is right and reachable from here"),
        OsError::Unauthorized { .. } => CliError::config(msg).with_hint(
            "fix the credentials of the cloud named by --os-cloud / OS_CLOUD in clouds.yaml (OS_CLIENT_CONFIG_FILE), or the OS_* variables",
        ),
        _ => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

pub fn kube_error(e: &KubeError) -> CliError {
    let msg = format!("failed to {}", chain(e));
    match e {
        KubeError::KubeconfigMissing { .. }
        | KubeError::KubeconfigUnreadable { .. }
        | KubeError::KubeconfigParse { .. }
        | KubeError::ContextNotFound { .. }
        | KubeError::NoCurrentContext { .. }
        | KubeError::ClientConfig { .. } => CliError::config(msg)
            .with_hint("point --kubeconfig / KUBECONFIG (and --context) at the cluster to migrate"),
        KubeError::Unreachable { .. } | KubeError::Transport { .. } => {
            CliError::cluster(ExitCode::UNREACHABLE, msg).with_hint(
                "make sure the API server is up, or point --kubeconfig / KUBECONFIG (and --context) at the cluster to migrate",
            )
        }
        _ if matches!(e.kind(), KubeKind::Unauthorized | KubeKind::Forbidden) => {
            CliError::config(msg).with_hint("log in again (oc login) as a cluster-admin")
        }
        _ => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

/// Maps a migration error to the CLI's, with its exit code and hints.
pub fn migrate_error(e: MigrateError) -> CliError {
    match e {
        MigrateError::Kube(k) => kube_error(&k),
        MigrateError::OpenStack(o) => os_error(&o),
        MigrateError::Journal(j) => j.into(),
        MigrateError::Lease(l @ LeaseError::Timing { .. }) => CliError::usage(format!(
            "failed to {l}"
        ))
        .with_hint("pass a --request-timeout-s shorter than --lease-s, or a longer --lease-s"),
        MigrateError::Lease(l @ LeaseError::Interrupted { .. }) => {
            CliError::cluster(ExitCode::INTERRUPTED, format!("failed to {}", chain(&l)))
                .with_hint("nothing was changed; run the same command again to go on watching")
        }
        MigrateError::Lease(l @ LeaseError::Held { .. }) => {
            CliError::cluster(ExitCode::LOCKED, format!("failed to {}", chain(&l))).with_hint(
                "wait for the other run to finish; if it died, run again: its lease is taken over \
                 once it stays unchanged for its whole duration while this tool watches",
            )
        }
        MigrateError::Lease(l) => {
            CliError::cluster(ExitCode::LOCKED, format!("failed to {}", chain(&l))).with_hint(
                "wait for the other run to finish, or for its lease to expire if it died",
            )
        }
        MigrateError::Run(r) => run_error(r),
        e @ MigrateError::Plan(steps::kuryr::plan::PlanError::Identifiers(_)) => CliError::cluster(
            ExitCode::PRECHECK_FAILED,
            format!("failed to {}", chain(&e)),
        )
        .with_hint("nothing was changed"),
        e @ (MigrateError::Plan(_) | MigrateError::Template(_) | MigrateError::Settings(_)) => {
            CliError::usage(format!("failed to {}", chain(&e)))
        }
        e @ MigrateError::Cluster(_) => CliError::new(
            ErrorKind::Cluster,
            ExitCode::FAILURE,
            format!("failed to {}", chain(&e)),
        ),
    }
}

/// Maps the driver's refusals to the CLI's.
pub fn run_error(e: RunError) -> CliError {
    let msg = format!("failed to {}", chain(&e));
    match e {
        RunError::Drifted { .. } => CliError::cluster(ExitCode::NEEDS_OPERATOR, msg).with_hint(
            "make a new plan with `ovn-migrate kuryr plan` (and the same migration flags), then run it",
        ),
        RunError::OptionsChanged { .. } => CliError::usage(msg).with_hint(
            "make a new plan with `ovn-migrate kuryr plan` and these flags; \
             `ovn-migrate kuryr status` shows the current run",
        ),
        RunError::Load { .. } => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}
