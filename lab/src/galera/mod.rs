//! The lab's MariaDB Galera: StatefulSet `openstack/mariadb-server` with
//! three Ready pods `mariadb-server-0..2` (container `mariadb`), whose exec
//! runs against a backend chosen explicitly ([`GaleraBackend`]):
//!
//! * **Real** ([`real`]): pod N-1 ↔ member N of `lab/real/galera.sh`, a real
//!   three-member MariaDB 10.11 + Galera 4 cluster on 127.0.0.1. `mariadb`,
//!   `mysql`, `mariadb-dump` and `mysqldump` run on the host against the
//!   member's socket, so `wsrep_desync`, the state transitions and the dump
//!   are MariaDB's own. [`Galera::start`] fails, naming the command to run,
//!   when the members do not answer: a missing cluster is never replaced by
//!   the simulation.
//! * **Simulated** ([`sim`]): an in-process model of the wsrep states, for
//!   `demo ovs` on a machine without MariaDB. [`Galera::banner`] says so,
//!   and starting it logs a warning.
//!
//! Either way each pod has its own `/var/lib/mysql/` ([`files`]): the dump
//! writes there and `sha256sum`, `stat`, `ls`, `cat`, `head`, `tail`, `rm` and `test` work
//! on it (the host's coreutils, confined to that directory). Any other
//! program is "executable file not found", as in a container that lacks it.

pub mod files;
pub mod real;
pub mod sim;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::k8s::exec::{ExecEnd, ExecHandler, ExecIo, ExecRequest};
use files::{FILE_COMMANDS, PodFiles};
use real::RealMember;
use sim::SimGalera;

/// The Galera's namespace.
pub const NAMESPACE: &str = "openstack";
/// The StatefulSet (and pod name prefix).
pub const STATEFULSET: &str = "mariadb-server";
/// The pods' container.
pub const CONTAINER: &str = "mariadb";
/// Members, replicas and pods.
pub const REPLICAS: usize = 3;
/// openstack-helm's admin client options file in the `mariadb` container;
/// the backup passes `--defaults-file=` it. The lab maps it to a file of its
/// own (real: `[client] user = root` over the socket; simulated: accepted).
pub const ADMIN_CNF: &str = "/etc/mysql/admin_user.cnf";
/// `lab/real/galera.sh`'s default state directory.
pub const DEFAULT_GALERA_DIR: &str = "/tmp/galera-ovn-migrate";

/// Which Galera answers the pods' exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GaleraBackend {
    /// The members `lab/real/galera.sh up` started under `dir` (its `GALERA_DIR`).
    Real {
        /// The state directory (`$dir/nN/mysqld.sock` is member N's socket).
        dir: PathBuf,
    },
    /// The in-process model of [`sim`] (no MariaDB).
    Simulated,
}

impl GaleraBackend {
    /// Returns the real backend at `$GALERA_DIR`, else [`DEFAULT_GALERA_DIR`].
    pub fn real_from_env() -> Self {
        GaleraBackend::Real {
            dir: std::env::var_os("GALERA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_GALERA_DIR)),
        }
    }
}

/// Returns the StatefulSet and its pods, Ready, as the API holds them.
pub fn objects() -> Vec<Value> {
    let labels = json!({"application": "mariadb", "component": "server"});
    let mut out = vec![json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": STATEFULSET, "namespace": NAMESPACE, "labels": labels, "generation": 1},
        "spec": {
            "replicas": REPLICAS, "serviceName": "mariadb-discovery",
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": CONTAINER, "image": "mirantis.azurecr.io/general/mariadb:10.11"}]}},
        },
        "status": {"observedGeneration": 1, "replicas": REPLICAS, "readyReplicas": REPLICAS,
                   "currentReplicas": REPLICAS, "updatedReplicas": REPLICAS, "availableReplicas": REPLICAS},
    })];
    for i in 0..REPLICAS {
        let mut pod_labels = labels.clone();
        pod_labels["statefulset.kubernetes.io/pod-name"] = json!(format!("{STATEFULSET}-{i}"));
        out.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{STATEFULSET}-{i}"), "namespace": NAMESPACE, "labels": pod_labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                              "name": STATEFULSET, "uid": "mariadb-server-sts", "controller": true}]},
            "spec": {"containers": [{"name": CONTAINER, "image": "mirantis.azurecr.io/general/mariadb:10.11"}],
                     "hostname": format!("{STATEFULSET}-{i}"), "subdomain": "mariadb-discovery"},
            "status": {"phase": "Running", "podIP": format!("10.233.0.{}", 10 + i),
                       "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
                       "containerStatuses": [{"name": CONTAINER, "ready": true, "restartCount": 0,
                                              "image": "mirantis.azurecr.io/general/mariadb:10.11", "imageID": "",
                                              "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]},
        }));
    }
    out
}

