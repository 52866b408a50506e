//! OpenTelemetry logs in OTLP/JSON: one `ExportLogsServiceRequest` per line
//! (the collector's `otlpjsonfile` format), holding one log record.
//!
//! Field names follow opentelemetry-proto's JSON mapping (lowerCamelCase):
//! `resourceLogs` → `resource` + `scopeLogs` → `scope` + `logRecords`; a
//! record has `timeUnixNano` and `observedTimeUnixNano` as decimal strings
//! (64-bit integers are strings in the JSON mapping), `severityNumber` as an
//! integer with its `severityText`, `eventName`, a string `body`, typed
//! `attributes` (`intValue` as a decimal string), and `traceId` (32 hex
//! digits: the run) and `spanId` (16 hex digits: the operation, on operation
//! events only), hex rather than base64 as the OTLP spec requires.

use serde_json::{Value, json};

use super::{Input, Stream, summary};
use crate::event::{Event, PauseReason, RunOutcome, WaitOutcome};

/// The attribute holding the stored record (base64).
pub const ATTR_RECORD: &str = "ovn_migrate.journal.record";

/// OTLP severity numbers (`SeverityNumber`).
const DEBUG: u8 = 5;
const INFO: u8 = 9;
const WARN: u8 = 13;
const ERROR: u8 = 17;

/// Returns the run's trace id: 16 bytes of a hash of the run id, hex.
pub fn trace_id(run_id: &str) -> String {
    let h = blake3::hash(&[b"ovn-migrate/trace/".as_slice(), run_id.as_bytes()].concat());
    hex::encode(&h.as_bytes()[..16])
}

/// Returns an operation's span id: 8 bytes of a hash of the run and op, hex.
pub fn span_id(run_id: &str, op: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ovn-migrate/span/");
    h.update(&(run_id.len() as u64).to_be_bytes());
    h.update(run_id.as_bytes());
    h.update(op.as_bytes());
    hex::encode(&h.finalize().as_bytes()[..8])
}

fn s(key: &str, v: impl Into<String>) -> Value {
    json!({"key": key, "value": {"stringValue": v.into()}})
}

fn i(key: &str, v: impl std::fmt::Display) -> Value {
    json!({"key": key, "value": {"intValue": v.to_string()}})
}

fn b(key: &str, v: bool) -> Value {
    json!({"key": key, "value": {"boolValue": v}})
}

fn severity(event: &Event) -> u8 {
    match event {
        Event::OperationFailed {
            retryable: true, ..
        } => WARN,
        Event::OperationFailed { .. } => ERROR,
        Event::RunPaused { reason } => match reason {
            PauseReason::Interrupted | PauseReason::Stopped { .. } => INFO,
            PauseReason::NeedsOperator { .. } | PauseReason::CheckFailed { .. } => WARN,
            PauseReason::Failed { .. } => ERROR,
        },
        Event::WaitFinished {
            outcome: WaitOutcome::TimedOut | WaitOutcome::Failed,
            ..
        } => WARN,
        Event::RunSealed {
            outcome: RunOutcome::Abandoned { .. },
            ..
        } => WARN,
        Event::LockRecovered { .. } => WARN,
        Event::ConditionObserved { .. } | Event::ObservationRecorded { .. } => DEBUG,
        _ => INFO,
    }
}

fn severity_text(n: u8) -> &'static str {
    match n {
        DEBUG => "DEBUG",
        WARN => "WARN",
        ERROR => "ERROR",
        _ => "INFO",
    }
}

