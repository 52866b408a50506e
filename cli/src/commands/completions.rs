//! `ovn-migrate completions <SHELL>`: shell completion scripts, from clap_complete.
//!
//! The script is generated from the same clap tree that parses the command
//! line, so it never lags behind it. In human mode the script itself goes to
//! stdout (`ovn-migrate completions bash > /etc/bash_completion.d/ovn-migrate`);
//! in JSON mode it is the `script` field of the one document.

use clap::Args;
use clap_complete::Shell;
use serde_json::json;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::Result;
use crate::exit::ExitCode;

/// Print a shell completion script.
///
/// For bash: `ovn-migrate completions bash > ~/.local/share/bash-completion/completions/ovn-migrate`.
/// For zsh, put the output of `ovn-migrate completions zsh` in a file named `_ovn-migrate` on $fpath.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Returns the completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ovn-migrate", &mut out);
    out
}

/// Runs `completions`.
pub fn run(args: CompletionsArgs, ctx: &Context) -> Result<i32> {
    let script = String::from_utf8_lossy(&script(args.shell)).into_owned();
    let doc = json!({ "shell": args.shell.to_string(), "script": script });
    ctx.output.print(&doc, || script.clone())?;
    Ok(ExitCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let s = String::from_utf8(script(shell)).unwrap();
            assert!(s.contains("ovn-migrate"), "{shell}");
            assert!(
                s.contains("verify"),
                "{shell} script lacks the journal verify subcommand"
            );
        }
    }
}
