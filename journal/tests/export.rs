//! Export bundles: every format holds every event, validates against its
//! model (CADF per pycadf's rules, OTLP per opentelemetry-proto's JSON
//! mapping), verifies offline, and damage to any file is named by its seq.

mod common;

use std::path::{Path, PathBuf};

use journal::export::bundle::{self, ExportOptions};
use journal::export::{Format, MANIFEST};
use journal::{
    BlobRef, Doc, Event, Journal, Json, OpId, PauseReason, ReobservedVerdict, RunOutcome,
    VerifyStatus, WaitOutcome,
};
use serde_json::Value;

/// Appends one event of every kind (and retries, a failure, cut text, a large
/// document, a snapshot), then seals; returns the record count.
fn rich(j: &Journal) -> u64 {
    let long = "x".repeat(700);
    let snap = j.put_blob(b"{\"kind\":\"KuryrPort\"}").unwrap();
    let plan = j.put_blob(b"[]").unwrap();
    let big = j
        .doc(&serde_json::json!({"items": "y".repeat(3000)}))
        .unwrap();
    let events = vec![
        Event::PlanRecorded {
            plan_digest: "pd".into(),
            discovery_digest: "dd".into(),
            operations: plan,
            count: 2,
        },
        Event::ObservationRecorded {
            key: "M0/readings".into(),
            body: big,
        },
        Event::SnapshotRecorded {
            label: "kuryr".into(),
            blobs: vec![BlobRef {
                kind: "kuryrports".into(),
                name: "ns/p".into(),
                hash: snap,
            }],
        },
        common::intent(1),
        Event::OperationFailed {
            op: OpId("op-1".into()),
            attempt: 1,
            http_status: Some(503),
            error: j.text(&long).unwrap(),
            retryable: true,
            duration_ms: 12,
        },
        common::intent(1),
        common::success(1),
        Event::OperationIntended {
            op: OpId("M3/set".into()),
            step: "M3".into(),
            action: "set-migration".into(),
            target: "networks.operator.openshift.io/cluster".into(),
            idempotency_key: "k3".into(),
            attempt: 1,
            params: Doc::short(Json("{\"spec\":{}}".into())).unwrap(),
        },
        Event::RunPaused {
            reason: PauseReason::Interrupted,
        },
        Event::LockRecovered {
            host: "h".into(),
            pid: 7,
            user: "op".into(),
            since: "2026-01-01T00:00:00Z".into(),
            tool_version: "0.1.0".into(),
        },
        Event::RunResumed {
            host: "h2".into(),
            user: "op2".into(),
            pid: 8,
            tool_version: "0.1.1".into(),
        },
        Event::OperationReobserved {
            op: OpId("M3/set".into()),
            verdict: ReobservedVerdict::Done,
            observed: Doc::null(),
        },
        Event::OperationSucceeded {
            op: OpId("M3/set".into()),
            attempt: 1,
            http_status: Some(200),
            observed: Doc::null(),
            duration_ms: 0,
        },
        Event::OperationSkipped {
            op: OpId("M1/backup".into()),
            reason: j.text("already backed up").unwrap(),
        },
        Event::WaitStarted {
            wait: "M5/machineconfigpools".into(),
            step: "M5".into(),
        },
        Event::ConditionObserved {
            wait: "M5/machineconfigpools".into(),
            condition: j.text("worker: Updating").unwrap(),
            detail: Doc::null(),
        },
        Event::WaitFinished {
            wait: "M5/machineconfigpools".into(),
            outcome: WaitOutcome::Met,
        },
        Event::DecisionRecorded {
            decision: "confirm".into(),
            detail: j.text("yes").unwrap(),
            by: "op2@h2".into(),
        },
        Event::EpochStarted {
            epoch: 1,
            reset_to: "M3".into(),
            previous_head: j.head().1,
        },
    ];
    for e in events {
        j.append(e).unwrap();
    }
    let (_, head) = j.head();
    j.append(Event::RunSealed {
        head,
        outcome: RunOutcome::Completed,
    })
    .unwrap();
    j.head().0
}

struct Fixture {
    _tmp: tempfile::TempDir,
    bundles: Vec<(Format, PathBuf)>,
    records: u64,
}

