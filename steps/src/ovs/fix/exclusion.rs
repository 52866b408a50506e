//! What keeps a second `ovs fix` off the same cloud while one acts.
//!
//! With a kubeconfig (MOSK's management cluster), the cluster lease
//! (`kube-system/ovn-migrate`, [`crate::kube::lease`]) keeps other machines
//! out, as for the migration. Without one there is no shared place to
//! coordinate, so a local lock is taken: an `flock` on `ovs-lock/lock` in
//! the cloud's state directory (beside its runs' journals), which keeps out
//! every other run of this machine on this cloud, whatever its journal;
//! another machine is not kept out, and `--help` says so.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use crate::engine::Fence;
use crate::kube::lease::{LeaseGuard, LeaseLost};
use crate::workflow::Held;

/// The cluster lease, as the driver holds it.
pub struct Lease(pub LeaseGuard);

impl Fence for Lease {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.0.ensure_held()
    }
}

impl Held for Lease {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.release().await })
    }
}

/// The local lock: held until released (or the process dies, which frees the `flock`).
pub struct LocalLock {
    /// Held, not read: dropping it releases the `flock`.
    _guard: journal::lock::LockGuard,
}

impl Fence for LocalLock {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        // An flock is held until its file is closed: nothing to renew.
        Ok(())
    }
}

impl Held for LocalLock {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        drop(self);
        Box::pin(async {})
    }
}

/// Returns the local lock's directory for runs whose journals are in `journal_dir`'s parent.
pub fn local_lock_dir(journal_dir: &Path) -> PathBuf {
    journal_dir.parent().unwrap_or(journal_dir).join("ovs-lock")
}

/// Takes the local lock (a dead holder's is taken over, as the journal's is).
pub fn take_local(journal_dir: &Path, tool_version: &str) -> Result<LocalLock, journal::LockError> {
    let dir = local_lock_dir(journal_dir);
    std::fs::create_dir_all(&dir).map_err(|source| journal::LockError::Io {
        what: "create the local lock's directory",
        path: dir.clone(),
        source,
    })?;
    let me = journal::lock::Holder::me(tool_version);
    journal::lock::acquire(&dir, &me, None).map(|g| LocalLock { _guard: g })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_releases() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("run-a");
        let b = tmp.path().join("run-b");
        let first = take_local(&a, "t").unwrap();
        assert!(first.ensure_held().is_ok());
        assert_eq!(local_lock_dir(&a), local_lock_dir(&b));
        // The flock is per open file: another open in this process is refused too.
        let e = take_local(&b, "t").err().expect("refused");
        assert!(matches!(e, journal::LockError::Held { .. }), "{e}");
        drop(first);
        assert!(take_local(&b, "t").is_ok());
    }
}
