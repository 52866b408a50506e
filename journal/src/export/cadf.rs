//! CADF: one DMTF Cloud Auditing Data Federation event per line, as the
//! OpenStack audit pipelines (pycadf's model) read them.
//!
//! Every line is an `activity` event with the mandatory `typeURI`, `id`,
//! `eventTime`, `action`, `outcome`, `initiator`, `target` and `observer`:
//!
//! * `id` is a UUID made of the record's chain hash, so exporting twice
//!   gives the same ids; `eventTime` is pycadf's `%Y-%m-%dT%H:%M:%S.%f%z` in UTC;
//! * `action` comes from the taxonomy (`create`, `read`, `update`, `delete`,
//!   `monitor`, `evaluate`, `start`, `stop`, `backup`, `allow`…), refined
//!   with a sub-path (`update/reboot`), which the taxonomy allows;
//! * `outcome` is `pending` for an intent (and a wait in progress),
//!   `success` or `failure` for what followed;
//! * `initiator` is the operator (`user@host`) with the tool as its host's
//!   agent, `observer` is ovn-migrate's journal, `target` the object acted on
//!   with a `typeURI` per kind ([`type_uri`]), or the run for run events;
//! * `reason` carries the HTTP status (`reasonType` `HTTP`) or the verdict;
//!   `measurements` the duration; `tags` the step, operation and event;
//! * the attachments carry the journal's seq, chain hash and stored record,
//!   so the line is verifiable offline, and a one-line summary.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::{Input, Stream, outcome_name, stable_uuid, summary};
use crate::event::{Event, OpId, PauseReason, ReobservedVerdict, RunOutcome, WaitOutcome};

/// The CADF event type URI.
pub const EVENT_TYPE_URI: &str = "http://schemas.dmtf.org/cloud/audit/1.0/event";
/// The `typeURI` of the attachment holding the stored record.
pub const RECORD_TYPE_URI: &str = "application/vnd.ovn-migrate.journal-record+base64";
/// Names of the attachments every line carries.
pub const ATTACHMENT_SEQ: &str = "journal-seq";
pub const ATTACHMENT_HASH: &str = "journal-chain-hash";
pub const ATTACHMENT_RECORD: &str = "journal-record";
pub const ATTACHMENT_SUMMARY: &str = "summary";

#[derive(Serialize)]
struct CadfEvent<'a> {
    #[serde(rename = "typeURI")]
    type_uri: &'static str,
    #[serde(rename = "eventType")]
    event_type: &'static str,
    id: String,
    #[serde(rename = "eventTime")]
    event_time: String,
    action: String,
    outcome: &'static str,
    initiator: Resource<'a>,
    target: Resource<'a>,
    observer: Resource<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    measurements: Option<[Measurement<'a>; 1]>,
    tags: Vec<String>,
    attachments: [Attachment<'a>; 4],
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(rename = "typeURI")]
    type_uri: Cow<'a, str>,
    id: Cow<'a, str>,
    name: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<Host>,
}

#[derive(Serialize)]
struct Host {
    agent: String,
}

#[derive(Serialize)]
struct Reason {
    #[serde(rename = "reasonType")]
    reason_type: String,
    #[serde(rename = "reasonCode")]
    reason_code: String,
}

#[derive(Serialize)]
struct Measurement<'a> {
    result: u64,
    metric: Metric<'a>,
}

#[derive(Serialize)]
struct Metric<'a> {
    #[serde(rename = "metricId")]
    metric_id: &'a str,
    unit: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct Attachment<'a> {
    #[serde(rename = "typeURI")]
    type_uri: &'static str,
    name: &'static str,
    content: Content<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Number(u64),
    Text(Cow<'a, str>),
}

