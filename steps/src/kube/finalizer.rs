//! "Remove finalizer F from kind K", exactly as the spec defines it.
//!
//! For each object carrying F, send the JSON patch
//! `[{"op":"test","path":"/metadata/finalizers/<i>","value":"F"},
//! {"op":"remove","path":"/metadata/finalizers/<i>"}]`. A 404, or F already
//! absent, is done; a failed `test` (422) or a conflict (409) means someone
//! else changed the list: re-read and retry. Unlike the documented
//! `grep -v | oc replace`, only the exact string at the tested index goes.
//! Building the patch is pure ([`removal_patch`]); the loop is the I/O edge.

use serde_json::{Value, json};

use super::client::KubeClient;
use super::error::{ErrorKind, KubeError};
use super::ops::{get, json_patch, list_all};
use super::resources::{Kind, ObjectRef};

/// How many read-patch rounds before giving up on a contended object.
pub const FINALIZER_ATTEMPTS: u32 = 5;

/// How removing one finalizer from one object ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerOutcome {
    /// The finalizer was removed by this call.
    Removed,
    /// The object did not carry the finalizer.
    Absent,
    /// The object does not exist (404).
    Gone,
}

/// Returns the object's finalizers (empty when there are none).
pub fn finalizers(object: &Value) -> Vec<&str> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Returns the test+remove JSON patch for `finalizer`, or `None` when the object lacks it.
pub fn removal_patch(object: &Value, finalizer: &str) -> Option<Value> {
    let index = finalizers(object).iter().position(|f| *f == finalizer)?;
    let path = format!("/metadata/finalizers/{index}");
    Some(json!([
        {"op": "test", "path": path, "value": finalizer},
        {"op": "remove", "path": path},
    ]))
}

/// Returns the references of the objects in `items` that carry `finalizer`.
pub fn carrying(kind: Kind, items: &[Value], finalizer: &str) -> Vec<ObjectRef> {
    items
        .iter()
        .filter(|o| finalizers(o).contains(&finalizer))
        .filter_map(|o| ObjectRef::of(kind, o))
        .collect()
}

/// Removes `finalizer` from one object, re-reading and retrying on races.
pub async fn remove_finalizer(
    kc: &KubeClient,
    target: &ObjectRef,
    finalizer: &str,
) -> Result<FinalizerOutcome, KubeError> {
    for _ in 0..FINALIZER_ATTEMPTS {
        let Some(object) = get(kc, target).await? else {
            return Ok(FinalizerOutcome::Gone);
        };
        let Some(patch) = removal_patch(&object, finalizer) else {
            return Ok(FinalizerOutcome::Absent);
        };
        match json_patch(kc, target, &patch).await {
            Ok(_) => return Ok(FinalizerOutcome::Removed),
            Err(e) => match e.kind() {
                ErrorKind::NotFound => return Ok(FinalizerOutcome::Gone),
                ErrorKind::Invalid | ErrorKind::Conflict => continue,
                _ => return Err(e),
            },
        }
    }
    Err(KubeError::FinalizerContended {
        finalizer: finalizer.to_string(),
        target: target.to_string(),
        attempts: FINALIZER_ATTEMPTS,
    })
}

/// Counts of a cluster-wide finalizer removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinalizerSweep {
    /// Objects this call removed the finalizer from.
    pub removed: usize,
    /// Objects that lost the finalizer or vanished before we patched them.
    pub already_done: usize,
}

/// Lists `kind` cluster-wide and removes `finalizer` from every object carrying it.
pub async fn remove_finalizer_everywhere(
    kc: &KubeClient,
    kind: Kind,
    finalizer: &str,
) -> Result<FinalizerSweep, KubeError> {
    let items = list_all(kc, kind, None, None).await?;
    let mut sweep = FinalizerSweep::default();
    for target in carrying(kind, &items, finalizer) {
        match remove_finalizer(kc, &target, finalizer).await? {
            FinalizerOutcome::Removed => sweep.removed += 1,
            FinalizerOutcome::Absent | FinalizerOutcome::Gone => sweep.already_done += 1,
        }
    }
    Ok(sweep)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "kuryr.openstack.org/pod-finalizer";

    fn pod(finalizers: &[&str]) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "finalizers": finalizers}})
    }

    #[test]
    fn patch_tests_then_removes_at_the_index() {
        let obj = pod(&["a", F, "b"]);
        let patch = removal_patch(&obj, F).unwrap();
        assert_eq!(
            patch,
            json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": F},
                {"op": "remove", "path": "/metadata/finalizers/1"},
            ])
        );
        let parsed: json_patch::Patch = serde_json::from_value(patch).unwrap();
        let mut doc = obj.clone();
        json_patch::patch(&mut doc, &parsed).unwrap();
        assert_eq!(finalizers(&doc), vec!["a", "b"]);
    }

    #[test]
    fn absent_finalizer_needs_no_patch() {
        assert!(removal_patch(&pod(&["a"]), F).is_none());
        assert!(removal_patch(&json!({"metadata": {"name": "x"}}), F).is_none());
    }

    #[test]
    fn only_the_exact_string_matches() {
        let longer = format!("{F}-extra");
        assert!(removal_patch(&pod(&[&longer]), F).is_none());
    }

    #[test]
    fn stale_patch_fails_its_test_after_a_concurrent_change() {
        let before = pod(&["a", F]);
        let patch: json_patch::Patch =
            serde_json::from_value(removal_patch(&before, F).unwrap()).unwrap();
        let mut after = pod(&[F]);
        assert!(json_patch::patch(&mut after, &patch).is_err());
        assert_eq!(finalizers(&after), vec![F]);
    }

    #[test]
    fn carrying_selects_objects_with_the_finalizer() {
        let mut other = pod(&["a"]);
        other["metadata"]["name"] = json!("q");
        let refs = carrying(Kind::Pod, &[pod(&[F]), other], F);
        assert_eq!(refs, vec![ObjectRef::namespaced(Kind::Pod, "ns", "p")]);
    }
}
