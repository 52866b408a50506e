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

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

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
    super::hex(&h.as_bytes()[..16])
}

/// Returns an operation's span id: 8 bytes of a hash of the run and op, hex.
pub fn span_id(run_id: &str, op: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ovn-migrate/span/");
    h.update(&(run_id.len() as u64).to_be_bytes());
    h.update(run_id.as_bytes());
    h.update(op.as_bytes());
    super::hex(&h.finalize().as_bytes()[..8])
}

#[derive(Serialize)]
struct Request<'a> {
    #[serde(rename = "resourceLogs")]
    resource_logs: [ResourceLogs<'a>; 1],
}

#[derive(Serialize)]
struct ResourceLogs<'a> {
    resource: Resource<'a>,
    #[serde(rename = "scopeLogs")]
    scope_logs: [ScopeLogs<'a>; 1],
}

#[derive(Serialize)]
struct Resource<'a> {
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Serialize)]
struct ScopeLogs<'a> {
    scope: Scope,
    #[serde(rename = "logRecords")]
    log_records: [LogRecord<'a>; 1],
}

#[derive(Serialize)]
struct Scope {
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct LogRecord<'a> {
    #[serde(rename = "timeUnixNano")]
    time_unix_nano: String,
    #[serde(rename = "observedTimeUnixNano")]
    observed_time_unix_nano: String,
    #[serde(rename = "severityNumber")]
    severity_number: u8,
    #[serde(rename = "severityText")]
    severity_text: &'static str,
    #[serde(rename = "eventName")]
    event_name: &'static str,
    body: AnyValue<'a>,
    #[serde(rename = "traceId")]
    trace_id: &'a str,
    #[serde(rename = "spanId", skip_serializing_if = "Option::is_none")]
    span_id: Option<Cow<'a, str>>,
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'static str,
    value: AnyValue<'a>,
}

/// An OTLP `AnyValue` in the JSON mapping (64-bit integers as strings).
#[derive(Serialize)]
enum AnyValue<'a> {
    #[serde(rename = "stringValue")]
    String(Cow<'a, str>),
    #[serde(rename = "intValue")]
    Int(String),
    #[serde(rename = "boolValue")]
    Bool(bool),
}

fn s<'a>(key: &'static str, v: impl Into<Cow<'a, str>>) -> KeyValue<'a> {
    KeyValue {
        key,
        value: AnyValue::String(v.into()),
    }
}

fn i(key: &'static str, v: impl std::fmt::Display) -> KeyValue<'static> {
    KeyValue {
        key,
        value: AnyValue::Int(v.to_string()),
    }
}

fn b(key: &'static str, v: bool) -> KeyValue<'static> {
    KeyValue {
        key,
        value: AnyValue::Bool(v),
    }
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

/// Writes the OTLP/JSON request holding the log record of `rec` as one
/// JSON line (without the newline). The stored record is the last attribute.
pub fn write(stream: &Stream, rec: &Input<'_>, out: &mut Vec<u8>) {
    let nanos = (rec.at_ms as i128 * 1_000_000).max(0).to_string();
    let sev = severity(rec.event);
    let mut attrs = vec![
        i("ovn_migrate.journal.seq", rec.seq),
        s("ovn_migrate.journal.chain_hash", super::hex(&rec.hash.0)),
        i("ovn_migrate.journal.format_version", rec.version),
        s("ovn_migrate.event", rec.event.name()),
        s("enduser.id", stream.actor.who.as_str()),
    ];
    if let Some(op) = rec.event.op() {
        attrs.push(s("ovn_migrate.op", op.0.as_str()));
        if let Some(m) = stream.op(op) {
            attrs.push(s("ovn_migrate.step", m.step.as_str()));
            attrs.push(s("ovn_migrate.action", m.action.as_str()));
            attrs.push(s("ovn_migrate.target", m.target.as_str()));
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
            attrs.push(s("ovn_migrate.wait", wait.as_str()));
            attrs.push(s("ovn_migrate.step", step.as_str()));
        }
        Event::ConditionObserved { wait, .. } | Event::WaitFinished { wait, .. } => {
            attrs.push(s("ovn_migrate.wait", wait.as_str()))
        }
        _ => {}
    }
    // Filled in by `Format::write`.
    attrs.push(s(ATTR_RECORD, ""));
    let t = &stream.target;
    let mut resource = vec![
        s("service.name", "ovn-migrate"),
        s("service.version", stream.actor.tool_version.as_str()),
        s("ovn_migrate.run_id", stream.run_id.as_str()),
        s("ovn_migrate.cluster_id", t.cluster_id.as_str()),
        s("ovn_migrate.api_server", t.api_server.as_str()),
        s(
            "ovn_migrate.openstack_auth_url",
            t.openstack_auth_url.as_str(),
        ),
        s(
            "ovn_migrate.openstack_project",
            t.openstack_project.as_str(),
        ),
    ];
    if let Some(w) = &stream.workflow {
        resource.push(s("ovn_migrate.workflow", w.as_str()));
    }
    let req = Request {
        resource_logs: [ResourceLogs {
            resource: Resource {
                attributes: resource,
            },
            scope_logs: [ScopeLogs {
                scope: Scope {
                    name: "ovn-migrate.journal",
                    version: rec.version.to_string(),
                },
                log_records: [LogRecord {
                    time_unix_nano: nanos.clone(),
                    observed_time_unix_nano: nanos,
                    severity_number: sev,
                    severity_text: severity_text(sev),
                    event_name: rec.event.name(),
                    body: AnyValue::String(summary(stream, rec.event).into()),
                    trace_id: &stream.trace_id,
                    span_id: rec.event.op().map(|op| match stream.op(op) {
                        Some(m) => Cow::Borrowed(m.span_id.as_str()),
                        None => Cow::Owned(span_id(&stream.run_id, &op.0)),
                    }),
                    attributes: attrs,
                }],
            }],
        }],
    };
    serde_json::to_writer(out, &req).expect("an OTLP request serialises");
}

/// What precedes the stored record in an OTLP line.
pub const RECORD_MARKER: &str =
    "{\"key\":\"ovn_migrate.journal.record\",\"value\":{\"stringValue\":\"";

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
