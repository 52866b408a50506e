//! Journal benchmark: prints throughput and ratios against a baseline measured
//! in the same run on the same disk.
//!
//! * baseline: raw `write` + `fdatasync` of a 200-byte record, per record,
//!   in rounds alternating with the durable appends below;
//! * durable intents/s: `append` (sled flush + `fdatasync` each);
//! * grouped intents/s: `append_group` of 64 (one flush + `fdatasync` each);
//! * bulk events/s: `append_buffered` of 1,000,000 events, one `sync` at the end;
//! * reopen time and peak RSS of a 1,000,000-event journal, in a fresh process
//!   (open, head, in-doubt operations: what `resume` does first);
//! * verify events/s over that journal, and `verify` of a copy whose `db`
//!   lost 5 KB (reported damaged against its head witness).
//!
//! Every durable append includes the head witness append and its `fdatasync`.
//!
//! The last line is machine-readable. usage:
//! `cargo run --release -p journal --example bench [-- --events N --dir DIR]`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use journal::{Doc, Event, Journal, Json, OpId, OpenOptions, RunInfo, Target, verify_journal};

const RECORD: usize = 200;
const N_DURABLE: u64 = 2_000;
const ROUNDS: u64 = 4;
const GROUP: u64 = 64;
const N_GROUPS: u64 = 100;

fn target() -> Target {
    Target {
        cluster_id: "bench".into(),
        api_server: "https://api.bench:6443".into(),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "bench".into(),
    }
}

fn create(dir: &Path) -> Journal {
    let _ = std::fs::remove_dir_all(dir);
    let run = RunInfo {
        run_id: "bench".into(),
        workflow: "bench".into(),
        tool_version: "bench".into(),
        target: target(),
    };
    Journal::create(dir, &run, &OpenOptions::default()).expect("create journal")
}

/// An intent whose stored record is about 200 bytes.
fn intent(n: u64) -> Event {
    Event::OperationIntended {
        op: OpId(format!("C16/port/{n:08}")),
        step: "C16".into(),
        action: "delete-port".into(),
        target: format!("neutron/ports/{n:032x}"),
        idempotency_key: format!("bench/{n}"),
        attempt: 1,
        params: Doc::short(Json("{\"network\":\"0123456789abcdef\"}".into())).expect("small"),
    }
}

fn success(n: u64) -> Event {
    Event::OperationSucceeded {
        op: OpId(format!("C16/port/{n:08}")),
        attempt: 1,
        http_status: Some(204),
        observed: Doc::null(),
        duration_ms: 12,
    }
}

fn per_s(n: u64, secs: f64) -> f64 {
    n as f64 / secs
}

