//! [`Output`]: what a command prints, and [`Progress`]: bars on stderr.
//!
//! stdout carries the command's result only: text for people, or with
//! `--output json` exactly one JSON document, so `ovn-migrate … --output json |
//! jq` always works. Notes for people (what is happening, what to do next) go
//! to stderr with [`Output::note`]; logs go to stderr and the log file
//! ([`crate::logging`]). Progress bars are drawn on stderr only when it is a
//! terminal, `--no-progress` was not given and the output is not JSON;
//! otherwise every [`Progress`] call is a no-op, so commands call it freely.
//! Everything written on stdout and every note has URL userinfo and loaded
//! secrets redacted
//! (`steps::redact`).

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::Result;
use crate::global::OutputFormat;

/// Prints a command's result as text or JSON, and hands out [`Progress`].
#[derive(Clone, Debug)]
pub struct Output {
    format: OutputFormat,
    progress: bool,
}

impl Output {
    /// Returns an output in `format`; progress is drawn only when stderr is a
    /// terminal, `no_progress` is false and the format is human.
    pub fn new(format: OutputFormat, no_progress: bool) -> Self {
        let progress = std::io::stderr().is_terminal();
        Self::with_progress(format, progress && !no_progress)
    }

    /// Returns an output in `format`, drawing progress if `progress` (and not JSON).
    pub fn with_progress(format: OutputFormat, progress: bool) -> Self {
        Output {
            format,
            progress: progress && format == OutputFormat::Human,
        }
    }

    /// Returns the output format.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Returns true with `--output json`.
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Returns true when progress bars may be drawn.
    pub fn progress_enabled(&self) -> bool {
        self.progress
    }

    /// Returns a progress helper (a no-op one when progress is off).
    pub fn progress(&self) -> Progress {
        Progress::new(self.progress)
    }

    /// Prints one line of human text on stdout; prints nothing in JSON mode.
    pub fn line(&self, text: impl Display) {
        if !self.is_json() {
            write_stdout(&format!("{text}\n"));
        }
    }

    /// Prints `value` as the JSON document in JSON mode; nothing in human mode.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        if self.is_json() {
            write_stdout(&self.render(value, String::new)?);
        }
        Ok(())
    }

    /// Prints the result: `value` as JSON in JSON mode, else the text `human()` returns.
    pub fn print<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<()> {
        write_stdout(&self.render(value, human)?);
        Ok(())
    }

    /// Returns what [`Self::print`] writes (JSON pretty-printed, newline-terminated).
    pub fn render<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<String> {
        let mut text = match self.format {
            OutputFormat::Json => serde_json::to_string_pretty(value)?,
            OutputFormat::Human => human(),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }

    /// Prints a note for people on stderr, in both modes (never on stdout).
    pub fn note(&self, text: impl Display) {
        let text = text.to_string();
        let _ = writeln!(std::io::stderr().lock(), "{}", steps::redact::text(&text));
    }
}

/// Writes to stdout, URL userinfo redacted; a closed pipe (`| head`) is not
/// an error worth a panic.
fn write_stdout(text: &str) {
    let text = steps::redact::text(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A progress bar on stderr for the step being run; a no-op when disabled.
///
/// Cheap to clone; clones drive the same bar. [`Progress::step`] finishes the
/// previous step's bar and starts a new one.
#[derive(Clone, Debug)]
pub struct Progress {
    enabled: bool,
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl Progress {
    /// Returns a progress helper that draws when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            bar: Arc::default(),
        }
    }

    /// Returns a helper that never draws.
    pub fn disabled() -> Self {
        Self::new(false)
    }

    /// Returns true when this helper draws.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Starts step `name` with `total` units of work (0: unknown, a spinner).
    pub fn step(&self, name: impl Into<String>, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = if total == 0 {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(style("{spinner} {prefix:.bold} {elapsed} {wide_msg}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style(
                "{prefix:.bold} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
            ));
            bar
        };
        bar.set_prefix(name.into());
        if let Some(old) = self.slot().replace(bar) {
            old.finish();
        }
    }

    /// Advances the current step by `n` units.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = self.slot().as_ref() {
            bar.inc(n);
        }
    }

    /// Sets the current step's message (what it is doing now).
    pub fn message(&self, msg: impl Into<String>) {
        if let Some(bar) = self.slot().as_ref() {
            bar.set_message(msg.into());
        }
    }

    /// Runs `f` with the bar hidden, so lines printed on stderr do not tear it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match self.slot().as_ref() {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Finishes the current step, leaving its last state on screen.
    pub fn finish(&self) {
        if let Some(bar) = self.slot().take() {
            bar.finish();
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("progress template is valid")
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_mode_never_draws_progress() {
        let out = Output::with_progress(OutputFormat::Json, true);
        assert!(!out.progress_enabled());
        assert!(!out.progress().is_enabled());
        assert!(Output::with_progress(OutputFormat::Human, true).progress_enabled());
        assert!(!Output::with_progress(OutputFormat::Human, false).progress_enabled());
    }

    #[test]
    fn render_picks_the_format() {
        let v = json!({"records": 3});
        let human = Output::with_progress(OutputFormat::Human, false);
        assert_eq!(
            human.render(&v, || "3 records".into()).unwrap(),
            "3 records\n"
        );
        let js = Output::with_progress(OutputFormat::Json, false);
        let text = js.render(&v, || unreachable!()).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn disabled_progress_is_a_no_op() {
        let p = Progress::disabled();
        p.step("delete ports", 10);
        p.inc(3);
        p.message("port 3");
        assert_eq!(p.suspend(|| 7), 7);
        p.finish();
        assert!(p.slot().is_none());
    }

    #[test]
    fn enabled_progress_keeps_one_bar() {
        let p = Progress::new(true);
        p.step("a", 2);
        p.inc(1);
        let q = p.clone();
        q.step("b", 0);
        assert_eq!(p.slot().as_ref().unwrap().prefix(), "b");
        p.finish();
        assert!(q.slot().is_none());
    }
}
