//! The `scale` subresource (`autoscaling/v1 Scale`) of the kinds that have
//! one in kube-apiserver's table (Deployments here), which `kubectl scale`
//! reads and patches: `spec.replicas` maps to the object's `spec.replicas`,
//! `status` to its `status.replicas` and label selector.

use serde_json::{Value, json};

use super::error::ApiError;
use super::kinds::Kind;

/// Returns true for kinds served with a `scale` subresource.
pub fn scalable(k: &Kind) -> bool {
    k.group == "apps" && k.kind == "Deployment"
}

/// Returns the Scale view of an object.
pub fn view(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector: Vec<String> = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector.join(","),
        },
    })
}

/// Returns the object with the replicas (and resourceVersion precondition)
/// of a written Scale.
pub fn apply(obj: &Value, scale: &Value) -> Result<Value, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::Invalid {
            kind: "Scale".into(),
            name: obj["metadata"]["name"].as_str().unwrap_or_default().into(),
            message: "spec.replicas: Invalid value: must be a non-negative integer".into(),
        })?;
    let mut out = obj.clone();
    out["spec"]["replicas"] = json!(replicas);
    match scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        Some(rv) if !rv.is_empty() => out["metadata"]["resourceVersion"] = json!(rv),
        _ => drop(
            out["metadata"]
                .as_object_mut()
                .map(|m| m.remove("resourceVersion")),
        ),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view_and_write() {
        let d = json!({"metadata": {"name": "w", "namespace": "n", "resourceVersion": "7"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}}}, "status": {"replicas": 2}});
        let s = view(&d);
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(s["status"]["selector"], "app=w");
        let out = apply(&d, &json!({"spec": {"replicas": 5}})).unwrap();
        assert_eq!(out["spec"]["replicas"], 5);
        assert!(
            out["metadata"].get("resourceVersion").is_none(),
            "unconditional"
        );
        let out = apply(
            &d,
            &json!({"metadata": {"resourceVersion": "6"}, "spec": {"replicas": 1}}),
        )
        .unwrap();
        assert_eq!(out["metadata"]["resourceVersion"], "6", "a precondition");
        assert_eq!(
            apply(&d, &json!({"spec": {"replicas": -1}}))
                .unwrap_err()
                .code(),
            422
        );
    }
}
