//! C0: before anything is deleted, journal the snapshot, the selection made
//! from it and the C4–C22 graph planned from both, as three
//! content-addressed blobs under one `SnapshotRecorded` event (the format
//! `record.rs` reads back). The snapshot is the one the plan was made from,
//! as the journal holds it (the discovery), and selection and graph are
//! made from it again and must have the plan's digests: nothing here reads
//! the live cloud. Once done, the step expands into the graph's nodes (the
//! expansion is journaled by the engine), so every later operation comes
//! from the snapshot, never from live objects.

use journal::{BlobRef, Event, OperationSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CleanupCx, CleanupOperation, session};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::graph::Graph;
use crate::kuryr::cleanup::record::{
    GRAPH_KIND, SELECTION_KIND, SNAPSHOT_KIND, SNAPSHOT_LABEL, digest_of, graph_bytes,
    selection_bytes,
};

/// C0.
pub struct Snapshot {
    pub spec: OperationSpec,
    pub snapshot_digest: String,
    pub selection_digest: String,
    /// The graph the plan made (its nodes are the expansion).
    pub graph: Graph,
}

/// One blob of a journaled C0 record: its kind and its name (digest).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Named {
    pub kind: String,
    pub name: String,
}

/// What C0 sees: the blobs it wants, and those the journal's C0 records hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct C0Observation {
    pub want: Vec<Named>,
    /// One list per journaled C0 record.
    pub journaled: Vec<Vec<Named>>,
}

/// What C0's intent records: whether a matching record was journaled already.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct C0Params {
    pub journaled: bool,
}

impl Snapshot {
    fn want(&self) -> Vec<Named> {
        let mut v = vec![
            Named {
                kind: SNAPSHOT_KIND.into(),
                name: self.snapshot_digest.clone(),
            },
            Named {
                kind: SELECTION_KIND.into(),
                name: self.selection_digest.clone(),
            },
            Named {
                kind: GRAPH_KIND.into(),
                name: self.graph.digest(),
            },
        ];
        v.sort();
        v
    }
}

fn has(o: &C0Observation) -> bool {
    o.journaled
        .iter()
        .any(|j| o.want.iter().all(|w| j.contains(w)))
}

impl Step for Snapshot {
    type Cx = CleanupCx;
    type Observation = C0Observation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn expand(&self, _outcome: &Value) -> Option<Result<Vec<Value>, String>> {
        Some(
            self.graph
                .nodes
                .iter()
                .map(|n| {
                    serde_json::to_value(CleanupOperation::Node(n.clone()))
                        .map_err(|e| format!("encode operation {}: {e}", n.id))
                })
                .collect(),
        )
    }

    async fn observe(&self, cx: &CleanupCx) -> Result<C0Observation, StepError> {
        let mut journaled = Vec::new();
        for r in cx.recorder.journal().iter(1) {
            let r = r.map_err(|e| StepError::fatal(format!("read the journal: {e}")))?;
            if let Event::SnapshotRecorded { label, blobs } = r.event
                && label == SNAPSHOT_LABEL
            {
                let mut v: Vec<Named> = blobs
                    .into_iter()
                    .map(|b| Named {
                        kind: b.kind,
                        name: b.name,
                    })
                    .collect();
                v.sort();
                journaled.push(v);
            }
        }
        Ok(C0Observation {
            want: self.want(),
            journaled,
        })
    }
}

impl Effect for Snapshot {
    type Params = C0Params;

    fn params(&self, o: &C0Observation) -> C0Params {
        C0Params { journaled: has(o) }
    }

    /// Done when a C0 record with the plan's three digests is journaled;
    /// ambiguous when only another one is (a journal this plan did not write).
    fn classify(&self, o: &C0Observation, _intent: Option<&C0Params>) -> Verdict {
        if has(o) {
            Verdict::Done("the snapshot, selection and graph are journaled".into())
        } else if o.journaled.is_empty() {
            Verdict::NotDone("no snapshot journaled yet".into())
        } else {
            Verdict::Ambiguous(format!(
                "the journal holds a cleanup snapshot other than the plan's ({:?}); make a new plan (`ovn-migrate kuryr cleanup plan`)",
                o.journaled
            ))
        }
    }

