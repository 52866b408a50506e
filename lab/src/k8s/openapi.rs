//! OpenAPI documents generated from the kind table: `/openapi/v3` (the index),
//! `/openapi/v3/api/v1` and `/openapi/v3/apis/<group>/<version>` (one document
//! per group-version) and `/openapi/v2` (JSON only).
//!
//! kubectl reads these before `create/replace/apply -f`: it validates on the
//! server when a kind's PATCH operation declares the `fieldValidation` query
//! parameter (so every path here declares it, and the server implements it in
//! `validation.rs`), and it computes `apply` patches from the same document.
//! Each kind's schema is a generic object (`x-kubernetes-preserve-unknown-fields`)
//! tagged with `x-kubernetes-group-version-kind`. The PATCH request bodies list
//! JSON patch and merge patch (no server-side apply), not strategic merge patch: with a
//! document that names strategic merge, kubectl would take its list merge keys
//! from these generic schemas (none) instead of from its compiled-in types, and
//! removing a container with `apply` would then not remove it. Without it,
//! kubectl computes strategic merge patches for the built-in kinds from its
//! own types (served by `strategic.rs`) and merge patches for the others, as it
//! does against a real cluster.
//!
//! `/openapi/v2` is asked for as protobuf by client-go (kubectl validates a
//! `kind: List` file, such as a cluster export, with it on the client side).
//! The lab answers that with [`v2_protobuf`], a valid document that defines no
//! schemas, so kubectl skips its client-side checks (as it does for any kind
//! the document lacks) and the server's `fieldValidation=Strict` does them;
//! JSON clients get the full [`v2`] document.

use serde_json::{Map, Value, json};

use super::kinds::{self, Kind};

/// Returns true for kinds compiled into kube-apiserver (the built-in groups),
/// which take protobuf and strategic merge patch; the others are served like
/// custom resources.
pub fn builtin(k: &Kind) -> bool {
    matches!(
        k.group,
        "" | "apps" | "networking.k8s.io" | "coordination.k8s.io" | "apiextensions.k8s.io"
    )
}

/// Returns the schema (definition) name of a kind, as kube-apiserver names it
/// for the built-in ones (`io.k8s.api.core.v1.Pod`) and in reverse-domain form
/// for the others (`io.openshift.config.v1.Network`).
pub fn schema_name(k: &Kind) -> String {
    let prefix = match k.group {
        "" => "io.k8s.api.core".to_string(),
        "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".into(),
        g if g.ends_with(".k8s.io") => format!("io.k8s.api.{}", g.trim_end_matches(".k8s.io")),
        "apps" => "io.k8s.api.apps".into(),
        g => g.split('.').rev().collect::<Vec<_>>().join("."),
    };
    format!("{prefix}.{}.{}", k.version, k.kind)
}

/// Returns the group-version path used in the index (`api/v1`, `apis/apps/v1`).
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn gvk(k: &Kind) -> Value {
    json!({"group": k.group, "version": k.version, "kind": k.kind})
}

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for k in kinds::all() {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

/// A short stable hash of a document, for the index's `serverRelativeURL`.
fn hash(doc: &Value) -> String {
    let text = doc.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// Returns `/openapi/v3`: the index of group-version documents.
pub fn v3_index() -> Value {
    let mut paths = Map::new();
    for (g, v) in group_versions() {
        let p = gv_path(g, v);
        let doc = v3_group_version(g, v).expect("listed group-version");
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&doc))}),
        );
    }
    json!({ "paths": paths })
}

fn object_meta_schema() -> Value {
    json!({
        "type": "object",
        "description": "ObjectMeta is metadata that all persisted resources must have.",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}},
        }
    })
}

fn kind_schema(k: &Kind, meta_ref: &str) -> Value {
    let free = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    json!({
        "type": "object",
        "description": format!("{} ({}), served by the ovn-migrate lab.", k.kind, k.api_version()),
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-group-version-kind": [gvk(k)],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": meta_ref}], "default": {}},
            "spec": free,
            "status": free,
        }
    })
}

