//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), which
//! kubectl 1.32 sends for built-in kinds from its typed commands
//! (`kubectl create namespace`, `kubectl create configmap`; `kubectl run`,
//! `create deployment`, `create service` and `expose` in
//! `protobuf_workloads.rs`).
//!
//! A body is the `k8s\0` magic and a `runtime.Unknown` envelope whose `raw`
//! bytes are the object; both are decoded with k8s-pb's generated types (the
//! kube-rs project's bindings of Kubernetes' `.proto` files) and turned into
//! the JSON the store keeps. Each conversion *takes* the fields it maps out of
//! the decoded message; if anything is left (a field the conversion does not
//! know) the request is refused with 415 and a hint to send JSON, rather than
//! silently dropping it. Kinds without a conversion here are refused the same
//! way; a real apiserver answers 415 for protobuf custom resources too.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_pb::api::core::v1 as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::kinds::Kind;
use super::protobuf_workloads as workloads;

/// The protobuf media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

pub(super) fn unsupported(what: &str) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "the lab cannot decode {what} from protobuf; send it as JSON \
         (for example `kubectl create -f FILE`, or a client with content type application/json)"
    ))
}

fn bad(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("the body is not a valid protobuf object: {e}"))
}

/// Decodes a protobuf body for kind `k` into the object's JSON.
pub fn decode(k: &Kind, body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("it does not start with the k8s protobuf magic"))?;
    let env = Unknown::decode(rest).map_err(bad)?;
    let tm = env.type_meta.unwrap_or_default();
    let api_version = tm.api_version.unwrap_or_default();
    let kind = tm.kind.unwrap_or_default();
    if env
        .content_encoding
        .as_deref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(unsupported("an encoded (compressed) object"));
    }
    let raw = env.raw.unwrap_or_default();
    let mut obj = match (k.group, k.kind) {
        ("", "Namespace") => namespace(pb::Namespace::decode(raw.as_slice()).map_err(bad)?)?,
        ("", "ConfigMap") => config_map(pb::ConfigMap::decode(raw.as_slice()).map_err(bad)?)?,
        ("", "Pod") => workloads::pod(pb::Pod::decode(raw.as_slice()).map_err(bad)?)?,
        ("", "Service") => workloads::service(pb::Service::decode(raw.as_slice()).map_err(bad)?)?,
        ("apps", "Deployment") => workloads::deployment(
            k8s_pb::api::apps::v1::Deployment::decode(raw.as_slice()).map_err(bad)?,
        )?,
        _ => return Err(unsupported(&format!("a {}", k.kind))),
    };
    obj["apiVersion"] = json!(if api_version.is_empty() {
        k.api_version()
    } else {
        api_version
    });
    obj["kind"] = json!(if kind.is_empty() {
        k.kind.to_string()
    } else {
        kind
    });
    Ok(obj)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

fn string_map(m: BTreeMap<String, String>) -> Option<Value> {
    (!m.is_empty()).then(|| json!(m))
}

pub(super) fn leftover<M: Message + std::fmt::Debug>(what: &str, m: &M) -> Result<(), ApiError> {
    if m.encoded_len() == 0 {
        Ok(())
    } else {
        tracing::debug!(what, leftover = ?m, "protobuf fields without a conversion");
        Err(unsupported(&format!(
            "{what} with fields the lab does not know"
        )))
    }
}

/// Converts the client-settable parts of ObjectMeta; the server-set parts
/// (uid, resourceVersion, timestamps…) are dropped, as the apiserver drops
/// them on create.
pub(super) fn object_meta(mut m: meta::ObjectMeta) -> Result<Value, ApiError> {
    let mut out = Map::new();
    put(&mut out, "name", non_empty(m.name.take()).map(Value::from));
    put(
        &mut out,
        "generateName",
        non_empty(m.generate_name.take()).map(Value::from),
    );
    put(
        &mut out,
        "namespace",
        non_empty(m.namespace.take()).map(Value::from),
    );
    put(
        &mut out,
        "labels",
        string_map(std::mem::take(&mut m.labels)),
    );
    put(
        &mut out,
        "annotations",
        string_map(std::mem::take(&mut m.annotations)),
    );
    let fin = std::mem::take(&mut m.finalizers);
    put(
        &mut out,
        "finalizers",
        (!fin.is_empty()).then(|| json!(fin)),
    );
    let mut owners = Vec::new();
    for mut o in std::mem::take(&mut m.owner_references) {
        let mut r = Map::new();
        put(&mut r, "apiVersion", o.api_version.take().map(Value::from));
        put(&mut r, "kind", o.kind.take().map(Value::from));
        put(&mut r, "name", o.name.take().map(Value::from));
        put(&mut r, "uid", o.uid.take().map(Value::from));
        put(&mut r, "controller", o.controller.take().map(Value::from));
        put(
            &mut r,
            "blockOwnerDeletion",
            o.block_owner_deletion.take().map(Value::from),
        );
        leftover("an ownerReference", &o)?;
        owners.push(Value::Object(r));
    }
    put(
        &mut out,
        "ownerReferences",
        (!owners.is_empty()).then(|| json!(owners)),
    );
    // Set by the server; a client's values are ignored on create.
    m.self_link = None;
    m.uid = None;
    m.resource_version = None;
    m.generation = None;
    m.creation_timestamp = None;
    m.deletion_timestamp = None;
    m.deletion_grace_period_seconds = None;
    m.managed_fields.clear();
    leftover("metadata", &m)?;
    Ok(Value::Object(out))
}

