//! The migration phase as the CLI drives it: how its plan and failed
//! prechecks are shown, and its errors mapped ([`CliWorkflow`] for the
//! [`Session`]).

use serde::Serialize;
use serde_json::json;
use steps::kuryr::Plan;
use steps::kuryr::migrate::{MigrateError, Session};

use super::errors::migrate_error;
use crate::driver::CliWorkflow;
use crate::error::CliError;

impl CliWorkflow for Session {
    const COMMAND: &'static str = "kuryr";
    const COMPLETED: &'static str = "migration phase completed";

    fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn anchor_client(&self) -> Option<&steps::kube::KubeClient> {
        Some(&self.kube)
    }

    fn show_plan(plan: &Plan) -> (serde_json::Value, String) {
        show_plan(plan)
    }

    fn error(e: MigrateError) -> CliError {
        migrate_error(e)
    }

    fn show_check(detail: &str) -> String {
        pretty_findings(detail)
    }
}

/// One planned operation, as shown to the user.
#[derive(Serialize)]
struct PlannedOp<'a> {
    step: String,
    action: &'static str,
    target: &'a str,
    key: &'a str,
}

/// Returns the plan as JSON and as text.
pub fn show_plan(plan: &Plan) -> (serde_json::Value, String) {
    let ops: Vec<PlannedOp> = plan
        .operations
        .iter()
        .map(|o| PlannedOp {
            step: o.step.to_string(),
            action: steps::kuryr::migrate::action_name(&o.action),
            target: &o.target,
            key: &o.key,
        })
        .collect();
    let mut text = format!(
        "Plan for cluster {} ({} operations, discovery {}):\n",
        plan.cluster_id,
        ops.len(),
        &plan.discovery_digest[..12.min(plan.discovery_digest.len())]
    );
    for o in &ops {
        text.push_str(&format!("  {:<4} {:<28} {}\n", o.step, o.action, o.target));
    }
    let value = json!({"cluster_id": plan.cluster_id, "discovery_digest": plan.discovery_digest, "operations": ops});
    (value, text)
}

/// Renders precheck findings (JSON) as lines, when they parse.
fn pretty_findings(detail: &str) -> String {
    let Ok(findings) = serde_json::from_str::<Vec<steps::kuryr::Finding>>(detail) else {
        return detail.to_string();
    };
    let mut out = String::new();
    for f in findings.iter().filter(|f| !f.passed) {
        out.push_str(&format!(
            "\n  ✗ {} [{:?}]: {}",
            f.name, f.severity, f.detail
        ));
        if !f.objects.is_empty() {
            out.push_str(&format!(" ({})", f.objects.join(", ")));
        }
        if !f.hint.is_empty() {
            out.push_str(&format!("\n      hint: {}", f.hint));
        }
    }
    out
}