/// Writes the CADF event of `rec` as one JSON line (without the newline).
pub fn write(stream: &Stream, rec: &Input<'_>, out: &mut Vec<u8>) {
    let d = describe(stream, rec.event);
    let actor = &stream.actor;
    let (who, who_id): (Cow<'_, str>, Cow<'_, str>) = match rec.event {
        Event::DecisionRecorded { by, .. } => (
            by.as_str().into(),
            stable_uuid(&[b"initiator", by.as_bytes()]).into(),
        ),
        _ => (actor.who.as_str().into(), actor.who_id.as_str().into()),
    };
    let initiator = Resource {
        type_uri: "service/security/account/user".into(),
        id: who_id,
        name: who,
        host: Some(Host {
            agent: format!("ovn-migrate/{}", actor.tool_version),
        }),
    };
    let observer = Resource {
        type_uri: "service/oss".into(),
        id: stream.observer_id.as_str().into(),
        name: "ovn-migrate journal".into(),
        host: None,
    };
    let meta = rec.event.op().and_then(|op| stream.op(op));
    let target = match &d.target {
        Some(t) => Resource {
            type_uri: match meta {
                Some(m) => m.type_uri.as_str().into(),
                None => type_uri(t).into(),
            },
            id: match meta {
                Some(m) => m.target_id.as_str().into(),
                None => stable_uuid(&[b"target", t.as_bytes()]).into(),
            },
            name: t.clone().into(),
            host: None,
        },
        None => Resource {
            type_uri: "data/workload/job".into(),
            id: stream.run_target_id.as_str().into(),
            name: format!(
                "run {} on cluster {}",
                stream.run_id, stream.target.cluster_id
            )
            .into(),
            host: None,
        },
    };
    let mut tags = vec![
        format!("event:{}", rec.event.name()),
        format!("seq:{}", rec.seq),
    ];
    if let Some(step) = &d.step {
        tags.push(format!("step:{step}"));
    }
    if let Some(op) = rec.event.op() {
        tags.push(format!("op:{op}"));
    }
    let ev = CadfEvent {
        type_uri: EVENT_TYPE_URI,
        event_type: "activity",
        id: super::record_uuid(&rec.hash),
        event_time: event_time(rec.at_ms),
        action: d.action,
        outcome: d.outcome,
        initiator,
        target,
        observer,
        reason: d.reason.map(|(reason_type, reason_code)| Reason {
            reason_type,
            reason_code,
        }),
        measurements: d.duration_ms.map(|ms| {
            [Measurement {
                result: ms,
                metric: Metric {
                    metric_id: &stream.metric_id,
                    unit: "ms",
                    name: "duration",
                },
            }]
        }),
        tags,
        attachments: [
            Attachment {
                type_uri: "xsd:unsignedLong",
                name: ATTACHMENT_SEQ,
                content: Content::Number(rec.seq),
            },
            Attachment {
                type_uri: "xsd:hexBinary",
                name: ATTACHMENT_HASH,
                content: Content::Text(super::hex(&rec.hash.0).into()),
            },
            Attachment {
                type_uri: "text/plain",
                name: ATTACHMENT_SUMMARY,
                content: Content::Text(summary(stream, rec.event).into()),
            },
            Attachment {
                type_uri: RECORD_TYPE_URI,
                name: ATTACHMENT_RECORD,
                // Filled in by `Format::write`.
                content: Content::Text("".into()),
            },
        ],
    };
    serde_json::to_writer(out, &ev).expect("a CADF event serialises");
}

/// What precedes the stored record in a CADF line.
pub const RECORD_MARKER: &str = "{\"typeURI\":\"application/vnd.ovn-migrate.journal-record+base64\",\"name\":\"journal-record\",\"content\":\"";

/// Returns the stored record (base64) of a CADF line.
pub fn stored_of(line: &Value) -> Option<&str> {
    line.get("attachments")?
        .as_array()?
        .iter()
        .find(|a| a.get("name").and_then(Value::as_str) == Some(ATTACHMENT_RECORD))?
        .get("content")?
        .as_str()
}

/// Returns pycadf's timestamp (`%Y-%m-%dT%H:%M:%S.%f%z`) for `ms`, in UTC.
pub fn event_time(ms: i64) -> String {
    match super::time_parts(ms) {
        Some((y, mo, d, h, mi, s, milli)) => {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}000+0000")
        }
        None => "1970-01-01T00:00:00.000000+0000".into(),
    }
}

/// What a line says about its event.
struct Described {
    action: String,
    outcome: &'static str,
    target: Option<String>,
    step: Option<String>,
    reason: Option<(String, String)>,
    duration_ms: Option<u64>,
}

fn http(status: Option<u16>) -> Option<(String, String)> {
    status.map(|s| ("HTTP".to_string(), s.to_string()))
}

