//! Forensics benchmark: verify and export throughput on a 1,000,000-event
//! journal, each measured in a fresh child process with its peak RSS.
//!
//! * verify events/s: [`journal::verify_journal`] over the journal (every link);
//! * export events/s: [`bundle::export`] in each format (the slowest counts);
//! * bundle verify events/s: [`bundle::verify`] of each bundle, offline;
//! * render events/s: each format's rendering alone, in memory (200,000 records);
//! * replay is not measured here: this journal has no plan to replay (and
//!   `journal` cannot depend on the workflows), so `replay_events_per_s=na`;
//!   `cargo run --release -p replay-tests --example replay_bench` measures
//!   verify, export and replay together on a `kuryr-migrate` journal.
//!
//! Each figure is also given per CPU-second of the measuring process (all its
//! threads), which depends less on what else the machine runs.
//!
//! The journal is pairs of intent + success (about 200-byte records), with a
//! retried failure every 100 operations, appended 1,000 per group commit.
//! The last line is machine-readable. usage:
//! `cargo run --release -p journal --example forensics_bench [-- --events N --dir DIR --keep]`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use journal::export::Format;
use journal::export::bundle::{self, ExportOptions};
use journal::{Doc, Event, Journal, Json, OpId, OpenOptions, RunInfo, Target, verify_journal};

fn target() -> Target {
    Target {
        cluster_id: "bench".into(),
        api_server: "https://api.bench:6443".into(),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "bench".into(),
    }
}

fn op(n: u64) -> OpId {
    OpId(format!("C16/port/{n:08}"))
}

fn intent(n: u64, attempt: u32) -> Event {
    Event::OperationIntended {
        op: op(n),
        step: "C16".into(),
        action: "delete-port".into(),
        target: format!("neutron/ports/{n:032x}"),
        idempotency_key: format!("bench/{n}"),
        attempt,
        params: Doc::short(Json("{\"network\":\"0123456789abcdef\"}".into())).expect("small"),
    }
}

fn outcome(n: u64, attempt: u32) -> Event {
    if n % 100 == 7 && attempt == 1 {
        return Event::OperationFailed {
            op: op(n),
            attempt,
            http_status: Some(503),
            error: journal::Text::short("Service Unavailable").expect("short"),
            retryable: true,
            duration_ms: 40,
        };
    }
    Event::OperationSucceeded {
        op: op(n),
        attempt,
        http_status: Some(204),
        observed: Doc::null(),
        duration_ms: 12,
    }
}

/// Returns the CPU time this process used so far (user + system, every
/// thread), in seconds, from `/proc/self/stat` (clock ticks of 1/100 s).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Creates the journal with `events` records (unless it is there already).
fn build(dir: &Path, events: u64) {
    if dir.join("complete").exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let run = RunInfo {
        run_id: "bench".into(),
        workflow: "bench".into(),
        tool_version: "bench".into(),
        target: target(),
    };
    let j = Journal::create(dir, &run, &OpenOptions::default()).expect("create journal");
    let t = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    let mut n = 0;
    let mut total = j.head().0;
    while total < events {
        batch.push(intent(n, 1));
        batch.push(outcome(n, 1));
        if n % 100 == 7 {
            batch.push(intent(n, 2));
            batch.push(outcome(n, 2));
        }
        n += 1;
        if batch.len() >= 1000 || total + batch.len() as u64 >= events {
            batch.truncate((events - total) as usize);
            j.append_group(&batch).expect("append");
            total += batch.len() as u64;
            batch.clear();
        }
    }
    eprintln!("built {total} events in {:.1} s", t.elapsed().as_secs_f64());
    drop(j);
    std::fs::write(dir.join("complete"), b"").expect("mark");
}