/// Returns the OTLP/JSON request holding the log record of `rec`.
pub fn line(stream: &Stream, rec: &Input<'_>) -> Value {
    let nanos = (rec.at_ms as i128 * 1_000_000).max(0).to_string();
    let sev = severity(rec.event);
    let mut attrs = vec![
        i("ovn_migrate.journal.seq", rec.seq),
        s("ovn_migrate.journal.chain_hash", rec.hash.to_string()),
        i("ovn_migrate.journal.format_version", rec.version),
        s("ovn_migrate.event", rec.event.name()),
        s(
            "enduser.id",
            format!("{}@{}", stream.actor.user, stream.actor.host),
        ),
    ];
    if let Some(op) = rec.event.op() {
        attrs.push(s("ovn_migrate.op", op.0.clone()));
        if let Some(m) = stream.op(op) {
            attrs.push(s("ovn_migrate.step", m.step.clone()));
            attrs.push(s("ovn_migrate.action", m.action.clone()));
            attrs.push(s("ovn_migrate.target", m.target.clone()));
        }
    }
    match rec.event {
        Event::OperationIntended { attempt, .. } => attrs.push(i("ovn_migrate.attempt", attempt)),
        Event::OperationSucceeded {
            attempt,
            http_status,
            duration_ms,
            ..
        }
        | Event::OperationFailed {
            attempt,
            http_status,
            duration_ms,
            ..
        } => {
            attrs.push(i("ovn_migrate.attempt", attempt));
            if let Some(code) = http_status {
                attrs.push(i("http.response.status_code", code));
            }
            attrs.push(i("ovn_migrate.duration_ms", duration_ms));
            if let Event::OperationFailed { retryable, .. } = rec.event {
                attrs.push(b("ovn_migrate.retryable", *retryable));
            }
        }
        Event::WaitStarted { wait, step } => {
            attrs.push(s("ovn_migrate.wait", wait.clone()));
            attrs.push(s("ovn_migrate.step", step.clone()));
        }
        Event::ConditionObserved { wait, .. } | Event::WaitFinished { wait, .. } => {
            attrs.push(s("ovn_migrate.wait", wait.clone()))
        }
        _ => {}
    }
    attrs.push(s(ATTR_RECORD, rec.record_base64()));
    let mut log = json!({
        "timeUnixNano": nanos,
        "observedTimeUnixNano": nanos,
        "severityNumber": sev,
        "severityText": severity_text(sev),
        "eventName": rec.event.name(),
        "body": {"stringValue": summary(stream, rec.event)},
        "attributes": attrs,
        "traceId": trace_id(&stream.run_id),
    });
    if let Some(op) = rec.event.op() {
        log["spanId"] = Value::String(span_id(&stream.run_id, &op.0));
    }
    let t = &stream.target;
    let mut resource = vec![
        s("service.name", "ovn-migrate"),
        s("service.version", stream.actor.tool_version.clone()),
        s("ovn_migrate.run_id", stream.run_id.clone()),
        s("ovn_migrate.cluster_id", t.cluster_id.clone()),
        s("ovn_migrate.api_server", t.api_server.clone()),
        s(
            "ovn_migrate.openstack_auth_url",
            t.openstack_auth_url.clone(),
        ),
        s("ovn_migrate.openstack_project", t.openstack_project.clone()),
    ];
    if let Some(w) = &stream.workflow {
        resource.push(s("ovn_migrate.workflow", w.clone()));
    }
    json!({"resourceLogs": [{
        "resource": {"attributes": resource},
        "scopeLogs": [{
            "scope": {"name": "ovn-migrate.journal", "version": rec.version.to_string()},
            "logRecords": [log],
        }],
    }]})
}

/// Returns the stored record (base64) of an OTLP line.
pub fn stored_of(line: &Value) -> Option<&str> {
    line.pointer("/resourceLogs/0/scopeLogs/0/logRecords/0/attributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(ATTR_RECORD))?
        .pointer("/value/stringValue")?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_of_the_right_length_and_stable() {
        let t = trace_id("run-1");
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(t, trace_id("run-1"));
        assert_ne!(t, trace_id("run-2"));
        let s = span_id("run-1", "M3");
        assert_eq!(s.len(), 16);
        assert_ne!(s, span_id("run-1", "M4"));
        assert_ne!(s, span_id("run-2", "M3"));
    }
}
