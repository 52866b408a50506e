//! The golden journals of `tests/fixtures/golden/`, recorded once from lab
//! runs (`golden_record.rs`, run by hand; `fixtures/golden/README.md`) and
//! never regenerated: each is made into a journal directory again, byte for
//! byte ([`journal::golden::load`]), then
//! * verifies whole and sealed, and replays with every decision re-derived
//!   (exit 0) by today's code;
//! * shows the same timeline as its insta snapshot (only the temporary
//!   path is redacted: times and ids are the fixture's own);
//! * damaged on its files (the `db` cut in half, a record's bytes flipped
//!   where sled stored them, the head witness deleted, two journals' head
//!   witnesses swapped) is refused by `verify` with exit 9, naming the
//!   witness's last durable record and what sled could still read.
//!
//! Adding a fixture is its file and one line in [`GOLDEN`].

use std::path::{Path, PathBuf};
use std::process::Output;

use replay_tests::describe;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

/// Every golden journal: (file name without `.journal`, what it is).
const GOLDEN: &[(&str, &str)] = &[
    ("migration-v3", "the migration phase, uninterrupted"),
    (
        "interrupted-resumed-v3",
        "killed after the first reboot's intent, resumed",
    ),
    ("reset-resumed-v3", "killed in M8, reset to M5, resumed"),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/golden/{name}.journal"))
}

/// Makes fixture `name` into a journal directory under `into`.
fn materialize(name: &str, into: &Path) -> PathBuf {
    let src = fixture(name);
    let text = std::fs::read_to_string(&src)
        .unwrap_or_else(|e| panic!("{}: {e} (fixtures are never regenerated)", src.display()));
    let dir = into.join(name);
    journal::golden::load(&text, &src, &dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {:?}",
            src.display(),
            std::error::Error::source(&e)
        )
    });
    dir
}

fn tool(args: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .arg("--no-progress")
        .args(args)
        .output()
        .unwrap()
}

fn verify_json(dir: &Path) -> (Output, Value) {
    let o = tool(&[
        "--output",
        "json",
        "journal",
        "verify",
        dir.to_str().unwrap(),
    ]);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&o)));
    (o, v)
}

#[test]
fn every_golden_journal_verifies_replays_and_shows_as_its_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, what) in GOLDEN {
        let dir = materialize(name, tmp.path());
        let (o, v) = verify_json(&dir);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", describe(&o));
        assert_eq!(v["status"], "sealed", "{name} ({what}): {v:#}");

        let o = tool(&[
            "--output",
            "json",
            "journal",
            "replay",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", describe(&o));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["result"], "re-derived", "{name}: {r:#}");
        assert!(r["decisions"].as_u64().unwrap() > 30, "{name}: {r:#}");
        if name.starts_with("reset") {
            assert_eq!(r["epoch"], 1, "{name}");
        }

        let o = tool(&["journal", "show", dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", describe(&o));
        let text = String::from_utf8_lossy(&o.stdout).replace(dir.to_str().unwrap(), "[journal]");
        insta::assert_snapshot!(format!("golden_show_{name}"), text);
    }
}

/// Returns every offset of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn every_golden_journal_damaged_on_its_files_is_refused_naming_the_witness() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, _) in GOLDEN {
        let base = tmp.path().join(format!("{name}-base"));
        let dir = materialize(name, &base);
        let total = journal::Journal::open_read(&dir).unwrap().head().0;
        let copy = |how: &str| {
            let d = tmp.path().join(format!("{name}-{how}"));
            copy_dir(&dir, &d);
            d
        };
        let damaged = |d: &Path, how: &str| -> Value {
            let (o, v) = verify_json(d);
            assert_eq!(o.status.code(), Some(9), "{name} {how}: {}", describe(&o));
            assert_eq!(v["status"], "damaged", "{name} {how}: {v:#}");
            v
        };

        // The database cut in half.
        let d = copy("truncated");
        let db = d.join("db");
        let len = std::fs::metadata(&db).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let v = damaged(&d, "truncated");
        assert_eq!(v["witness_seq"], total, "{name}: {v:#}");
        assert!(v["readable"].as_u64().unwrap() < total, "{name}: {v:#}");

        // The last record's bytes flipped wherever sled stored them.
        let d = copy("flipped");
        let last = {
            let j = journal::Journal::open_read(&d).unwrap();
            let (_, rec) = j.raw_records(total).next().unwrap().unwrap();
            rec.to_vec()
        };
        let db = d.join("db");
        let mut bytes = std::fs::read(&db).unwrap();
        let at = find_all(&bytes, &last);
        assert!(!at.is_empty(), "{name}: the last record is in the db file");
        for a in at {
            bytes[a + last.len() / 2] ^= 0x20;
        }
        std::fs::write(&db, bytes).unwrap();
        let v = damaged(&d, "flipped");
        assert_eq!(v["witness_seq"], total, "{name}: {v:#}");
        assert!(v["readable"].as_u64().unwrap() < total, "{name}: {v:#}");

        // The head witness deleted.
        let d = copy("no-witness");
        std::fs::remove_file(d.join(journal::witness::FILE)).unwrap();
        let v = damaged(&d, "no witness");
        assert!(
            v["reason"].as_str().unwrap().contains("witness"),
            "{name}: {v:#}"
        );
        assert_eq!(v["readable"], total, "{name}: sled still reads all: {v:#}");
    }

    // Two journals' head witnesses swapped: each is another journal's.
    let a = tmp
        .path()
        .join(format!("{}-base/{}", GOLDEN[0].0, GOLDEN[0].0));
    let b = tmp
        .path()
        .join(format!("{}-base/{}", GOLDEN[1].0, GOLDEN[1].0));
    let w = journal::witness::FILE;
    let (ha, hb) = (
        std::fs::read(a.join(w)).unwrap(),
        std::fs::read(b.join(w)).unwrap(),
    );
    std::fs::write(a.join(w), hb).unwrap();
    std::fs::write(b.join(w), ha).unwrap();
    for d in [&a, &b] {
        let (o, v) = verify_json(d);
        assert_eq!(o.status.code(), Some(9), "swapped: {}", describe(&o));
        assert_eq!(v["status"], "damaged", "swapped: {v:#}");
        assert!(v["reason"].as_str().unwrap().contains("witness"), "{v:#}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
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
