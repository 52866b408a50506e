//! `ovn-migrate ovs prepare` against the OVS lab over HTTP, through the real
//! entry point: Nova for the canaries, the OpenStackDeployment for the DHCP
//! lease, and the lab's `mariadb-server` pods answering the Kubernetes exec
//! protocol for the backup (the lab's Galera, `lab::galera`).
//!
//! What is checked: a run completes with one ACTIVE tagged canary per
//! compute host (one Nova POST each), the lease patched, one complete dump
//! whose sha256 the journal holds, the member Synced; the old-leases gate
//! pauses the run with the time it opens and `status` shows it; a sick
//! Galera is refused before anything is desynced; Ctrl-C after the desync
//! resyncs before the process exits; and a run killed with SIGKILL at every
//! journal append, then resumed, ends the same way with no canary booted
//! twice and the dump there once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use journal::{Event, Journal, OpId, OpenOptions, VerifyStatus, verify_journal};
use lab::OvsLab;
use lab::faults::FaultRule;
use lab::galera::GaleraBackend;
use lab::scenario::OvsConfig;
use replay_tests::{describe, finish_within, kill_points};
use serde_json::Value;
use steps::ovs::prepare::WORKFLOW;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
/// The member the backup desyncs (the highest index).
const MEMBER: usize = 2;

/// Timing that keeps a run against the lab fast.
const FAST: &[&str] = &[
    "--poll-ms",
    "20",
    "--in-doubt-grace-s",
    "1",
    "--retry-base-ms",
    "20",
    "--lease-s",
    "20",
    "--wait-timeout-s",
    "120",
];

/// The canary flags every run passes (the client options file is the
/// default, openstack-helm's /etc/mysql/admin_user.cnf, as the lab's pods have).
const CANARY: &[&str] = &["--image", "cirros-0.6", "--flavor", "m1.tiny"];

