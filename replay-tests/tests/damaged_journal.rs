//! A damaged journal is never read as a shorter whole one (issue 12, #1, #2).
//!
//! The migration is killed with SIGKILL after its third node reboot, then the
//! journal's files are damaged the ways a disk, a copy or a person can:
//! `db` cut by 1 byte, 5 KB and half; one byte flipped at 10 positions; the
//! head witness deleted; two journals' witnesses swapped. Each time
//! `kuryr resume` must refuse with exit 9 (JOURNAL_CORRUPT) and send nothing
//! (the lab's count of mutating calls per object is unchanged), and
//! `journal verify` must say so with exit 9 too. On format 2 the cut journal
//! resumed with exit 0 and rebooted a node a second time.

use std::path::{Path, PathBuf};

use journal::Event;
use replay_tests::{Rig, code, current_journal, describe, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const JOURNAL_CORRUPT: i32 = 9;

/// Returns the seq of the record after which the third reboot is done.
fn after_third_reboot(bin: &Path) -> u64 {
    let reference = Rig::start(small());
    assert!(reference.run(bin, &[], None).status.success());
    let dir = current_journal(&reference.state).unwrap();
    let j = journal::Journal::open_read(&dir).unwrap();
    let mut reboots = 0;
    for r in j.iter(1) {
        let r = r.unwrap();
        if let Event::OperationSucceeded { op, .. } = &r.event
            && op.0.contains("/M9/")
        {
            reboots += 1;
            if reboots == 3 {
                return r.seq;
            }
        }
    }
    panic!("fewer than three reboots in the reference run");
}

/// Copies the regular files of `from` into `to` (made empty first).
fn restore(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A rig killed after its third reboot, with a pristine copy of its journal.
struct Killed {
    rig: Rig,
    dir: PathBuf,
    pristine: tempfile::TempDir,
}

fn killed(bin: &Path, at: u64) -> Killed {
    let rig = Rig::start(small());
    let first = rig.run(bin, &[], Some(at));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(first.status.signal(), Some(9), "{}", describe(&first));
    let dir = current_journal(&rig.state).unwrap();
    let pristine = tempfile::tempdir().unwrap();
    restore(&dir, pristine.path());
    Killed { rig, dir, pristine }
}

/// Asserts that resume and verify refuse the journal of `k` as damaged.
fn refused(bin: &Path, k: &Killed, what: &str) {
    let calls = k.rig.calls();
    let out = k.rig.resume(bin, &[]);
    assert_eq!(code(&out), JOURNAL_CORRUPT, "{what}: {}", describe(&out));
    assert_eq!(k.rig.calls(), calls, "{what}: nothing was sent");
    let v = k
        .rig
        .tool(bin, &["journal", "verify", k.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        code(&v),
        JOURNAL_CORRUPT,
        "{what}: verify: {}",
        describe(&v)
    );
}

#[test]
fn every_damage_to_the_files_stops_resume_with_nothing_sent() {
    let bin = Path::new(BIN);
    let at = after_third_reboot(bin);
    let k = killed(bin, at);
    let db = k.dir.join("db");

    let len = std::fs::metadata(k.pristine.path().join("db"))
        .unwrap()
        .len();
    for cut in [1, 5_000, len / 2] {
        restore(k.pristine.path(), &k.dir);
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(len - cut).unwrap();
        drop(f);
        refused(bin, &k, &format!("db cut by {cut} of {len} bytes"));
    }

    let bytes = std::fs::read(k.pristine.path().join("db")).unwrap();
    for i in 0..10u64 {
        let pos = (bytes.len() as u64 * (2 * i + 1) / 20) as usize;
        restore(k.pristine.path(), &k.dir);
        let mut b = bytes.clone();
        b[pos] ^= 0x5a;
        std::fs::write(&db, &b).unwrap();
        refused(bin, &k, &format!("byte {pos} of {} flipped", bytes.len()));
    }

    restore(k.pristine.path(), &k.dir);
    std::fs::remove_file(k.dir.join(journal::witness::FILE)).unwrap();
    refused(bin, &k, "witness deleted");

    // The undamaged journal still resumes to the end: the damage was the cause.
    restore(k.pristine.path(), &k.dir);
    let out = k.rig.resume(bin, &[]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
}

#[test]
fn swapped_witnesses_stop_resume_with_nothing_sent() {
    let bin = Path::new(BIN);
    let at = after_third_reboot(bin);
    let (a, b) = (killed(bin, at), killed(bin, at));
    let (wa, wb) = (
        a.dir.join(journal::witness::FILE),
        b.dir.join(journal::witness::FILE),
    );
    let (ba, bb) = (std::fs::read(&wa).unwrap(), std::fs::read(&wb).unwrap());
    assert_ne!(ba, bb, "two runs, two chains");
    std::fs::write(&wa, &bb).unwrap();
    std::fs::write(&wb, &ba).unwrap();
    refused(bin, &a, "b's witness in a");
    refused(bin, &b, "a's witness in b");
}

#[test]
fn salvage_then_resume_never_reboots_a_node_twice() {
    let bin = Path::new(BIN);
    let at = after_third_reboot(bin);
    let k = killed(bin, at);
    let reboots_before = replay_tests::count(&k.rig.calls(), "/action");
    assert!(reboots_before >= 2, "{:?}", k.rig.calls());
    // The case: 5,000 bytes cut off the db after the third reboot.
    let db = k.dir.join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(len - 5_000).unwrap();
    drop(f);
    refused(bin, &k, "db cut by 5,000 bytes");
    let damaged_files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&k.dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();

    let out = k
        .rig
        .tool(bin, &["journal", "salvage", k.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", describe(&out));
    // The damaged journal was moved aside, every file as it was.
    let parent = k.dir.parent().unwrap();
    let run = k.dir.file_name().unwrap().to_string_lossy().into_owned();
    let aside = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{run}.damaged-"))
        })
        .expect("the damaged journal, moved aside");
    for (name, bytes) in &damaged_files {
        assert_eq!(
            &std::fs::read(aside.join(name)).unwrap_or_default(),
            bytes,
            "salvage changed {name} of the damaged journal"
        );
    }
    let new = current_journal(&k.rig.state).unwrap();
    assert_eq!(new, k.dir, "the salvaged journal is the same run's");
    let v = k
        .rig
        .tool(bin, &["journal", "verify", new.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&v), 0, "{}", describe(&v));

    // Resume: whatever the lost records held, no node is rebooted twice. A
    // reboot whose records were lost stops for the operator (exit 6).
    let out = k.rig.resume(bin, &[]);
    let c = code(&out);
    assert!(c == 0 || c == 6, "{}", describe(&out));
    for (call, n) in k.rig.calls() {
        if call.contains("/action") {
            assert_eq!(n, 1, "{call} sent {n} times");
        }
    }
    let j = journal::Journal::open_read(&new).unwrap();
    let salvage = j.iter(1).find_map(|r| match r.unwrap().event {
        Event::DecisionRecorded {
            decision, detail, ..
        } if decision == "salvage" => Some(detail),
        _ => None,
    });
    assert!(
        salvage.is_some_and(|d| d.inline().contains("salvaged from")),
        "the salvage is journaled as a decision"
    );
}