enum Sql {
    Real(RealMember),
    Sim(SimGalera),
}

struct Member {
    files: PodFiles,
    sql: Sql,
}

/// The exec handler of the mariadb pods.
struct GaleraExec {
    members: Vec<Member>,
}

/// A running lab Galera: its backend, its pods' directories, its handler.
pub struct Galera {
    backend: GaleraBackend,
    sim: Option<SimGalera>,
    handler: Arc<GaleraExec>,
    _scratch: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Galera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Galera")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Galera {
    /// Prepares the backend: for the real one, checks that every member
    /// answers on its socket (else fails, saying how to start them).
    pub async fn start(backend: GaleraBackend) -> io::Result<Galera> {
        let (members, sim, scratch) = match &backend {
            GaleraBackend::Real { dir } => {
                let mut members = Vec::new();
                for i in 0..REPLICAS {
                    let n = i + 1;
                    let socket = dir.join(format!("n{n}")).join("mysqld.sock");
                    check_member(&socket, n, dir).await?;
                    let etc = dir.join(format!("n{n}")).join("etc-mysql");
                    std::fs::create_dir_all(&etc)?;
                    let admin_cnf = etc.join("admin_user.cnf");
                    std::fs::write(&admin_cnf, real::admin_cnf_text(&socket))?;
                    members.push(Member {
                        files: PodFiles::new(dir.join(format!("n{n}")).join("var-lib-mysql"))?,
                        sql: Sql::Real(RealMember { socket, admin_cnf }),
                    });
                }
                (members, None, None)
            }
            GaleraBackend::Simulated => {
                tracing::warn!(
                    "the lab's Galera is SIMULATED: an in-process model of the wsrep states, no MariaDB"
                );
                let scratch = tempfile::Builder::new()
                    .prefix("ovn-migrate-lab-galera-")
                    .tempdir()?;
                let sim = SimGalera::new(REPLICAS);
                let members = (0..REPLICAS)
                    .map(|i| {
                        Ok(Member {
                            files: PodFiles::new(
                                scratch.path().join(format!("{STATEFULSET}-{i}")),
                            )?,
                            sql: Sql::Sim(sim.clone()),
                        })
                    })
                    .collect::<io::Result<Vec<_>>>()?;
                (members, Some(sim), Some(scratch))
            }
        };
        Ok(Galera {
            backend,
            sim,
            handler: Arc::new(GaleraExec { members }),
            _scratch: scratch,
        })
    }

    /// Returns the exec handler of the `mariadb-server-*` pods.
    pub fn handler(&self) -> Arc<dyn ExecHandler> {
        self.handler.clone()
    }

    /// Returns the backend.
    pub fn backend(&self) -> &GaleraBackend {
        &self.backend
    }

    /// Returns the simulated cluster (to inject states in tests), if simulated.
    pub fn sim(&self) -> Option<&SimGalera> {
        self.sim.as_ref()
    }

    /// Returns the host directory that is pod `ordinal`'s `/var/lib/mysql/`.
    pub fn pod_dir(&self, ordinal: usize) -> &Path {
        self.handler.members[ordinal].files.root()
    }

