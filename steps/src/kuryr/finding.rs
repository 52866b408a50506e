//! The result of one check: a name, pass or fail, severity, objects and a hint.
//!
//! Precheck (M0) and verify (M10) return lists of findings; the CLI renders
//! them and the engine stops on a failed blocker. A finding names the
//! offending objects so the operator knows where to look, and its hint says
//! what to do.

use serde::{Deserialize, Serialize};

/// How much a failed finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// For the record only.
    Info,
    /// The migration can go on; the operator should know.
    Warning,
    /// The migration must not go on.
    Blocker,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable short name, e.g. `nodes-ready`.
    pub name: String,
    /// Whether the check passed.
    pub passed: bool,
    /// How much a failure matters.
    pub severity: Severity,
    /// The offending (or, for informational findings, the concerned) objects.
    pub objects: Vec<String>,
    /// What was found, one line.
    pub detail: String,
    /// What the operator should do; empty when passed.
    pub hint: String,
}

impl Finding {
    /// Returns a passed finding.
    pub fn pass(name: &str, severity: Severity, detail: impl Into<String>) -> Finding {
        Finding {
            name: name.to_string(),
            passed: true,
            severity,
            objects: Vec::new(),
            detail: detail.into(),
            hint: String::new(),
        }
    }

    /// Returns a failed finding.
    pub fn fail(
        name: &str,
        severity: Severity,
        objects: Vec<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Finding {
        Finding {
            name: name.to_string(),
            passed: false,
            severity,
            objects,
            detail: detail.into(),
            hint: hint.into(),
        }
    }

    /// Returns a pass when `objects` is empty, else a failure naming them.
    pub fn from_offenders(
        name: &str,
        severity: Severity,
        objects: Vec<String>,
        ok: &str,
        bad: &str,
        hint: &str,
    ) -> Finding {
        if objects.is_empty() {
            Finding::pass(name, severity, ok)
        } else {
            let detail = format!("{bad}: {}", objects.join(", "));
            Finding::fail(name, severity, objects, detail, hint)
        }
    }

    /// Returns true when this finding must stop the migration.
    pub fn blocks(&self) -> bool {
        !self.passed && self.severity == Severity::Blocker
    }
}

/// Returns true when any finding blocks.
pub fn any_blocks(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offenders_decide_pass_or_fail() {
        let ok = Finding::from_offenders("n", Severity::Blocker, vec![], "all good", "bad", "fix");
        assert!(ok.passed && !ok.blocks() && ok.hint.is_empty());
        let bad = Finding::from_offenders(
            "n",
            Severity::Blocker,
            vec!["a".into(), "b".into()],
            "all good",
            "not ready",
            "fix it",
        );
        assert!(!bad.passed && bad.blocks());
        assert_eq!(bad.detail, "not ready: a, b");
        assert!(any_blocks(&[ok.clone(), bad]));
        let warn = Finding::fail("w", Severity::Warning, vec![], "d", "h");
        assert!(!any_blocks(&[ok, warn]));
    }
}