fn query_params() -> Value {
    let p = |name: &str, desc: &str| json!({"name": name, "in": "query", "description": desc, "schema": {"type": "string", "uniqueItems": true}});
    json!([
        p(
            "dryRun",
            "When present, indicates that modifications should not be persisted (All)."
        ),
        p(
            "fieldManager",
            "A name associated with the actor or entity that is making these changes."
        ),
        p(
            "fieldValidation",
            "Ignore, Warn or Strict: how to treat fields the schema does not declare."
        ),
        p("pretty", "If 'true', then the output is pretty printed."),
    ])
}

fn operation(k: &Kind, action: &str, schema_ref: &str, body: Option<&[&str]>) -> Value {
    let mut op = json!({
        "operationId": format!("{action}{}", k.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(k),
        "parameters": query_params(),
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": {"$ref": schema_ref}}}}},
    });
    if let Some(types) = body {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": {"$ref": schema_ref}})))
            .collect();
        op["requestBody"] = json!({"content": content, "required": true});
    }
    op
}

/// What PATCH accepts here (no server-side apply; strategic merge is served
/// for built-in kinds but not listed, see the module doc).
const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
];

fn kind_paths(k: &Kind, schema_ref: &str, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(k.group, k.version));
    let coll = if k.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", k.plural)
    } else {
        format!("{base}/{}", k.plural)
    };
    let mut params = json!([]);
    let path_param = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    if k.namespaced {
        params
            .as_array_mut()
            .expect("array")
            .push(path_param("namespace"));
    }
    paths.insert(
        coll.clone(),
        json!({
            "parameters": params.clone(),
            "get": operation(k, "list", schema_ref, None),
            "post": operation(k, "post", schema_ref, Some(&["application/json", "application/yaml"])),
            "delete": operation(k, "deletecollection", schema_ref, None),
        }),
    );
    let mut item_params = params;
    item_params
        .as_array_mut()
        .expect("array")
        .push(path_param("name"));
    let item = json!({
        "parameters": item_params,
        "get": operation(k, "get", schema_ref, None),
        "put": operation(k, "put", schema_ref, Some(&["application/json", "application/yaml"])),
        "patch": operation(k, "patch", schema_ref, Some(PATCH_TYPES)),
        "delete": operation(k, "delete", schema_ref, None),
    });
    paths.insert(format!("{coll}/{{name}}"), item.clone());
    if k.status {
        let mut status = item;
        if let Some(m) = status.as_object_mut() {
            m.remove("delete");
        }
        paths.insert(format!("{coll}/{{name}}/status"), status);
    }
}

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Returns the OpenAPI v3 document of one group-version, or `None` when the
/// lab serves nothing there.
pub fn v3_group_version(group: &str, version: &str) -> Option<Value> {
    let ks: Vec<&Kind> = kinds::all()
        .into_iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if ks.is_empty() {
        return None;
    }
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert(META.into(), object_meta_schema());
    let meta_ref = format!("#/components/schemas/{META}");
    for k in ks {
        let name = schema_name(k);
        let r = format!("#/components/schemas/{name}");
        schemas.insert(name, kind_schema(k, &meta_ref));
        kind_paths(k, &r, &mut paths);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (ovn-migrate lab)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The media type of the protobuf `/openapi/v2` answer (client-go asks for
/// `…spec.v2@v1.0+protobuf`; the apiserver answers with this parseable form).
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Returns `/openapi/v2` as gnostic's `openapi_v2.Document` protobuf with
/// only `swagger: "2.0"` (field 1) and `info` (field 2: title 1, version 2).
pub fn v2_protobuf() -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push((tag << 3) | 2);
        out.push(u8::try_from(bytes.len()).expect("short field"));
        out.extend_from_slice(bytes);
    }
    let mut info = Vec::new();
    field(&mut info, 1, b"Kubernetes (ovn-migrate lab)");
    field(&mut info, 2, b"v1.32.0");
    let mut doc = Vec::new();
    field(&mut doc, 1, b"2.0");
    field(&mut doc, 2, &info);
    doc
}

/// Returns `/openapi/v2` (Swagger 2.0, JSON) for every kind in the table.
pub fn v2() -> Value {
    let mut definitions = Map::new();
    let mut paths = Map::new();
    definitions.insert(META.into(), object_meta_schema());
    for k in kinds::all() {
        let name = schema_name(k);
        let r = format!("#/definitions/{name}");
        definitions.insert(name, kind_schema(k, &format!("#/definitions/{META}")));
        let mut p = Map::new();
        kind_paths(k, &r, &mut p);
        for (path, mut item) in p {
            // Swagger 2.0: parameters carry `type`, bodies are `in: body` parameters.
            if let Some(params) = item.get_mut("parameters").and_then(Value::as_array_mut) {
                for param in params {
                    param["type"] = json!("string");
                    if let Some(m) = param.as_object_mut() {
                        m.remove("schema");
                    }
                }
            }
            for verb in ["get", "put", "post", "patch", "delete"] {
                if let Some(op) = item.get_mut(verb).and_then(Value::as_object_mut) {
                    let mut params: Vec<Value> = op
                        .get("parameters")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for param in &mut params {
                        param["type"] = json!("string");
                        if let Some(m) = param.as_object_mut() {
                            m.remove("schema");
                        }
                    }
                    if let Some(body) = op.remove("requestBody") {
                        let consumes: Vec<&String> = body["content"]
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| k)
                            .collect();
                        op.insert("consumes".into(), json!(consumes));
                        params.push(json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": r}}));
                    }
                    op.insert("parameters".into(), json!(params));
                    op.insert(
                        "responses".into(),
                        json!({"200": {"description": "OK", "schema": {"$ref": r}}}),
                    );
                }
            }
            paths.insert(path, item);
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes (ovn-migrate lab)", "version": "v1.32.0"},
        "paths": paths,
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_schema_and_a_patch_path_declaring_field_validation() {
        for k in kinds::KINDS {
            let doc = v3_group_version(k.group, k.version).expect("served");
            let schema = &doc["components"]["schemas"][schema_name(k)];
            assert_eq!(
                schema["x-kubernetes-group-version-kind"][0],
                gvk(k),
                "{}",
                k.kind
            );
            let patch_paths: Vec<&Value> = doc["paths"]
                .as_object()
                .unwrap()
                .values()
                .filter(|p| p["patch"]["x-kubernetes-group-version-kind"] == gvk(k))
                .collect();
            assert!(!patch_paths.is_empty(), "{}", k.kind);
            for p in patch_paths {
                let names: Vec<&str> = p["patch"]["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|q| q["in"] == "query")
                    .map(|q| q["name"].as_str().unwrap())
                    .collect();
                assert!(names.contains(&"fieldValidation"), "{}", k.kind);
                assert!(
                    p["patch"]["requestBody"]["content"]
                        .get("application/strategic-merge-patch+json")
                        .is_none()
                );
            }
            let index = v3_index();
            let url = index["paths"][gv_path(k.group, k.version)]["serverRelativeURL"]
                .as_str()
                .unwrap();
            assert!(url.starts_with(&format!(
                "/openapi/v3/{}?hash=",
                gv_path(k.group, k.version)
            )));
            assert!(v2()["definitions"][schema_name(k)].is_object());
        }
        assert!(v3_group_version("nope.example.com", "v1").is_none());
        let pb = v2_protobuf();
        assert_eq!(&pb[..5], b"\x0a\x032.0");
        assert_eq!(pb[5], 0x12);
        assert_eq!(usize::from(pb[6]), pb.len() - 7);
        assert_eq!(
            schema_name(kinds::by_kind("v1", "Pod").unwrap()),
            "io.k8s.api.core.v1.Pod"
        );
        assert_eq!(
            schema_name(kinds::by_kind("config.openshift.io/v1", "Network").unwrap()),
            "io.openshift.config.v1.Network"
        );
    }
}