    /// Stores the three blobs, then the record naming them (durable together).
    async fn act(&self, cx: &CleanupCx, p: &C0Params) -> Result<Applied, StepError> {
        let s = &cx.discovery.snapshot;
        let selection =
            session::select_for(s, &cx.options).map_err(|e| StepError::fatal(e.to_string()))?;
        let graph = session::graph_for(s, &selection);
        let blobs = [
            (SNAPSHOT_KIND, s.to_bytes(), &self.snapshot_digest),
            (
                SELECTION_KIND,
                selection_bytes(&selection),
                &self.selection_digest,
            ),
            (GRAPH_KIND, graph_bytes(&graph), &self.graph.digest()),
        ];
        for (kind, bytes, want) in &blobs {
            let have = digest_of(bytes);
            if &have != *want {
                return Err(StepError::fatal(format!(
                    "journal the cleanup snapshot: the {kind} made from the journaled discovery has digest {have}, the plan {want}; nothing was deleted; make a new plan (`ovn-migrate kuryr cleanup plan`)"
                )));
            }
        }
        let jerr =
            |e: journal::Error| StepError::fatal(format!("journal the cleanup snapshot: {e}"));
        let mut refs = Vec::new();
        for (kind, bytes, want) in blobs {
            let hash = cx.recorder.put_blob(bytes).await.map_err(jerr)?;
            refs.push(BlobRef {
                kind: kind.into(),
                name: want.to_string(),
                hash,
            });
        }
        if !p.journaled {
            cx.recorder
                .append(Event::SnapshotRecorded {
                    label: SNAPSHOT_LABEL.into(),
                    blobs: refs.clone(),
                })
                .await
                .map_err(jerr)?;
        }
        Ok(Applied {
            http_status: None,
            observed: json!({
                "snapshot_digest": self.snapshot_digest,
                "selection_digest": self.selection_digest,
                "plan_digest": self.graph.digest(),
                "operations": self.graph.nodes.len(),
                "openstack_objects": s.openstack_objects(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: &str, name: &str) -> Named {
        Named {
            kind: kind.into(),
            name: name.into(),
        }
    }

    fn step() -> Snapshot {
        Snapshot {
            spec: super::super::test_spec("c0/snapshot"),
            snapshot_digest: "s".into(),
            selection_digest: "x".into(),
            graph: Graph::default(),
        }
    }

    #[test]
    fn done_only_when_the_plans_three_digests_are_journaled() {
        let c0 = step();
        let want = c0.want();
        let none = C0Observation {
            want: want.clone(),
            journaled: vec![],
        };
        assert!(matches!(c0.classify(&none, None), Verdict::NotDone(_)));
        assert!(!c0.params(&none).journaled);
        let all = C0Observation {
            want: want.clone(),
            journaled: vec![want.clone()],
        };
        assert!(matches!(c0.classify(&all, None), Verdict::Done(_)));
        assert!(c0.params(&all).journaled);
        let other = C0Observation {
            want: want.clone(),
            journaled: vec![vec![
                n(SNAPSHOT_KIND, "other"),
                want[1].clone(),
                want[2].clone(),
            ]],
        };
        assert!(matches!(c0.classify(&other, None), Verdict::Ambiguous(_)));
    }

    #[test]
    fn it_expands_into_every_graph_node() {
        let mut c0 = step();
        c0.graph = crate::kuryr::cleanup::graph::plan(
            &crate::kuryr::cleanup::fixture::snapshot(),
            &crate::kuryr::cleanup::select::select(
                &crate::kuryr::cleanup::fixture::snapshot(),
                &crate::kuryr::cleanup::select::SelectOptions {
                    cluster_id: "c1".into(),
                    octavia_version: (2, 26),
                    ..Default::default()
                },
            )
            .unwrap(),
            Default::default(),
        );
        let ops = c0.expand(&Value::Null).unwrap().unwrap();
        assert_eq!(ops.len(), c0.graph.nodes.len());
        for (v, node) in ops.iter().zip(&c0.graph.nodes) {
            let back: CleanupOperation = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(back, CleanupOperation::Node(node.clone()));
        }
    }
}