fn fixture(with_blobs: bool) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let j = common::create(&tmp.path().join("j"));
    let records = rich(&j);
    let bundles = Format::ALL
        .into_iter()
        .map(|format| {
            let out = tmp.path().join(format.as_str());
            let opts = ExportOptions {
                format,
                with_blobs,
                exported_by: "test".into(),
            };
            let m = bundle::export(&j, &out, &opts).unwrap();
            assert_eq!(m.records, records);
            assert_eq!(m.seal.as_ref().map(|s| s.seq), Some(records));
            (format, out)
        })
        .collect();
    Fixture {
        _tmp: tmp,
        bundles,
        records,
    }
}

fn lines(dir: &Path, format: Format) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format.records_file()))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn broken_at(dir: &Path) -> (u64, String) {
    match bundle::verify(dir).unwrap().report.status {
        VerifyStatus::Broken { seq, reason } => (seq, reason),
        other => panic!("expected a break, got {other:?}"),
    }
}

#[test]
fn every_format_verifies_and_holds_every_event() {
    let f = fixture(true);
    for (format, dir) in &f.bundles {
        let r = bundle::verify(dir).unwrap();
        assert_eq!(r.report.status, VerifyStatus::Sealed { seal: f.records });
        assert_eq!(r.report.records, f.records);
        assert!(r.is_whole(), "{format}: {:?}", r.blob_problems);
        // The snapshot, the plan, the cut error text and the large document.
        assert_eq!(r.blobs_checked, 4, "{format}");
        assert_eq!(lines(dir, *format).len() as u64, f.records);
        let back = bundle::read_records(dir).unwrap();
        assert_eq!(back.records.len() as u64, f.records);
        assert!(matches!(back.records[0].event, Event::RunStarted { .. }));
    }
    // For checking the bundles with other tools (e.g. pycadf), by hand.
    if let Some(keep) = std::env::var_os("OVN_MIGRATE_KEEP_EXPORTS") {
        for (format, dir) in &f.bundles {
            copy_bundle(dir, &Path::new(&keep).join(format.as_str()));
        }
    }
    let jsonl = lines(&f.bundles[0].1, Format::Jsonl);
    let names: Vec<&str> = jsonl.iter().map(|l| l["event"].as_str().unwrap()).collect();
    for kind in [
        "RunStarted",
        "PlanRecorded",
        "ObservationRecorded",
        "SnapshotRecorded",
        "OperationIntended",
        "OperationSucceeded",
        "OperationFailed",
        "OperationSkipped",
        "OperationReobserved",
        "WaitStarted",
        "ConditionObserved",
        "WaitFinished",
        "DecisionRecorded",
        "RunPaused",
        "RunResumed",
        "EpochStarted",
        "RunSealed",
        "LockRecovered",
    ] {
        assert!(names.contains(&kind), "no {kind} in {names:?}");
    }
    let failed = jsonl
        .iter()
        .find(|l| l["event"] == "OperationFailed")
        .unwrap();
    assert_eq!(failed["fields"]["http_status"], 503);
    assert_eq!(failed["fields"]["error"]["len"], 700);
    assert_eq!(failed["fields"]["error"]["complete"], false);
    assert!(failed["fields"]["error"]["blob"].as_str().unwrap().len() == 64);
    assert_eq!(jsonl[0]["fields"]["target"]["cluster_id"], "c1");
}

#[test]
fn an_export_refuses_a_non_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let j = common::create(&tmp.path().join("j"));
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("x"), "keep me").unwrap();
    let opts = ExportOptions {
        format: Format::Jsonl,
        with_blobs: false,
        exported_by: "t".into(),
    };
    let err = bundle::export(&j, &out, &opts).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("x")).unwrap(), "keep me");
}

#[test]
fn an_unsealed_journal_exports_as_unsealed() {
    let tmp = tempfile::tempdir().unwrap();
    let j = common::create(&tmp.path().join("j"));
    j.append(common::intent(1)).unwrap();
    let out = tmp.path().join("out");
    let opts = ExportOptions {
        format: Format::Cadf,
        with_blobs: false,
        exported_by: "t".into(),
    };
    let m = bundle::export(&j, &out, &opts).unwrap();
    assert!(m.seal.is_none());
    assert_eq!(
        bundle::verify(&out).unwrap().report.status,
        VerifyStatus::Unsealed { last: 2 }
    );
}

// ---- CADF, checked with pycadf's rules (event.py, resource.py, reason.py,
// attachment.py, cadftaxonomy.py, identifier.py, timestamp.py).

