//! `ovn-migrate ovs prepare [run]`: plan and run the preparation, or carry
//! on the current run. `--dry-run` shows the plan and changes nothing
//! (nothing is journaled); otherwise the plan is shown and confirmed
//! (`--yes` without a terminal) before the first change.

use clap::Args;
use steps::ovs::prepare::{PrepareOptions, PrepareSession, open_desync};
use steps::workflow::Workflow;

use super::connect::connect;
use super::workflow::show_plan;
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver::{self, CliWorkflow};
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;

/// Plan and run `ovs prepare`, or carry on its current run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Show the plan and change nothing (nothing is journaled).
    #[arg(long)]
    pub dry_run: bool,
    /// Plan a new run even though an unfinished one exists (refused while
    /// that run may have left a Galera member desynced: resume it first).
    #[arg(long)]
    pub new_plan: bool,
    /// Seconds a DHCP lease handed out before the change may last (the old
    /// dhcp_lease_duration): the run completes that long after P3
    /// [default: 86400]. 0 only where no instance holds such a lease.
    #[arg(long, value_name = "S")]
    pub old_lease_s: Option<u64>,
    /// Glance image of the canaries (the image of typical workloads).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Nova flavor of the canaries.
    #[arg(long, value_name = "FLAVOR")]
    pub flavor: Option<String>,
    /// Neutron network of the canaries [default: Nova's choice].
    #[arg(long, value_name = "NETWORK_ID")]
    pub network: Option<String>,
    /// The MariaDB client options file with the admin credentials, in the
    /// mariadb container (`none`: the client's defaults)
    /// [default: /etc/mysql/admin_user.cnf, openstack-helm's].
    #[arg(long, value_name = "PATH|none")]
    pub mysql_defaults_file: Option<String>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

impl RunArgs {
    /// Returns whether any prepare option was named on the command line.
    pub fn named(&self) -> bool {
        self.old_lease_s.is_some()
            || self.image.is_some()
            || self.flavor.is_some()
            || self.network.is_some()
            || self.mysql_defaults_file.is_some()
    }

    /// Returns the options these flags ask for.
    pub fn options(&self) -> PrepareOptions {
        let d = PrepareOptions::default();
        PrepareOptions {
            old_lease_s: self.old_lease_s.unwrap_or(d.old_lease_s),
            image: self.image.clone(),
            flavor: self.flavor.clone(),
            network: self.network.clone(),
            mysql_defaults_file: match self.mysql_defaults_file.as_deref() {
                None => d.mysql_defaults_file,
                Some("none") => None,
                Some(p) => Some(p.to_string()),
            },
        }
    }
}

/// Runs `ovs prepare`.
pub fn run(args: RunArgs, ctx: &Context) -> Result<i32> {
    let options = args.options();
    let session = connect(ctx, args.timing.request_timeout()?)?;
    if args.dry_run {
        return dry_run(ctx, &session, &options);
    }
    if args.new_plan {
        refuse_open_span(ctx, &session)?;
        let (code, _) = driver::run_new(ctx, &session, &options, &args.timing.run_timing()?, true)?;
        return Ok(code);
    }
    driver::run(
        ctx,
        &session,
        options,
        args.named(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}

/// Refuses a new plan while the current run may have left a member desynced.
fn refuse_open_span(ctx: &Context, s: &PrepareSession) -> Result<()> {
    let Some((journal, dir)) = driver::open_run(ctx, s, None, None)? else {
        return Ok(());
    };
    if journal.sealed().is_none() && open_desync(&journal)? {
        return Err(CliError::new(
            ErrorKind::Cluster,
            ExitCode::NEEDS_OPERATOR,
            format!(
                "failed to plan a new prepare run: the current one ({}) desynced a Galera member and has not resynced it",
                dir.display()
            ),
        )
        .with_hint("run `ovn-migrate ovs prepare resume`: it resyncs the member first"));
    }
    Ok(())
}

/// Discovers and shows the plan; journals nothing.
fn dry_run(ctx: &Context, s: &PrepareSession, options: &PrepareOptions) -> Result<i32> {
    let discovery = ctx.block_on(s.discover())?.map_err(PrepareSession::error)?;
    let plan = PrepareSession::plan(&discovery, options).map_err(PrepareSession::error)?;
    let (mut doc, text) = show_plan(&plan);
    doc["dry_run"] = true.into();
    ctx.output.print(&doc, || {
        format!("{text}\n--dry-run: nothing was changed or journaled; run it with: ovn-migrate ovs prepare (same flags, without --dry-run)")
    })?;
    Ok(ExitCode::OK)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::commands::ovs::OvsCommand;
    use crate::commands::ovs::prepare::{PrepareArgs, PrepareCommand};

    fn parse(args: &[&str]) -> Result<PrepareArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["ovn-migrate", "ovs", "prepare"], args].concat())?;
        match cli.command {
            Command::Ovs(OvsCommand::Prepare(a)) => Ok(*a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_become_options_and_subcommands_parse() {
        let a = parse(&["--image", "img", "--flavor", "fl", "--old-lease-s", "0"]).unwrap();
        assert!(a.command.is_none() && a.run.named());
        let o = a.run.options();
        assert_eq!((o.old_lease_s, o.image.as_deref()), (0, Some("img")));
        assert_eq!(
            o.mysql_defaults_file.as_deref(),
            Some("/etc/mysql/admin_user.cnf")
        );
        let none = parse(&["--mysql-defaults-file", "none"])
            .unwrap()
            .run
            .options();
        assert_eq!(none.mysql_defaults_file, None);
        let bare = parse(&[]).unwrap();
        assert!(!bare.run.named());
        assert_eq!(bare.run.options().old_lease_s, 86_400);
        assert!(matches!(
            parse(&["resume"]).unwrap().command,
            Some(PrepareCommand::Resume(_))
        ));
        assert!(matches!(
            parse(&["status"]).unwrap().command,
            Some(PrepareCommand::Status(_))
        ));
        assert!(parse(&["--old-lease-s", "soon"]).is_err());
    }
}
