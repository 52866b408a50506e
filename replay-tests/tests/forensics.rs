//! Forensics on a journal made by a lab migration: `journal export` in every
//! format (with blobs) carries none of the lab's credentials, anywhere, in
//! any encoding; every bundle verifies offline with `journal verify`; and
//! `journal show` and one CADF and one OTLP record are pinned as insta
//! snapshots, with times, ids, hashes and the host redacted.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use replay_tests::{Rig, current_journal, describe, small};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

/// One lab migration shared by the tests of this file (it only reads it).
struct Run {
    rig: Rig,
    journal: PathBuf,
}

fn lab_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let rig = Rig::start(small());
        let out = rig.run(Path::new(BIN), &[], None);
        assert!(out.status.success(), "{}", describe(&out));
        let journal = current_journal(&rig.state).expect("a current run");
        Run { rig, journal }
    })
}

fn tool(args: &[&str]) -> Output {
    let run = lab_run();
    let mut all = vec!["--no-progress"];
    all.extend_from_slice(args);
    run.rig
        .tool(Path::new(BIN), &all)
        .output()
        .expect("the tool runs")
}

fn export(format: &str, out: &Path) {
    let j = lab_run().journal.to_str().unwrap().to_string();
    let o = tool(&[
        "journal",
        "export",
        &j,
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
        "--with-blobs",
    ]);
    assert!(o.status.success(), "{}", describe(&o));
}

/// Returns the credentials the lab hands out: the Keystone password and
/// application credential secret from its clouds.yaml, and the kubeconfig's
/// bearer token.
fn credentials(rig: &Rig) -> Vec<String> {
    let clouds = std::fs::read_to_string(&rig.clouds).unwrap();
    let mut out: Vec<String> = clouds
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            matches!(k.trim(), "password" | "application_credential_secret")
                .then(|| v.trim().to_string())
        })
        .collect();
    let kubeconfig: Value =
        serde_json::from_str(&std::fs::read_to_string(&rig.kubeconfig).unwrap()).unwrap();
    for u in kubeconfig["users"].as_array().unwrap() {
        if let Some(t) = u["user"]["token"].as_str() {
            out.push(t.to_string());
        }
    }
    // The application credential of the lab's Keystone also authenticates.
    out.push(
        lab::openstack::CloudConfig::default()
            .application_credential
            .unwrap()
            .1,
    );
    assert!(out.len() >= 3, "found the lab's credentials: {out:?}");
    out
}

/// Returns every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Returns where `needle` occurs in `hay`: as is, and for a short needle
/// only in the shapes a credential takes (a JSON value, a YAML value, a
/// bearer token).
fn leaks(hay: &[u8], secret: &str) -> bool {
    let find = |n: &str| hay.windows(n.len()).any(|w| w == n.as_bytes());
    if secret.len() >= 6 {
        return find(secret);
    }
    [
        format!("\"{secret}\""),
        format!(": {secret}\n"),
        format!("Bearer {secret}"),
    ]
    .iter()
    .any(|n| find(n))
}

#[test]
fn no_export_holds_a_credential_in_any_byte_or_stored_record() {
    let run = lab_run();
    let secrets = credentials(&run.rig);
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for format in ["jsonl", "cadf", "otlp"] {
        let out = tmp.path().join(format);
        export(format, &out);
        for f in files(&out) {
            let bytes = std::fs::read(&f).unwrap();
            for s in &secrets {
                assert!(
                    !leaks(&bytes, s),
                    "{} holds the credential {s:?}: {}",
                    f.display(),
                    String::from_utf8_lossy(&bytes)
                );
            }
            // The stored records travel in base64: decode each and look again.
            if f.extension().is_some_and(|e| e == "jsonl") {
                for line in std::str::from_utf8(&bytes).unwrap().lines() {
                    let v: Value = serde_json::from_str(line).unwrap();
                    let b64 = stored(format, &v);
                    let record = journal::export::decode_base64(b64).expect("base64");
                    for s in &secrets {
                        assert!(!leaks(&record, s), "a stored record in {}", f.display());
                    }
                    checked += 1;
                }
            }
        }
        let o = tool(&["journal", "verify", out.to_str().unwrap()]);
        assert!(o.status.success(), "{format}: {}", describe(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("whole and sealed"), "{text}");
        assert!(text.contains("checked against their hashes"), "{text}");
    }
    // The journal itself, every byte of it, and the log beside it.
    for f in files(&run.journal) {
        let bytes = std::fs::read(&f).unwrap();
        for s in &secrets {
            assert!(!leaks(&bytes, s), "{} holds a credential", f.display());
        }
    }
    assert!(checked > 150, "decoded {checked} stored records");
}

fn stored<'a>(format: &str, v: &'a Value) -> &'a str {
    let f: journal::export::Format = format.parse().unwrap();
    f.stored_of(v).expect("a stored record")
}

