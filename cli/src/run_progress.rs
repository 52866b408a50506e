//! The engine's progress on the terminal and in a status file beside the
//! journal (`<run>.status.json`), which `status` reads while a run holds the
//! journal.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use steps::engine::{Progress as EngineProgress, ProgressEvent};

use crate::output::Progress;

/// What `kuryr status` reads while a run holds the journal.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatusFile {
    pub run_id: String,
    pub pid: u32,
    pub total: usize,
    pub current: Option<String>,
    pub condition: Option<String>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub updated: String,
    pub outcome: Option<String>,
}

/// Progress bar, log lines and status file for one run.
pub struct TermProgress {
    pub bar: Progress,
    status_path: PathBuf,
    state: Mutex<StatusFile>,
    label: &'static str,
}

impl TermProgress {
    /// Returns the progress of run `run_id`, its status file at `status_path`.
    pub fn new(bar: Progress, status_path: PathBuf, run_id: &str, label: &'static str) -> Self {
        TermProgress {
            bar,
            status_path,
            state: Mutex::new(StatusFile {
                run_id: run_id.to_string(),
                pid: std::process::id(),
                ..Default::default()
            }),
            label,
        }
    }

    /// Records the run's outcome in the status file.
    pub fn finish(&self, outcome: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.outcome = Some(outcome.to_string());
        self.save(&mut s);
    }

    fn save(&self, s: &mut StatusFile) {
        s.updated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // 0600 whatever the umask, and a temp name of this process's own.
        let tmp = self
            .status_path
            .with_extension(format!("{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(s).unwrap_or_default();
        let text = steps::redact::text(&text);
        if crate::state::write_private(&tmp, text.as_bytes()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.status_path);
        }
    }
}

impl EngineProgress for TermProgress {
    fn on(&self, event: &ProgressEvent) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::Started {
                op,
                step,
                action,
                index,
                total,
            } => {
                if s.total == 0 {
                    self.bar.step(self.label, *total as u64);
                }
                s.total = *total;
                s.current = Some(op.clone());
                s.condition = None;
                self.bar
                    .message(format!("{step} {action} ({index}/{total})"));
                tracing::info!(%op, %step, %action, "operation started");
            }
            ProgressEvent::Condition { op, condition } => {
                s.condition = Some(condition.clone());
                let short: String = condition.chars().take(100).collect();
                self.bar.message(short);
                tracing::info!(%op, %condition, "condition");
            }
            ProgressEvent::Retrying {
                op,
                attempt,
                error,
                delay_ms,
            } => {
                tracing::warn!(%op, attempt, %error, delay_ms, "retrying");
            }
            ProgressEvent::Finished { op, result } => {
                match *result {
                    "done" => s.done += 1,
                    "skipped" => s.skipped += 1,
                    _ => s.failed += 1,
                }
                self.bar.inc(1);
                tracing::info!(%op, result, "operation finished");
            }
        }
        self.save(&mut s);
    }
}
