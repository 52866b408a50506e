//! The cleanup as the CLI drives it ([`CliWorkflow`] for the
//! [`CleanupSession`]): its plan shown as every object to delete and every
//! object kept on purpose, by kind, with counts and reasons, and the
//! digests; its failed precheck shown as findings; its errors mapped.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use steps::kuryr::Finding;
use steps::kuryr::cleanup::run::{CleanupError, CleanupPlan, CleanupSession};
use steps::kuryr::cleanup::select::{Entry, K8sAction, Selection};

use super::errors::cleanup_error;
use crate::driver::CliWorkflow;
use crate::error::CliError;

impl CliWorkflow for CleanupSession {
    const COMMAND: &'static str = "kuryr cleanup";
    const COMPLETED: &'static str = "cleanup completed";

    fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn show_plan(plan: &CleanupPlan) -> (Value, String) {
        show_plan(plan)
    }

    fn error(e: CleanupError) -> CliError {
        cleanup_error(e)
    }

    fn show_check(detail: &str) -> String {
        findings_text(detail)
    }
}

fn short(d: &str) -> &str {
    &d[..12.min(d.len())]
}

fn entry_json(e: &Entry) -> Value {
    json!({
        "kind": e.kind.to_string(),
        "id": e.id,
        "name": e.name,
        "parent": e.parent,
        "reason": e.reason.to_string(),
        "with_another_object": e.implicit,
    })
}

fn k8s_line(a: &K8sAction) -> String {
    match a {
        K8sAction::RemoveFinalizer {
            kind,
            namespace,
            name,
            finalizer,
            ..
        } => format!("remove finalizer {finalizer} from {kind:?} {namespace}/{name}"),
        K8sAction::DeleteGatewayService => {
            "delete service openshift-kuryr/service-subnet-gateway-ip".into()
        }
        K8sAction::DeleteKuryrNamespace => "delete namespace openshift-kuryr".into(),
        K8sAction::DeleteKuryrNetwork { namespace, name } => {
            format!("delete KuryrNetwork {namespace}/{name}")
        }
        K8sAction::DeleteCrd { name } => format!("delete CRD {name}"),
    }
}

/// Returns the counts by kind: (to delete, of which with another object, kept).
pub fn counts_json(x: &Selection) -> Value {
    let mut m = serde_json::Map::new();
    for (kind, (d, i, k)) in x.counts() {
        m.insert(
            kind.to_string(),
            json!({"delete": d, "with_another_object": i, "keep": k}),
        );
    }
    Value::Object(m)
}

/// Returns the lines of what is deleted and kept: counts by kind, then each object with its reason.
pub fn selection_lines(x: &Selection) -> Vec<String> {
    let mut out = Vec::new();
    for (kind, (d, i, k)) in x.counts() {
        out.push(format!(
            "{kind}: {d} to delete ({i} with another object), {k} kept"
        ));
    }
    let mut k8s: BTreeMap<&'static str, usize> = BTreeMap::new();
    for a in &x.k8s {
        *k8s.entry(match a {
            K8sAction::RemoveFinalizer { .. } => "finalizers to remove",
            K8sAction::DeleteGatewayService => "gateway service to delete",
            K8sAction::DeleteKuryrNamespace => "namespace to delete",
            K8sAction::DeleteKuryrNetwork { .. } => "KuryrNetwork CRs to delete",
            K8sAction::DeleteCrd { .. } => "CRDs to delete",
        })
        .or_default() += 1;
    }
    for (what, n) in k8s {
        out.push(format!("Kubernetes: {n} {what}"));
    }
    for (verb, list) in [("delete", &x.delete), ("keep  ", &x.keep)] {
        for e in list {
            let parent = e
                .parent
                .as_deref()
                .map(|p| format!(" on {p}"))
                .unwrap_or_default();
            out.push(format!(
                "{verb} {} {} {:?}{parent}: {}",
                e.kind, e.id, e.name, e.reason
            ));
        }
    }
    for a in &x.k8s {
        out.push(k8s_line(a));
    }
    out
}

/// Returns the plan as JSON and as text.
pub fn show_plan(plan: &CleanupPlan) -> (Value, String) {
    let x = &plan.selection;
    let failed: Vec<&Finding> = plan.findings.iter().filter(|f| !f.passed).collect();
    let mut text = format!(
        "Cleanup plan for cluster {} (snapshot {}, plan {}, discovery {}):\n",
        plan.cluster_id,
        short(&plan.snapshot_digest),
        short(&plan.graph_digest),
        short(&plan.discovery_digest),
    );
    for f in &failed {
        text.push_str(&format!(
            "  ✗ precheck {}: {} (hint: {})\n",
            f.name, f.detail, f.hint
        ));
    }
    for l in selection_lines(x) {
        text.push_str(&format!("  {l}\n"));
    }
    let ops = plan.graph().map_or(0, |g| g.nodes.len());
    text.push_str(&format!(
        "  {ops} operations, {} API calls (polls included), the longest chain {} calls",
        plan.calls, plan.critical_path
    ));
    let value = json!({
        "cluster_id": plan.cluster_id,
        "discovery_digest": plan.discovery_digest,
        "snapshot_digest": plan.snapshot_digest,
        "selection_digest": plan.selection_digest,
        "plan_digest": plan.graph_digest,
        "counts": counts_json(x),
        "delete": x.delete.iter().map(entry_json).collect::<Vec<_>>(),
        "keep": x.keep.iter().map(entry_json).collect::<Vec<_>>(),
        "kubernetes": x.k8s.iter().map(k8s_line).collect::<Vec<_>>(),
        "operations": ops,
        "calls": plan.calls,
        "critical_path_calls": plan.critical_path,
        "precheck_failed": failed,
    });
    (value, text)
}

/// Renders precheck findings (JSON) as lines, when they parse.
fn findings_text(detail: &str) -> String {
    let Ok(findings) = serde_json::from_str::<Vec<Finding>>(detail) else {
        return detail.to_string();
    };
    let mut out = String::new();
    for f in findings.iter().filter(|f| !f.passed) {
        out.push_str(&format!("\n  ✗ {}: {}", f.name, f.detail));
        if !f.objects.is_empty() {
            out.push_str(&format!(" ({})", f.objects.join(", ")));
        }
        if !f.hint.is_empty() {
            out.push_str(&format!("\n      hint: {}", f.hint));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use steps::kuryr::cleanup::select::{ObjKind, Reason};

    fn e(kind: ObjKind, id: &str, reason: Reason) -> Entry {
        Entry {
            kind,
            id: id.into(),
            name: format!("{id}-name"),
            parent: None,
            reason,
            implicit: false,
        }
    }

    #[test]
    fn every_deleted_and_kept_object_is_listed_with_its_reason_and_counted() {
        let x = Selection {
            tag: "openshiftClusterID=c1".into(),
            delete: vec![e(ObjKind::Port, "p1", Reason::TaggedPort)],
            keep: vec![e(ObjKind::Port, "vm", Reason::ForeignPort)],
            k8s: vec![K8sAction::DeleteCrd {
                name: "kuryrports.openstack.org".into(),
            }],
        };
        let lines = selection_lines(&x);
        assert_eq!(
            lines[0],
            "port: 1 to delete (0 with another object), 1 kept"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("delete port p1") && l.contains("tagged")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("keep   port vm") && l.contains("--delete-foreign-port")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == "delete CRD kuryrports.openstack.org")
        );
        assert_eq!(counts_json(&x)["port"]["keep"], 1);
    }
}