/// Times `n` raw 200-byte `write` + `fdatasync`s on a file in `dir`.
fn baseline_secs(dir: &Path, n: u64) -> f64 {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("raw-fdatasync.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    let rec = [0x5au8; RECORD];
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(&rec).unwrap();
        f.sync_data().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(path);
    secs
}

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// Child mode: open the journal as `resume` would and report time and peak RSS.
fn reopen(dir: &Path) {
    let t = Instant::now();
    let j = Journal::open(dir, &target(), &OpenOptions::default()).expect("reopen");
    let (last, _) = j.head();
    let doubt = j.in_doubt().unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let (_, hwm) = rss_mb();
    println!("{ms:.1} {hwm:.1} {last} {}", doubt.len());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    if let Some(dir) = get("--reopen") {
        return reopen(Path::new(&dir));
    }
    let events: u64 = get("--events")
        .map(|v| v.parse().unwrap())
        .unwrap_or(1_000_000);
    let root = get("--dir").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-journal")
    });

    // Baseline and durable appends alternate in rounds, so that whatever else
    // the disk is doing weighs on both alike.
    let j = create(&root.join("durable"));
    let (mut base_secs, mut durable_secs) = (0.0, 0.0);
    let per_round = N_DURABLE / ROUNDS;
    for round in 0..ROUNDS {
        base_secs += baseline_secs(&root, per_round);
        let t = Instant::now();
        for n in round * per_round..(round + 1) * per_round {
            j.append(intent(n)).unwrap();
        }
        durable_secs += t.elapsed().as_secs_f64();
    }
    let base = per_s(N_DURABLE, base_secs);
    let durable = per_s(N_DURABLE, durable_secs);
    println!("baseline raw write+fdatasync ({RECORD} B): {base:.0} records/s");
    let ratio = durable / base;
    println!("durable intents (flush + fdatasync each): {durable:.0}/s = {ratio:.2}x baseline");
    drop(j);

    let j = create(&root.join("grouped"));
    let t = Instant::now();
    for g in 0..N_GROUPS {
        let batch: Vec<Event> = (0..GROUP).map(|i| intent(g * GROUP + i)).collect();
        j.append_group(&batch).unwrap();
    }
    let grouped = per_s(N_GROUPS * GROUP, t.elapsed().as_secs_f64());
    println!(
        "grouped intents ({GROUP} per flush + fdatasync): {grouped:.0}/s = {:.2}x baseline",
        grouped / base
    );
    drop(j);

    let dir_1m = root.join("bulk");
    let j = create(&dir_1m);
    let t = Instant::now();
    // Pairs of intent + outcome, the last 10 intents left in doubt.
    let mut n = 0;
    while j.head().0 < events {
        j.append_buffered(intent(n)).unwrap();
        if j.head().0 < events - 10 {
            j.append_buffered(success(n)).unwrap();
        }
        n += 1;
    }
    j.sync().unwrap();
    let bulk = per_s(j.head().0, t.elapsed().as_secs_f64());
    println!(
        "bulk events (buffered, one sync): {bulk:.0}/s ({} events)",
        j.head().0
    );

    let t = Instant::now();
    let report = verify_journal(&j).unwrap();
    let verify = per_s(report.records, t.elapsed().as_secs_f64());
    println!(
        "verify: {verify:.0} events/s ({} records, {:?})",
        report.records, report.status
    );
    drop(j);

    // verify of a damaged copy: db cut by 5 KB, read through a reader's private copy.
    let damaged = root.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    for e in std::fs::read_dir(&dir_1m).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), damaged.join(e.file_name())).unwrap();
        }
    }
    let db = std::fs::OpenOptions::new()
        .write(true)
        .open(damaged.join("db"))
        .unwrap();
    db.set_len(db.metadata().unwrap().len() - 5_000).unwrap();
    drop(db);
    let t = Instant::now();
    let found = match journal::verify(&damaged) {
        Ok(r) => format!("{:?}", r.status),
        Err(e) => e.to_string(),
    };
    println!(
        "verify of the 1M journal with 5 KB cut off its db: {:.0} ms: {}",
        t.elapsed().as_secs_f64() * 1000.0,
        found.chars().take(160).collect::<String>()
    );

    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--reopen")
        .arg(&dir_1m)
        .output()
        .expect("run the reopen child");
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    assert!(
        out.status.success() && f.len() == 4,
        "reopen child failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (reopen_ms, reopen_rss) = (f[0].parse::<f64>().unwrap(), f[1].parse::<f64>().unwrap());
    println!(
        "reopen of {} events in a fresh process: {reopen_ms:.1} ms, peak RSS {reopen_rss:.1} MB, {} in doubt",
        f[2], f[3]
    );
    let size: u64 = std::fs::read_dir(&dir_1m)
        .unwrap()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "journal size at {} events: {:.1} MB",
        f[2],
        size as f64 / 1048576.0
    );
    if !args.iter().any(|a| a == "--keep") {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!(
        "durable_intent_ratio_vs_fdatasync={ratio:.2} grouped_ratio_vs_fdatasync={:.2} bulk_events_per_s={bulk:.0} reopen_ms_1m={reopen_ms:.1} reopen_rss_mb_1m={reopen_rss:.1}",
        grouped / base
    );
}
