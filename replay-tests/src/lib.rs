//! The harness of the end-to-end tests: a lab per test, the tool run against it
//! as a child process (the real entry point, through the `ovn-migrate-replay`
//! binary), and the two things the tests compare between runs: the lab's count
//! of mutating calls per object, and the cluster's state with volatile fields
//! (resource versions, timestamps, boot IDs) taken out. [`ForeignHolder`]
//! plays another machine's ovn-migrate holding the cluster lease.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use journal::{Journal, OpId, OpenOptions, VerifyStatus, verify_journal};
use lab::{Lab, LabConfig};
use serde_json::{Value, json};

/// Timing flags that keep a run against the lab fast.
pub const FAST: &[&str] = &[
    "--poll-ms",
    "20",
    "--in-doubt-grace-s",
    "2",
    "--retry-base-ms",
    "20",
    "--lease-s",
    "20",
    "--wait-timeout-s",
    "120",
];

/// A small lab: 3 control-plane nodes, 2 workers, a few namespaces.
pub fn small() -> LabConfig {
    LabConfig {
        namespaces: 2,
        pods_per_namespace: 2,
        workers: 2,
        ..LabConfig::default()
    }
}

/// A running lab with its kubeconfig, clouds.yaml and a private state directory.
pub struct Rig {
    pub lab: Lab,
    pub kubeconfig: PathBuf,
    pub clouds: PathBuf,
    pub state: PathBuf,
    pub dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    /// Starts a lab and writes its client files into a new temporary directory.
    pub fn start(cfg: LabConfig) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt.block_on(Lab::start(cfg)).expect("lab starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = lab.write_kubeconfig(dir.path()).unwrap();
        let clouds = lab.write_clouds_yaml(dir.path()).unwrap();
        let state = dir.path().join("state");
        Rig {
            lab,
            kubeconfig,
            clouds,
            state,
            dir,
            rt,
        }
    }

    /// Returns a command running the tool against this lab.
    pub fn tool(&self, bin: &Path, args: &[&str]) -> Command {
        check_origin(bin);
        let mut c = Command::new(bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("OS_CLOUD", "lab")
            .env("OVN_MIGRATE_STATE_DIR", &self.state)
            .env_remove("OVN_MIGRATE_KILL_AT_APPEND")
            .env_remove("OVN_MIGRATE_KILL_AT")
            .env("NO_COLOR", "1");
        c
    }

    /// Runs `kuryr run --yes` with fast timing and extra args; returns its output.
    pub fn run(&self, bin: &Path, extra: &[&str], kill_at: Option<u64>) -> Output {
        let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
        args.extend_from_slice(FAST);
        args.extend_from_slice(extra);
        let mut c = self.tool(bin, &args);
        if let Some(n) = kill_at {
            c.env("OVN_MIGRATE_KILL_AT_APPEND", n.to_string());
        }
        c.output().expect("the tool runs")
    }

    /// Runs `kuryr run --yes` as [`Rig::run`] does, killed by SIGKILL right
    /// after the append named `point` (`Name:subject#n`, see
    /// `steps::engine::describe`) became durable.
    pub fn run_killed_at(&self, bin: &Path, point: &str) -> Output {
        let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
        args.extend_from_slice(FAST);
        let mut c = self.tool(bin, &args);
        c.env("OVN_MIGRATE_KILL_AT", point);
        c.output().expect("the tool runs")
    }

    /// Runs `kuryr resume` with fast timing and extra args; returns its output.
    pub fn resume(&self, bin: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["kuryr", "resume", "--yes", "--no-progress"];
        args.extend_from_slice(FAST);
        args.extend_from_slice(extra);
        self.tool(bin, &args).output().expect("the tool runs")
    }

    /// Returns the lab's successful mutating calls that change the cluster or
    /// the cloud (cluster lease renewals and Keystone logins left out).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.lab
            .faults()
            .calls()
            .into_iter()
            .filter(|(k, _)| !k.contains("/leases") && !k.contains("/auth/tokens"))
            .collect()
    }

