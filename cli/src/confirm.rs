//! [`confirm`]: ask before changing a cluster, or refuse to guess.
//!
//! With `--yes` the answer is yes. Without a terminal on stdin (a script, CI,
//! `nohup`) and without `--yes` there is no one to ask, so the command stops
//! with [`ExitCode::USAGE`] rather than assuming either answer. Otherwise the
//! prompt goes to stderr (stdout stays the command's result, even in JSON
//! mode) and only `y` or `yes` counts as yes; the default is no.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use crate::output::Output;

/// Returns whether the user confirms `prompt`: true with `yes`, an error
/// without a terminal, else the answer read from stdin. The prompt goes to
/// stderr whatever `_output`'s format, so JSON on stdout stays one document.
pub fn confirm(prompt: &str, yes: bool, _output: &Output) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(no_terminal(prompt));
    }
    let stdin = std::io::stdin();
    ask(prompt, &mut stdin.lock(), &mut std::io::stderr().lock())
}

/// Returns the error for a confirmation that cannot be asked.
fn no_terminal(prompt: &str) -> CliError {
    CliError::new(
        crate::error::ErrorKind::User,
        ExitCode::USAGE,
        format!("cannot ask for confirmation without a terminal: {prompt}"),
    )
    .with_hint("re-run with --yes to confirm non-interactively")
}

/// Asks `prompt` on `err` and reads the answer from `input`; EOF is no.
fn ask(prompt: &str, input: &mut dyn BufRead, err: &mut dyn Write) -> Result<bool> {
    write!(err, "{prompt} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    if input.read_line(&mut answer)? == 0 {
        writeln!(err)?;
        return Ok(false);
    }
    Ok(is_yes(&answer))
}

/// Returns true for `y` or `yes`, in any case, with surrounding spaces.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::global::OutputFormat;

    #[test]
    fn yes_flag_answers_without_asking() {
        let out = Output::with_progress(OutputFormat::Human, false);
        assert!(confirm("delete 3 ports?", true, &out).unwrap());
    }

    #[test]
    fn only_yes_is_yes() {
        for a in ["y\n", "YES\n", "  yes  \n"] {
            assert!(is_yes(a), "{a:?}");
        }
        for a in ["\n", "n\n", "yess\n", "sure\n", ""] {
            assert!(!is_yes(a), "{a:?}");
        }
    }

    #[test]
    fn ask_prompts_on_the_given_stream() {
        let mut err = Vec::new();
        let yes = ask("go?", &mut &b"y\n"[..], &mut err).unwrap();
        assert!(yes);
        assert_eq!(String::from_utf8(err).unwrap(), "go? [y/N] ");
        let mut err = Vec::new();
        assert!(!ask("go?", &mut &b""[..], &mut err).unwrap());
    }

    #[test]
    fn no_terminal_refusal_says_how_to_confirm() {
        let e = no_terminal("delete 3 ports?");
        assert_eq!(e.code(), ExitCode::USAGE);
        assert!(e.to_human().contains("hint: re-run with --yes"));
    }
}