/// Child mode: run one measurement and print `<events> <seconds> <peak RSS MB>`.
fn child(what: &str, dir: &Path, out: &Path) {
    let t = Instant::now();
    let cpu0 = cpu_s();
    let n = match what {
        "verify" => {
            let j = Journal::open_any(dir, &OpenOptions::default()).expect("open");
            let r = verify_journal(&j).expect("verify");
            assert!(matches!(r.status, journal::VerifyStatus::Unsealed { .. }));
            r.records
        }
        "render" => {
            // Rendering alone, in memory: the first 200,000 records, every format.
            let j = Journal::open_any(dir, &OpenOptions::default()).expect("open");
            let recs: Vec<(journal::Recorded, Vec<u8>)> = j
                .raw_records(1)
                .take(200_000)
                .map(|kv| {
                    let (_, v) = kv.expect("read");
                    let (version, at_ms, event, hash) =
                        journal::format::decode(&v).expect("decode");
                    let r = journal::Recorded {
                        seq: 0,
                        version,
                        at_ms,
                        event,
                        hash,
                    };
                    (r, v.to_vec())
                })
                .collect();
            for format in Format::ALL {
                let mut stream = journal::export::Stream::new(j.run_id(), j.target());
                let mut out = Vec::with_capacity(1 << 20);
                let t = Instant::now();
                for (i, (r, v)) in recs.iter().enumerate() {
                    let input = journal::export::Input {
                        seq: i as u64 + 1,
                        version: r.version,
                        at_ms: r.at_ms,
                        event: &r.event,
                        hash: r.hash,
                        record: v,
                    };
                    out.clear();
                    stream.render(format, &input, &mut out);
                }
                eprintln!(
                    "render {format}: {:.0} events/s",
                    recs.len() as f64 / t.elapsed().as_secs_f64()
                );
            }
            recs.len() as u64
        }
        "bundle-verify" => {
            let r = bundle::verify(out).expect("verify bundle");
            assert!(r.is_whole(), "{:?}", r.report);
            r.report.records
        }
        format => {
            let j = Journal::open_any(dir, &OpenOptions::default()).expect("open");
            let opts = ExportOptions {
                format: format.parse().expect("format"),
                with_blobs: false,
                exported_by: "bench".into(),
            };
            let _ = std::fs::remove_dir_all(out);
            bundle::export(&j, out, &opts).expect("export").records
        }
    };
    println!(
        "{n} {} {:.1} {}",
        t.elapsed().as_secs_f64(),
        rss_mb(),
        cpu_s() - cpu0
    );
}

/// Runs a child measurement; returns (events/s, peak RSS MB, events per
/// CPU-second).
fn measure(what: &str, dir: &Path, out: &Path) -> (f64, f64, f64) {
    let o = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", what])
        .arg(dir)
        .arg(out)
        .output()
        .expect("run the child");
    let text = String::from_utf8_lossy(&o.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    assert!(
        o.status.success() && f.len() == 4,
        "{what} child failed: {text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let n: f64 = f[0].parse().expect("n");
    let secs: f64 = f[1].parse().expect("secs");
    let cpu: f64 = f[3].parse().expect("cpu");
    (n / secs, f[2].parse().expect("rss"), n / cpu.max(0.01))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], Path::new(&args[3]), Path::new(&args[4]));
    }
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let events: u64 = get("--events")
        .map(|v| v.parse().expect("--events N"))
        .unwrap_or(1_000_000);
    let root = get("--dir").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-forensics")
    });
    let dir = root.join(format!("journal-{events}"));
    build(&dir, events);
    let (verify, verify_rss, verify_cpu) = measure("verify", &dir, &root.join("unused"));
    println!(
        "verify: {verify:.0} events/s ({verify_cpu:.0} per CPU-second), peak RSS {verify_rss:.1} MB"
    );
    // Rendering alone, in memory, to tell the formats' CPU cost from the disk's.
    let o = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", "render"])
        .arg(&dir)
        .arg(root.join("unused"))
        .output()
        .expect("run the render child");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    print!("{}", String::from_utf8_lossy(&o.stderr));
    let (mut export_min, mut bundle_min) = (f64::MAX, f64::MAX);
    for format in Format::ALL {
        let out = root.join(format!("bundle-{format}"));
        let (export, export_rss, export_cpu) = measure(format.as_str(), &dir, &out);
        let size = std::fs::metadata(out.join(format.records_file()))
            .map(|m| m.len())
            .unwrap_or(0);
        let (bv, bv_rss, bv_cpu) = measure("bundle-verify", &dir, &out);
        println!(
            "export {format}: {export:.0} events/s ({export_cpu:.0} per CPU-second), peak RSS \
             {export_rss:.1} MB, {:.0} MB; bundle verify: {bv:.0} events/s ({bv_cpu:.0} per \
             CPU-second), peak RSS {bv_rss:.1} MB",
            size as f64 / 1048576.0
        );
        export_min = export_min.min(export);
        bundle_min = bundle_min.min(bv);
        let _ = std::fs::remove_dir_all(&out);
    }
    if !args.iter().any(|a| a == "--keep") {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!("bundle verify (slowest format): {bundle_min:.0} events/s");
    println!(
        "replay: not measured on this journal (no plan); see `cargo run --release -p replay-tests --example replay_bench`"
    );
    println!(
        "verify_events_per_s={verify:.0} export_events_per_s={export_min:.0} replay_events_per_s=na"
    );
}