/// Replaces what differs between runs and machines in `journal show` output.
fn redact_show(text: &str, journal: &Path) -> String {
    let mut s = text.replace(journal.to_str().unwrap(), "[journal]");
    for (re, with) in [
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", "[datetime]"),
        (r"\d{2}:\d{2}:\d{2}\.\d{3}", "[time]"),
        (r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[run]"),
        (r"by [^\n]*\(pid \d+\)", "by [user@host] (pid [pid])"),
        (r"\b[0-9a-f]{12,64}\b", "[hash]"),
        (r"\d+ ms", "[n] ms"),
        (r"\(\d+ bytes\)", "([n] bytes)"),
        (r"#\d+", "#[seq]"),
        (r"records \d+–\d+", "records [seq]–[seq]"),
        (r"\d+ records", "[n] records"),
        (r"record \d+", "record [seq]"),
        (r"ovn-migrate \d+\.\d+\.\d+", "ovn-migrate [version]"),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

#[test]
fn journal_show_snapshot() {
    let run = lab_run();
    let j = run.journal.to_str().unwrap();
    // The steps whose records do not depend on the simulated controllers'
    // timing (waits record condition changes as they are seen).
    let mut all = String::new();
    for step in ["M1", "M7"] {
        let o = tool(&["journal", "show", j, "--step", step]);
        assert!(o.status.success(), "{}", describe(&o));
        all.push_str(&String::from_utf8_lossy(&o.stdout));
        all.push_str("\n---\n");
    }
    insta::assert_snapshot!("journal_show_m1_m7", redact_show(&all, &run.journal));
    // The whole timeline: every planned step appears, in order, and is done.
    let o = tool(&["journal", "show", j]);
    assert!(o.status.success(), "{}", describe(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let steps: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.len() <= 3 && w.starts_with('M'))
        .collect();
    assert_eq!(
        steps,
        [
            "M0", "M1", "M2", "M3", "M5", "M6", "M7", "M8", "M9", "M10", "M11"
        ],
        "{text}"
    );
    assert!(!text.contains("[in doubt"), "{text}");
    assert!(text.contains("run sealed: completed"), "{text}");
    let o = tool(&["--output", "json", "journal", "show", j, "--step", "M7"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let op = &v["timeline"]["entries"][0]["operations"][0];
    assert_eq!(op["state"], "done");
    // The kube client does not report the status of a patch, and only statuses
    // actually seen are journaled.
    assert!(op["attempts"][0]["http_status"].is_null(), "{v}");
    assert_eq!(v["chain"], "sealed");
}

/// Returns the lines of `file` that are about the M7 operation (its intent
/// and its outcome).
fn m7_lines(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| {
            // The M7 switch's intent and outcome (its observation is journaled
            // beside them and is exported too, but is not what these snapshot).
            let line = v.to_string();
            line.contains("/M7/switch/")
                && (line.contains("OperationIntended") || line.contains("OperationSucceeded"))
        })
        .collect()
}

/// Replaces the values that differ between runs and machines in an exported
/// record: times, run-derived ids, seqs, hashes, the stored record, the
/// operator, durations, the lab's ports and the tool's version.
fn redact_record(v: &Value) -> String {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                // OTLP attributes: {"key": k, "value": {...}}.
                if let Some(Value::String(key)) = map.get("key").cloned() {
                    let dynamic = matches!(
                        key.as_str(),
                        "ovn_migrate.journal.seq"
                            | "ovn_migrate.journal.chain_hash"
                            | "ovn_migrate.journal.record"
                            | "ovn_migrate.duration_ms"
                            | "enduser.id"
                            | "service.version"
                            | "ovn_migrate.run_id"
                            | "ovn_migrate.api_server"
                            | "ovn_migrate.openstack_auth_url"
                    );
                    if dynamic {
                        map.insert("value".into(), Value::String(format!("[{key}]")));
                        return;
                    }
                }
                // CADF attachments: {"name": n, "content": ...}.
                if let Some(Value::String(name)) = map.get("name").cloned()
                    && name.starts_with("journal-")
                    && map.contains_key("content")
                {
                    map.insert("content".into(), Value::String(format!("[{name}]")));
                    return;
                }
                for (k, val) in map.iter_mut() {
                    match k.as_str() {
                        "eventTime"
                        | "timeUnixNano"
                        | "observedTimeUnixNano"
                        | "traceId"
                        | "spanId"
                        | "result"
                        | "agent" => *val = Value::String(format!("[{k}]")),
                        "id" if val.is_string() => *val = Value::String("[id]".into()),
                        _ => walk(val),
                    }
                }
                if let Some(Value::String(n)) = map.get("name")
                    && n.contains('@')
                {
                    map.insert("name".into(), Value::String("[user@host]".into()));
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = v.clone();
    walk(&mut v);
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    for (re, with) in [
        (r"seq:\d+", "seq:[seq]"),
        (r"\d+ ms", "[n] ms"),
        (r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[run]"),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

#[test]
fn one_cadf_and_one_otlp_record_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    for format in ["cadf", "otlp"] {
        let out = tmp.path().join(format);
        export(format, &out);
        let lines = m7_lines(&out.join(format!("{format}.jsonl")));
        assert_eq!(lines.len(), 2, "the M7 intent and its outcome");
        let both = format!(
            "{}\n---\n{}",
            redact_record(&lines[0]),
            redact_record(&lines[1])
        );
        insta::assert_snapshot!(format!("{format}_m7_intent_and_outcome"), both);
    }
}

/// Returns each file of `dir` with its length and modification time.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = files(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, m.len(), m.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_crashed_run_is_shown_exported_and_verified_without_touching_it() {
    let rig = Rig::start(small());
    let kill_at = 16;
    let first = rig.run(Path::new(BIN), &[], Some(kill_at));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(first.status.signal(), Some(9), "{}", describe(&first));
    let dir = current_journal(&rig.state).unwrap();
    let before = listing(&dir);
    assert!(
        dir.join("lock.holder").exists(),
        "the dead run's lock note is left behind"
    );
    let d = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--no-progress"];
        all.extend_from_slice(args);
        rig.tool(Path::new(BIN), &all).output().unwrap()
    };
    let o = run(&["--output", "json", "journal", "show", d]);
    assert!(o.status.success(), "{}", describe(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chain"], "unsealed");
    // The kill comes once the append group holding record `kill_at` is durable.
    let shown = v["verified_records"].as_u64().unwrap();
    assert!(shown >= kill_at, "{v}");
    let o = run(&["journal", "show", d]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("not sealed (in progress or interrupted)"),
        "{text}"
    );
    assert!(
        text.contains("not started:"),
        "the rest of the plan: {text}"
    );
    let out = rig.dir.path().join("bundle");
    let o = run(&[
        "journal",
        "export",
        d,
        "--format",
        "otlp",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let o = run(&[
        "--output",
        "json",
        "journal",
        "verify",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", describe(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "unsealed");
    assert_eq!(v["records"], shown);
    assert_eq!(v["bundle"], true);
    assert_eq!(
        listing(&dir),
        before,
        "the readers changed nothing in the journal"
    );
    // And the run resumes from it as if no one had looked.
    let o = rig.resume(Path::new(BIN), &[]);
    assert!(o.status.success(), "{}", describe(&o));
    // The resumed run's timeline says who resumed it, and that the dead
    // run's lock was taken over.
    let o = run(&["journal", "show", d]);
    assert!(o.status.success(), "{}", describe(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("run resumed by"), "{text}");
    assert!(text.contains("lock taken over from pid"), "{text}");
    assert!(text.contains("run sealed: completed"), "{text}");
}

#[test]
fn a_journal_in_use_is_read_up_to_what_it_has_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c").join("20260101T000000Z-abcd");
    let run = journal::RunInfo {
        run_id: "20260101T000000Z-abcd".into(),
        workflow: "kuryr-migrate".into(),
        tool_version: "0.1.0".into(),
        target: journal::Target {
            cluster_id: "c".into(),
            api_server: "https://api.c:6443".into(),
            openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
            openstack_project: "p".into(),
        },
    };
    let writer = journal::Journal::create(&dir, &run, &journal::OpenOptions::default()).unwrap();
    writer
        .append(journal::Event::WaitStarted {
            wait: "M5/pools".into(),
            step: "M5".into(),
        })
        .unwrap();
    let o = std::process::Command::new(BIN)
        .args(["--no-progress", "--state-dir"])
        .arg(tmp.path())
        .args(["journal", "show", "--run", "20260101T000000Z-abcd"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("wait M5/pools: waiting since #2"), "{text}");
    // The writer goes on, unaware.
    writer
        .append(journal::Event::WaitFinished {
            wait: "M5/pools".into(),
            outcome: journal::WaitOutcome::Met,
        })
        .unwrap();
}

#[test]
fn journal_verify_names_the_damage_in_a_bundle_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    export("jsonl", &good);
    let records = good.join("events.jsonl");
    let original = std::fs::read_to_string(&records).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let verify = |dir: &Path| {
        let o = tool(&[
            "--output",
            "json",
            "journal",
            "verify",
            dir.to_str().unwrap(),
        ]);
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", describe(&o)));
        (o.status.code(), v)
    };
    let damaged = |name: &str, text: String| {
        let d = tmp.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::copy(good.join("manifest.json"), d.join("manifest.json")).unwrap();
        std::fs::write(d.join("events.jsonl"), text).unwrap();
        d
    };
    let mut without_5 = lines.clone();
    without_5.remove(4);
    let d = damaged("deleted", without_5.join("\n") + "\n");
    let (code, v) = verify(&d);
    assert_eq!(code, Some(9));
    assert_eq!(v["broken_at"], 5, "{v}");
    let mut swapped = lines.clone();
    swapped.swap(9, 20);
    let (code, v) = verify(&damaged("swapped", swapped.join("\n") + "\n"));
    assert_eq!((code, v["broken_at"].clone()), (Some(9), 10.into()), "{v}");
    let mut flipped = original.clone().into_bytes();
    let at = lines[..30].iter().map(|l| l.len() + 1).sum::<usize>() + 40;
    flipped[at] ^= 0x01;
    let (code, v) = verify(&damaged("flipped", String::from_utf8(flipped).unwrap()));
    assert_eq!((code, v["broken_at"].clone()), (Some(9), 31.into()), "{v}");
    let short = lines[..40].join("\n") + "\n";
    let (code, v) = verify(&damaged("short", short));
    assert_eq!((code, v["broken_at"].clone()), (Some(9), 41.into()), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("short"), "{v}");
    // No manifest: still a bundle, and unverifiable.
    let d = damaged("no-manifest", original.clone());
    std::fs::remove_file(d.join("manifest.json")).unwrap();
    let o = tool(&["journal", "verify", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(9), "{}", describe(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest is missing"));
    let (code, v) = verify(&good);
    assert_eq!(
        (code, v["status"].clone()),
        (Some(0), "sealed".into()),
        "{v}"
    );
}

#[test]
fn a_damaged_journal_is_shown_up_to_the_break_and_not_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let run = journal::RunInfo {
        run_id: "r".into(),
        workflow: "kuryr-migrate".into(),
        tool_version: "0.1.0".into(),
        target: journal::Target {
            cluster_id: "c".into(),
            api_server: "https://api.c:6443".into(),
            openstack_auth_url: "http://127.0.0.1:5000/v3".into(),
            openstack_project: "p".into(),
        },
    };
    {
        let j = journal::Journal::create(&dir, &run, &journal::OpenOptions::default()).unwrap();
        for n in 0..4 {
            j.append(journal::Event::WaitStarted {
                wait: format!("M5/w{n}"),
                step: "M5".into(),
            })
            .unwrap();
        }
    }
    {
        // Flip one byte inside record 3's payload, on the file's own database.
        let db = sled::open(&dir).unwrap();
        let tree = db.open_tree("journal").unwrap();
        let mut key = vec![b'e'];
        key.extend_from_slice(&3u64.to_be_bytes());
        let mut rec = tree.get(&key).unwrap().unwrap().to_vec();
        rec[20] ^= 0x01;
        tree.insert(key, rec).unwrap();
        db.flush().unwrap();
    }
    let d = dir.to_str().unwrap();
    let o = std::process::Command::new(BIN)
        .args(["--no-progress", "journal", "show", d])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(9), "{}", describe(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("BROKEN at record 3"), "{text}");
    assert!(text.contains("M5/w0") && !text.contains("M5/w1"), "{text}");
    let out = tmp.path().join("bundle");
    let o = std::process::Command::new(BIN)
        .args([
            "--no-progress",
            "journal",
            "export",
            d,
            "--format",
            "jsonl",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(9), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("record 3 does not verify"), "{err}");
    assert!(
        !out.join("manifest.json").exists(),
        "no bundle vouches for it"
    );
}
