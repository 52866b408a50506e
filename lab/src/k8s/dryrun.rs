//! `dryRun=All`: a write that is validated and answered but not persisted.
//!
//! [`Store::scratch`] copies the store's state (objects are shared `Arc`s, so
//! this is a copy of the indexes, not of the objects) into a store of its own
//! with its own change channels: the server runs the request's verb on that
//! copy with the same code as a real write, answers its result, and drops the
//! copy. Nothing is published to watchers, no resourceVersion is taken from
//! the real store, and controllers never see it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::store::{State, Store};

impl Store {
    /// Returns a private copy of this store for one dry-run request.
    pub fn scratch(&self) -> Store {
        let st = self.lock();
        let (events, _) = broadcast::channel(16);
        let (changed, changes) = watch::channel(st.rv);
        let copy = State {
            rv: st.rv,
            objects: st.objects.clone(),
            uids: st.uids.clone(),
            dependents: st.dependents.clone(),
            ns_counts: st.ns_counts.clone(),
            history: VecDeque::new(),
            events,
            changed,
            dry_run: true,
        };
        Store::from_parts(Arc::new(Mutex::new(copy)), changes)
    }
}

/// Shapes a dry-run answer as kube-apiserver does: a created object has no
/// resourceVersion yet, a changed one keeps the stored one (`before`).
pub fn answer(mut obj: Value, before: Option<&Value>) -> Value {
    let rv = before
        .and_then(|b| b.pointer("/metadata/resourceVersion"))
        .cloned();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        match rv {
            Some(rv) => m.insert("resourceVersion".into(), rv),
            None => m.remove("resourceVersion"),
        };
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scratch_writes_do_not_reach_the_store() {
        let store = Store::new();
        store
            .seed(vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}),
            ])
            .unwrap();
        let rv = store.resource_version();
        let mut rx = store.subscribe();
        let s = store.scratch();
        let made = s
            .create("configmaps", "d", json!({"metadata": {"name": "c"}}))
            .unwrap();
        assert_eq!(
            answer(made, None).pointer("/metadata/resourceVersion"),
            None
        );
        s.delete("namespaces", "", "d").unwrap();
        assert!(store.get("configmaps", "d", "c").is_err());
        assert!(
            store.get("namespaces", "", "d").unwrap()["metadata"]
                .get("deletionTimestamp")
                .is_none()
        );
        assert_eq!(store.resource_version(), rv);
        assert!(rx.try_recv().is_err(), "nothing published");
    }
}