const ACTIONS: &[&str] = &[
    "backup",
    "capture",
    "create",
    "configure",
    "read",
    "read/list",
    "update",
    "delete",
    "monitor",
    "start",
    "stop",
    "deploy",
    "undeploy",
    "enable",
    "disable",
    "send",
    "receive",
    "authenticate",
    "authenticate/login",
    "revoke",
    "renew",
    "restore",
    "evaluate",
    "allow",
    "deny",
    "notify",
    "unknown",
];
const OUTCOMES: &[&str] = &["success", "failure", "pending", "unknown"];
const RESOURCES: &[&str] = &[
    "storage", "compute", "network", "service", "data", "unknown",
];
const EVENT_KEYS: &[&str] = &[
    "typeURI",
    "eventType",
    "id",
    "eventTime",
    "initiator",
    "initiatorId",
    "action",
    "target",
    "targetId",
    "outcome",
    "reason",
    "severity",
    "measurements",
    "tags",
    "attachments",
    "observer",
    "reporterchain",
];

fn valid_id(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

fn check_resource(r: &Value, what: &str) {
    let t = r["typeURI"]
        .as_str()
        .unwrap_or_else(|| panic!("{what} has no typeURI: {r}"));
    assert!(
        RESOURCES.iter().any(|p| t.starts_with(p)),
        "{what} typeURI {t} is not in the resource taxonomy"
    );
    assert!(valid_id(&r["id"]), "{what} id {}", r["id"]);
}

/// Returns the problems pycadf's validators would find in `e`.
fn check_cadf(e: &Value) {
    let obj = e.as_object().unwrap();
    for k in obj.keys() {
        assert!(
            EVENT_KEYS.contains(&k.as_str()),
            "{k} is not a CADF event attribute"
        );
    }
    for k in [
        "typeURI",
        "eventType",
        "id",
        "eventTime",
        "action",
        "outcome",
        "initiator",
        "target",
        "observer",
    ] {
        assert!(obj.contains_key(k), "missing {k}: {e}");
    }
    assert_eq!(
        e["typeURI"],
        "http://schemas.dmtf.org/cloud/audit/1.0/event"
    );
    assert!(["activity", "monitor", "control"].contains(&e["eventType"].as_str().unwrap()));
    assert!(valid_id(&e["id"]));
    let t = e["eventTime"].as_str().unwrap();
    chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.6f%z")
        .unwrap_or_else(|err| panic!("eventTime {t}: {err}"));
    let action = e["action"].as_str().unwrap();
    assert!(
        ACTIONS.iter().any(|a| action.starts_with(a)),
        "action {action} is not in the taxonomy"
    );
    assert!(OUTCOMES.contains(&e["outcome"].as_str().unwrap()));
    check_resource(&e["initiator"], "initiator");
    check_resource(&e["target"], "target");
    check_resource(&e["observer"], "observer");
    if let Some(r) = e.get("reason") {
        assert!(
            r["reasonType"].is_string() && r["reasonCode"].is_string(),
            "reason needs reasonType and reasonCode: {r}"
        );
    }
    for a in e["attachments"].as_array().unwrap() {
        assert!(a["typeURI"].is_string() && a["name"].is_string() && !a["content"].is_null());
    }
    for m in e
        .get("measurements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert!(!m["result"].is_null());
        assert!(
            valid_id(&m["metric"]["metricId"]),
            "metricId is an identifier: {m}"
        );
        assert!(m["metric"]["unit"].is_string());
    }
    for tag in e["tags"].as_array().unwrap() {
        assert!(tag.is_string());
    }
}

#[test]
fn cadf_records_follow_the_pycadf_model() {
    let f = fixture(false);
    let cadf = lines(&f.bundles[1].1, Format::Cadf);
    let jsonl = lines(&f.bundles[0].1, Format::Jsonl);
    for (e, truth) in cadf.iter().zip(&jsonl) {
        check_cadf(e);
        let outcome = e["outcome"].as_str().unwrap();
        match truth["event"].as_str().unwrap() {
            "OperationIntended" => assert_eq!(outcome, "pending"),
            "OperationSucceeded" => {
                assert_eq!(outcome, "success");
                assert_eq!(e["reason"]["reasonType"], "HTTP");
            }
            "OperationFailed" => {
                assert_eq!(outcome, "failure");
                assert_eq!(e["reason"]["reasonCode"], "503");
            }
            _ => {}
        }
    }
    let intent = cadf
        .iter()
        .find(|e| {
            e["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "op:M3/set")
        })
        .unwrap();
    assert_eq!(intent["action"], "update/set-migration");
    assert_eq!(intent["target"]["typeURI"], "data/config/networks");
    assert_eq!(
        intent["target"]["name"],
        "networks.operator.openshift.io/cluster"
    );
    let lb = cadf
        .iter()
        .find(|e| e["tags"].as_array().unwrap().iter().any(|t| t == "op:op-1"))
        .unwrap();
    assert_eq!(lb["action"], "delete/delete-loadbalancer");
    assert_eq!(lb["target"]["typeURI"], "service/network/loadbalancer");
    // The resumed run's operator is the initiator from there on.
    let sealed = cadf.last().unwrap();
    assert_eq!(sealed["initiator"]["name"], "op2@h2");
    assert_eq!(sealed["initiator"]["host"]["agent"], "ovn-migrate/0.1.1");
}

// ---- OTLP/JSON, checked against opentelemetry-proto's logs.proto field names.

const LOG_RECORD_KEYS: &[&str] = &[
    "timeUnixNano",
    "observedTimeUnixNano",
    "severityNumber",
    "severityText",
    "body",
    "attributes",
    "droppedAttributesCount",
    "flags",
    "traceId",
    "spanId",
    "eventName",
];

fn check_attrs(attrs: &Value) {
    for a in attrs.as_array().unwrap() {
        assert!(a["key"].is_string());
        let v = a["value"].as_object().unwrap();
        assert_eq!(v.len(), 1, "{a}");
        match v.keys().next().unwrap().as_str() {
            "stringValue" => assert!(v["stringValue"].is_string()),
            "intValue" => {
                let s = v["intValue"]
                    .as_str()
                    .expect("int64 is a string in OTLP/JSON");
                s.parse::<i64>().unwrap();
            }
            "boolValue" => assert!(v["boolValue"].is_boolean()),
            other => panic!("unexpected value kind {other}"),
        }
    }
}

#[test]
fn otlp_records_follow_the_otlp_json_mapping() {
    let f = fixture(false);
    let otlp = lines(&f.bundles[2].1, Format::Otlp);
    let jsonl = lines(&f.bundles[0].1, Format::Jsonl);
    let mut trace = None;
    for (req, truth) in otlp.iter().zip(&jsonl) {
        let rl = &req["resourceLogs"];
        assert_eq!(rl.as_array().unwrap().len(), 1);
        check_attrs(&rl[0]["resource"]["attributes"]);
        let sl = &rl[0]["scopeLogs"][0];
        assert!(sl["scope"]["name"].is_string());
        let recs = sl["logRecords"].as_array().unwrap();
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        for k in r.as_object().unwrap().keys() {
            assert!(
                LOG_RECORD_KEYS.contains(&k.as_str()),
                "{k} is not a LogRecord field"
            );
        }
        let nanos: u128 = r["timeUnixNano"].as_str().unwrap().parse().unwrap();
        assert_eq!(nanos, truth["at_ms"].as_u64().unwrap() as u128 * 1_000_000);
        let sev = r["severityNumber"].as_u64().unwrap();
        assert!((1..=24).contains(&sev));
        assert!(r["body"]["stringValue"].is_string());
        check_attrs(&r["attributes"]);
        let t = r["traceId"].as_str().unwrap();
        assert!(t.len() == 32 && t.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(*trace.get_or_insert(t.to_string()), t, "one trace per run");
        let is_op = truth["fields"].get("op").is_some();
        match r.get("spanId") {
            Some(s) => {
                let s = s.as_str().unwrap();
                assert!(is_op && s.len() == 16 && s.bytes().all(|c| c.is_ascii_hexdigit()));
            }
            None => assert!(!is_op, "an operation event without a span: {r}"),
        }
        if truth["event"] == "OperationFailed" {
            assert_eq!(r["severityText"], "WARN");
            assert!(r["attributes"].as_array().unwrap().iter().any(|a| {
                a["key"] == "http.response.status_code" && a["value"]["intValue"] == "503"
            }));
        }
    }
}

// ---- Damage, on the files.

fn records_path(dir: &Path, format: Format) -> PathBuf {
    dir.join(format.records_file())
}

fn line_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    out
}

fn copy_bundle(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_bundle(&e.path(), &dst.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_flipped_byte_anywhere_in_a_line_is_named_by_its_seq() {
    let f = fixture(false);
    let scratch = tempfile::tempdir().unwrap();
    for (format, dir) in &f.bundles {
        let original = std::fs::read(records_path(dir, *format)).unwrap();
        let spans = line_spans(&original);
        for seq in [1u64, 5, f.records] {
            let (start, end) = spans[seq as usize - 1];
            // Every 5th byte of the line (but not its newline).
            for pos in (start..end - 1).step_by(5) {
                let copy = scratch.path().join("b");
                let _ = std::fs::remove_dir_all(&copy);
                copy_bundle(dir, &copy);
                let mut bytes = original.clone();
                bytes[pos] ^= 0x01;
                std::fs::write(records_path(&copy, *format), &bytes).unwrap();
                let (at, reason) = broken_at(&copy);
                assert_eq!(
                    at,
                    seq,
                    "{format}: flipping byte {} of line {seq} ({:?}) was reported at {at}: {reason}",
                    pos - start,
                    original[pos] as char
                );
            }
        }
    }
}

#[test]
fn truncation_deletion_swaps_and_duplicates_are_named() {
    let f = fixture(false);
    let scratch = tempfile::tempdir().unwrap();
    for (format, dir) in &f.bundles {
        let original = std::fs::read(records_path(dir, *format)).unwrap();
        let spans = line_spans(&original);
        let damaged = |bytes: Vec<u8>| {
            let copy = scratch.path().join(format!("{format}-d"));
            let _ = std::fs::remove_dir_all(&copy);
            copy_bundle(dir, &copy);
            std::fs::write(records_path(&copy, *format), bytes).unwrap();
            broken_at(&copy)
        };
        let line = |i: usize| original[spans[i].0..spans[i].1].to_vec();
        // Truncated in the middle of line 7.
        let (at, reason) = damaged(original[..spans[6].0 + 10].to_vec());
        assert_eq!(at, 7, "{format}: {reason}");
        assert!(reason.contains("truncated"), "{reason}");
        // Truncated at a line boundary after line 9: short against the manifest.
        let (at, reason) = damaged(original[..spans[8].1].to_vec());
        assert_eq!(at, 10, "{format}: {reason}");
        assert!(reason.contains("short"), "{reason}");
        // Line 4 deleted.
        let mut v = original[..spans[3].0].to_vec();
        v.extend_from_slice(&original[spans[3].1..]);
        let (at, reason) = damaged(v);
        assert_eq!(at, 4, "{format}: {reason}");
        assert!(reason.contains("missing"), "{reason}");
        // Lines 3 and 6 swapped.
        let mut v = Vec::new();
        for i in 0..spans.len() {
            let j = match i {
                2 => 5,
                5 => 2,
                _ => i,
            };
            v.extend_from_slice(&line(j));
        }
        let (at, reason) = damaged(v);
        assert_eq!(at, 3, "{format}: {reason}");
        // Adjacent lines 8 and 9 swapped.
        let mut v = original[..spans[7].0].to_vec();
        v.extend_from_slice(&line(8));
        v.extend_from_slice(&line(7));
        v.extend_from_slice(&original[spans[8].1..]);
        assert_eq!(damaged(v).0, 8, "{format}");
        // Line 2 duplicated.
        let mut v = original[..spans[2].0].to_vec();
        v.extend_from_slice(&line(1));
        v.extend_from_slice(&original[spans[2].0..]);
        let (at, reason) = damaged(v);
        assert_eq!(at, 3, "{format}: {reason}");
        assert!(reason.contains("out of order"), "{reason}");
        // A line appended after the seal.
        let mut v = original.clone();
        v.extend_from_slice(&line(3));
        assert_eq!(damaged(v).0, f.records + 1, "{format}");
    }
}

#[test]
fn a_damaged_manifest_is_caught() {
    let f = fixture(true);
    let (format, dir) = &f.bundles[0];
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("m");
    let edit = |change: &dyn Fn(&mut Value)| {
        let _ = std::fs::remove_dir_all(&copy);
        copy_bundle(dir, &copy);
        let mut m: Value =
            serde_json::from_slice(&std::fs::read(copy.join(MANIFEST)).unwrap()).unwrap();
        change(&mut m);
        std::fs::write(copy.join(MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();
    };
    // A manifest that claims more records than the file holds: short.
    edit(&|m| m["records"] = (f.records + 3).into());
    let (at, reason) = broken_at(&copy);
    assert_eq!(at, f.records + 1, "{reason}");
    // A manifest that claims no seal.
    edit(&|m| m["seal"] = Value::Null);
    let (at, reason) = broken_at(&copy);
    assert_eq!(at, f.records, "{reason}");
    assert!(reason.contains("not sealed"), "{reason}");
    // Another run id: the genesis no longer leads to record 1.
    edit(&|m| m["run_id"] = "run-2".into());
    assert_eq!(broken_at(&copy).0, 1);
    // Another head.
    edit(&|m| m["head"] = "00".repeat(32).into());
    assert!(broken_at(&copy).1.contains("another head"));
    // No manifest at all.
    let _ = std::fs::remove_dir_all(&copy);
    copy_bundle(dir, &copy);
    std::fs::remove_file(copy.join(MANIFEST)).unwrap();
    let err = bundle::verify(&copy).unwrap_err().to_string();
    assert!(err.contains("manifest is missing"), "{err}");
    // A manifest that is not JSON.
    std::fs::write(copy.join(MANIFEST), b"{not json").unwrap();
    let err = bundle::verify(&copy).unwrap_err().to_string();
    assert!(err.contains("not a valid manifest"), "{err}");
    let _ = format;
}

#[test]
fn damaged_or_missing_blobs_are_named_with_the_record_that_needs_them() {
    let f = fixture(true);
    let (_, dir) = &f.bundles[0];
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("b");
    copy_bundle(dir, &copy);
    let blobs: Vec<PathBuf> = std::fs::read_dir(copy.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut bytes = std::fs::read(&blobs[0]).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&blobs[0], bytes).unwrap();
    std::fs::remove_file(&blobs[1]).unwrap();
    let r = bundle::verify(&copy).unwrap();
    assert!(!r.is_whole());
    assert_eq!(r.report.status, VerifyStatus::Sealed { seal: f.records });
    let all = r.blob_problems.join("\n");
    assert!(all.contains("does not match its hash"), "{all}");
    assert!(all.contains("is missing from the bundle"), "{all}");
    assert!(all.contains("referenced by record"), "{all}");
}

/// Builds a journal from a committed fixture of an older format
/// (`tests/fixtures/v<N>-journal.txt`: run id and target, then `seq hex`).
fn journal_from_fixture(name: &str, dir: &Path) -> Journal {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let (run_id, target) = lines.next().unwrap().split_once(' ').unwrap();
    let target: journal::Target = serde_json::from_str(target).unwrap();
    {
        let (db, tree) = common::raw_tree(dir);
        tree.insert(b"mtarget", serde_json::to_vec(&target).unwrap())
            .unwrap();
        tree.insert(b"mrun", run_id.as_bytes()).unwrap();
        for l in lines {
            let (seq, h) = l.split_once(' ').unwrap();
            tree.insert(
                common::event_key(seq.parse().unwrap()),
                hex::decode(h).unwrap(),
            )
            .unwrap();
        }
        db.flush().unwrap();
    }
    Journal::open(dir, &target, &journal::OpenOptions::default()).unwrap()
}

#[test]
fn journals_of_older_formats_export_and_verify() {
    for (name, version) in [("v1-journal.txt", 1), ("v2-journal.txt", 2)] {
        let tmp = tempfile::tempdir().unwrap();
        let j = journal_from_fixture(name, &tmp.path().join("j"));
        let sealed = j.sealed();
        for format in Format::ALL {
            let out = tmp.path().join(format.as_str());
            let opts = ExportOptions {
                format,
                with_blobs: false,
                exported_by: "t".into(),
            };
            let m = bundle::export(&j, &out, &opts).unwrap();
            let r = bundle::verify(&out).unwrap();
            match sealed {
                Some(seal) => assert_eq!(r.report.status, VerifyStatus::Sealed { seal }),
                None => assert_eq!(r.report.status, VerifyStatus::Unsealed { last: m.records }),
            }
            if format == Format::Jsonl {
                let l = lines(&out, format);
                assert!(l.iter().all(|v| v["version"] == version), "{name}");
                assert!(l[0]["at_ms"].as_i64().unwrap() > 0, "{name}: time upcast");
            }
        }
    }
}
