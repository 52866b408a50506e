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
use crate::scenario::Scenario;
use stub::{ScenarioConfig, kuryr_cluster};

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

/// A running lab: Kubernetes API, controllers and OpenStack, on loopback.
pub struct Lab {
    store: Store,
    faults: Faults,
    api: ApiServer,
    controllers: Controllers,
    cloud: Cloud,
    scenario: Scenario,
    nova_reboots: broadcast::Sender<String>,
}

impl Lab {
    /// Generates the scenario, seeds it, and starts every server and controller.
    pub async fn start(cfg: LabConfig) -> io::Result<Lab> {
        let faults = Faults::new(cfg.faults.clone());
        let store = Store::new();
        let scenario = kuryr_cluster(&cfg.scenario());
        store
            .seed(scenario.k8s.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let (nova_reboots, rx) = broadcast::channel(1024);
        let controllers = Controllers::start(store.clone(), cfg.controllers.clone(), rx);
        let api = k8s::start(store.clone(), controllers.routes(), &faults).await?;
        let cloud = Cloud::start(&cfg.cloud()?, faults.clone(), nova_reboots.clone())?;
        cloud.seed(&scenario);
        tracing::info!(kube = %api.url(), keystone = %cloud.auth_url(), objects = scenario.k8s.len(), "lab started");
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
    /// (token `lab`) and context all named `lab`. Returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> io::Result<PathBuf> {
        k8s::kubeconfig::write(&self.kube_url(), dir)
    }

    /// Writes `dir/ovn-migrate-lab.clouds.yaml` (mode 0600) with one cloud
    /// named `lab` (password auth against the lab's Keystone). Returns its path.
    pub fn write_clouds_yaml(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = dir.join("ovn-migrate-lab.clouds.yaml");
        k8s::kubeconfig::write_private(&path, &self.cloud.clouds_yaml("lab"))?;
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
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
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

/// Local stand-in for `crate::scenario::{ScenarioConfig, kuryr_cluster}` until
/// the scenario generator lands: Kubernetes objects only, no OpenStack side.
mod stub {
    use serde_json::{Value, json};

    use crate::scenario::Scenario;

    /// Scenario sizes.
    #[derive(Clone, Debug, Default)]
    pub struct ScenarioConfig {
        pub seed: u64,
        pub namespaces: usize,
        pub pods_per_namespace: usize,
        pub services_per_namespace: usize,
        pub network_policies_per_namespace: usize,
        pub masters: usize,
        pub workers: usize,
    }

    const CURRENT: &str = "machineconfiguration.openshift.io/currentConfig";
    const DESIRED: &str = "machineconfiguration.openshift.io/desiredConfig";
    const STATE: &str = "machineconfiguration.openshift.io/state";

    /// Returns a small Kuryr cluster's Kubernetes objects.
    pub fn kuryr_cluster(c: &ScenarioConfig) -> Scenario {
        let infra = format!("ostest-{:05x}", c.seed & 0xfffff);
        let mut o: Vec<Value> = vec![];
        for ns in ["openshift-kuryr", "openshift-multus", "default"] {
            o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        }
        o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"},
            "status": {"infrastructureName": infra, "platform": "OpenStack"}}));
        o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
            "spec": {"networkType": "Kuryr", "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}], "serviceNetwork": ["172.30.0.0/16"]},
            "status": {"networkType": "Kuryr"}}));
        o.push(json!({"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
            "spec": {"defaultNetwork": {"type": "Kuryr"}}}));
        o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator", "metadata": {"name": "network"},
            "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "False"}, {"type": "Degraded", "status": "False"}]}}));
        for plural in [
            "kuryrnetworks",
            "kuryrports",
            "kuryrloadbalancers",
            "kuryrnetworkpolicies",
        ] {
            o.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.openstack.org")}, "spec": {"group": "openstack.org", "scope": "Namespaced"}}));
        }
        let mut nodes = 0;
        for (pool, count) in [("master", c.masters), ("worker", c.workers)] {
            let rendered = format!("rendered-{pool}-{:032x}", c.seed);
            o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
                "metadata": {"name": format!("00-{pool}"), "labels": {"machineconfiguration.openshift.io/role": pool}},
                "spec": {"config": {"systemd": {"units": [{"name": "configure-ovs.service", "contents": "ExecStart=/usr/local/bin/configure-ovs.sh Kuryr"}]}}}}));
            o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig", "metadata": {"name": rendered}, "spec": {"config": {}}}));
            o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool", "metadata": {"name": pool},
                "spec": {"configuration": {"name": rendered}, "machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": pool}},
                         "nodeSelector": {"matchLabels": {format!("node-role.kubernetes.io/{pool}"): ""}}},
                "status": {"configuration": {"name": rendered}, "machineCount": count, "updatedMachineCount": count, "readyMachineCount": count,
                           "conditions": [{"type": "Updated", "status": "True"}, {"type": "Updating", "status": "False"}, {"type": "Degraded", "status": "False"}]}}));
            for i in 0..count {
                nodes += 1;
                o.push(json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": format!("{infra}-{pool}-{i}"), "labels": {format!("node-role.kubernetes.io/{pool}"): ""},
                                 "annotations": {CURRENT: rendered, DESIRED: rendered, STATE: "Done"}},
                    "spec": {"providerID": format!("openstack:///{:08x}-0000-4000-8000-{:012x}", c.seed, nodes)},
                    "status": {"nodeInfo": {"bootID": format!("{:08x}-boot", nodes)}, "conditions": [{"type": "Ready", "status": "True"}],
                               "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{}", 10 + nodes)}]}}));
            }
        }
        o.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "multus", "namespace": "openshift-multus"},
            "spec": {"template": {"metadata": {}}},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": nodes, "updatedNumberScheduled": nodes, "numberAvailable": nodes}}));
        o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kuryr-controller-0", "namespace": "openshift-kuryr"}}));
        for n in 0..c.namespaces {
            let ns = format!("app-{n}");
            o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
            o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork", "metadata": {"name": ns, "namespace": ns,
                "finalizers": ["kuryrnetwork.finalizers.kuryr.openstack.org"]}, "spec": {"nsName": ns, "projectId": "p"}}));
            for p in 0..c.pods_per_namespace {
                let uid = format!("{:08x}-{n:04x}-4000-8000-{p:012x}", c.seed);
                o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("pod-{p}"), "namespace": ns, "uid": uid,
                    "finalizers": ["kuryr.openstack.org/pod-finalizer"]}, "status": {"phase": "Running"}}));
                o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrPort", "metadata": {"name": format!("pod-{p}"), "namespace": ns,
                    "finalizers": ["kuryr.openstack.org/kuryrport-finalizer"],
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": format!("pod-{p}"), "uid": uid}]},
                    "spec": {"podUid": uid}}));
            }
        }
        Scenario {
            k8s: o,
            ..Scenario::default()
        }
    }
}
