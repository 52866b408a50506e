//! The migration's options on the command line: OVN-Kubernetes settings,
//! cluster network, reboot method and parallelism, and the engine's timing
//! (the request timeout is checked against the cluster lease here, before
//! anything connects: see `steps::kube::lease`).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use steps::engine::lease::{LeaseTiming, default_request_timeout};
use steps::engine::{RetryPolicy, Timing};
use steps::kuryr::migrate::{MigrationOptions, RebootChoice};

use crate::driver::RunTiming;
use crate::error::{CliError, Result};

/// What the migration should set and how it reboots nodes.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Migration options")]
pub struct MigrateFlags {
    /// OVN-Kubernetes pod MTU (at most the smallest node MTU − 100).
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Geneve UDP port (default 6081; never 4789).
    #[arg(long)]
    pub geneve_port: Option<u32>,
    /// OVN-Kubernetes IPv4 join subnet (default 100.64.0.0/16).
    #[arg(long, value_name = "CIDR")]
    pub v4_internal_subnet: Option<String>,
    /// OVN-Kubernetes IPv6 join subnet.
    #[arg(long, value_name = "CIDR")]
    pub v6_internal_subnet: Option<String>,
    /// New cluster network as CIDR/HOSTPREFIX, e.g. 10.128.0.0/14/23 (repeatable).
    #[arg(long, value_name = "CIDR/HOSTPREFIX")]
    pub cluster_network: Vec<String>,
    /// Reboot nodes with this command instead of Nova, e.g. 'ssh core@{ip} sudo shutdown -r -t 3'.
    #[arg(long, value_name = "TEMPLATE")]
    pub reboot_command: Option<String>,
    /// Nodes of a pool rebooted at once, as POOL=N (repeatable; the control plane defaults to 1).
    #[arg(long, value_name = "POOL=N")]
    pub max_unavailable: Vec<String>,
    /// Nodes rebooted at once in pools not named by --max-unavailable [default: 1].
    #[arg(long, value_name = "N")]
    pub default_max_unavailable: Option<usize>,
}

impl MigrateFlags {
    /// Returns whether any migration option was named on the command line.
    pub fn named(&self) -> bool {
        self.mtu.is_some()
            || self.geneve_port.is_some()
            || self.v4_internal_subnet.is_some()
            || self.v6_internal_subnet.is_some()
            || !self.cluster_network.is_empty()
            || self.reboot_command.is_some()
            || !self.max_unavailable.is_empty()
            || self.default_max_unavailable.is_some()
    }

    /// Returns the options these flags ask for.
    pub fn options(&self) -> Result<MigrationOptions> {
        let mut cluster_network = Vec::new();
        for s in &self.cluster_network {
            let (cidr, prefix) = s
                .rsplit_once('/')
                .and_then(|(c, p)| Some((c.to_string(), p.parse::<u32>().ok()?)))
                .filter(|(c, _)| c.contains('/'))
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "--cluster-network {s}: expected CIDR/HOSTPREFIX, e.g. 10.128.0.0/14/23"
                    ))
                })?;
            cluster_network.push((cidr, prefix));
        }
        let mut max_unavailable = BTreeMap::new();
        for s in &self.max_unavailable {
            let (pool, n) = s
                .split_once('=')
                .and_then(|(p, n)| Some((p.to_string(), n.parse::<usize>().ok()?)))
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "--max-unavailable {s}: expected POOL=N, e.g. worker=2"
                    ))
                })?;
            max_unavailable.insert(pool, n);
        }
        Ok(MigrationOptions {
            mtu: self.mtu,
            geneve_port: self.geneve_port,
            v4_internal_subnet: self.v4_internal_subnet.clone(),
            v6_internal_subnet: self.v6_internal_subnet.clone(),
            cluster_network,
            reboot: match &self.reboot_command {
                Some(t) => RebootChoice::Ssh(t.clone()),
                None => RebootChoice::Nova,
            },
            max_unavailable,
            default_max_unavailable: self.default_max_unavailable.unwrap_or(1),
        })
    }
}