fn namespace(mut ns: pb::Namespace) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert(
        "metadata".into(),
        object_meta(ns.metadata.take().unwrap_or_default())?,
    );
    if let Some(mut spec) = ns.spec.take() {
        let fin = std::mem::take(&mut spec.finalizers);
        if !fin.is_empty() {
            out.insert("spec".into(), json!({"finalizers": fin}));
        }
        leftover("a Namespace spec", &spec)?;
    }
    // Status is the server's on create (the phase is set to Active).
    ns.status = None;
    leftover("a Namespace", &ns)?;
    Ok(Value::Object(out))
}

fn config_map(mut cm: pb::ConfigMap) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert(
        "metadata".into(),
        object_meta(cm.metadata.take().unwrap_or_default())?,
    );
    put(&mut out, "data", string_map(std::mem::take(&mut cm.data)));
    let bin = std::mem::take(&mut cm.binary_data);
    if !bin.is_empty() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let enc: Map<String, Value> = bin
            .into_iter()
            .map(|(k, v)| (k, json!(b64.encode(v))))
            .collect();
        out.insert("binaryData".into(), Value::Object(enc));
    }
    put(&mut out, "immutable", cm.immutable.take().map(Value::from));
    leftover("a ConfigMap", &cm)?;
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::kinds::by_kind;
    use k8s_pb::apimachinery::pkg::runtime::TypeMeta;

    fn wrap(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let env = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut out = MAGIC.to_vec();
        out.extend(env.encode_to_vec());
        out
    }

    fn meta_named(name: &str) -> meta::ObjectMeta {
        meta::ObjectMeta {
            name: Some(name.into()),
            // What Go's encoder writes for zero values.
            generate_name: Some(String::new()),
            uid: Some(String::new()),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            ..Default::default()
        }
    }

    #[test]
    fn config_maps_and_namespaces_decode_as_kubectl_sends_them() {
        let cm = pb::ConfigMap {
            metadata: Some(meta::ObjectMeta {
                labels: [("a".to_string(), "b".to_string())].into(),
                ..meta_named("c")
            }),
            data: [("k".to_string(), "v".to_string())].into(),
            binary_data: [("bin".to_string(), vec![0u8, 1, 2])].into(),
            immutable: None,
        };
        let k = by_kind("v1", "ConfigMap").unwrap();
        let v = decode(k, &wrap("v1", "ConfigMap", cm.encode_to_vec())).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "labels": {"a": "b"}},
                   "data": {"k": "v"}, "binaryData": {"bin": "AAEC"}})
        );
        let ns = pb::Namespace {
            metadata: Some(meta_named("x")),
            spec: Some(pb::NamespaceSpec::default()),
            status: Some(pb::NamespaceStatus::default()),
        };
        let k = by_kind("v1", "Namespace").unwrap();
        let v = decode(k, &wrap("v1", "Namespace", ns.encode_to_vec())).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})
        );
    }

    #[test]
    fn unknown_fields_other_kinds_and_garbage_are_refused() {
        let k = by_kind("v1", "Namespace").unwrap();
        let ns = pb::Namespace {
            metadata: Some(meta_named("x")),
            spec: None,
            status: None,
        };
        // A field k8s-pb decodes but no conversion maps is refused, not dropped.
        let left = meta::Time {
            seconds: Some(1),
            nanos: None,
        };
        let e = leftover("a Time", &left).unwrap_err();
        assert_eq!(e.code(), 415, "{e}");
        assert!(e.to_string().contains("send it as JSON"), "{e}");
        assert!(leftover("a Time", &meta::Time::default()).is_ok());

        let lease = by_kind("coordination.k8s.io/v1", "Lease").unwrap();
        let e = decode(lease, &wrap("coordination.k8s.io/v1", "Lease", Vec::new()));
        assert_eq!(e.unwrap_err().code(), 415, "no conversion for Leases");
        // A Pod whose container has a probe (which `kubectl run` never sets).
        let pod = pb::Pod {
            metadata: Some(meta_named("p")),
            spec: Some(pb::PodSpec {
                containers: vec![pb::Container {
                    name: Some("c".into()),
                    liveness_probe: Some(pb::Probe {
                        period_seconds: Some(5),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        };
        let pk = by_kind("v1", "Pod").unwrap();
        let e = decode(pk, &wrap("v1", "Pod", pod.encode_to_vec())).unwrap_err();
        assert_eq!(e.code(), 415, "{e}");
        assert!(e.to_string().contains("a container"), "{e}");
        assert_eq!(decode(k, b"{\"json\": true}").unwrap_err().code(), 400);
        let mut cut = wrap("v1", "Namespace", ns.encode_to_vec());
        cut.truncate(cut.len() - 3);
        assert_eq!(decode(k, &cut).unwrap_err().code(), 400);
    }
}