    /// Runs a future on the lab's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Returns the cluster state the migration is about, without volatile fields.
    pub fn cluster_state(&self) -> Value {
        let s = self.lab.store();
        let get = |res: &str, ns: &str, name: &str| {
            s.get(res, ns, name).map(clean).unwrap_or(Value::Null)
        };
        let list = |res: &str, ns: Option<&str>| -> Value {
            let mut v: Vec<Value> = s
                .list_all(res, ns)
                .unwrap_or_default()
                .into_iter()
                .map(clean)
                .collect();
            v.sort_by_key(|o| {
                o.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            });
            Value::Array(v)
        };
        let mut servers: Vec<Value> = self
            .lab
            .cloud()
            .servers()
            .into_iter()
            .map(|sv| json!({"id": sv["id"], "status": sv["status"]}))
            .collect();
        servers.sort_by_key(|v| v["id"].as_str().unwrap_or("").to_string());
        json!({
            "config_network": get("networks.config.openshift.io", "", "cluster"),
            "operator_network": get("networks.operator.openshift.io", "", "cluster"),
            "pools": list("machineconfigpools.machineconfiguration.openshift.io", None),
            "nodes": list("nodes", None),
            "multus": get("daemonsets.apps", "openshift-multus", "multus"),
            "kuryr_pods": list("pods", Some("openshift-kuryr")),
            "servers": servers,
        })
    }
}

/// Panics unless `bin` was built from this source tree. Cargo copies each
/// build's binary to the same `target/debug/ovn-migrate-replay`, so with a
/// `CARGO_TARGET_DIR` shared between worktrees a test may otherwise run a
/// binary that another worktree built a moment ago.
pub fn check_origin(bin: &Path) {
    let out = Command::new(bin)
        .env("OVN_MIGRATE_REPLAY_ORIGIN", "1")
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", bin.display()));
    let origin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        origin,
        env!("CARGO_MANIFEST_DIR"),
        "{} was built from another source tree (a CARGO_TARGET_DIR shared between worktrees, \
         and another build overwrote it); build and test with a target directory of this worktree's own",
        bin.display()
    );
}

/// Returns the operation the current run's status file names (e.g. `…/M5/…`).
pub fn status_current(rig: &Rig) -> Option<String> {
    let dir = current_journal(&rig.state)?;
    let file = dir.with_file_name(format!(
        "{}.status.json",
        dir.file_name()?.to_string_lossy()
    ));
    let v: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v["current"].as_str().map(str::to_string)
}

/// The cluster lease's resource, namespace and name in the lab's store.
pub const LEASE: (&str, &str, &str) = ("leases.coordination.k8s.io", "kube-system", "ovn-migrate");

/// Another machine's ovn-migrate holding the cluster lease, with its clock
/// `behind` ours; while `renewing`, it renews every 200 ms (its renewTime and
/// resourceVersion change) until dropped.
pub struct ForeignHolder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ForeignHolder {
    /// Creates the lease for `holder` (lasting `duration_s`) and starts renewing it if `renewing`.
    pub fn start(
        rig: &Rig,
        holder: &str,
        behind: Duration,
        duration_s: u64,
        renewing: bool,
    ) -> ForeignHolder {
        let their_now = move || {
            (chrono::Utc::now() - chrono::Duration::from_std(behind).unwrap())
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let now = their_now();
        let (res, ns, name) = LEASE;
        rig.lab
            .store()
            .create(
                res,
                ns,
                json!({
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {
                        "holderIdentity": holder,
                        "renewTime": now,
                        "acquireTime": now,
                        "leaseDurationSeconds": duration_s,
                    },
                }),
            )
            .expect("the lease is created");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = renewing.then(|| {
            let (store, stop) = (rig.lab.store().clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(200));
                    let _ = store.mutate(res, ns, name, false, |l| {
                        l["spec"]["renewTime"] = their_now().into();
                    });
                }
            })
        });
        ForeignHolder { stop, thread }
    }
}

impl Drop for ForeignHolder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Removes what differs between equivalent runs: resource versions, uids,
/// timestamps, boot IDs, managed fields.
pub fn clean(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| {
                    !matches!(
                        k.as_str(),
                        "resourceVersion"
                            | "uid"
                            | "creationTimestamp"
                            | "managedFields"
                            | "bootID"
                            | "generation"
                    ) && !k.ends_with("Time")
                        && !k.ends_with("Timestamp")
                });
                map.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Returns the journal directory of the cluster's current migration run.
