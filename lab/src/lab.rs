//! [`Lab`]: the whole simulated cluster and cloud, started together.
//!
//! One [`Faults`] table is shared by every server (the Kubernetes API and the
//! OpenStack services), so fault rules and call counts cover all of them. The
//! Kubernetes store is seeded from a generated Kuryr scenario, the simulated
//! controllers start on it, and Nova reboots reach the node controller through
//! a broadcast channel of server IDs. [`Lab::write_kubeconfig`] and
//! [`Lab::write_clouds_yaml`] give the tool (or kubectl, or the demo) what it
//! needs to connect.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::controllers::{ControllerConfig, Controllers};
use crate::faults::{FaultRule, Faults};
use crate::k8s::{self, ApiServer, Store};
use crate::openstack::{Cloud, CloudConfig};
use crate::scenario::{Scenario, ScenarioConfig, kuryr_cluster, shared_project};

/// How to build and run a lab.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LabConfig {
    /// Scenario seed: the same seed gives the same objects.
    pub seed: u64,
    /// Application namespaces (each with its KuryrNetwork).
    pub namespaces: usize,
    /// Pods per application namespace (each with its KuryrPort).
    pub pods_per_namespace: usize,
    /// Services per application namespace (each with its KuryrLoadBalancer).
    pub services_per_namespace: usize,
    /// NetworkPolicies per application namespace (each with its KuryrNetworkPolicy).
    pub network_policies_per_namespace: usize,
    /// Control-plane nodes.
    pub masters: usize,
    /// Worker nodes.
    pub workers: usize,
    /// Delays of the simulated controllers.
    pub controllers: ControllerConfig,
    /// Fault rules in force from the start.
    pub faults: Vec<FaultRule>,
    /// Highest Octavia API version advertised, `"2.<minor>"` (tags need ≥ 2.5).
    pub octavia_version: String,
    /// Seed no scenario: the API serves every kind and has the Kuryr and
    /// OpenShift CRDs and the system namespaces, but no other object (for
    /// loading objects exported from a real cluster).
    pub empty: bool,
    /// Serve the simulated OpenStack (false: the tool is pointed at a real
    /// or staging cloud instead, and no clouds.yaml is written).
    pub openstack: bool,
    /// Seed the cleanup's shared-project scenario instead (needs ≥ 3
    /// namespaces): in the same project, a second live Kuryr cluster, an
    /// untagged appliance trunk and a user's VM port on a Kuryr network.
    pub shared_project: bool,
    /// Start as a cluster the migration already switched to OVN-Kubernetes
    /// (`networkType` set in spec and status), with Kuryr's leftovers in place.
    pub migrated: bool,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            namespaces: 4,
            pods_per_namespace: 3,
            services_per_namespace: 1,
            network_policies_per_namespace: 1,
            masters: 3,
            workers: 2,
            controllers: ControllerConfig::default(),
            faults: Vec::new(),
            octavia_version: "2.26".into(),
            empty: false,
            openstack: true,
            shared_project: false,
            migrated: false,
        }
    }
}

impl LabConfig {
    /// Returns the scenario generator's configuration.
    pub fn scenario(&self) -> ScenarioConfig {
        ScenarioConfig {
            seed: self.seed,
            namespaces: self.namespaces,
            pods_per_namespace: self.pods_per_namespace,
            services_per_namespace: self.services_per_namespace,
            network_policies_per_namespace: self.network_policies_per_namespace,
            masters: self.masters,
            workers: self.workers,
        }
    }

    /// Returns the simulated cloud's configuration.
    pub fn cloud(&self) -> io::Result<CloudConfig> {
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "octavia_version {:?} is not MAJOR.MINOR",
                    self.octavia_version
                ),
            )
        };
        let (major, minor) = self.octavia_version.split_once('.').ok_or_else(bad)?;
        let version = (
            major.parse().map_err(|_| bad())?,
            minor.parse().map_err(|_| bad())?,
        );
        Ok(CloudConfig {
            octavia_max_version: version,
            reboot_delay: Duration::from_millis(self.controllers.reboot_ms),
            ..CloudConfig::default()
        })
    }
}