struct Rig {
    lab: OvsLab,
    /// The dumps already in the member's directory when the rig started
    /// (the real Galera's directories outlive a rig): not this rig's.
    before: Vec<PathBuf>,
    kubeconfig: PathBuf,
    clouds: PathBuf,
    state: PathBuf,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    fn start(backend: GaleraBackend) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt
            .block_on(OvsLab::start_with_galera(
                &OvsConfig::default(),
                vec![],
                Some(backend),
            ))
            .expect("the OVS lab starts with its Galera");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = lab.write_kubeconfig(dir.path()).unwrap();
        let clouds = lab.write_clouds_yaml(dir.path()).unwrap();
        let state = dir.path().join("state");
        let mut rig = Rig {
            lab,
            before: Vec::new(),
            kubeconfig,
            clouds,
            state,
            _dir: dir,
            rt,
        };
        rig.before = rig.all_dumps();
        rig
    }

    fn tool(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("OS_CLOUD", "lab")
            .env("OVN_MIGRATE_STATE_DIR", &self.state)
            .env_remove("OVN_MIGRATE_KILL_AT")
            .env_remove("OVN_MIGRATE_KILL_AT_APPEND")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Returns the argv of `ovs prepare --yes` with fast timing, the canary
    /// flags, `--old-lease-s old` and `extra`.
    fn prepare_args<'a>(old: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec!["ovs", "prepare", "--yes", "--no-progress"];
        a.extend_from_slice(FAST);
        a.extend_from_slice(CANARY);
        a.extend_from_slice(&["--old-lease-s", old]);
        a.extend_from_slice(extra);
        a
    }

    fn prepare(&self, old: &str) -> Output {
        self.tool(&Self::prepare_args(old, &[])).output().unwrap()
    }

    fn resume(&self) -> Output {
        let mut a = vec!["ovs", "prepare", "resume", "--yes", "--no-progress"];
        a.extend_from_slice(FAST);
        self.tool(&a).output().unwrap()
    }

    /// Returns the journal directory of the current prepare run.
    fn journal(&self) -> Option<PathBuf> {
        for e in std::fs::read_dir(&self.state).ok()?.flatten() {
            let current = std::fs::read_to_string(e.path().join("current")).ok();
            if let Some(run) = current.as_deref().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix(&format!("{WORKFLOW} ")).map(str::trim))
                    .map(str::to_string)
            }) {
                return Some(e.path().join(run));
            }
        }
        None
    }

    /// Returns the successful Nova server creations.
    fn server_posts(&self) -> u64 {
        self.lab
            .faults()
            .calls()
            .iter()
            .filter(|(k, _)| k.as_str() == "POST /compute/v2.1/servers")
            .map(|(_, n)| *n)
            .sum()
    }

    /// Returns the servers named as canaries, as Nova holds them.
    fn canaries(&self) -> Vec<Value> {
        self.lab
            .cloud()
            .servers()
            .into_iter()
            .filter(|s| {
                s["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("ovn-migrate-canary-"))
            })
            .collect()
    }

    /// Returns the OpenStackDeployment's dhcp_lease_duration.
    fn lease(&self) -> Option<u64> {
        let cr = self
            .lab
            .store()
            .list_all("openstackdeployments.lcm.mirantis.com", Some("openstack"))
            .ok()?
            .into_iter()
            .next()?;
        cr.pointer(
            "/spec/services/networking/neutron/values/conf/dhcp_agent/DEFAULT/dhcp_lease_duration",
        )?
        .as_u64()
    }

    /// Returns this rig's dump files in the member's data directory.
    fn dumps(&self) -> Vec<PathBuf> {
        let mut d = self.all_dumps();
        d.retain(|p| !self.before.contains(p));
        d
    }

    /// Returns every dump file in the member's data directory.
    fn all_dumps(&self) -> Vec<PathBuf> {
        let dir = self.lab.galera().unwrap().pod_dir(MEMBER).to_path_buf();
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("neutron-ovs-ovn-migration-"))
            })
            .collect();
        out.sort();
        out
    }

    /// Returns the member's (wsrep_desync, wsrep_local_state_comment), read
    /// through the pod's exec as any client would.
    fn member_state(&self) -> (String, String) {
        let kc = self
            .rt
            .block_on(steps::kube::connect(&steps::kube::ClientOptions {
                kubeconfig: Some(self.kubeconfig.clone()),
                context: None,
                timeout: Some(Duration::from_secs(10)),
            }))
            .unwrap();
        let q = |sql: &str| {
            let out = self
                .rt
                .block_on(kc.exec(
                    "openstack",
                    "mariadb-server-2",
                    Some("mariadb"),
                    &["mariadb", "-N", "-B", "-e", sql],
                    Duration::from_secs(10),
                ))
                .unwrap();
            assert!(out.success(), "{}", out.stderr_text());
            out.stdout_text()
                .split('\t')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        (
            q("SHOW GLOBAL VARIABLES LIKE 'wsrep_desync'"),
            q("SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'"),
        )
    }

    /// Removes this rig's dumps (the real Galera's directories outlive it).
    fn remove_dumps(&self) {
        for d in self.dumps() {
            let _ = std::fs::remove_file(d);
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.remove_dumps();
        self.lab.shutdown();
    }
}

/// Returns the sha256 of a file, with the host's `sha256sum`.
fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Returns the (size, sha256) the journal holds for the dump: the last
/// success or skip of `p4-dump`, from its outcome or its observation.
fn journaled_dump(dir: &Path) -> (u64, String) {
    let j = Journal::open_read(dir).unwrap();
    let mut found = None;
    for r in j.iter(1) {
        let ev = r.unwrap().event;
        let doc = match &ev {
            Event::OperationSucceeded { op, observed, .. } if op.0 == "p4-dump" => observed,
            Event::ObservationRecorded { key, body } if key == "observed/p4-dump" => body,
            _ => continue,
        };
        let v = steps::engine::resolve(&j, doc).unwrap();
        if let (Some(size), Some(sum)) = (v["size"].as_u64(), v["sha256"].as_str()) {
            found = Some((size, sum.to_string()));
        }
    }
    found.expect("the journal holds the dump's size and sha256")
}

/// Checks what a completed run leaves: the journal sealed with every
/// operation done; one ACTIVE tagged canary per host, each POSTed once;
/// the lease patched; one complete dump whose size and sha256 the journal
/// holds; the member Synced with wsrep_desync OFF. Returns the problems.
fn completed_problems(rig: &Rig) -> Vec<String> {
    let mut p = Vec::new();
    let Some(dir) = rig.journal() else {
        return vec!["no current prepare run".into()];
    };
    let j = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
    let report = verify_journal(&j).unwrap();
    if !matches!(report.status, VerifyStatus::Sealed { .. }) {
        p.push(format!("journal not sealed: {report:?}"));
    }
    let plan_ops = [
        "p1-canary/compute-0",
        "p1-canary/compute-1",
        "p1-canary/compute-2",
        "p3-dhcp-lease",
        "p4-galera-check",
        "p4-desync",
        "p4-dump",
        "p4-resync",
        "p5-old-leases-expired",
    ];
    for op in plan_ops {
        let s = j.op_state(&OpId(op.into())).unwrap().unwrap_or_default();
        if !s.done {
            p.push(format!("{op} has no successful outcome"));
        }
    }
    if !j.in_doubt().unwrap().is_empty() {
        p.push(format!("in doubt: {:?}", j.in_doubt().unwrap()));
    }
    drop(j);
    let canaries = rig.canaries();
    if canaries.len() != 3 {
        p.push(format!("{} canaries: {canaries:?}", canaries.len()));
    }
    for c in &canaries {
        let tagged = c["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "openstack.lcm.mirantis.com:prober"));
        if c["status"] != "ACTIVE" || !tagged {
            p.push(format!("canary not ACTIVE and tagged: {c}"));
        }
    }
    if rig.server_posts() != 3 {
        p.push(format!(
            "{} Nova POSTs for 3 canaries (a canary booted twice)",
            rig.server_posts()
        ));
    }
    if rig.lease() != Some(259_200) {
        p.push(format!("dhcp_lease_duration is {:?}", rig.lease()));
    }
    let dumps = rig.dumps();
    if dumps.len() != 1 {
        p.push(format!("{} dumps: {dumps:?}", dumps.len()));
    } else {
        let (size, sum) = journaled_dump(&dir);
        let on_disk = std::fs::metadata(&dumps[0]).unwrap().len();
        if (size, sum.as_str()) != (on_disk, sha256(&dumps[0]).as_str()) {
            p.push(format!(
                "journaled dump {size} bytes {sum}, on disk {on_disk} bytes {}",
                sha256(&dumps[0])
            ));
        }
        let text = std::fs::read_to_string(&dumps[0]).unwrap_or_default();
        if !text.contains("-- Dump completed") {
            p.push("the dump has no closing line".into());
        }
    }
    let (desync, state) = rig.member_state();
    if desync != "OFF" || state != "Synced" {
        p.push(format!("member: wsrep_desync={desync}, state {state}"));
    }
    p
}

/// The real Galera is one cluster for every test of this file, each of which
/// desyncs its highest member: with it they take turns (the simulation is one
/// per lab and needs none).
fn one_at_a_time() -> Option<std::sync::MutexGuard<'static, ()>> {
    static TURN: Mutex<()> = Mutex::new(());
    cfg!(feature = "real-galera").then(|| TURN.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The Galera of these tests: the real one of `lab/real/galera.sh up` with
/// the `real-galera` feature (scripts/test.sh), else the lab's simulation.
fn galera() -> GaleraBackend {
    if cfg!(feature = "real-galera") {
        GaleraBackend::real_from_env()
    } else {
        GaleraBackend::Simulated
    }
}

#[test]
fn prepare_completes_with_canaries_lease_and_a_checksummed_dump() {
    let _turn = one_at_a_time();
    let rig = Rig::start(galera());
    let out = rig.prepare("0");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let problems = completed_problems(&rig);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // A second run of the same command finds the run sealed and does nothing.
    let again = rig.prepare("0");
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already completed"));
    assert_eq!(rig.server_posts(), 3);
    assert_eq!(rig.dumps().len(), 1);
}

#[test]
fn the_old_leases_gate_pauses_the_run_until_a_full_old_lease_has_passed() {
    let _turn = one_at_a_time();
    let rig = Rig::start(galera());
    let out = rig.prepare("86400");
    assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("paused: p5-old-leases-expired may not run before"),
        "{}",
        describe(&out)
    );
    // Everything before the gate is done, and the member is Synced again.
    assert_eq!(rig.lease(), Some(259_200));
    assert_eq!(rig.dumps().len(), 1);
    assert_eq!(rig.member_state(), ("OFF".into(), "Synced".into()));
    let status = rig.tool(&["ovs", "prepare", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("old DHCP leases: may still be held until") && text.contains(" left; "),
        "{}",
        describe(&status)
    );
    let json = rig
        .tool(&["ovs", "prepare", "status", "--output", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let g = &v["lease_gate"];
    assert_eq!(g["gate"], "closed", "{v}");
    assert_eq!(
        g["opens_at_ms"].as_i64().unwrap() - g["set_at_ms"].as_i64().unwrap(),
        86_400_000,
        "a full old lease after P3: {v}"
    );
    let left = g["remaining_s"].as_u64().unwrap();
    assert!(left > 0 && left <= 86_400, "{v}");
    // Resuming before the time is refused the same way, changing nothing.
    let posts = rig.server_posts();
    let again = rig.resume();
    assert_eq!(again.status.code(), Some(8), "{}", describe(&again));
    assert_eq!(rig.server_posts(), posts);
}

#[test]
fn an_unhealthy_galera_is_refused_before_anything_is_desynced() {
    let rig = Rig::start(GaleraBackend::Simulated);
    let sim = rig.lab.galera().unwrap().sim().unwrap();
    sim.override_status(1, "wsrep_local_state_comment", Some("Joining"));
    let out = rig.prepare("0");
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("p4-galera-check did not pass")
            && stdout.contains("mariadb-server-1: wsrep_local_state_comment=Joining"),
        "{}",
        describe(&out)
    );
    assert!(!sim.desynced(MEMBER), "nothing was desynced");
    assert!(rig.dumps().is_empty());
}

/// Returns the `current` operation of the run's status file.
fn status_current(rig: &Rig) -> Option<String> {
    let dir = rig.journal()?;
    let file = dir.with_file_name(format!(
        "{}.status.json",
        dir.file_name()?.to_string_lossy()
    ));
    let v: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v["current"].as_str().map(str::to_string)
}

#[test]
fn ctrl_c_after_the_desync_resyncs_before_the_process_exits() {
    let _turn = one_at_a_time();
    let rig = Rig::start(galera());
    // Slow the member's exec down, so the run is inside the dump when signalled.
    rig.lab.faults().set_rules(vec![FaultRule {
        path_contains: "pods/mariadb-server-2/exec".into(),
        latency_ms: 300,
        ..Default::default()
    }]);
    let mut child = rig
        .tool(&Rig::prepare_args("0", &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while status_current(&rig).is_none_or(|op| op != "p4-dump") {
        if Instant::now() >= deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "the run never reached the dump: {}",
                describe(&child.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = finish_within(child, "the interrupted run", Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
    rig.lab.faults().set_rules(vec![]);
    assert_eq!(
        rig.member_state(),
        ("OFF".into(), "Synced".into()),
        "resynced before exiting: {}",
        describe(&out)
    );
    let dir = rig.journal().unwrap();
    let j = Journal::open_read(&dir).unwrap();
    let compensated = j.iter(1).any(|r| {
        matches!(r.unwrap().event, Event::ObservationRecorded { key, .. } if key == "compensated/p4-desync")
    });
    assert!(compensated, "the compensation is journaled");
    drop(j);
    let resumed = rig.resume();
    assert_eq!(resumed.status.code(), Some(0), "{}", describe(&resumed));
    let problems = completed_problems(&rig);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn killed_at_every_append_and_resumed_boots_no_canary_twice_and_leaves_the_member_synced() {
    let _turn = one_at_a_time();
    let reference = Rig::start(galera());
    let out = reference.prepare("0");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let points = kill_points(&reference.journal().unwrap());
    drop(reference);

    let killed = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    // One at a time: the real Galera is one cluster for every case.
    for point in &points {
        let rig = Rig::start(galera());
        let first = rig
            .tool(&Rig::prepare_args("0", &[]))
            .env("OVN_MIGRATE_KILL_AT", point)
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        if first.status.signal() != Some(9) {
            failures.lock().unwrap().push(format!(
                "kill point {point} was not reached: {}",
                describe(&first)
            ));
            continue;
        }
        killed.fetch_add(1, Ordering::SeqCst);
        // Before the run was recorded as current there is nothing to resume: run again.
        let resumed = match rig.journal() {
            Some(_) => rig.resume(),
            None => rig.prepare("0"),
        };
        let mut problems = Vec::new();
        if !resumed.status.success() {
            problems.push(format!("resume failed: {}", describe(&resumed)));
        } else {
            problems.extend(completed_problems(&rig));
        }
        if !problems.is_empty() {
            failures
                .lock()
                .unwrap()
                .push(format!("kill at {point}: {}", problems.join("; ")));
        }
    }
    let failures = failures.into_inner().unwrap();
    println!(
        "planned kill points: {}; killed there: {}; failures: {}",
        points.len(),
        killed.load(Ordering::SeqCst),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(killed.load(Ordering::SeqCst), points.len());
}
