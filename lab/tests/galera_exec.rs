//! The lab's MariaDB Galera StatefulSet (`openstack/mariadb-server-0..2`)
//! through the exec protocol, as the `ovs prepare` backup uses it: read
//! every member's wsrep state, desync the highest member, see
//! `Donor/Desynced`, dump `neutron` with `--single-transaction` to a file
//! under `/var/lib/mysql/`, read its size and sha256 in the pod, resync,
//! see `Synced`.
//!
//! The simulated backend is tested always (and with `kubectl exec`). With
//! the feature `real-galera` (scripts/test.sh turns it on after
//! `bash lab/real/galera.sh up`), the same sequence runs against the real
//! MariaDB + Galera members, and the simulation's observations are
//! compared with the real ones: where they differ, the real cluster is
//! right. Real-backend tests fail, never skip, when the members are down.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use lab::OvsLab;
use lab::galera::GaleraBackend;
use lab::scenario::OvsConfig;
use steps::kube::{ClientOptions, ExecProblem, KubeClient, KubeError};

#[path = "kubectl/common.rs"]
mod common;
use common::kubectl;

const NS: &str = "openstack";
/// The options file the backup names first (openstack-helm's admin client config).
const DEFAULTS: &str = "--defaults-file=/etc/mysql/admin_user.cnf";
const T: Duration = Duration::from_secs(60);

struct Fixture {
    lab: OvsLab,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    client: KubeClient,
}

