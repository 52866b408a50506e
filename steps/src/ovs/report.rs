//! The assessment's outputs: the reference's YAML report and the table people read.
//!
//! The YAML has the reference's shape, one key per check in run order:
//! `{id: {state, description, violations}}`, `state` being `OK`, `WARNING`
//! (a failed major check) or `ERROR` (a failed critical one). The table
//! groups failed checks by severity, critical first, with each check's
//! violating IDs and its remediation, then lists the checks that passed.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::checks::{CheckResult, Severity};

/// How many IDs of one check the table shows before "… and N more".
pub const TABLE_IDS: usize = 25;

struct Entry<'a> {
    state: &'static str,
    description: &'a str,
    violations: &'a [String],
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("state", self.state)?;
        m.serialize_entry("description", self.description)?;
        m.serialize_entry("violations", self.violations)?;
        m.end()
    }
}

struct Ordered<'a>(&'a [CheckResult]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for r in self.0 {
            m.serialize_entry(
                &r.id,
                &Entry {
                    state: r.state(),
                    description: &r.description,
                    violations: &r.violations,
                },
            )?;
        }
        m.end()
    }
}

/// Returns the YAML report `{id: {state, description, violations}}`.
pub fn yaml(results: &[CheckResult]) -> Result<String, String> {
    serde_saphyr::to_string(&Ordered(results)).map_err(|e| format!("write the YAML report: {e}"))
}

/// Returns true when a critical check failed (the assessment's exit code is then non-zero).
pub fn any_critical(results: &[CheckResult]) -> bool {
    results
        .iter()
        .any(|r| !r.passed && r.severity == Severity::Critical)
}

/// Returns the human table.
pub fn table(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for severity in [Severity::Critical, Severity::Major] {
        let failed: Vec<&CheckResult> = results
            .iter()
            .filter(|r| !r.passed && r.severity == severity)
            .collect();
        if failed.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{} ({} failed)\n",
            severity.name().to_uppercase(),
            failed.len()
        ));
        for r in failed {
            let what = match &r.error {
                Some(_) => "could not decide".to_string(),
                None => format!(
                    "{} violation{}",
                    r.violations.len(),
                    if r.violations.len() == 1 { "" } else { "s" }
                ),
            };
            out.push_str(&format!("  {:<7} {}  {what}\n", r.state(), r.id));
            out.push_str(&format!("          {}\n", r.description));
            for v in r.violations.iter().take(TABLE_IDS) {
                out.push_str(&format!("          - {v}\n"));
            }
            if r.violations.len() > TABLE_IDS {
                out.push_str(&format!(
                    "          … and {} more (all of them in --report FILE or --output json)\n",
                    r.violations.len() - TABLE_IDS
                ));
            }
            if r.error.is_none() {
                out.push_str(&format!("          fix: {}\n", r.remediation));
            }
        }
        out.push('\n');
    }
    let passed: Vec<&str> = results
        .iter()
        .filter(|r| r.passed)
        .map(|r| r.id.as_str())
        .collect();
    if !passed.is_empty() {
        out.push_str(&format!("PASSED ({})\n", passed.len()));
        for id in passed {
            out.push_str(&format!("  OK      {id}\n"));
        }
        out.push('\n');
    }
    let count = |s: Severity| {
        results
            .iter()
            .filter(|r| !r.passed && r.severity == s)
            .count()
    };
    out.push_str(&format!(
        "{} checks: {} critical and {} major failed, {} passed\n",
        results.len(),
        count(Severity::Critical),
        count(Severity::Major),
        results.iter().filter(|r| r.passed).count()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, severity: Severity, violations: &[&str]) -> CheckResult {
        CheckResult {
            id: id.into(),
            severity,
            reference: true,
            passed: violations.is_empty(),
            violations: violations.iter().map(|v| v.to_string()).collect(),
            description: format!("{id} means trouble"),
            remediation: format!("fix {id}"),
            error: None,
        }
    }

    fn sample() -> Vec<CheckResult> {
        vec![
            result("b_check", Severity::Major, &["net-1"]),
            result("a_check", Severity::Critical, &["port-1", "port-2"]),
            result("c_check", Severity::Critical, &[]),
        ]
    }

    #[test]
    fn yaml_has_the_reference_shape_in_run_order() {
        let y = yaml(&sample()).unwrap();
        let parsed: serde_json::Value = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "b_check": {"state": "WARNING", "description": "b_check means trouble", "violations": ["net-1"]},
                "a_check": {"state": "ERROR", "description": "a_check means trouble", "violations": ["port-1", "port-2"]},
                "c_check": {"state": "OK", "description": "c_check means trouble", "violations": []},
            })
        );
        assert!(
            y.find("b_check").unwrap() < y.find("a_check").unwrap(),
            "{y}"
        );
    }

    #[test]
    fn table_puts_critical_first_with_ids_and_remediation() {
        let t = table(&sample());
        let crit = t.find("CRITICAL (1 failed)").unwrap();
        let major = t.find("MAJOR (1 failed)").unwrap();
        assert!(crit < major, "{t}");
        assert!(t.contains("  ERROR   a_check  2 violations\n"), "{t}");
        assert!(
            t.contains("          - port-2\n") && t.contains("fix: fix a_check"),
            "{t}"
        );
        assert!(t.contains("  OK      c_check\n"));
        assert!(
            t.ends_with("3 checks: 1 critical and 1 major failed, 1 passed\n"),
            "{t}"
        );
        assert!(any_critical(&sample()));
        assert!(!any_critical(&sample()[..1]));
    }

    #[test]
    fn long_lists_are_cut_in_the_table_only() {
        let ids: Vec<String> = (0..30).map(|i| format!("p{i:02}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let r = vec![result("x_check", Severity::Critical, &refs)];
        let t = table(&r);
        assert!(t.contains("- p24\n") && !t.contains("- p25\n"), "{t}");
        assert!(t.contains("… and 5 more"));
        assert!(yaml(&r).unwrap().contains("p29"));
    }
}
