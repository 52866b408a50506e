//! How a cleanup run is read back from its journal: the contract between the
//! cleanup run and whatever reads it afterwards (the restore run, `status`).
//!
//! C0 journals one `SnapshotRecorded` event labelled [`SNAPSHOT_LABEL`] with
//! three content-addressed blobs, each named by its own digest (the hex
//! blake3 of its bytes): the snapshot ([`SNAPSHOT_KIND`], the bytes of
//! [`Snapshot::to_bytes`]), the selection made from it ([`SELECTION_KIND`])
//! and the C4–C22 graph planned from both ([`GRAPH_KIND`]), the last two as
//! canonical JSON. Every C4–C22 operation's journal id is [`op_id`] of its
//! graph node. [`read_cleanup`] reads those back, verifies every digest, and
//! derives what the run deleted: the objects ([`removed_by`]) of every node
//! whose operation this run intended and whose last outcome is a success. An
//! operation found done before any intent (someone else deleted the object)
//! removed nothing of this run's, nor did one whose outcome says the object
//! was [`KEPT`] after all (a router that gained an interface). Implicit port deletions (DHCP, VIP and
//! interface ports, which go with their network, load balancer or
//! interface) are not listed: a restore recreates them with their owners.
//! Readers never write: this works on a journal opened read-only.
//!
//! This format is stable: a change is a new label, and this reader keeps
//! reading the old one.

use std::collections::{BTreeMap, BTreeSet};

use journal::{Event, Journal};

use super::graph::{Graph, Op};
use super::restore::Deleted;
use super::select::{ObjKind, Selection};
use super::snapshot::Snapshot;
use crate::kuryr::digest::canonical_json;

/// The workflow name cleanup journals are recorded under.
pub const WORKFLOW: &str = "kuryr-cleanup";
/// The label of C0's `SnapshotRecorded` event.
pub const SNAPSHOT_LABEL: &str = "kuryr-cleanup/c0";
/// The blob kind of the snapshot.
pub const SNAPSHOT_KIND: &str = "kuryr-cleanup/snapshot";
/// The blob kind of the selection.
pub const SELECTION_KIND: &str = "kuryr-cleanup/selection";
/// The blob kind of the C4–C22 graph.
pub const GRAPH_KIND: &str = "kuryr-cleanup/graph";
/// The key of a succeeded outcome whose object was kept after all (a
/// router that gained an interface since the plan): `{"kept": "<why>"}`.
pub const KEPT: &str = "kept";
/// The journal id of the C0 operation.
pub const C0_OP: &str = "c0/snapshot";

/// What a cleanup run recorded and did, read back from its journal.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanupRecord {
    pub run_id: String,
    pub cluster_id: String,
    /// The C0 snapshot, verified against its digest.
    pub snapshot: Snapshot,
    pub snapshot_digest: String,
    /// What the cleanup chose to delete and keep.
    pub selection: Selection,
    pub selection_digest: String,
    /// The C4–C22 operations.
    pub graph: Graph,
    /// The graph's digest ([`Graph::digest`]), the plan `cleanup plan` shows.
    pub plan_digest: String,
    /// What the run's succeeded operations removed.
    pub deleted: Deleted,
    /// Graph node ids whose operation is done: its last outcome a success
    /// (of this run's call, of a read-only check, or found done before any intent).
    pub done: BTreeSet<String>,
    /// Whether the run was sealed as completed.
    pub sealed: bool,
}

/// Returns the journal id of a graph node's operation: the node id, or when
/// longer than a journal op id may be, its first 150 bytes and a digest.
pub fn op_id(node_id: &str) -> String {
    if node_id.len() <= journal::MAX_OP_ID {
        return node_id.to_string();
    }
    let mut end = 150;
    while !node_id.is_char_boundary(end) {
        end -= 1;
    }
    let h = blake3::hash(node_id.as_bytes()).to_hex();
    format!("{}…{}", &node_id[..end], &h[..32])
}