fn describe(stream: &Stream, event: &Event) -> Described {
    let run = |action: &str, outcome: &'static str| Described {
        action: action.to_string(),
        outcome,
        target: None,
        step: None,
        reason: None,
        duration_ms: None,
    };
    let of_op = |op: &OpId, outcome: &'static str| {
        let meta = stream.op(op);
        Described {
            action: meta.map_or_else(|| "unknown".to_string(), |m| m.cadf_action.clone()),
            outcome,
            target: Some(meta.map_or_else(|| op.to_string(), |m| m.target.clone())),
            step: meta.map(|m| m.step.clone()),
            reason: None,
            duration_ms: None,
        }
    };
    match event {
        Event::RunStarted { .. } => run("start", "success"),
        Event::PlanRecorded { .. } => run("create/plan", "success"),
        Event::ObservationRecorded { .. } => run("read/observation", "success"),
        Event::SnapshotRecorded { .. } => run("backup/snapshot", "success"),
        Event::OperationIntended { op, .. } => of_op(op, "pending"),
        Event::OperationSucceeded {
            op,
            http_status,
            duration_ms,
            ..
        } => Described {
            reason: http(*http_status),
            duration_ms: Some(*duration_ms),
            ..of_op(op, "success")
        },
        Event::OperationFailed {
            op,
            http_status,
            retryable,
            duration_ms,
            ..
        } => Described {
            reason: http(*http_status).or_else(|| {
                let code = if *retryable { "retryable" } else { "permanent" };
                Some(("ovn-migrate:error".into(), code.into()))
            }),
            duration_ms: Some(*duration_ms),
            ..of_op(op, "failure")
        },
        Event::OperationSkipped { op, .. } => Described {
            reason: Some(("ovn-migrate:skip".into(), "already-done".into())),
            ..of_op(op, "success")
        },
        Event::OperationReobserved { op, verdict, .. } => Described {
            action: "read/reobserve".into(),
            reason: Some(("ovn-migrate:verdict".into(), verdict_name(*verdict).into())),
            ..of_op(op, "success")
        },
        Event::WaitStarted { wait, step } => Described {
            target: Some(wait.clone()),
            step: Some(step.clone()),
            ..run("monitor/wait", "pending")
        },
        Event::ConditionObserved { wait, .. } => Described {
            target: Some(wait.clone()),
            ..run("monitor/condition", "pending")
        },
        Event::WaitFinished { wait, outcome } => Described {
            target: Some(wait.clone()),
            reason: Some(("ovn-migrate:wait".into(), format!("{outcome:?}"))),
            ..run(
                "monitor/wait",
                match outcome {
                    WaitOutcome::Met => "success",
                    WaitOutcome::TimedOut | WaitOutcome::Failed => "failure",
                    WaitOutcome::Interrupted => "unknown",
                },
            )
        },
        Event::DecisionRecorded { decision, .. } => Described {
            reason: Some(("ovn-migrate:decision".into(), decision.clone())),
            ..run("allow/decision", "success")
        },
        Event::RunPaused { reason } => {
            let (kind, outcome) = match reason {
                PauseReason::Interrupted => ("interrupted", "success"),
                PauseReason::Stopped { .. } => ("stopped", "success"),
                PauseReason::NeedsOperator { .. } => ("needs-operator", "pending"),
                PauseReason::CheckFailed { .. } => ("check-failed", "failure"),
                PauseReason::Failed { .. } => ("failed", "failure"),
            };
            Described {
                reason: Some(("ovn-migrate:pause".into(), kind.into())),
                ..run("stop/pause", outcome)
            }
        }
        Event::RunResumed { .. } => run("start/resume", "success"),
        Event::EpochStarted { reset_to, .. } => Described {
            reason: Some(("ovn-migrate:reset".into(), reset_to.clone())),
            ..run("restore/reset", "success")
        },
        Event::RunSealed { outcome, .. } => Described {
            reason: Some(("ovn-migrate:outcome".into(), outcome_name(outcome))),
            ..run(
                "stop/seal",
                match outcome {
                    RunOutcome::Completed => "success",
                    RunOutcome::Abandoned { .. } => "failure",
                    RunOutcome::Unrecorded | RunOutcome::Legacy { .. } => "unknown",
                },
            )
        },
        Event::LockRecovered { .. } => Described {
            reason: Some(("ovn-migrate:lock".into(), "holder-dead".into())),
            ..run("update/lock-takeover", "success")
        },
    }
}

fn verdict_name(v: ReobservedVerdict) -> &'static str {
    match v {
        ReobservedVerdict::Done => "done",
        ReobservedVerdict::NotDone => "not-done",
        ReobservedVerdict::Ambiguous => "ambiguous",
    }
}

