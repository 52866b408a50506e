//! The external anchor against the lab's cluster, over HTTP: a sealed run's
//! head is recorded on the ConfigMap `kube-system/ovn-migrate-anchors`;
//! `journal verify --against-cluster` confirms the journal, and refuses a
//! copy rewritten and re-sealed so that it verifies on its own (exit 9,
//! both heads named), and a run the cluster has no anchor for.

mod doctor;

use std::path::Path;

use journal::{Event, Journal};
use replay_tests::{Rig, current_journal, describe, small};
use serde_json::{Value, json};
use steps::kube::anchor;
use steps::kube::{ClientOptions, Kind, ObjectRef};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

#[test]
fn a_journal_rewritten_and_resealed_is_refused_against_the_cluster() {
    let rig = Rig::start(small());
    let out = rig.run(Path::new(BIN), &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let dir = current_journal(&rig.state).unwrap();
    let (run_id, seal_seq, head) = {
        let j = Journal::open_read(&dir).unwrap();
        let seal = j.sealed().expect("sealed");
        let head = j.read(seal).unwrap().unwrap().hash.to_string();
        (j.run_id().to_string(), seal, head)
    };

    // The anchor is in the cluster.
    let cm = rig
        .lab
        .store()
        .get("configmaps", "kube-system", "ovn-migrate-anchors")
        .expect("the anchors ConfigMap");
    let key = format!("anchors.ovn-migrate.io/{run_id}");
    let anchor: Value =
        serde_json::from_str(cm["metadata"]["annotations"][&key].as_str().unwrap()).unwrap();
    assert_eq!(anchor["seal_seq"], seal_seq);
    assert_eq!(anchor["head"], head.as_str());
    assert_eq!(anchor["workflow"], "kuryr-migrate");

    let verify = |d: &Path| {
        rig.tool(
            Path::new(BIN),
            &[
                "--no-progress",
                "--output",
                "json",
                "journal",
                "verify",
                "--against-cluster",
                d.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap()
    };
    let o = verify(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["anchor"]["result"], "matches", "{v:#}");

    // Rewritten (an operation's HTTP status changed) and re-sealed: whole on its own.
    let copy = rig.dir.path().join("rewritten");
    doctor::copy_dir(&dir, &copy);
    let mut changed = false;
    doctor::rewrite(&copy, |_, e| match e {
        Event::OperationSucceeded {
            op,
            attempt,
            observed,
            duration_ms,
            ..
        } if !changed => {
            changed = true;
            Event::OperationSucceeded {
                op,
                attempt,
                http_status: Some(204),
                observed,
                duration_ms,
            }
        }
        e => e,
    });
    let plain = rig
        .tool(
            Path::new(BIN),
            &["--no-progress", "journal", "verify", copy.to_str().unwrap()],
        )
        .output()
        .unwrap();
    assert_eq!(
        plain.status.code(),
        Some(0),
        "the rewrite verifies alone: {}",
        describe(&plain)
    );
    let o = verify(&copy);
    assert_eq!(o.status.code(), Some(9), "{}", describe(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["anchor"]["result"], "differs", "{v:#}");
    assert_eq!(v["anchor"]["cluster"]["head"], head.as_str());
    assert_ne!(v["anchor"]["journal"]["head"], head.as_str());
    let text = rig
        .tool(
            Path::new(BIN),
            &[
                "--no-progress",
                "journal",
                "verify",
                "--against-cluster",
                copy.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(9));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("DIFFERS") && text.contains(&head), "{text}");

    // The anchor cannot be replaced by the rewritten journal's.
    let rewritten = Journal::open_read(&copy).unwrap();
    let mine = rewritten
        .read(rewritten.sealed().unwrap())
        .unwrap()
        .unwrap()
        .hash;
    drop(rewritten);
    let kc = rig
        .block_on(steps::kube::connect(&ClientOptions {
            kubeconfig: Some(rig.kubeconfig.clone()),
            context: None,
            timeout: None,
        }))
        .unwrap();
    let forged = anchor::Anchor {
        run_id: run_id.clone(),
        workflow: "kuryr-migrate".into(),
        cluster_id: anchor["cluster_id"].as_str().unwrap().into(),
        seal_seq,
        head: mine.to_string(),
    };
    let refused = rig.block_on(anchor::record(&kc, &forged)).unwrap_err();
    assert!(
        matches!(refused, anchor::AnchorError::Conflict { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains(&head), "{refused}");

    // No anchor for the run: refused too.
    rig.block_on(steps::kube::merge_patch(
        &kc,
        &ObjectRef::namespaced(Kind::ConfigMap, "kube-system", "ovn-migrate-anchors"),
        &json!({"metadata": {"annotations": {key.clone(): null}}}),
    ))
    .unwrap();
    let o = verify(&dir);
    assert_eq!(o.status.code(), Some(9), "{}", describe(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["anchor"]["result"], "missing", "{v:#}");
}
