//! `ovn-migrate man`: man pages of the whole command tree, from clap_mangen.
//!
//! One page per command (`ovn-migrate(1)`, `ovn-migrate-journal(1)`,
//! `ovn-migrate-journal-verify(1)`, …). Without `--dir` every page is written
//! to stdout, one after another (each starts with its own `.TH`); with
//! `--dir` each page goes to `<dir>/<name>.1`, ready for `MANPATH`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Print the man pages of ovn-migrate and all its subcommands.
///
/// Without --dir, writes them all to stdout (`ovn-migrate man | man -l -`);
/// with --dir, writes one `<command>.1` file per subcommand there.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Returns every page of the tree as `(file name, roff)`, parents first.
pub fn pages() -> std::io::Result<Vec<(String, String)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(cmd, &mut out)?;
    Ok(out)
}

fn collect(cmd: clap::Command, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let man = clap_mangen::Man::new(cmd);
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    out.push((
        man.get_filename(),
        String::from_utf8_lossy(&roff).into_owned(),
    ));
    for sub in subs {
        collect(sub, out)?;
    }
    Ok(())
}

/// Runs `man`.
pub fn run(args: ManArgs, ctx: &Context) -> Result<i32> {
    let pages = pages()?;
    match &args.dir {
        None => {
            let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
            let roff: String = pages.iter().map(|(_, r)| r.as_str()).collect();
            ctx.output
                .print(&json!({ "pages": names, "roff": roff }), || roff.clone())?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::usage(format!("failed to create {}: {e}", dir.display())))?;
            let mut written = Vec::new();
            for (name, roff) in &pages {
                let path = dir.join(name);
                std::fs::write(&path, roff).map_err(|e| {
                    CliError::usage(format!("failed to write {}: {e}", path.display()))
                })?;
                written.push(path);
            }
            ctx.output.print(&json!({ "written": written }), || {
                written
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(ExitCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_command() {
        let pages = pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "ovn-migrate.1",
            "ovn-migrate-journal.1",
            "ovn-migrate-journal-verify.1",
            "ovn-migrate-lab-up.1",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        assert!(
            pages
                .iter()
                .all(|(_, roff)| roff.starts_with(".ie") || roff.contains(".TH"))
        );
    }
}