/// Returns the CADF action of an operation's action name, by its first word:
/// `delete-port` is `delete`, `set-migration` is `update/set-migration`,
/// `wait-multus` is `monitor/wait-multus`; an unknown verb is
/// `unknown/<action>`.
pub fn action_of(action: &str) -> String {
    let verb = action.split(['-', '_', ' ']).next().unwrap_or("");
    let base = match verb {
        "delete" | "purge" | "destroy" => "delete",
        "create" | "add" | "make" | "tag" => "create",
        "set" | "apply" | "patch" | "switch" | "update" | "remove" | "label" | "annotate"
        | "scale" => "update",
        "reboot" | "restart" => "update",
        "read" | "get" | "list" | "discover" | "observe" => "read",
        "backup" | "snapshot" => "backup",
        "restore" => "restore",
        "wait" => "monitor",
        "precheck" | "check" | "verify" | "assess" => "evaluate",
        _ => "unknown",
    };
    if base == action {
        base.to_string()
    } else {
        format!("{base}/{action}")
    }
}

/// Returns the kind part of a target string: `neutron/ports` of
/// `neutron/ports/<id>`, `nodes` of `nodes/<name>`,
/// `networks.operator.openshift.io` of `networks.operator.openshift.io/cluster`.
pub fn kind_of(target: &str) -> &str {
    let mut parts = target.splitn(3, '/');
    let first = parts.next().unwrap_or("");
    let first = first.split(' ').next().unwrap_or(first);
    if matches!(first, "neutron" | "octavia" | "nova" | "keystone")
        && let Some(second) = parts.next()
    {
        return &target[..first.len() + 1 + second.len()];
    }
    first
}

/// Returns the CADF resource `typeURI` of a target, by its kind: OpenStack
/// objects under `service/...` and `compute/machine`, nodes `compute/node`,
/// workloads `data/workload/app`, other Kubernetes objects `data/config/<kind>`.
pub fn type_uri(target: &str) -> String {
    let kind = kind_of(target);
    let (service, rest) = kind.split_once('/').unwrap_or((kind, ""));
    let rest = rest.trim_end_matches('s');
    match service {
        "neutron" | "octavia" => format!("service/network/{rest}"),
        "nova" => "compute/machine".into(),
        "keystone" => format!("service/security/{rest}"),
        _ => match kind.split('.').next().unwrap_or(kind) {
            "nodes" => "compute/node".into(),
            "pods" | "daemonsets" | "deployments" | "statefulsets" | "replicasets" => {
                "data/workload/app".into()
            }
            plural => format!("data/config/{plural}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_come_from_the_verb() {
        assert_eq!(action_of("delete-port"), "delete/delete-port");
        assert_eq!(action_of("delete"), "delete");
        assert_eq!(action_of("set-migration"), "update/set-migration");
        assert_eq!(action_of("remove-migration"), "update/remove-migration");
        assert_eq!(action_of("reboot-node"), "update/reboot-node");
        assert_eq!(action_of("wait-multus"), "monitor/wait-multus");
        assert_eq!(action_of("precheck"), "evaluate/precheck");
        assert_eq!(action_of("frobnicate"), "unknown/frobnicate");
    }

    #[test]
    fn targets_get_a_type_per_kind() {
        assert_eq!(kind_of("neutron/ports/abc"), "neutron/ports");
        assert_eq!(type_uri("neutron/ports/abc"), "service/network/port");
        assert_eq!(
            type_uri("octavia/loadbalancers/x"),
            "service/network/loadbalancer"
        );
        assert_eq!(type_uri("nova/servers/x"), "compute/machine");
        assert_eq!(type_uri("nodes/worker-0"), "compute/node");
        assert_eq!(
            type_uri("networks.operator.openshift.io/cluster"),
            "data/config/networks"
        );
        assert_eq!(
            type_uri("daemonsets.apps/multus in namespace openshift-multus"),
            "data/workload/app"
        );
        assert_eq!(
            type_uri("machineconfigpools.machineconfiguration.openshift.io"),
            "data/config/machineconfigpools"
        );
    }

    #[test]
    fn event_time_is_pycadf_shaped() {
        assert_eq!(
            event_time(1_700_000_000_123),
            "2023-11-14T22:13:20.123000+0000"
        );
    }
}
