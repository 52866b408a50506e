//! Test child for the journal's crash and system-call tests: appends intents
//! to a journal forever (or `--count` of them) and prints `durable <seq>` on
//! stdout after each durable append returns, or `durable <first>-<last>` after
//! each group commit, so the parent knows what was promised before it kills
//! this process.
//!
//! usage: journal-torture DIR single|group [--count N]

use std::io::Write;
use std::path::Path;

use journal::{Doc, Event, Journal, Json, OpId, OpenOptions, RunInfo, Target};

fn target() -> Target {
    Target {
        cluster_id: "torture".into(),
        api_server: "https://api.torture:6443".into(),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "torture".into(),
    }
}

fn intent(n: u64) -> Event {
    Event::OperationIntended {
        op: OpId(format!("op-{n}")),
        step: "T1".into(),
        action: "torture".into(),
        target: format!("thing/{n}"),
        idempotency_key: format!("key-{n}"),
        attempt: 1,
        params: Doc::short(Json(format!(
            "{{\"n\":{n},\"pad\":\"{}\"}}",
            "x".repeat(120)
        )))
        .expect("small params"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let group = args.get(2).map(String::as_str) == Some("group");
    let count: Option<u64> = args
        .iter()
        .position(|a| a == "--count")
        .map(|i| args[i + 1].parse().unwrap());
    let mut opts = OpenOptions::default();
    let journal = if dir.join("db").exists() {
        // A killed predecessor leaves its lock note behind: it is stale, name it.
        opts.break_lock = journal::lock::holder(dir)
            .filter(|h| !h.alive_here())
            .map(|h| h.id());
        Journal::open(dir, &target(), &opts).expect("open")
    } else {
        let run = RunInfo {
            run_id: "torture-run".into(),
            workflow: "torture".into(),
            tool_version: "test".into(),
            target: target(),
        };
        Journal::create(dir, &run, &opts).expect("create")
    };
    let out = std::io::stdout();
    let mut written = 0;
    loop {
        if count.is_some_and(|c| written >= c) {
            break;
        }
        let (next, _) = journal.head();
        if group {
            let events: Vec<Event> = (0..64).map(|i| intent(next + 1 + i)).collect();
            let seqs = journal.append_group(&events).expect("append_group");
            writeln!(out.lock(), "durable {}-{}", seqs.start(), seqs.end()).unwrap();
            written += 64;
        } else {
            let seq = journal.append(intent(next + 1)).expect("append");
            writeln!(out.lock(), "durable {seq}").unwrap();
            written += 1;
        }
        out.lock().flush().unwrap();
    }
}
