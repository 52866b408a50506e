//! Signals that stop a run: SIGINT (Ctrl-C), SIGTERM (`kill`, systemd, a
//! container stop) and SIGHUP (a dropped SSH session) all pause it the same
//! way.
//!
//! [`pause_on_signals`] is called by the run driver before it starts the
//! engine. The first of these signals prints one line on stderr and cancels
//! the run's [`CancellationToken`]: the engine lets the operations in flight
//! finish, journals `RunPaused`, the cluster lease is released and the
//! journal's lock is dropped on the way out, so the run exits
//! [`ExitCode::INTERRUPTED`] and `kuryr resume` needs no flag. A second signal
//! (of any of the three kinds) exits at once with the same code, as a second
//! Ctrl-C always did; the journal then holds an in-doubt operation at worst,
//! which resume re-observes. Dropping the returned [`SignalPause`] stops
//! listening (signals that arrive later find tokio's handler installed and
//! are ignored while the process finishes its report).
//!
//! After SIGHUP the terminal may be gone: the notice is written with errors
//! ignored (as [`crate::output`] does), never with `eprintln!`, which panics
//! on a closed stderr.

use std::io::Write;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Which signal stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a service manager, a container runtime.
    Terminate,
    /// SIGHUP: the controlling terminal (an SSH session) went away.
    Hangup,
}

impl StopSignal {
    /// Returns the signal's conventional name (`"SIGTERM"`).
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }

    /// Returns the line printed on stderr when the signal first arrives.
    pub fn notice(self) -> String {
        let what = match self {
            StopSignal::Interrupt => "interrupted (Ctrl-C)".to_string(),
            other => format!("received {}", other.name()),
        };
        format!(
            "{what}: finishing the operations in flight, then pausing \
             (a second Ctrl-C, SIGTERM or SIGHUP stops at once)"
        )
    }
}

/// Listens for the stop signals until dropped.
pub struct SignalPause {
    task: JoinHandle<()>,
}

impl Drop for SignalPause {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The three signal streams, registered together.
struct Streams {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Streams {
    fn register() -> std::io::Result<Streams> {
        Ok(Streams {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Returns the next stop signal (`None` if the streams closed).
    async fn next(&mut self) -> Option<StopSignal> {
        tokio::select! {
            s = self.int.recv() => s.map(|()| StopSignal::Interrupt),
            s = self.term.recv() => s.map(|()| StopSignal::Terminate),
            s = self.hup.recv() => s.map(|()| StopSignal::Hangup),
        }
    }
}

/// Starts listening for SIGINT, SIGTERM and SIGHUP on `rt`: the first cancels
/// `cancel` after `notify` has shown its notice (`notify` gets the line to
/// print and should write it with errors ignored); the second exits the
/// process with [`ExitCode::INTERRUPTED`].
pub fn pause_on_signals(
    rt: &tokio::runtime::Runtime,
    cancel: CancellationToken,
    notify: impl Fn(&str) + Send + 'static,
) -> Result<SignalPause> {
    // Registration needs the runtime's signal driver, hence inside it; it is
    // done before returning so that a signal sent right after is not missed.
    let mut streams = rt.block_on(async { Streams::register() }).map_err(|e| {
        CliError::internal(format!(
            "failed to listen for SIGINT, SIGTERM and SIGHUP: {e}"
        ))
    })?;
    let task = rt.spawn(async move {
        let Some(first) = streams.next().await else {
            return;
        };
        tracing::warn!(
            signal = first.name(),
            "stop signal received; pausing the run"
        );
        notify(&first.notice());
        cancel.cancel();
        if let Some(second) = streams.next().await {
            tracing::warn!(
                signal = second.name(),
                "second stop signal; exiting at once"
            );
            std::process::exit(ExitCode::INTERRUPTED);
        }
    });
    Ok(SignalPause { task })
}

/// Writes `line` on stderr, ignoring a closed or hung-up terminal.
pub fn write_stderr(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn notices_name_the_signal_and_the_way_out() {
        assert!(
            StopSignal::Interrupt
                .notice()
                .starts_with("interrupted (Ctrl-C):")
        );
        assert!(StopSignal::Hangup.notice().starts_with("received SIGHUP:"));
        assert!(
            StopSignal::Terminate
                .notice()
                .contains("second Ctrl-C, SIGTERM or SIGHUP")
        );
    }

    // One signal only (SIGHUP): a second one in this test process would exit it.
    #[test]
    fn a_hangup_cancels_the_run_and_says_so() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let cancel = CancellationToken::new();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let _pause = {
            let seen = seen.clone();
            pause_on_signals(&rt, cancel.clone(), move |l| {
                seen.lock().unwrap().push(l.to_string())
            })
            .unwrap()
        };
        assert!(!cancel.is_cancelled());
        let pid = std::process::id().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(30), cancel.cancelled())
                .await
                .expect("SIGHUP cancels the run")
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("received SIGHUP"), "{seen:?}");
    }
}