/// Returns what an empty cluster has: the system namespaces and a CRD for
/// every kind of the table that a real cluster gets from a CRD (Kuryr's and
/// OpenShift's).
pub fn empty_cluster() -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    ]
    .iter()
    .map(|n| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}))
    .collect();
    out.extend(
        k8s::KINDS
            .iter()
            .filter(|k| !k8s::openapi::builtin(k))
            .map(k8s::crd::crd_for),
    );
    out
}

/// A running lab: Kubernetes API, controllers and OpenStack, on loopback.
pub struct Lab {
    store: Store,
    faults: Faults,
    api: ApiServer,
    controllers: Controllers,
    cloud: Option<Cloud>,
    scenario: Scenario,
    nova_reboots: broadcast::Sender<String>,
}

impl Lab {
    /// Generates the scenario, seeds it, and starts every server and controller.
    pub async fn start(cfg: LabConfig) -> io::Result<Lab> {
        let faults = Faults::new(cfg.faults.clone());
        let store = Store::new();
        let scenario = if cfg.empty {
            Scenario::default()
        } else if cfg.shared_project {
            shared_project(&cfg.scenario(), false).0
        } else {
            kuryr_cluster(&cfg.scenario())
        };
        let objects = if cfg.empty {
            empty_cluster()
        } else {
            scenario.k8s.clone()
        };
        store
            .seed(objects)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if cfg.migrated && !cfg.empty {
            let ovnk = serde_json::json!("OVNKubernetes");
            for status in [false, true] {
                store
                    .mutate("networks.config.openshift.io", "", "cluster", status, |c| {
                        let part = if status { "status" } else { "spec" };
                        c[part]["networkType"] = ovnk.clone();
                    })
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
        }
        let (nova_reboots, rx) = broadcast::channel(1024);
        let controllers = Controllers::start(store.clone(), cfg.controllers.clone(), rx);
        let api = k8s::start(store.clone(), controllers.routes(), &faults).await?;
        let cloud = if cfg.openstack {
            let cloud = Cloud::start(&cfg.cloud()?, faults.clone(), nova_reboots.clone())?;
            cloud.seed(&scenario);
            Some(cloud)
        } else {
            None
        };
        tracing::info!(kube = %api.url(), keystone = ?cloud.as_ref().map(Cloud::auth_url), objects = scenario.k8s.len(), "lab started");
        Ok(Lab {
            store,
            faults,
            api,
            controllers,
            cloud,
            scenario,
            nova_reboots,
        })
    }

    /// Returns the Kubernetes API URL (`http://127.0.0.1:<port>`).
    pub fn kube_url(&self) -> String {
        self.api.url()
    }

    /// Writes `dir/ovn-migrate-lab.kubeconfig` (mode 0600): cluster, user
    /// (token `lab-kube-bearer-token`) and context all named `lab`. Returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> io::Result<PathBuf> {
        k8s::kubeconfig::write(&self.kube_url(), dir)
    }

    /// Writes `dir/ovn-migrate-lab.clouds.yaml` (mode 0600) with the cloud
    /// `lab` (password auth against the lab's Keystone) and `lab-reader` (a
    /// user with only the reader role). Returns its path.
    pub fn write_clouds_yaml(&self, dir: &Path) -> io::Result<PathBuf> {
        let cloud = self.cloud.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "this lab serves no OpenStack (started with openstack: false)",
            )
        })?;
        let path = dir.join("ovn-migrate-lab.clouds.yaml");
        k8s::kubeconfig::write_private(&path, &cloud.clouds_yaml("lab"))?;
        Ok(path)
    }

    /// Returns the fault rules and call counts shared by every server.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Returns the Kubernetes object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Returns the simulated OpenStack.
    ///
    /// # Panics
    /// When the lab was started with `openstack: false` (see [`Lab::try_cloud`]).
    pub fn cloud(&self) -> &Cloud {
        self.try_cloud()
            .expect("this lab serves no OpenStack (started with openstack: false)")
    }

    /// Returns the simulated OpenStack, if the lab serves one.
    pub fn try_cloud(&self) -> Option<&Cloud> {
        self.cloud.as_ref()
    }

    /// Returns the scenario the lab was seeded with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Returns the channel of rebooted Nova server IDs (sending one reboots its node).
    pub fn nova_reboots(&self) -> broadcast::Sender<String> {
        self.nova_reboots.clone()
    }

    /// Stops the API server and the controllers (the cloud stops when dropped).
    pub fn shutdown(&self) {
        self.api.shutdown();
        self.controllers.shutdown();
    }
}