/// How patiently the engine polls, waits and retries.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Timing")]
pub struct TimingFlags {
    /// Milliseconds between polls of a condition being waited for.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub poll_ms: u64,
    /// Seconds to wait for one condition before pausing the run.
    #[arg(long, default_value_t = 3600, value_name = "S")]
    pub wait_timeout_s: u64,
    /// Seconds to watch an in-doubt operation whose effect may be under way.
    #[arg(long, default_value_t = 120, value_name = "S")]
    pub in_doubt_grace_s: u64,
    /// Attempts per call before giving up.
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// Milliseconds before the first retry (doubling, up to 30 s).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub retry_base_ms: u64,
    /// Seconds the cluster lease lasts without renewal.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub lease_s: u64,
    /// Seconds one request to the Kubernetes API or OpenStack may take before it is abandoned;
    /// must be shorter than --lease-s [default: 30, or half of --lease-s if that is less].
    #[arg(long, value_name = "S")]
    pub request_timeout_s: Option<u64>,
    /// Operations of one group (a reboot wave) in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
}

impl TimingFlags {
    /// Returns the engine timing.
    pub fn timing(&self) -> Timing {
        Timing {
            poll: Duration::from_millis(self.poll_ms),
            wait_timeout: Duration::from_secs(self.wait_timeout_s),
            in_doubt_grace: Duration::from_secs(self.in_doubt_grace_s),
            retry: RetryPolicy {
                max_attempts: self.max_attempts.max(1),
                base: Duration::from_millis(self.retry_base_ms),
                cap: Duration::from_secs(30),
            },
            concurrency: self.concurrency.max(1),
        }
    }

    /// Returns the engine timing and the lease's, for the run driver.
    pub fn run_timing(&self) -> Result<RunTiming> {
        Ok(RunTiming {
            timing: self.timing(),
            lease: self.lease_timing()?,
        })
    }

    /// Returns how long one request may take; refused unless shorter than the lease.
    pub fn request_timeout(&self) -> Result<Duration> {
        Ok(self.lease_timing()?.request_timeout())
    }

    /// Returns the lease's timing: its duration and the request timeout inside it.
    pub fn lease_timing(&self) -> Result<LeaseTiming> {
        let lease = self.lease();
        let request = match self.request_timeout_s {
            Some(s) => Duration::from_secs(s.max(1)),
            None => default_request_timeout(lease),
        };
        LeaseTiming::new(lease, request).map_err(|e| {
            CliError::usage(format!("failed to {e}")).with_hint(
                "pass a --request-timeout-s shorter than --lease-s, or a longer --lease-s",
            )
        })
    }

    /// Returns the lease duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_s.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(lease_s: u64, request_timeout_s: Option<u64>) -> TimingFlags {
        TimingFlags {
            poll_ms: 5000,
            wait_timeout_s: 3600,
            in_doubt_grace_s: 120,
            max_attempts: 8,
            retry_base_ms: 500,
            lease_s,
            request_timeout_s,
            concurrency: 16,
        }
    }

    #[test]
    fn the_default_request_timeout_fits_inside_the_default_lease() {
        let t = timing(60, None).lease_timing().unwrap();
        assert_eq!(t.request_timeout(), Duration::from_secs(30));
        assert_eq!(t.act_window(), Duration::from_secs(30));
        assert_eq!(
            timing(5, None).request_timeout().unwrap(),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn a_request_timeout_as_long_as_the_lease_is_refused() {
        for (lease, req) in [(60, 60), (20, 90)] {
            let e = timing(lease, Some(req)).request_timeout().unwrap_err();
            assert_eq!(e.code(), crate::exit::ExitCode::USAGE);
            assert!(
                e.message().contains("must be shorter than the lease"),
                "{e}"
            );
            assert!(e.hints()[0].contains("--request-timeout-s"));
        }
    }
}