/// Returns the canonical bytes of a selection (its blob) and their digest.
pub fn selection_bytes(selection: &Selection) -> Vec<u8> {
    let v = serde_json::to_value(selection).expect("a selection always serializes");
    canonical_json(&v).into_bytes()
}

/// Returns the canonical bytes of a graph (its blob); their blake3 is [`Graph::digest`].
pub fn graph_bytes(graph: &Graph) -> Vec<u8> {
    let v = serde_json::to_value(graph).expect("a graph always serializes");
    canonical_json(&v).into_bytes()
}

/// Returns the hex blake3 of bytes (a blob's name in [`SNAPSHOT_LABEL`]).
pub fn digest_of(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Returns, per graph node id, the objects its operation removes (see the module doc).
pub fn removed_by(
    s: &Snapshot,
    x: &Selection,
    g: &Graph,
) -> BTreeMap<String, Vec<(ObjKind, String)>> {
    let selected: BTreeSet<(ObjKind, &str)> =
        x.delete.iter().map(|e| (e.kind, e.id.as_str())).collect();
    let mut out = BTreeMap::new();
    for n in &g.nodes {
        let mut v: Vec<(ObjKind, String)> = Vec::new();
        let one = |k: ObjKind, id: &str| vec![(k, id.to_string())];
        match &n.op {
            Op::DeleteLoadBalancer { id } => v = one(ObjKind::LoadBalancer, id),
            Op::DeleteFloatingIp { id } => v = one(ObjKind::FloatingIp, id),
            Op::RemoveSubports { ports, .. } => {
                v = ports
                    .iter()
                    .map(|p| (ObjKind::Subport, p.clone()))
                    .collect()
            }
            Op::DeletePort { id } => v = one(ObjKind::Port, id),
            Op::RemoveRouterInterface { subnet, .. } => v = one(ObjKind::RouterInterface, subnet),
            Op::DeleteNetwork { id } => {
                v = one(ObjKind::Network, id);
                v.extend(
                    x.delete
                        .iter()
                        .filter(|e| e.kind == ObjKind::Subnet)
                        .filter(|e| s.subnet(&e.id).is_some_and(|sub| sub.network_id == *id))
                        .map(|e| (ObjKind::Subnet, e.id.clone())),
                );
            }
            Op::DeleteSubnetPool { id } => v = one(ObjKind::SubnetPool, id),
            Op::DeleteSecurityGroup { id } => v = one(ObjKind::SecurityGroup, id),
            Op::DeleteRouter { id } => v = one(ObjKind::Router, id),
            _ => {}
        }
        v.retain(|(k, id)| selected.contains(&(*k, id.as_str())));
        if !v.is_empty() {
            out.insert(n.id.clone(), v);
        }
    }
    out
}

/// Reads a cleanup run (finished or interrupted) back from its journal.
///
/// Errors say what is missing or damaged; a run interrupted before C0
/// journaled its snapshot has nothing to read (and deleted nothing).
pub fn read_cleanup(journal: &Journal) -> Result<CleanupRecord, String> {
    let dir = journal.dir().display().to_string();
    let bad = |why: String| format!("read the cleanup run in {dir}: {why}");
    let mut run_id = None;
    let mut blobs = None;
    let mut intended: BTreeSet<String> = BTreeSet::new();
    let mut last_ok: BTreeMap<String, bool> = BTreeMap::new();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut sealed = false;
    for r in journal.iter(1) {
        let r = r.map_err(|e| bad(format!("record unreadable: {e}")))?;
        match r.event {
            Event::RunStarted {
                run_id: id,
                workflow,
                ..
            } => {
                if workflow != WORKFLOW {
                    return Err(bad(format!(
                        "this journal records a {workflow} run, not a {WORKFLOW} run"
                    )));
                }
                run_id = Some(id);
            }
            Event::SnapshotRecorded { label, blobs: b }
                if label == SNAPSHOT_LABEL && blobs.is_none() =>
            {
                blobs = Some(b);
            }
            Event::OperationIntended { op, .. } => {
                intended.insert(op.0);
            }
            Event::OperationSucceeded { op, observed, .. } => {
                let value = journal
                    .load_doc(&observed)
                    .map_err(|e| bad(format!("the outcome of {op} is unreadable: {e}")))?
                    .value();
                if value.get(KEPT).is_some() {
                    kept.insert(op.0.clone());
                } else {
                    kept.remove(&op.0);
                }
                last_ok.insert(op.0, true);
            }
            Event::OperationSkipped { op, .. } => {
                last_ok.insert(op.0, true);
            }
            Event::OperationFailed { op, .. } => {
                last_ok.insert(op.0, false);
            }
            Event::RunSealed {
                outcome: journal::RunOutcome::Completed,
                ..
            } => sealed = true,
            _ => {}
        }
    }
    let run_id = run_id.ok_or_else(|| bad("it has no RunStarted record".into()))?;
    let blobs = blobs.ok_or_else(|| {
        bad(format!(
            "C0 never journaled its snapshot ({SNAPSHOT_LABEL}): the run stopped before it deleted anything; there is nothing to restore"
        ))
    })?;
    let blob = |kind: &str| -> Result<(Vec<u8>, String), String> {
        let b = blobs
            .iter()
            .find(|b| b.kind == kind)
            .ok_or_else(|| bad(format!("the C0 record has no {kind} blob")))?;
        let bytes = journal
            .get_blob(&b.hash)
            .map_err(|e| bad(format!("read the {kind} blob {}: {e}", b.hash)))?
            .ok_or_else(|| {
                bad(format!(
                    "the {kind} blob {} is missing from the blob store",
                    b.hash
                ))
            })?;
        let actual = digest_of(&bytes);
        if actual != b.name {
            return Err(bad(format!(
                "the {kind} blob's digest is {actual}, the journal recorded {}; the blob store is damaged",
                b.name
            )));
        }
        Ok((bytes, b.name.clone()))
    };
    let (bytes, snapshot_digest) = blob(SNAPSHOT_KIND)?;
    let snapshot =
        Snapshot::from_bytes(&bytes, Some(&snapshot_digest)).map_err(|e| bad(e.to_string()))?;
    let (bytes, selection_digest) = blob(SELECTION_KIND)?;
    let selection: Selection = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("the selection blob does not decode: {e}")))?;
    let (bytes, plan_digest) = blob(GRAPH_KIND)?;
    let graph: Graph = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("the graph blob does not decode: {e}")))?;
    let removes = removed_by(&snapshot, &selection, &graph);
    let mut done = BTreeSet::new();
    let mut deleted = Deleted::new();
    for n in &graph.nodes {
        let op = op_id(&n.id);
        if last_ok.get(&op) != Some(&true) {
            continue;
        }
        done.insert(n.id.clone());
        if intended.contains(&op)
            && !kept.contains(&op)
            && let Some(v) = removes.get(&n.id)
        {
            deleted.extend(v.iter().cloned());
        }
    }
    Ok(CleanupRecord {
        run_id,
        cluster_id: snapshot.cluster_id.clone(),
        snapshot,
        snapshot_digest,
        selection,
        selection_digest,
        graph,
        plan_digest,
        deleted,
        done,
        sealed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;
    use crate::kuryr::cleanup::graph::{PlanOptions, plan};
    use crate::kuryr::cleanup::select::{SelectOptions, select};
    use journal::{BlobRef, OpId, OpenOptions, RunInfo, Target};

    fn planned() -> (Snapshot, Selection, Graph) {
        let s = fixture::snapshot();
        let x = select(
            &s,
            &SelectOptions {
                cluster_id: "c1".into(),
                octavia_version: (2, 26),
                ..Default::default()
            },
        )
        .unwrap();
        let g = plan(&s, &x, PlanOptions::default());
        (s, x, g)
    }

    fn create(dir: &std::path::Path, workflow: &str) -> Journal {
        let run = RunInfo {
            run_id: "run-1".into(),
            workflow: workflow.into(),
            tool_version: "test".into(),
            target: Target {
                cluster_id: "c1".into(),
                api_server: "https://api".into(),
                openstack_auth_url: "https://keystone".into(),
                openstack_project: "p".into(),
            },
        };
        Journal::create(dir, &run, &OpenOptions::default()).unwrap()
    }

    fn c0(j: &Journal, s: &Snapshot, x: &Selection, g: &Graph) -> Vec<BlobRef> {
        let mut blobs = Vec::new();
        for (kind, bytes) in [
            (SNAPSHOT_KIND, s.to_bytes()),
            (SELECTION_KIND, selection_bytes(x)),
            (GRAPH_KIND, graph_bytes(g)),
        ] {
            let hash = j.put_blob(&bytes).unwrap();
            blobs.push(BlobRef {
                kind: kind.into(),
                name: digest_of(&bytes),
                hash,
            });
        }
        j.append(Event::SnapshotRecorded {
            label: SNAPSHOT_LABEL.into(),
            blobs: blobs.clone(),
        })
        .unwrap();
        blobs
    }

    fn intent(j: &Journal, op: &str) {
        j.append(Event::OperationIntended {
            op: OpId(op_id(op)),
            step: "C16".into(),
            action: "delete".into(),
            target: op.into(),
            idempotency_key: op.into(),
            attempt: 1,
            params: j.doc(&serde_json::json!({})).unwrap(),
        })
        .unwrap();
    }

    fn succeeded(j: &Journal, op: &str) {
        j.append(Event::OperationSucceeded {
            op: OpId(op_id(op)),
            attempt: 1,
            http_status: Some(204),
            observed: j.doc(&serde_json::json!({})).unwrap(),
            duration_ms: 1,
        })
        .unwrap();
    }

    fn node_of(g: &Graph, f: impl Fn(&Op) -> bool) -> &str {
        &g.nodes.iter().find(|n| f(&n.op)).expect("a node").id
    }

    #[test]
    fn a_hand_written_journal_reads_back_what_succeeded() {
        let (s, x, g) = planned();
        let tmp = tempfile::tempdir().unwrap();
        let j = create(&tmp.path().join("j"), WORKFLOW);
        c0(&j, &s, &x, &g);
        let net = node_of(&g, |o| matches!(o, Op::DeleteNetwork { .. }));
        let lb = node_of(&g, |o| matches!(o, Op::DeleteLoadBalancer { .. }));
        let trunk = node_of(&g, |o| matches!(o, Op::RemoveSubports { .. }));
        let sg = node_of(&g, |o| matches!(o, Op::DeleteSecurityGroup { .. }));
        // Done: the network (with its subnets), the trunk's subports.
        for op in [net, trunk] {
            intent(&j, op);
            succeeded(&j, op);
        }
        // In doubt: an intent without an outcome.
        intent(&j, lb);
        // Failed after its intent.
        intent(&j, sg);
        j.append(Event::OperationFailed {
            op: OpId(op_id(sg)),
            attempt: 1,
            http_status: Some(409),
            error: j.text("SecurityGroupInUse").unwrap(),
            retryable: true,
            duration_ms: 1,
        })
        .unwrap();
        // Skipped before any intent: someone else deleted it.
        let port = node_of(&g, |o| matches!(o, Op::DeletePort { .. }));
        j.append(Event::OperationSkipped {
            op: OpId(op_id(port)),
            reason: j.text("404").unwrap(),
        })
        .unwrap();

        // Succeeded, but the object was kept after all (as a router that
        // gained an interface is: any operation's outcome may say so).
        let router = g
            .nodes
            .iter()
            .find(|n| matches!(n.op, Op::DeletePort { .. }) && n.id != port)
            .map(|n| n.id.as_str())
            .expect("a second port");
        intent(&j, router);
        j.append(Event::OperationSucceeded {
            op: OpId(op_id(router)),
            attempt: 1,
            http_status: Some(409),
            observed: j
                .doc(&serde_json::json!({KEPT: "an interface was added"}))
                .unwrap(),
            duration_ms: 1,
        })
        .unwrap();

        let r = read_cleanup(&j).unwrap();
        assert_eq!(r.run_id, "run-1");
        assert_eq!(r.cluster_id, "c1");
        let mut norm = s.clone();
        norm.normalize();
        assert_eq!(r.snapshot, norm);
        assert_eq!(r.snapshot_digest, s.digest());
        assert_eq!(r.selection, x);
        assert_eq!(r.plan_digest, g.digest());
        assert_eq!(r.graph, g);
        let done: BTreeSet<String> = [net, trunk, port, router]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            r.done, done,
            "succeeded, skipped and kept-after-all are done"
        );
        assert!(!r.sealed);
        let Op::DeleteNetwork { id: net_id } = &g.node(net).unwrap().op else {
            unreachable!()
        };
        let Op::RemoveSubports { ports, .. } = &g.node(trunk).unwrap().op else {
            unreachable!()
        };
        let mut want: Deleted = ports
            .iter()
            .map(|p| (ObjKind::Subport, p.clone()))
            .collect();
        want.insert((ObjKind::Network, net_id.clone()));
        let subnets: Vec<&str> = s
            .subnets
            .iter()
            .filter(|sub| sub.network_id == *net_id)
            .map(|sub| sub.id.as_str())
            .collect();
        assert!(!subnets.is_empty(), "the fixture's network has subnets");
        for sub in subnets {
            want.insert((ObjKind::Subnet, sub.to_string()));
        }
        assert_eq!(r.deleted, want);
    }

    #[test]
    fn every_selected_deletion_but_implicit_ports_has_one_operation() {
        let (s, x, g) = planned();
        let removes = removed_by(&s, &x, &g);
        let mut seen: Vec<(ObjKind, String)> = removes.values().flatten().cloned().collect();
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n, "an object is removed by two operations");
        let want: Vec<(ObjKind, String)> = x
            .delete
            .iter()
            .filter(|e| !(e.implicit && e.kind == ObjKind::Port))
            .map(|e| (e.kind, e.id.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn damage_and_other_journals_are_refused_with_the_reason() {
        let (s, x, g) = planned();
        let tmp = tempfile::tempdir().unwrap();
        // No C0 yet.
        let j = create(&tmp.path().join("a"), WORKFLOW);
        let e = read_cleanup(&j).unwrap_err();
        assert!(e.contains("never journaled its snapshot"), "{e}");
        // Another workflow.
        let j = create(&tmp.path().join("b"), "kuryr-migration");
        let e = read_cleanup(&j).unwrap_err();
        assert!(e.contains("not a kuryr-cleanup run"), "{e}");
        // A blob whose recorded digest is not its content's.
        let j = create(&tmp.path().join("c"), WORKFLOW);
        let mut other = s.clone();
        other.cluster_id = "c2".into();
        let bytes = other.to_bytes();
        let hash = j.put_blob(&bytes).unwrap();
        let mut blobs = vec![BlobRef {
            kind: SNAPSHOT_KIND.into(),
            name: s.digest(),
            hash,
        }];
        for (kind, bytes) in [
            (SELECTION_KIND, selection_bytes(&x)),
            (GRAPH_KIND, graph_bytes(&g)),
        ] {
            blobs.push(BlobRef {
                kind: kind.into(),
                name: digest_of(&bytes),
                hash: j.put_blob(&bytes).unwrap(),
            });
        }
        j.append(Event::SnapshotRecorded {
            label: SNAPSHOT_LABEL.into(),
            blobs,
        })
        .unwrap();
        let e = read_cleanup(&j).unwrap_err();
        assert!(e.contains("digest"), "{e}");
    }

    #[test]
    fn long_node_ids_fit_a_journal_op_id_and_stay_distinct() {
        let a = format!("finalizer/Pod/{}/{}", "n".repeat(63), "a".repeat(253));
        let b = format!("finalizer/Pod/{}/{}", "n".repeat(63), "b".repeat(253));
        assert!(op_id(&a).len() <= journal::MAX_OP_ID);
        assert_ne!(op_id(&a), op_id(&b));
        assert_eq!(op_id("c16/port/p1"), "c16/port/p1");
    }
}
