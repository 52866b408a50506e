//! Forensics benchmark on a journal of a real workflow: verify, export and
//! replay throughput on a 1,000,000-event `kuryr-migrate` journal, each
//! measured in a fresh child process with its peak RSS.
//!
//! The journal is the golden migration (`tests/fixtures/golden/
//! migration-v3.journal`) with one wait's first condition change repeated
//! until the journal has N records (a wait that saw a million changes), then
//! the rest of the run and its seal. So the replay does real work on every
//! record: it re-derives each condition from the object journaled with it,
//! through the migration's own step type. `journal/examples/forensics_bench.rs`
//! measures verify and export on its own synthetic journal, which has no plan
//! to replay.
//!
//! usage: `cargo run --release -p replay-tests --example replay_bench [-- --events N --dir DIR --keep]`
//! The last line is machine-readable:
//! `verify_events_per_s=<N> export_events_per_s=<M> replay_events_per_s=<P>`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use journal::export::Format;
use journal::export::bundle::{self, ExportOptions};
use journal::{BlobHash, Event, Journal, OpenOptions, RunInfo, verify_journal};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/golden/migration-v3.journal"
);

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

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Builds the journal of `events` records from the golden migration.
fn build(dir: &Path, events: u64) {
    if dir.join("complete").exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let t = Instant::now();
    let text = std::fs::read_to_string(GOLDEN).expect("the golden migration");
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("golden");
    journal::golden::load(&text, Path::new(GOLDEN), &src).expect("load the golden journal");
    let golden = Journal::open_read(&src).expect("open");
    let records: Vec<Event> = golden.iter(1).map(|r| r.expect("read").event).collect();
    let Event::RunStarted {
        run_id, workflow, ..
    } = &records[0]
    else {
        panic!("not a run");
    };
    let run = RunInfo {
        run_id: run_id.clone(),
        workflow: workflow.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target: golden.target().clone(),
    };
    let j = Journal::create(dir, &run, &OpenOptions::default()).expect("create");
    for line in text.lines().filter(|l| l.starts_with("blob ")) {
        let mut p = line.splitn(3, ' ').skip(1);
        let (h, b) = (p.next().unwrap(), p.next().unwrap());
        let bytes = unhex(b);
        assert_eq!(BlobHash::of(&bytes).to_string(), h);
        j.put_blob(&bytes).expect("blob");
    }
    // The first pending condition of a wait is the one repeated.
    let repeat_at = records
        .iter()
        .position(|e| {
            matches!(e, Event::ConditionObserved { wait, .. }
                if records.iter().filter(|x| matches!(x, Event::ConditionObserved { wait: w, .. } if w == wait)).count() > 1)
        })
        .expect("a wait with more than one condition");
    let body = &records[1..records.len() - 1]; // without RunStarted and the seal
    let extra = events.saturating_sub(records.len() as u64);
    let mut batch: Vec<Event> = Vec::with_capacity(1000);
    let flush = |batch: &mut Vec<Event>, j: &Journal| {
        if !batch.is_empty() {
            j.append_group(batch).expect("append");
            batch.clear();
        }
    };
    for (i, e) in body.iter().enumerate() {
        batch.push(e.clone());
        if i + 1 == repeat_at {
            for _ in 0..extra {
                batch.push(e.clone());
                if batch.len() >= 1000 {
                    flush(&mut batch, &j);
                }
            }
        }
        if batch.len() >= 1000 {
            flush(&mut batch, &j);
        }
    }
    flush(&mut batch, &j);
    let Some(Event::RunSealed { outcome, .. }) = records.last().cloned() else {
        panic!("the golden migration is sealed");
    };
    j.append(Event::RunSealed {
        head: j.head().1,
        outcome,
    })
    .expect("seal");
    eprintln!(
        "built {} events in {:.1} s",
        j.head().0,
        t.elapsed().as_secs_f64()
    );
    drop(j);
    std::fs::write(dir.join("complete"), b"").expect("mark");
}

fn child(what: &str, dir: &Path, out: &Path) {
    let t = Instant::now();
    let cpu0 = cpu_s();
    let j = Journal::open_any(dir, &OpenOptions::default()).expect("open");
    let n = match what {
        "verify" => {
            let r = verify_journal(&j).expect("verify");
            assert!(r.is_sealed_and_whole(), "{:?}", r.status);
            r.records
        }
        "replay" => {
            let r = steps::replay::replay_journal(&j, None).expect("replay");
            assert_eq!(r.divergence_count, 0, "{:?}", r.divergences.first());
            r.records
        }
        format => {
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
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-replay")
    });
    let dir = root.join(format!("journal-{events}"));
    build(&dir, events);
    let (verify, verify_rss, verify_cpu) = measure("verify", &dir, &root.join("unused"));
    println!(
        "verify: {verify:.0} events/s ({verify_cpu:.0} per CPU-second), peak RSS {verify_rss:.1} MB"
    );
    let (replay, replay_rss, replay_cpu) = measure("replay", &dir, &root.join("unused"));
    println!(
        "replay: {replay:.0} events/s ({replay_cpu:.0} per CPU-second), peak RSS {replay_rss:.1} MB"
    );
    let mut export_min = f64::MAX;
    let formats: Vec<Format> = match get("--formats") {
        Some(list) => list
            .split(',')
            .map(|f| f.parse().expect("format"))
            .collect(),
        None => Format::ALL.to_vec(),
    };
    for format in formats {
        let out = root.join(format!("bundle-{format}"));
        let (export, export_rss, export_cpu) = measure(format.as_str(), &dir, &out);
        println!(
            "export {format}: {export:.0} events/s ({export_cpu:.0} per CPU-second), peak RSS {export_rss:.1} MB"
        );
        export_min = export_min.min(export);
        let _ = std::fs::remove_dir_all(&out);
    }
    if !args.iter().any(|a| a == "--keep") {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!(
        "verify_events_per_s={verify:.0} export_events_per_s={export_min:.0} replay_events_per_s={replay:.0}"
    );
}
