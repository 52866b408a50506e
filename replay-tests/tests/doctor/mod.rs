//! Rewrites a copy of a journal the way someone covering their tracks
//! would: every record from the one changed on re-chained, the seal's head
//! recomputed and the head witness written anew, so that the copy verifies
//! on its own. Used to change a recorded decision on purpose (`journal
//! replay` must name it) and to re-seal a rewritten journal (`journal verify
//! --against-cluster` must refuse it).
#![allow(dead_code)]

use std::path::Path;

use journal::{ChainHash, Event, Journal};

/// Copies the journal directory `from` to `to` (files only, as `cp -r`).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Rewrites the journal in `dir` in place: `change(seq, event)` returns the
/// event to store instead (or the same one); every record is re-chained,
/// a seal gets the head before it, and the witness is made anew. Returns
/// the new head.
pub fn rewrite(dir: &Path, mut change: impl FnMut(u64, Event) -> Event) -> ChainHash {
    let genesis = {
        let j = Journal::open_read(dir).unwrap();
        j.genesis()
    };
    let db = sled_open(dir);
    let tree = db.open_tree("journal").unwrap();
    let mut prev = genesis;
    let mut last = 0;
    let records: Vec<(sled::IVec, sled::IVec)> = tree
        .range(&[b'e'][..]..&[b'f'][..])
        .map(|kv| kv.unwrap())
        .filter(|(k, _)| k.len() == 9)
        .collect();
    for (k, v) in records {
        let seq = u64::from_be_bytes(k[1..].try_into().unwrap());
        let (_, at_ms, event, _) = journal::format::decode(&v).unwrap();
        let event = match change(seq, event) {
            Event::RunSealed { outcome, .. } => Event::RunSealed {
                head: prev,
                outcome,
            },
            e => e,
        };
        let (rec, hash) = journal::format::encode(&event, at_ms, seq, &prev).unwrap();
        tree.insert(k, rec).unwrap();
        prev = hash;
        last = seq;
    }
    db.flush().unwrap();
    drop(tree);
    drop(db);
    std::fs::remove_file(dir.join(journal::witness::FILE)).unwrap();
    let mut w = journal::witness::Witness::create(dir, &genesis).unwrap();
    w.record(last, &prev).unwrap();
    prev
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
