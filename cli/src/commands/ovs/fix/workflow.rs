//! `ovs fix` as the CLI drives it ([`CliWorkflow`] for the [`FixSession`]):
//! a plan shown as the changes it makes, before → after, by check, with the
//! violations no operation remedies listed after them; the same rendering
//! serves `--dry-run`.

use serde_json::{Value, json};
use steps::ovs::fix::{Change, FixError, FixPlan, FixSession};

use super::errors::fix_error;
use crate::driver::CliWorkflow;
use crate::error::CliError;
use crate::exit::ExitCode;

impl CliWorkflow for FixSession {
    const COMMAND: &'static str = "ovs fix";
    const COMPLETED: &'static str = "fixes applied";

    fn cluster_id(&self) -> &str {
        &self.cloud_id
    }

    fn anchor_client(&self) -> Option<&steps::kube::KubeClient> {
        self.kube.as_ref()
    }

    fn show_plan(plan: &FixPlan) -> (Value, String) {
        render(plan, "Fixes")
    }

    fn error(e: FixError) -> CliError {
        fix_error(e)
    }

    /// Exit 1 when the plan left violations it could not remedy, listed.
    fn completed_code(plan: &FixPlan) -> (i32, Option<String>) {
        if plan.left.is_empty() {
            return (ExitCode::OK, None);
        }
        let mut t = format!(
            "{} violation{} not fixed automatically:",
            plan.left.len(),
            if plan.left.len() == 1 {
                " was"
            } else {
                "s were"
            }
        );
        for l in &plan.left {
            t.push_str(&format!("\n  {} {}: {}", l.check, l.resource, l.why));
        }
        (ExitCode::FAILURE, Some(t))
    }
}

/// Returns a plan as JSON and as text headed `title` (`Fixes`, `Dry run`).
pub fn render(plan: &FixPlan, title: &str) -> (Value, String) {
    let changes: Vec<Change> = plan.operations.iter().map(|o| o.change()).collect();
    let digest = &plan.discovery_digest[..12.min(plan.discovery_digest.len())];
    let mut text = format!(
        "{title}: {} change{} for {} (discovery {digest}, Geneve MTU {}):\n",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        plan.checks.join(", "),
        plan.target_mtu
    );
    let mut check = "";
    for c in &changes {
        if c.check != check {
            check = &c.check;
            text.push_str(&format!("  {check}\n"));
        }
        text.push_str(&format!(
            "    {}  {}: {} → {}\n",
            c.object, c.field, c.before, c.after
        ));
    }
    if changes.is_empty() {
        text.push_str("  nothing to change\n");
    }
    if let Some(p) = &plan.project {
        text.push_str(&format!(
            "Only objects of project {p}: {} change{} in other projects left out\n",
            plan.outside_project,
            if plan.outside_project == 1 { "" } else { "s" }
        ));
    }
    if !plan.left.is_empty() {
        text.push_str(&format!("Not fixed automatically ({}):\n", plan.left.len()));
        for l in &plan.left {
            text.push_str(&format!("  {} {}: {}\n", l.check, l.resource, l.why));
        }
    }
    let doc = json!({
        "checks": plan.checks,
        "discovery_digest": plan.discovery_digest,
        "target_mtu": plan.target_mtu,
        "changes": changes,
        "left": plan.left,
        "project": plan.project,
        "outside_project": plan.outside_project,
    });
    (doc, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use steps::ovs::fix::Left;
    use steps::ovs::fix::Operation;
    use steps::ovs::fix::mtu::LowerMtu;

    #[test]
    fn changes_read_before_to_after_by_check() {
        let plan = FixPlan {
            discovery_digest: "0123456789abcdef".into(),
            checks: vec!["networks_mtu_size_check".into()],
            target_mtu: 1442,
            operations: vec![Operation::LowerMtu(LowerMtu {
                check: "networks_mtu_size_check".into(),
                network_id: "n-1".into(),
                name: "legacy".into(),
                network_type: "vxlan".into(),
                planned_mtu: 1450,
                target_mtu: 1442,
            })],
            left: vec![Left {
                check: "networks_mtu_size_check".into(),
                resource: "n-2".into(),
                why: "because".into(),
            }],
            project: None,
            outside_project: 0,
        };
        let (doc, text) = render(&plan, "Dry run");
        assert_eq!(
            text,
            "Dry run: 1 change for networks_mtu_size_check (discovery 0123456789ab, Geneve MTU 1442):\n  \
             networks_mtu_size_check\n    networks/n-1 (legacy)  mtu, tags: 1450 (vxlan) → 1442, tagged \
             ovn-migrate:adapted-mtu\nNot fixed automatically (1):\n  networks_mtu_size_check n-2: because\n"
        );
        assert_eq!(doc["changes"][0]["before"], "1450 (vxlan)");
        assert_eq!(doc["left"][0]["resource"], "n-2");
    }
}
