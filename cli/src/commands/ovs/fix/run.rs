//! `ovn-migrate ovs fix --check ID… | --all-safe [--dry-run] [--dns IP…]`:
//! plans the remediations, shows them, asks (unless `--yes`) and runs them
//! through the driver; or, with `--dry-run`, prints every change with
//! before → after and changes nothing.
//!
//! A run interrupted after it changed something is carried on (the same
//! checks must be given, or it is refused); a completed run, or one that
//! changed nothing, is followed by a new plan. Checks without a safe fix are
//! refused before anything is read, each with why and its manual
//! remediation (exit 2). Violations the plan cannot remedy are listed, and
//! make the command exit 1 once the rest is done
//! ([`crate::driver::CliWorkflow::completed_code`]). [`run_unasked`] is the
//! same run without a question, for a demo on its own lab.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use steps::ovs::fix::plan::refuse;
use steps::ovs::fix::{FixOptions, FixSession, PlanError};
use steps::workflow::{Workflow, load_run};

use super::connect::{ConnectFlags, connect};
use super::errors::{fix_error, fixable_hint, plan_error};
use super::workflow::render;
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver::{self, RunTiming};
use crate::error::Result;
use crate::exit::ExitCode;

/// The flags of `ovs fix` itself (its help is [`super::FixCommand`]'s).
#[derive(Debug, Args)]
pub struct FixArgs {
    /// A check to remedy (repeatable).
    #[arg(long = "check", value_name = "ID")]
    pub checks: Vec<String>,
    /// Remedy every check that has a safe automatic fix.
    #[arg(long)]
    pub all_safe: bool,
    /// Print every change, before → after, and change nothing (nothing is journaled).
    #[arg(long)]
    pub dry_run: bool,
    /// DNS server for subnets without any (repeatable or comma-separated)
    /// [default: the OpenStackDeployment's features.neutron.dns_servers].
    #[arg(long = "dns", value_name = "IP", value_delimiter = ',')]
    pub dns: Vec<String>,
    /// Change only objects this project (ID) owns; the checks still read the whole cloud.
    #[arg(long, value_name = "PROJECT_ID")]
    pub project: Option<String>,
    #[command(flatten)]
    pub connect: ConnectFlags,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `ovs fix`.
pub fn run(args: FixArgs, ctx: &Context) -> Result<i32> {
    let options = FixOptions::new(&args.checks, args.all_safe, &args.dns, args.project.clone());
    if let Err(e) = refuse(&options) {
        return refused(ctx, e);
    }
    // Before anything is read: a bad --dns would refuse the plan anyway.
    if let Some(bad) = args
        .dns
        .iter()
        .find(|d| d.trim().parse::<std::net::IpAddr>().is_err())
    {
        return Err(plan_error(PlanError::BadDns {
            source_: "--dns".into(),
            value: bad.clone(),
        }));
    }
    let timing = args.timing.run_timing()?;
    let session = connect(ctx, &args.connect, timing.lease.request_timeout())?;
    if args.dry_run {
        return dry_run(ctx, &session, &options);
    }
    apply(ctx, &session, &options, &timing, args.break_lock, true).map(|(code, _)| code)
}

/// Runs the fixes for `options` on a connected session without asking (a
/// demo on its own lab): plans and runs a new run, or carries on the
/// current one; returns the exit code and the run's journal directory.
pub fn run_unasked(
    ctx: &Context,
    session: &FixSession,
    options: &FixOptions,
    timing: &RunTiming,
) -> Result<(i32, PathBuf)> {
    if let Err(e) = refuse(options) {
        return Err(plan_error(e));
    }
    apply(ctx, session, options, timing, None, false)
}

/// Lists the checks refused (no safe fix) and returns exit 2; other refusals are errors.
fn refused(ctx: &Context, e: PlanError) -> Result<i32> {
    let PlanError::Manual(manual) = e else {
        return Err(plan_error(e));
    };
    let doc = json!({"refused": manual, "changed": false, "exit_code": ExitCode::USAGE});
    ctx.output.print(&doc, || {
        let mut t = String::from("no safe automatic fix for:\n");
        for m in &manual {
            t.push_str(&format!(
                "  {}\n    why: {}\n    by hand: {}\n",
                m.check, m.why, m.remediation
            ));
        }
        t.push_str(&format!(
            "nothing was changed; fix these by hand, and name only checks with a safe fix ({})",
            fixable_hint()
        ));
        t
    })?;
    Ok(ExitCode::USAGE)
}

/// Plans and prints the changes; journals and changes nothing.
fn dry_run(ctx: &Context, session: &FixSession, options: &FixOptions) -> Result<i32> {
    let d = ctx.block_on(session.discover())?.map_err(fix_error)?;
    for n in &d.settings.notes {
        ctx.output.note(format!("note: {n}"));
    }
    let plan = FixSession::plan(&d, options).map_err(fix_error)?;
    let (mut doc, text) = render(&plan, "Dry run");
    doc["dry_run"] = true.into();
    doc["changed"] = false.into();
    doc["cloud"] = session.cloud_id.clone().into();
    ctx.output
        .print(&doc, || format!("{text}nothing was changed (--dry-run)"))?;
    Ok(ExitCode::OK)
}

/// Carries on the current run if it changed something, else plans and runs a new one.
fn apply(
    ctx: &Context,
    session: &FixSession,
    options: &FixOptions,
    timing: &RunTiming,
    break_lock: Option<String>,
    ask: bool,
) -> Result<(i32, PathBuf)> {
    if let Some((journal, dir)) = driver::open_run(ctx, session, None, break_lock.clone())?
        && journal.sealed().is_none()
    {
        let loaded = ctx
            .block_on(load_run::<FixSession>(journal))?
            .map_err(fix_error)?;
        let (started, run_id) = (loaded.started, loaded.run_id.clone());
        // The journal's lock is released before the driver opens it again.
        drop(loaded);
        if started {
            let code = driver::run(ctx, session, options.clone(), true, timing, break_lock)?;
            return Ok((code, dir));
        }
        ctx.output.note(format!(
            "the current run {run_id} changed nothing: planning a new one ({} stays as it is)",
            dir.display()
        ));
    }
    driver::run_new(ctx, session, options, timing, ask)
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use crate::commands::ovs::OvsCommand;
    use crate::commands::ovs::fix::{FixCommand, FixSub};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<FixCommand, clap::Error> {
        let cli = Cli::try_parse_from([&["ovn-migrate", "ovs", "fix"], args].concat())?;
        match cli.command {
            Command::Ovs(OvsCommand::Fix(f)) => Ok(*f),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn fix_flags_and_subcommands_parse() {
        let f = parse(&[
            "--check",
            "networks_mtu_size_check",
            "--dns",
            "192.0.2.53,2001:db8::53",
            "--dns",
            "198.51.100.53",
            "--dry-run",
        ])
        .unwrap();
        assert!(f.sub.is_none());
        assert_eq!(f.args.checks, ["networks_mtu_size_check"]);
        assert_eq!(f.args.dns, ["192.0.2.53", "2001:db8::53", "198.51.100.53"]);
        assert!(f.args.dry_run && !f.args.all_safe);
        assert!(matches!(
            parse(&["resume"]).unwrap().sub,
            Some(FixSub::Resume(_))
        ));
        assert!(matches!(
            parse(&["status", "--cloud", "x"]).unwrap().sub,
            Some(FixSub::Status(s)) if s.cluster.as_deref() == Some("x")
        ));
        assert!(parse(&["--check", "a", "status"]).is_err());
        assert!(parse(&["--overlay-ip-version", "5"]).is_err());
    }
}
