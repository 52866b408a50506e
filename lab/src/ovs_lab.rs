//! [`OvsLab`]: the OVS-era cloud of [`crate::scenario::ovs_deployment`]
//! served with the Kubernetes side that holds its OpenStackDeployment, for
//! the `ovs` workflow's tests, benchmark and demo.
//!
//! Unlike [`crate::Lab`] there is no OpenShift cluster and no simulated
//! controller: MOSK's Kubernetes side is only read here (the CR), except
//! for the MariaDB Galera of [`crate::galera`] when one is asked for
//! ([`OvsLab::start_with_galera`]): its StatefulSet and pods, whose exec
//! runs against the chosen backend. One [`Faults`] table covers both
//! servers, so a latency rule slows every call.

use std::io;
use std::path::{Path, PathBuf};

use tokio::sync::broadcast;

use crate::faults::{FaultRule, Faults};
use crate::galera::{self, Galera, GaleraBackend};
use crate::k8s::exec::ExecBackends;
use crate::k8s::{self, ApiServer, Store};
use crate::openstack::{Cloud, CloudConfig};
use crate::scenario::{OvsConfig, OvsExpected, Scenario, ovs_deployment};

/// A running OVS lab.
pub struct OvsLab {
    store: Store,
    faults: Faults,
    api: ApiServer,
    cloud: Cloud,
    scenario: Scenario,
    expected: OvsExpected,
    exec: ExecBackends,
    galera: Option<Galera>,
}

impl OvsLab {
    /// Generates the scenario, seeds both sides and starts them (no Galera);
    /// call inside a tokio runtime.
    pub async fn start(cfg: &OvsConfig, faults: Vec<FaultRule>) -> io::Result<OvsLab> {
        Self::start_with_galera(cfg, faults, None).await
    }

    /// [`OvsLab::start`] with the MariaDB Galera StatefulSet when `galera`
    /// names a backend; a real one that does not answer is an error.
    pub async fn start_with_galera(
        cfg: &OvsConfig,
        faults: Vec<FaultRule>,
        galera: Option<GaleraBackend>,
    ) -> io::Result<OvsLab> {
        let faults = Faults::new(faults);
        let (scenario, expected) = ovs_deployment(cfg);
        let store = Store::new();
        store
            .seed(scenario.k8s.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let exec = ExecBackends::new();
        let galera = match galera {
            Some(backend) => {
                let g = Galera::start(backend).await?;
                store
                    .seed(galera::objects())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                exec.serve(
                    galera::NAMESPACE,
                    &format!("{}-", galera::STATEFULSET),
                    g.handler(),
                );
                tracing::info!("{}", g.banner());
                Some(g)
            }
            None => None,
        };
        let routes = k8s::exec::routes(store.clone(), exec.clone());
        let api = k8s::start(store.clone(), routes, &faults).await?;
        let (reboots, _) = broadcast::channel(16);
        let cloud = Cloud::start(&CloudConfig::default(), faults.clone(), reboots)?;
        cloud.seed(&scenario);
        Ok(OvsLab {
            store,
            faults,
            api,
            cloud,
            scenario,
            expected,
            exec,
            galera,
        })
    }

    /// Returns the Galera, when the lab was started with one.
    pub fn galera(&self) -> Option<&Galera> {
        self.galera.as_ref()
    }

    /// Returns the table of exec handlers (e.g. to refuse v5 in a test).
    pub fn exec_backends(&self) -> &ExecBackends {
        &self.exec
    }

    /// Returns what each check must flag.
    pub fn expected(&self) -> &OvsExpected {
        &self.expected
    }

    /// Returns the scenario the lab was seeded with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Returns the fault rules and call counts.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Returns the Kubernetes object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Returns the simulated cloud.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// Writes `dir/ovn-migrate-lab.kubeconfig` (0600) and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> io::Result<PathBuf> {
        k8s::kubeconfig::write(&self.api.url(), dir)
    }

    /// Writes `dir/ovn-migrate-lab.clouds.yaml` (0600, cloud `lab`) and returns its path.
    pub fn write_clouds_yaml(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = dir.join("ovn-migrate-lab.clouds.yaml");
        k8s::kubeconfig::write_private(&path, &self.cloud.clouds_yaml("lab"))?;
        Ok(path)
    }

    /// Stops the Kubernetes API server (the cloud stops when dropped).
    pub fn shutdown(&self) {
        self.api.shutdown();
    }
}