async fn start(backend: GaleraBackend) -> Result<Fixture> {
    let lab = OvsLab::start_with_galera(&OvsConfig::default(), Vec::new(), Some(backend)).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = lab.write_kubeconfig(dir.path())?;
    let client = steps::kube::connect(&ClientOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await?;
    Ok(Fixture {
        lab,
        _dir: dir,
        kubeconfig,
        client,
    })
}

fn pod(i: usize) -> String {
    format!("mariadb-server-{i}")
}

/// Runs `argv` in pod `i` and returns its stdout; any non-zero exit is an error.
async fn run(c: &KubeClient, i: usize, argv: &[&str]) -> Result<String> {
    let out = c.exec(NS, &pod(i), Some("mariadb"), argv, T).await?;
    ensure!(
        out.success(),
        "{argv:?} in {} exited {}: {}",
        pod(i),
        out.exit_code,
        out.stderr_text()
    );
    Ok(out.stdout_text())
}

/// Returns the `SHOW GLOBAL STATUS LIKE 'wsrep%'` rows of pod `i` (`-N -B`).
async fn wsrep(c: &KubeClient, i: usize) -> Result<BTreeMap<String, String>> {
    let text = run(
        c,
        i,
        &[
            "mariadb",
            "-N",
            "-B",
            "-e",
            "SHOW GLOBAL STATUS LIKE 'wsrep%'",
        ],
    )
    .await?;
    text.lines()
        .map(|l| {
            let (k, v) = l
                .split_once('\t')
                .with_context(|| format!("not a -N -B row: {l:?}"))?;
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Polls pod `i`'s `wsrep_local_state_comment` until it reads `want` (30 s at most).
async fn wait_state(c: &KubeClient, i: usize, want: &str) -> Result<Vec<String>> {
    let mut seen = Vec::new();
    for _ in 0..300 {
        let state = wsrep(c, i).await?["wsrep_local_state_comment"].clone();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == want {
            return Ok(seen);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} never reached {want}; states seen: {seen:?}", pod(i))
}

/// What the backup sequence observed, comparable between backends.
#[derive(Debug, PartialEq)]
struct Observed {
    /// Per member before: ready, connected, cluster status and size, state.
    before: Vec<[String; 5]>,
    /// The highest member's state once desynced, and the others'.
    desynced: (String, Vec<String>),
    /// `SELECT @@GLOBAL.wsrep_desync` while desynced and after.
    desync_var: (String, String),
    /// The last state after the resync.
    after: String,
    /// `SHOW GLOBAL STATUS LIKE 'wsrep_ready'` without `-N`.
    with_header: String,
    /// Setting the value it already has: exit code.
    set_again_exit: i32,
}

/// The backup's sequence through exec; returns what it saw and the dump's (size, sha256).
async fn backup_sequence(f: &Fixture, dump: &str) -> Result<(Observed, u64, String)> {
    let c = &f.client;
    let mut before = Vec::new();
    for i in 0..3 {
        let s = wsrep(c, i).await?;
        let get = |k: &str| s.get(k).cloned().unwrap_or_default();
        before.push([
            get("wsrep_ready"),
            get("wsrep_connected"),
            get("wsrep_cluster_status"),
            get("wsrep_cluster_size"),
            get("wsrep_local_state_comment"),
        ]);
        // The backup's own form: its options file first, a WHERE … IN list.
        let picked = run(
            c,
            i,
            &[
                "mariadb",
                DEFAULTS,
                "-N",
                "-B",
                "-e",
                "SHOW GLOBAL STATUS WHERE Variable_name IN \
                 ('wsrep_ready','wsrep_cluster_status','wsrep_local_state_comment','wsrep_connected','wsrep_cluster_size')",
            ],
        )
        .await?;
        let mut picked: Vec<&str> = picked.lines().collect();
        picked.sort();
        let mut want: Vec<String> = [
            "wsrep_cluster_size",
            "wsrep_cluster_status",
            "wsrep_connected",
            "wsrep_local_state_comment",
            "wsrep_ready",
        ]
        .iter()
        .map(|k| format!("{k}\t{}", get(k)))
        .collect();
        want.sort();
        ensure!(
            picked == want,
            "WHERE IN gave {picked:?}, LIKE gave {want:?}"
        );
    }
    let highest = 2;
    run(
        c,
        highest,
        &["mariadb", "-N", "-B", "-e", "SET GLOBAL wsrep_desync = ON"],
    )
    .await?;
    wait_state(c, highest, "Donor/Desynced").await?;
    let mut others = Vec::new();
    for i in 0..highest {
        others.push(wsrep(c, i).await?["wsrep_local_state_comment"].clone());
    }
    let var_during = run(
        c,
        highest,
        &["mariadb", "-N", "-B", "-e", "SELECT @@GLOBAL.wsrep_desync"],
    )
    .await?;
    let again = c
        .exec(
            NS,
            &pod(highest),
            None,
            &["mariadb", "-e", "SET GLOBAL wsrep_desync = ON"],
            T,
        )
        .await?;

    // Read again just before the dump: still desynced.
    let desynced_state = wsrep(c, highest).await?["wsrep_local_state_comment"].clone();
    let path = format!("/var/lib/mysql/{dump}");
    let missing = c
        .exec(NS, &pod(highest), None, &["stat", "-c", "%s", &path], T)
        .await?;
    ensure!(
        missing.exit_code == 1
            && missing.stderr_text().contains("No such file")
            && missing.stderr_text().contains(&path),
        "stat of a missing dump: {missing:?}"
    );
    let result_file = format!("--result-file={path}");
    run(
        c,
        highest,
        &[
            "mariadb-dump",
            DEFAULTS,
            "--single-transaction",
            "--databases",
            "neutron",
            &result_file,
        ],
    )
    .await?;
    let size: u64 = run(c, highest, &["stat", "-c", "%s", &path])
        .await?
        .trim()
        .parse()
        .context("stat -c %s")?;
    let sum = run(c, highest, &["sha256sum", &path]).await?;
    let (sha, named) = sum
        .trim_end()
        .split_once("  ")
        .context("sha256sum's line")?;
    ensure!(named == path, "sha256sum names {named:?}, not {path:?}");
    ensure!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha:?}"
    );
    let tail = run(c, highest, &["tail", "-c", "256", &path]).await?;
    ensure!(
        tail.contains("-- Dump completed"),
        "the dump's end: {tail:?}"
    );
    let listed = run(c, highest, &["ls", "/var/lib/mysql/"]).await?;
    ensure!(listed.lines().any(|l| l == dump), "ls: {listed}");

    // The file is the pod's: on the host, in pod 2's directory, the same bytes.
    let galera = f.lab.galera().context("a galera")?;
    let host = galera.pod_dir(highest).join(dump);
    let text = std::fs::read_to_string(&host).with_context(|| host.display().to_string())?;
    ensure!(text.len() as u64 == size, "host size {}", text.len());
    ensure!(text.contains("CREATE TABLE `networks`"), "not a dump");
    let host_sum = std::process::Command::new("sha256sum")
        .arg(&host)
        .output()?;
    ensure!(String::from_utf8_lossy(&host_sum.stdout).starts_with(sha));
    for i in 0..highest {
        let out = c.exec(NS, &pod(i), None, &["test", "-e", &path], T).await?;
        ensure!(out.exit_code == 1, "the dump leaked into {}", pod(i));
    }

    run(
        c,
        highest,
        &["mariadb", "-N", "-B", "-e", "SET GLOBAL wsrep_desync = OFF"],
    )
    .await?;
    let seen = wait_state(c, highest, "Synced").await?;
    let var_after = run(
        c,
        highest,
        &["mariadb", "-N", "-B", "-e", "SELECT @@GLOBAL.wsrep_desync"],
    )
    .await?;
    let with_header = run(
        c,
        0,
        &["mariadb", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_ready'"],
    )
    .await?;
    run(c, highest, &["rm", "-f", &path]).await?;
    ensure!(!host.exists(), "rm left {}", host.display());
    Ok((
        Observed {
            before,
            desynced: (desynced_state, others),
            desync_var: (var_during, var_after),
            after: seen.last().cloned().unwrap_or_default(),
            with_header,
            set_again_exit: again.exit_code,
        },
        size,
        sha.to_string(),
    ))
}

fn expected() -> Observed {
    let healthy = || {
        [
            "ON".to_string(),
            "ON".into(),
            "Primary".into(),
            "3".into(),
            "Synced".into(),
        ]
    };
    Observed {
        before: vec![healthy(), healthy(), healthy()],
        desynced: (
            "Donor/Desynced".into(),
            vec!["Synced".into(), "Synced".into()],
        ),
        desync_var: ("1\n".into(), "0\n".into()),
        after: "Synced".into(),
        with_header: "Variable_name\tValue\nwsrep_ready\tON\n".into(),
        set_again_exit: 0,
    }
}

#[tokio::test]
async fn simulated_galera_backs_up_through_exec() -> Result<()> {
    let f = start(GaleraBackend::Simulated).await?;
    let galera = f.lab.galera().context("a galera")?;
    assert!(galera.banner().contains("SIMULATED"), "{}", galera.banner());
    let (seen, size, _sha) = backup_sequence(&f, "neutron-ovs-ovn-migration-sim.sql").await?;
    assert_eq!(seen, expected());
    assert!(size > 500, "{size}");
    let sim = galera.sim().context("simulated")?;
    let dumps = sim.dumps();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    assert!(dumps[0].single_transaction && dumps[0].desynced && dumps[0].ordinal == 2);
    assert!(!sim.desynced(2));
    Ok(())
}

#[tokio::test]
async fn simulated_galera_refuses_like_mariadb() -> Result<()> {
    let f = start(GaleraBackend::Simulated).await?;
    let c = &f.client;
    let sim = f.lab.galera().and_then(|g| g.sim()).context("simulated")?;

    sim.stop(1, true);
    let out = c
        .exec(NS, &pod(1), None, &["mariadb", "-N", "-e", "SELECT 1"], T)
        .await?;
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stderr_text().starts_with("ERROR 2002 (HY000)"),
        "{out:?}"
    );
    assert_eq!(wsrep(c, 0).await?["wsrep_cluster_size"], "2");
    sim.stop(1, false);
    sim.override_status(0, "wsrep_cluster_status", Some("non-Primary"));
    assert_eq!(wsrep(c, 0).await?["wsrep_cluster_status"], "non-Primary");

    let out = c
        .exec(
            NS,
            &pod(0),
            None,
            &["mariadb", "-e", "DROP DATABASE neutron"],
            T,
        )
        .await?;
    assert_eq!(out.exit_code, 1);
    assert!(out.stderr_text().contains("ERROR 1064"), "{out:?}");
    let out = c
        .exec(
            NS,
            &pod(0),
            None,
            &[
                "mariadb-dump",
                "--databases",
                "nova",
                "--result-file=/var/lib/mysql/x",
            ],
            T,
        )
        .await?;
    assert_eq!(out.exit_code, 2);
    assert!(
        out.stderr_text().contains("Unknown database 'nova'"),
        "{out:?}"
    );
    let out = c
        .exec(
            NS,
            &pod(0),
            None,
            &["mariadb", "--defaults-file=/root/.my.cnf", "-e", "SELECT 1"],
            T,
        )
        .await?;
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stderr_text()
            .contains("Could not open required defaults file: /root/.my.cnf"),
        "{out:?}"
    );
    let out = c
        .exec(NS, &pod(0), None, &["cat", "/etc/passwd"], T)
        .await?;
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stderr_text().contains("only /var/lib/mysql/"),
        "{out:?}"
    );
    let err = c
        .exec(NS, &pod(0), None, &["bash", "-c", "id"], T)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KubeError::Exec { problem: ExecProblem::Failed { message, .. }, .. }
            if message.contains("executable file not found")),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_exec_reads_the_simulated_galera() -> Result<()> {
    let f = start(GaleraBackend::Simulated).await?;
    let out = kubectl(
        &f.kubeconfig,
        &[
            "exec",
            "-n",
            NS,
            "mariadb-server-2",
            "--",
            "mariadb",
            "-N",
            "-B",
            "-e",
            "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'",
        ],
    )
    .await?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "wsrep_local_state_comment\tSynced\n"
    );
    let sts = kubectl(
        &f.kubeconfig,
        &[
            "get",
            "statefulset",
            "-n",
            NS,
            "mariadb-server",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ],
    )
    .await?;
    assert_eq!(String::from_utf8_lossy(&sts.stdout), "3", "{sts:?}");
    Ok(())
}