pub fn current_journal(state: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(state).ok()?.flatten() {
        let current = std::fs::read_to_string(e.path().join("current")).ok();
        if let Some(run) = current.as_deref().and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("kuryr-migrate ")
                    .map(str::trim)
                    .map(str::to_string)
            })
        }) {
            return Some(e.path().join(run));
        }
    }
    None
}

/// What an uninterrupted run leaves behind, to compare other runs against.
#[derive(Clone, Debug)]
pub struct Reference {
    /// [`Rig::cluster_state`] after the run.
    pub state: Value,
    /// [`Rig::calls`] after the run.
    pub calls: BTreeMap<String, u64>,
    /// Records in the run's journal.
    pub records: u64,
}

impl Reference {
    /// Runs a full migration on a fresh `small()` lab and returns what it left.
    pub fn take(bin: &Path) -> Reference {
        let rig = Rig::start(small());
        let out = rig.run(bin, &[], None);
        assert!(
            out.status.success(),
            "the reference run fails: {}",
            describe(&out)
        );
        let records = check_journal(&rig);
        Reference {
            state: rig.cluster_state(),
            calls: rig.calls(),
            records,
        }
    }

    /// Returns how `rig` differs from the reference run (state, calls), if it does.
    pub fn differences(&self, rig: &Rig) -> Vec<String> {
        let mut out = Vec::new();
        let state = rig.cluster_state();
        if state != self.state {
            out.push(format!(
                "final cluster state differs:\n{state}\nvs the reference\n{}",
                self.state
            ));
        }
        let calls = rig.calls();
        if calls != self.calls {
            out.push(format!(
                "mutating calls differ: {calls:?}\nvs the reference {:?}",
                self.calls
            ));
        }
        out
    }
}

/// Checks the journal of the current run: the chain verifies and is sealed,
/// every planned operation has a successful outcome, and nothing is in doubt.
/// Returns its number of records.
pub fn check_journal(rig: &Rig) -> u64 {
    let dir = current_journal(&rig.state).expect("a current run");
    let j = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
    let report = verify_journal(&j).unwrap();
    assert!(
        matches!(report.status, VerifyStatus::Sealed { .. }),
        "{report:?}"
    );
    let run = rig
        .block_on(steps::workflow::load_run::<steps::kuryr::migrate::Session>(
            j.clone(),
        ))
        .unwrap();
    for op in &run.plan.operations {
        let state = j
            .op_state(&OpId(op.key.clone()))
            .unwrap()
            .unwrap_or_default();
        assert!(state.done, "operation {} has no successful outcome", op.key);
    }
    assert!(j.in_doubt().unwrap().is_empty(), "operations in doubt");
    report.records
}

/// Returns the kill points of a finished run's journal: each record named as
/// `Name:subject#n` (its n-th append of that name), in order. Records whose
/// number varies between equivalent runs are left out: a condition's changes
/// after its first (they depend on when the polls fall) and the records that
/// follow from them in the same wait.
pub fn kill_points(dir: &Path) -> Vec<String> {
    let j = Journal::open_any(dir, &OpenOptions::default()).unwrap();
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for r in j.iter(1) {
        let r = r.unwrap();
        let name = steps::engine::describe(&r.event);
        let n = seen.entry(name.clone()).or_default();
        *n += 1;
        if matches!(r.event, journal::Event::ConditionObserved { .. }) && *n > 1 {
            continue;
        }
        out.push(format!("{name}#{n}"));
    }
    out
}

/// Returns the sum of the counts whose `METHOD path` contains `needle`.
pub fn count(calls: &BTreeMap<String, u64>, needle: &str) -> u64 {
    calls
        .iter()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, n)| *n)
        .sum()
}

/// Returns the process exit code, or panics with the output (killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("no exit code: {}", describe(out)))
}

/// Polls `f` every 20 ms until it returns `Some`; panics naming `what` after `limit`.
pub fn wait_until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` to completion and returns its output; kills it (by its pid) and
/// panics naming `what` if it takes longer than `limit`.
pub fn output_within(mut cmd: Command, what: &str, limit: Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    finish_within(child, what, limit)
}

/// Waits for a started child and returns its output; kills it (by its pid)
/// and panics naming `what` if it takes longer than `limit`.
pub fn finish_within(child: std::process::Child, what: &str, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("the tool's output is readable"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{what} did not finish within {limit:?} (pid {pid} killed)");
        }
    }
}

/// Describes a finished child process for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
