//! Helpers shared by the journal's integration tests.
#![allow(dead_code)]

use std::path::Path;

use journal::{Doc, Event, Journal, OpId, OpenOptions, RunInfo, Target};

/// Returns a target for tests.
pub fn target(cluster: &str) -> Target {
    Target {
        cluster_id: cluster.into(),
        api_server: format!("https://api.{cluster}:6443"),
        openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
        openstack_project: "proj".into(),
    }
}

/// Creates a journal for cluster `c1` in `dir`.
pub fn create(dir: &Path) -> Journal {
    let run = RunInfo {
        run_id: "run-1".into(),
        workflow: "kuryr".into(),
        tool_version: "test".into(),
        target: target("c1"),
    };
    Journal::create(dir, &run, &OpenOptions::default()).unwrap()
}

/// Returns an intent for operation `n`.
pub fn intent(n: u64) -> Event {
    Event::OperationIntended {
        op: OpId(format!("op-{n}")),
        step: "C6".into(),
        action: "delete-loadbalancer".into(),
        target: format!("octavia/loadbalancers/{n}"),
        idempotency_key: format!("k{n}"),
        attempt: 1,
        params: Doc::null(),
    }
}

/// Returns a success for operation `n`.
pub fn success(n: u64) -> Event {
    Event::OperationSucceeded {
        op: OpId(format!("op-{n}")),
        attempt: 1,
        http_status: Some(204),
        observed: Doc::null(),
        duration_ms: 3,
    }
}

/// Opens the raw sled tree of a closed journal, for corruption tests.
pub fn raw_tree(dir: &Path) -> (sled::Db, sled::Tree) {
    let db = sled_open(dir);
    let tree = db.open_tree("journal").unwrap();
    (db, tree)
}

/// Opens a closed journal's sled database directly, waiting (up to 10 s)
/// for the lock a dropped `Db` releases from sled's background thread a
/// moment after the drop returns.
pub fn sled_open(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("open {}: {e}", dir.display()),
        }
    }
}

/// Returns the key of event `seq`.
pub fn event_key(seq: u64) -> Vec<u8> {
    let mut k = vec![b'e'];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}
