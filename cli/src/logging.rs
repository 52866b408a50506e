//! Logging: `tracing` to stderr for people, and to a log file for the record.
//!
//! [`init`] is called once by `main`, before any command runs: it installs a
//! subscriber with two layers. The stderr layer shows warnings by default,
//! info with `-v`, debug with `-vv` (`RUST_LOG` overrides). The file layer
//! writes at debug level (or `RUST_LOG`) to a log file that a command chooses
//! later with [`LogHandle::log_to_file`], typically `state::log_path(journal)`,
//! beside the run's journal; until then it writes nothing. Both follow
//! `--log-format`. Nothing is ever logged on stdout. File writes are
//! synchronous, one `write` per event under the switch's lock, so a line
//! logged before the file was chosen can never land in it (a background
//! writer would write queued lines after the switch), and nothing is lost if
//! the process dies: `File` keeps no buffer. Every line, on stderr and in the
//! file, goes through [`Redacting`], which replaces the userinfo of URLs
//! (`http://user:pass@…`) and every secret the process loaded before it is
//! written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::global::LogFormat;

/// Chooses the log file of the installed subscriber.
pub struct LogHandle {
    file: SwitchFile,
    current: Mutex<Option<PathBuf>>,
}

impl LogHandle {
    /// Starts writing the log to `path` (created 0600 if missing, appended to).
    pub fn log_to_file(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        *self.file.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.to_path_buf());
        tracing::debug!(path = %path.display(), version = env!("CARGO_PKG_VERSION"), "log file opened");
        Ok(())
    }

    /// Returns the log file in use, if any.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A writer whose file is chosen after the subscriber is installed.
#[derive(Clone, Default)]
struct SwitchFile(Arc<Mutex<Option<File>>>);

impl Write for SwitchFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// A writer that redacts URL userinfo and registered secrets (`steps::redact::text`) in each
/// write; the fmt layer writes each event with one call, so a URL is never
/// split between writes.
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => {
                self.0.write_all(steps::redact::text(text).as_bytes())?;
                Ok(buf.len())
            }
            Err(_) => self.0.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Returns the stderr filter directive for `verbose` (the count of `-v`).
pub fn stderr_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    }
}

/// Returns `RUST_LOG`'s filter if it is set and valid, else `default`.
fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// Installs the global subscriber (stderr now, the file once chosen).
/// Returns an error if a subscriber is installed already.
pub fn init(verbose: u8, format: LogFormat) -> Result<LogHandle, String> {
    let file = SwitchFile::default();
    let writer = {
        let file = file.clone();
        move || Redacting(file.clone())
    };
    let stderr = layer(format, || Redacting(io::stderr()), true)
        .with_filter(filter(stderr_level(verbose)))
        .boxed();
    let to_file = layer(format, writer, false)
        .with_filter(filter("debug"))
        .boxed();
    tracing_subscriber::registry()
        .with(vec![stderr, to_file])
        .try_init()
        .map_err(|e| format!("failed to set up logging: {e}"))?;
    Ok(LogHandle {
        file,
        current: Mutex::new(None),
    })
}

type BoxedLayer = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;

/// Returns a fmt layer in `format` writing to `w`.
fn layer<W>(format: LogFormat, w: W, ansi: bool) -> BoxedLayer
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use std::io::IsTerminal;
    let ansi = ansi && io::stderr().is_terminal();
    let base = tracing_subscriber::fmt::layer()
        .with_writer(w)
        .with_target(true);
    match format {
        LogFormat::Text => base.with_ansi(ansi).boxed(),
        LogFormat::Json => base.json().with_ansi(false).boxed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_raises_the_stderr_level() {
        assert_eq!(stderr_level(0), "warn");
        assert_eq!(stderr_level(1), "info");
        assert_eq!(stderr_level(5), "debug");
    }

    /// The only test in this binary that installs the global subscriber.
    #[test]
    fn log_file_gets_debug_lines_once_chosen() {
        let tmp = tempfile::tempdir().unwrap();
        let handle = init(0, LogFormat::Json).unwrap();
        assert!(
            init(0, LogFormat::Text).is_err(),
            "a second init is refused"
        );
        tracing::debug!("before the file");
        let path = tmp.path().join("c/run.log");
        handle.log_to_file(&path).unwrap();
        tracing::debug!(op = "delete-port", "after the file");
        assert_eq!(handle.log_file().as_deref(), Some(path.as_path()));
        drop(handle);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("before the file"), "{text}");
        let line = text.lines().find(|l| l.contains("after the file")).unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["level"], "DEBUG");
        assert_eq!(v["fields"]["op"], "delete-port");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn switch_file_discards_until_a_file_is_set() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = SwitchFile::default();
        assert_eq!(w.write(b"lost\n").unwrap(), 5);
        let path = tmp.path().join("run.log");
        *w.0.lock().unwrap() = Some(File::create(&path).unwrap());
        w.write_all(b"kept\n").unwrap();
        w.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
    }
}
