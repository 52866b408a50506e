//! `fieldValidation=Ignore|Warn|Strict`, as kube-apiserver applies it to the
//! built-in kinds.
//!
//! A built-in kind's object is decoded into its k8s-openapi type and encoded
//! again; every non-null field of the request that does not survive is a field
//! the type does not declare. Strict answers 400 `strict decoding error:
//! unknown field "spec.foo"`; Warn (the default when the parameter is absent)
//! drops them and answers a `Warning` header per field; Ignore drops them
//! silently. Kinds without a compiled-in type are served like custom resources
//! whose schema preserves unknown fields, so nothing is unknown there (their
//! OpenAPI schemas in `openapi.rs` say the same).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::kinds::Kind;

/// How to treat fields the kind's schema does not declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directive {
    /// Drop them silently.
    Ignore,
    /// Drop them and warn (the server's default).
    Warn,
    /// Refuse the request (400).
    Strict,
}

impl Directive {
    /// Parses the `fieldValidation` query parameter (absent: Warn).
    pub fn parse(v: Option<&str>) -> Result<Self, ApiError> {
        match v {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// Returns the object as its compiled-in type encodes it, or `None` for kinds
/// that have none (served like custom resources).
fn typed(k: &Kind, v: &Value) -> Option<Result<Value, String>> {
    use k8s_openapi::api::{apps, coordination, core, networking};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    Some(match (k.group, k.kind) {
        ("", "Namespace") => round_trip::<core::v1::Namespace>(v),
        ("", "Pod") => round_trip::<core::v1::Pod>(v),
        ("", "Service") => round_trip::<core::v1::Service>(v),
        ("", "Node") => round_trip::<core::v1::Node>(v),
        ("", "ConfigMap") => round_trip::<core::v1::ConfigMap>(v),
        ("", "Event") => round_trip::<core::v1::Event>(v),
        ("networking.k8s.io", "NetworkPolicy") => round_trip::<networking::v1::NetworkPolicy>(v),
        ("apps", "DaemonSet") => round_trip::<apps::v1::DaemonSet>(v),
        ("apps", "StatefulSet") => round_trip::<apps::v1::StatefulSet>(v),
        ("apps", "Deployment") => round_trip::<apps::v1::Deployment>(v),
        ("coordination.k8s.io", "Lease") => round_trip::<coordination::v1::Lease>(v),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            round_trip::<apiextensions::v1::CustomResourceDefinition>(v)
        }
        _ => return None,
    })
}

/// Collects the paths (`spec.containers[0].foo`) of fields in `input` that
/// `typed` lacks, with their JSON pointers.
fn unknown(path: &str, ptr: &str, input: &Value, typed: &Value, out: &mut Vec<(String, String)>) {
    match (input, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let q = format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    None => out.push((p, q)),
                    Some(bv) => unknown(&p, &q, v, bv, out),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                unknown(&format!("{path}[{i}]"), &format!("{ptr}/{i}"), x, y, out);
            }
        }
        _ => {}
    }
}

fn remove(doc: &mut Value, ptr: &str) {
    let Some((parent, last)) = ptr.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(m)) = doc.pointer_mut(parent) {
        m.remove(&last);
    }
}

/// Applies the directive to an object about to be written: returns the
/// warnings to send (Warn), or refuses it (Strict), and drops the unknown
/// fields from `obj` otherwise.
pub fn check(k: &Kind, obj: &mut Value, d: Directive) -> Result<Vec<String>, ApiError> {
    let Some(result) = typed(k, obj) else {
        return Ok(Vec::new());
    };
    let encoded = match result {
        Ok(v) => v,
        Err(e) if d == Directive::Strict => {
            return Err(ApiError::BadRequest(format!("strict decoding error: {e}")));
        }
        // Not decodable as its type: left to the store's own checks, as before.
        Err(_) => return Ok(Vec::new()),
    };
    let mut found = Vec::new();
    unknown("", "", obj, &encoded, &mut found);
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let messages: Vec<String> = found
        .iter()
        .map(|(p, _)| format!("unknown field {p:?}"))
        .collect();
    if d == Directive::Strict {
        return Err(ApiError::BadRequest(format!(
            "strict decoding error: {}",
            messages.join(", ")
        )));
    }
    for (_, ptr) in &found {
        remove(obj, ptr);
    }
    Ok(if d == Directive::Warn {
        messages
    } else {
        Vec::new()
    })
}

/// Returns the `Warning` header value for one message (RFC 7234 form, as
/// kube-apiserver sends it).
pub fn warning_header(message: &str) -> String {
    let escaped: String = message
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("299 - \"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::kinds::by_kind;
    use serde_json::json;

    fn cm() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}},
               "data": {"k": "v"}, "bogus": 1, "nothing": null})
    }

    #[test]
    fn strict_refuses_warn_drops_and_warns_ignore_drops() {
        let k = by_kind("v1", "ConfigMap").unwrap();
        let err = check(k, &mut cm(), Directive::Strict).unwrap_err();
        assert_eq!(err.code(), 400);
        assert_eq!(
            err.to_string(),
            "strict decoding error: unknown field \"bogus\""
        );

        let mut obj = cm();
        let w = check(k, &mut obj, Directive::Warn).unwrap();
        assert_eq!(w, ["unknown field \"bogus\""]);
        assert!(obj.get("bogus").is_none());
        assert_eq!(obj["data"]["k"], "v");

        let mut obj = cm();
        assert!(check(k, &mut obj, Directive::Ignore).unwrap().is_empty());
        assert!(obj.get("bogus").is_none());
    }

    #[test]
    fn nested_unknown_fields_are_named_by_path() {
        let k = by_kind("v1", "Pod").unwrap();
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "i", "imagePullPolicy": "Always", "colour": "red"}]}});
        let err = check(k, &mut pod, Directive::Strict).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown field \"spec.containers[0].colour\""),
            "{err}"
        );
        let w = check(k, &mut pod, Directive::Warn).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert!(pod["spec"]["containers"][0].get("colour").is_none());
    }

    #[test]
    fn the_generated_scenario_has_no_unknown_fields() {
        // Otherwise the tool's writes (Warn by default) would prune them.
        let scenario = crate::scenario::kuryr_cluster(&crate::LabConfig::default().scenario());
        for obj in &scenario.k8s {
            let av = obj["apiVersion"].as_str().unwrap();
            let k = by_kind(av, obj["kind"].as_str().unwrap()).unwrap();
            let mut copy = obj.clone();
            let w = check(k, &mut copy, Directive::Warn).unwrap();
            assert!(
                w.is_empty(),
                "{} {}: {w:?}",
                k.kind,
                obj["metadata"]["name"]
            );
        }
    }

    #[test]
    fn custom_kinds_keep_everything_and_bad_directives_are_refused() {
        let k = by_kind("openstack.org/v1", "KuryrNetwork").unwrap();
        let mut obj = json!({"metadata": {"name": "n"}, "spec": {"anything": 1}});
        assert!(check(k, &mut obj, Directive::Strict).unwrap().is_empty());
        assert_eq!(obj["spec"]["anything"], 1);
        assert_eq!(Directive::parse(None).unwrap(), Directive::Warn);
        assert_eq!(Directive::parse(Some("Strict")).unwrap(), Directive::Strict);
        assert_eq!(Directive::parse(Some("strict")).unwrap_err().code(), 400);
        assert_eq!(
            warning_header("unknown field \"x\""),
            r#"299 - "unknown field \"x\"""#
        );
    }
}
