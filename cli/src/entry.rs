//! The process entry point: parse, set up logging, run one command, exit.
//!
//! This is the only place that turns results into a process exit: a
//! command's `Ok(code)` exits with that code; a [`CliError`] is printed as
//! `error:`/`hint:` lines on stderr (or as one JSON document on stdout with
//! `--output json`) and exits with its code from [`ExitCode`]. Parse errors
//! exit [`ExitCode::USAGE`], in JSON too when `--output json` was given. It
//! lives in the library so that test harnesses run the very same code as the
//! `ovn-migrate` binary.

use std::io::Write;

use clap::Parser;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::CliError;
use crate::exit::ExitCode;
use crate::logging;

/// Parses the arguments, runs one command and exits the process with its code.
pub fn main() -> ! {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(parse_error(e)),
    };
    let log = match logging::init(cli.global.verbose, cli.global.log_format) {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!("warning: {e}; continuing without logs");
            None
        }
    };
    let ctx = Context::new(cli.global, log);
    let code = match cli.command.run(&ctx) {
        Ok(code) => code,
        Err(e) => report(&e, &ctx),
    };
    drop(ctx); // flushes the log file
    std::process::exit(code);
}

/// Prints `e` for the user (stderr, or stdout in JSON mode) and returns its code.
fn report(e: &CliError, ctx: &Context) -> i32 {
    // At debug: the log file keeps it; stderr gets the formatted lines below.
    tracing::debug!(kind = e.kind().as_str(), code = e.code(), hints = ?e.hints(), "{}", e.message());
    let mut e_text = e.to_human();
    if let Some(log) = ctx.log_file() {
        e_text.push_str(&format!("log: {}\n", log.display()));
    }
    if ctx.output.is_json() {
        let mut doc = e.to_json();
        if let Some(log) = ctx.log_file() {
            doc["log_file"] = serde_json::json!(log);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    } else {
        let _ = std::io::stderr().lock().write_all(e_text.as_bytes());
    }
    e.code()
}

/// Prints a command-line error (or `--help`/`--version`) and returns the exit code.
fn parse_error(e: clap::Error) -> i32 {
    if !e.use_stderr() {
        // --help and --version: clap prints them on stdout and they succeed.
        let _ = e.print();
        return ExitCode::OK;
    }
    if wants_json(std::env::args()) {
        let rendered = e.render().to_string();
        let first = rendered.lines().next().unwrap_or("invalid command line");
        let err = CliError::usage(first.trim_start_matches("error: "))
            .with_hint("run `ovn-migrate --help` (or `ovn-migrate <command> --help`)");
        println!(
            "{}",
            serde_json::to_string_pretty(&err.to_json()).unwrap_or_default()
        );
    } else {
        let _ = e.print();
    }
    ExitCode::USAGE
}

/// Returns true when the raw arguments ask for `--output json`.
fn wants_json(args: impl Iterator<Item = String>) -> bool {
    let args: Vec<String> = args.collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--output=json" || (a == "--output" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_detected_in_raw_arguments() {
        let v = |s: &str| {
            s.split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(wants_json(v("ovn-migrate --output json bogus")));
        assert!(wants_json(v("ovn-migrate bogus --output=json")));
        assert!(!wants_json(v("ovn-migrate --output human")));
        assert!(!wants_json(v("ovn-migrate --output")));
    }
}
