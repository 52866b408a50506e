//! `ovn-migrate lab up`: run a simulated Kuryr cluster and its cloud locally.
//!
//! Starts a [`lab::Lab`] (Kubernetes API, controllers, Keystone, Neutron,
//! Octavia, Nova on loopback) seeded with a generated Kuryr scenario (or, with
//! `--empty`, only the CRDs and system namespaces; with `--openstack none`, no
//! simulated cloud), writes its kubeconfig and clouds.yaml into `--dir`, prints their paths and the
//! `export` line that points the tool (or kubectl, or `openstack`) at them,
//! then serves until Ctrl-C or SIGTERM and shuts the lab down. In JSON mode
//! the one document (paths and URLs) is printed as soon as the lab is up.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;

/// Run a simulated OpenShift-on-OpenStack cluster with Kuryr, to rehearse on.
///
/// Writes ovn-migrate-lab.kubeconfig and ovn-migrate-lab.clouds.yaml into
/// --dir, prints how to use them, and serves until Ctrl-C. Nothing leaves
/// this machine: every server listens on 127.0.0.1.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Application namespaces, each with its pods, services and policies.
    #[arg(long, default_value_t = lab::LabConfig::default().namespaces)]
    pub namespaces: usize,
    /// Pods in each application namespace.
    #[arg(long, default_value_t = lab::LabConfig::default().pods_per_namespace)]
    pub pods_per_namespace: usize,
    /// Worker nodes (there are always 3 control-plane nodes).
    #[arg(long, default_value_t = lab::LabConfig::default().workers)]
    pub workers: usize,
    /// Scenario seed: the same seed gives the same cluster.
    #[arg(long, default_value_t = lab::LabConfig::default().seed)]
    pub seed: u64,
    /// Where to write the kubeconfig and clouds.yaml [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Start with no objects: every kind, the Kuryr and OpenShift CRDs and the
    /// system namespaces only, to load a real cluster's export with `kubectl create -f`.
    #[arg(long)]
    pub empty: bool,
    /// Which OpenStack to serve: `lab` (simulated Keystone, Neutron, Octavia,
    /// Nova) or `none` (point the tool at a real or staging cloud yourself).
    #[arg(long, value_enum, default_value_t = OpenStackSide::Lab)]
    pub openstack: OpenStackSide,
}

/// The OpenStack side of `lab up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OpenStackSide {
    /// The simulated cloud.
    Lab,
    /// None: no clouds.yaml is written.
    None,
}

/// The name of the lab's cloud in its clouds.yaml.
pub const LAB_CLOUD: &str = "lab";

/// What `lab up` prints once the lab is serving.
#[derive(Debug, Serialize)]
pub struct LabUp {
    pub kubeconfig: PathBuf,
    /// `None` with `--openstack none`.
    pub clouds_yaml: Option<PathBuf>,
    pub os_cloud: Option<&'static str>,
    pub kube_url: String,
    pub keystone_url: Option<String>,
    /// The shell line that points the tools at this lab.
    pub export: String,
}

impl LabUp {
    /// Returns the text for people.
    pub fn human(&self) -> String {
        let cloud = match (&self.keystone_url, &self.clouds_yaml) {
            (Some(k), Some(c)) => format!(
                "\n  Keystone:       {k}\n  clouds.yaml:    {} (clouds {LAB_CLOUD} and {LAB_CLOUD}-reader)",
                c.display()
            ),
            _ => "\n  OpenStack:      none (point OS_CLOUD at a real or staging cloud)".to_string(),
        };
        format!(
            "lab is up\n  Kubernetes API: {}\n  kubeconfig:     {}{cloud}\n\nTo use it from another shell:\n\n  {}\n\nServing until Ctrl-C.",
            self.kube_url,
            self.kubeconfig.display(),
            self.export
        )
    }
}