#[tokio::test]
async fn a_real_galera_that_is_not_running_is_an_error_not_a_simulation() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let err = OvsLab::start_with_galera(
        &OvsConfig::default(),
        Vec::new(),
        Some(GaleraBackend::Real {
            dir: dir.path().to_path_buf(),
        }),
    )
    .await
    .err()
    .context("a lab without its Galera started")?;
    let text = err.to_string();
    assert!(
        text.contains("member 1 is not running") && text.contains("lab/real/galera.sh up"),
        "{text}"
    );
    Ok(())
}

#[cfg(feature = "real-galera")]
#[tokio::test]
async fn real_galera_backs_up_through_exec_and_the_simulation_agrees() -> Result<()> {
    let f = start(GaleraBackend::real_from_env()).await?;
    let galera = f.lab.galera().context("a galera")?;
    assert!(galera.banner().contains("REAL"), "{}", galera.banner());
    let (real, size, sha) = backup_sequence(&f, "neutron-ovs-ovn-migration-real.sql").await?;
    println!("real dump: {size} bytes, sha256 {sha}");
    assert_eq!(real, expected());
    // galera.sh seeds 200 networks and 1000 ports: a real dump is large.
    assert!(size > 50_000, "{size}");

    // kubectl, the second client, reads the real members too; pod 1 is member 2.
    let out = kubectl(
        &f.kubeconfig,
        &[
            "exec",
            "-n",
            NS,
            "mariadb-server-1",
            "-c",
            "mariadb",
            "--",
            "mariadb",
            DEFAULTS,
            "-N",
            "-B",
            "-e",
            "SHOW GLOBAL VARIABLES LIKE 'wsrep_node_name'",
        ],
    )
    .await?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "wsrep_node_name\tmember-2\n"
    );

    let sim = start(GaleraBackend::Simulated).await?;
    let (simulated, _, _) = backup_sequence(&sim, "neutron-ovs-ovn-migration-sim.sql").await?;
    assert_eq!(simulated, real, "the simulation differs from MariaDB");
    Ok(())
}

#[cfg(feature = "real-galera")]
#[tokio::test]
async fn real_galera_reports_what_the_simulation_models() -> Result<()> {
    // Every status variable the simulation prints exists in the real
    // server's `SHOW GLOBAL STATUS LIKE 'wsrep%'`, in the same order.
    let real = start(GaleraBackend::real_from_env()).await?;
    let sim = start(GaleraBackend::Simulated).await?;
    let order = |text: String| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split_once('\t').map(|(k, _)| k.to_string()))
            .collect()
    };
    let argv = [
        "mariadb",
        "-N",
        "-B",
        "-e",
        "SHOW GLOBAL STATUS LIKE 'wsrep%'",
    ];
    let real_keys = order(run(&real.client, 0, &argv).await?);
    let sim_keys = order(run(&sim.client, 0, &argv).await?);
    let positions: Vec<Option<usize>> = sim_keys
        .iter()
        .map(|k| real_keys.iter().position(|r| r == k))
        .collect();
    for (k, p) in sim_keys.iter().zip(&positions) {
        assert!(
            p.is_some(),
            "the simulation prints {k}, which MariaDB has not"
        );
    }
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "the simulation's order differs: {sim_keys:?}"
    );
    Ok(())
}
