//! The error mapping of the `kuryr cleanup` commands: each error with its
//! exit code and a hint saying what to do next (the lease's and the
//! clients' as the migration maps them).

use steps::kuryr::cleanup::collect::CollectError;
use steps::kuryr::cleanup::run::CleanupError;
use steps::kuryr::migrate::MigrateError;
use steps::workflow::RunError;

use crate::commands::kuryr::errors::{kube_error, migrate_error, os_error, run_error};
use crate::error::{CliError, chain};
use crate::exit::ExitCode;

/// Maps a cleanup error to the CLI's.
pub fn cleanup_error(e: CleanupError) -> CliError {
    match e {
        CleanupError::Kube(k) => kube_error(&k),
        CleanupError::OpenStack(o) => os_error(&o),
        CleanupError::Collect(CollectError::Kube(k)) => kube_error(&k),
        CleanupError::Collect(CollectError::OpenStack(o)) => os_error(&o),
        e @ CleanupError::Collect(_) => CliError::cluster(
            ExitCode::PRECHECK_FAILED,
            format!("failed to {}", chain(&e)),
        )
        .with_hint("nothing was changed; `ovn-migrate kuryr cleanup status` shows a cleanup that already ran"),
        e @ CleanupError::Select(_) => CliError::usage(format!("failed to {}", chain(&e)))
            .with_hint("`ovn-migrate kuryr cleanup plan` lists the kept foreign ports; nothing was changed"),
        CleanupError::Journal(j) => j.into(),
        CleanupError::Lease(l) => migrate_error(MigrateError::Lease(l)),
        CleanupError::Run(r @ RunError::Drifted { .. }) => CliError::cluster(
            ExitCode::NEEDS_OPERATOR,
            format!("failed to {}", chain(&r)),
        )
        .with_hint(
            "nothing was deleted; look at what changed with `ovn-migrate kuryr cleanup plan` (a new plan), then run it",
        ),
        CleanupError::Run(r @ RunError::OptionsChanged { .. }) => CliError::usage(format!(
            "failed to {}",
            chain(&r)
        ))
        .with_hint(
            "make a new plan with `ovn-migrate kuryr cleanup plan` and these flags; `ovn-migrate kuryr cleanup status` shows the current run",
        ),
        CleanupError::Run(r) => run_error(r),
    }
}