/// Returns `path` quoted for a POSIX shell when it needs to be.
pub fn sh_quote(path: &Path) -> String {
    let s = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `lab up`.
pub fn run(args: UpArgs, ctx: &Context) -> Result<i32> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::usage(format!("failed to create {}: {e}", dir.display()))
            .with_hint("choose a writable directory with --dir")
    })?;
    let dir = std::fs::canonicalize(&dir)?;
    let cfg = lab::LabConfig {
        seed: args.seed,
        namespaces: args.namespaces,
        pods_per_namespace: args.pods_per_namespace,
        workers: args.workers,
        empty: args.empty,
        openstack: args.openstack == OpenStackSide::Lab,
        ..lab::LabConfig::default()
    };
    ctx.block_on(serve(cfg, dir, ctx))?
}

async fn serve(cfg: lab::LabConfig, dir: PathBuf, ctx: &Context) -> Result<i32> {
    let lab = lab::Lab::start(cfg).await.map_err(|e| {
        CliError::new(
            ErrorKind::Internal,
            ExitCode::FAILURE,
            format!("failed to start the lab: {e}"),
        )
        .with_hint("run with -vv to see which server failed")
    })?;
    let written = (|| {
        let kubeconfig = lab.write_kubeconfig(&dir)?;
        let clouds_yaml = match lab.try_cloud() {
            Some(_) => Some(lab.write_clouds_yaml(&dir)?),
            None => None,
        };
        std::io::Result::Ok((kubeconfig, clouds_yaml))
    })();
    let (kubeconfig, clouds_yaml) = match written {
        Ok(paths) => paths,
        Err(e) => {
            lab.shutdown();
            return Err(CliError::usage(format!(
                "failed to write the lab's kubeconfig and clouds.yaml into {}: {e}",
                dir.display()
            ))
            .with_hint("choose a writable directory with --dir"));
        }
    };
    let export = match &clouds_yaml {
        Some(c) => format!(
            "export KUBECONFIG={} OS_CLIENT_CONFIG_FILE={} OS_CLOUD={LAB_CLOUD}",
            sh_quote(&kubeconfig),
            sh_quote(c)
        ),
        None => format!("export KUBECONFIG={}", sh_quote(&kubeconfig)),
    };
    let up = LabUp {
        os_cloud: clouds_yaml.as_ref().map(|_| LAB_CLOUD),
        kubeconfig,
        clouds_yaml,
        kube_url: lab.kube_url(),
        keystone_url: lab.try_cloud().map(|c| c.auth_url()),
        export,
    };
    ctx.output.print(&up, || up.human())?;
    tracing::info!(kube = %up.kube_url, "lab serving");
    let signal = wait_for_stop().await;
    lab.shutdown();
    ctx.output.note(format!("lab stopped ({signal})"));
    Ok(ExitCode::OK)
}

/// Waits for Ctrl-C or SIGTERM; returns which came.
async fn wait_for_stop() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "interrupted";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(sh_quote(Path::new("/tmp/lab/k.yaml")), "/tmp/lab/k.yaml");
        assert_eq!(sh_quote(Path::new("/tmp/my lab")), "'/tmp/my lab'");
        assert_eq!(sh_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }

    #[test]
    fn defaults_follow_the_lab() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            up: UpArgs,
        }
        let t = T::try_parse_from(["t", "--workers", "5"]).unwrap();
        assert_eq!(t.up.workers, 5);
        assert_eq!(t.up.namespaces, lab::LabConfig::default().namespaces);
        assert_eq!(t.up.seed, lab::LabConfig::default().seed);
        assert!(t.up.dir.is_none());
        assert!(!t.up.empty);
        assert_eq!(t.up.openstack, OpenStackSide::Lab);
        let t = T::try_parse_from(["t", "--empty", "--openstack", "none"]).unwrap();
        assert!(t.up.empty);
        assert_eq!(t.up.openstack, OpenStackSide::None);
        assert!(T::try_parse_from(["t", "--openstack", "aws"]).is_err());
    }
}