    /// Returns one line that says what answers the pods' exec.
    pub fn banner(&self) -> String {
        match &self.backend {
            GaleraBackend::Real { dir } => format!(
                "Galera: REAL MariaDB + Galera (lab/real/galera.sh, {} members under {})",
                REPLICAS,
                dir.display()
            ),
            GaleraBackend::Simulated => "Galera: SIMULATED (an in-process model of the wsrep \
                                         states; no MariaDB runs, the dump is a stand-in)"
                .to_string(),
        }
    }
}

/// Fails unless member `n` answers `SELECT 1` on `socket`.
async fn check_member(socket: &Path, n: usize, dir: &Path) -> io::Result<()> {
    let how = format!(
        "start the real Galera with `GALERA_DIR={} bash lab/real/galera.sh up` (as root), \
         or choose the simulated Galera explicitly",
        dir.display()
    );
    if !socket.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the real Galera's member {n} is not running: no socket {}; {how}",
                socket.display()
            ),
        ));
    }
    let out = tokio::process::Command::new("mariadb")
        .arg(format!("--socket={}", socket.display()))
        .args(["-N", "-B", "-e", "SELECT 1"])
        .output()
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("running the mariadb client failed ({e}): install mariadb-client; {how}"),
            )
        })?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "the real Galera's member {n} does not answer on {}: {}; {how}",
            socket.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Returns the pod ordinal of `mariadb-server-<k>`.
fn ordinal(pod: &str) -> Option<usize> {
    pod.strip_prefix(STATEFULSET)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

impl ExecHandler for GaleraExec {
    fn exec(&self, req: ExecRequest, io: ExecIo) -> BoxFuture<'static, ExecEnd> {
        let Some(i) = ordinal(&req.pod).filter(|i| *i < self.members.len()) else {
            let pod = req.pod.clone();
            return Box::pin(async move {
                ExecEnd::CannotRun {
                    reason: "InternalError".into(),
                    message: format!("the lab's Galera has no member for pod {pod}"),
                }
            });
        };
        let files = self.members[i].files.clone();
        let sql = match &self.members[i].sql {
            Sql::Real(m) => Sql::Real(m.clone()),
            Sql::Sim(s) => Sql::Sim(s.clone()),
        };
        Box::pin(async move {
            let argv = req.command;
            let program = Path::new(&argv[0])
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            match (program.as_str(), &sql) {
                ("mariadb" | "mysql" | "mariadb-dump" | "mysqldump", Sql::Real(m)) => {
                    real::run(m, &files, &argv, io).await
                }
                ("mariadb" | "mysql", Sql::Sim(s)) => s.client(i, &argv, io).await,
                ("mariadb-dump" | "mysqldump", Sql::Sim(s)) => s.dump(i, &files, &argv, io).await,
                (p, _) if FILE_COMMANDS.contains(&p) => files.run(&argv, &io.out).await,
                (p, _) => ExecEnd::CannotRun {
                    reason: "InternalError".into(),
                    message: format!(
                        "OCI runtime exec failed: exec failed: unable to start container process: \
                         exec: {p:?}: executable file not found in $PATH: unknown (the lab's mariadb \
                         pods run mariadb, mysql, mariadb-dump, mysqldump, {})",
                        FILE_COMMANDS.join(", ")
                    ),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_named_by_ordinal_and_ready() {
        let objs = objects();
        assert_eq!(objs.len(), 1 + REPLICAS);
        assert_eq!(objs[0]["status"]["readyReplicas"], 3);
        for (i, p) in objs[1..].iter().enumerate() {
            assert_eq!(p["metadata"]["name"], format!("mariadb-server-{i}"));
            assert_eq!(p["status"]["conditions"][0]["status"], "True");
        }
        assert_eq!(ordinal("mariadb-server-2"), Some(2));
        assert_eq!(ordinal("mariadb-server-x"), None);
        assert_eq!(ordinal("mariadb-serverx-1"), None);
    }
}
