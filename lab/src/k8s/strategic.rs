//! Strategic merge patch (`application/strategic-merge-patch+json`) for the
//! built-in kinds, as `kubectl apply`, `kubectl patch` and client-go send it.
//!
//! Maps merge as in a JSON merge patch (`null` deletes). Lists merge by the
//! merge keys kube's Go types declare (`patchMergeKey`), looked up here by the
//! field's path ([`list_strategy`]): containers and volumes by `name`, a
//! container's `ports` by `containerPort`, a Service's `ports` by `port`,
//! `env` by `name`, `volumeMounts` by `mountPath`, conditions by `type`,
//! `ownerReferences` by `uid`, … `finalizers` merge as a set. Other lists are
//! replaced. The directives are honoured: `$patch: replace|delete` in a map or
//! a list element, `$retainKeys`, `$setElementOrder/<field>` and
//! `$deleteFromPrimitiveList/<field>`.

use serde_json::{Map, Value};

use super::patch::PatchError;

/// How a list field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// Replaced by the patch's list.
    Replace,
    /// Elements (maps) merged by this key.
    ByKey(&'static str),
    /// Primitive elements merged as a set (patch values appended when new).
    Set,
}

/// Returns how the list at `path` (field names from the object's root, list
/// elements skipped) merges.
pub fn list_strategy(path: &[&str]) -> ListStrategy {
    let Some((&field, parents)) = path.split_last() else {
        return ListStrategy::Replace;
    };
    let parent = parents.last().copied().unwrap_or("");
    let in_container = matches!(
        parent,
        "containers" | "initContainers" | "ephemeralContainers"
    );
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => ListStrategy::ByKey("name"),
        "env" if in_container => ListStrategy::ByKey("name"),
        "volumeMounts" if in_container => ListStrategy::ByKey("mountPath"),
        "volumeDevices" if in_container => ListStrategy::ByKey("devicePath"),
        "ports" if in_container => ListStrategy::ByKey("containerPort"),
        // ServiceSpec.ports (a Service's spec is the root's `spec`).
        "ports" if parents == ["spec"] => ListStrategy::ByKey("port"),
        "conditions" if parent == "status" => ListStrategy::ByKey("type"),
        "addresses" if parents == ["status"] => ListStrategy::ByKey("type"),
        "hostAliases" => ListStrategy::ByKey("ip"),
        "topologySpreadConstraints" => ListStrategy::ByKey("topologyKey"),
        "ownerReferences" if parents == ["metadata"] || parent == "metadata" => {
            ListStrategy::ByKey("uid")
        }
        "finalizers" if parent == "metadata" => ListStrategy::Set,
        "podCIDRs" if parents == ["spec"] => ListStrategy::Set,
        _ => ListStrategy::Replace,
    }
}

fn malformed(m: impl Into<String>) -> PatchError {
    PatchError::Malformed(m.into())
}

/// Applies a strategic merge patch to `target`; on error `target` is unchanged.
pub fn apply(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let mut doc = target.clone();
    let Value::Object(p) = patch else {
        return Err(malformed("a strategic merge patch must be a JSON object"));
    };
    merge_map(&mut doc, p, &mut Vec::new())?;
    *target = doc;
    Ok(())
}

fn merge_map(
    target: &mut Value,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut p = patch.clone();
            p.remove("$patch");
            *target = Value::Object(p);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) => return Err(malformed(format!("unknown patch type {other:?}"))),
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let retain = patch.get("$retainKeys").map(|r| {
        r.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| malformed("$retainKeys must be a list of field names"))
    });
    let mut orders = Vec::new();
    for (key, value) in patch {
        if key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$setElementOrder/") {
            orders.push((field.to_string(), value));
            continue;
        }
        let obj = target.as_object_mut().expect("object");
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let drop: Vec<&Value> = value.as_array().into_iter().flatten().collect();
            if let Some(Value::Array(list)) = obj.get_mut(field) {
                list.retain(|v| !drop.contains(&v));
            }
            continue;
        }
        if value.is_null() {
            obj.remove(key);
            continue;
        }
        if value.get("$patch").and_then(Value::as_str) == Some("delete") && value.is_object() {
            obj.remove(key);
            continue;
        }
        path.push(key.clone());
        let slot = obj.entry(key.clone()).or_insert(Value::Null);
        match value {
            Value::Object(m) => merge_map(slot, m, path)?,
            Value::Array(items) => {
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                merge_list(slot, items, list_strategy(&names), path)?;
            }
            v => *slot = v.clone(),
        }
        path.pop();
    }
    let obj = target.as_object_mut().expect("object");
    for (field, order) in orders {
        if let (Some(Value::Array(list)), Some(order)) = (obj.get_mut(&field), order.as_array()) {
            reorder(list, order);
        }
    }
    if let Some(retain) = retain {
        let retain = retain?;
        obj.retain(|k, _| retain.contains(k));
    }
    Ok(())
}

/// Puts the elements named by `order` first, in that order; the rest keep
/// their relative order after them.
fn reorder(list: &mut Vec<Value>, order: &[Value]) {
    let matches = |item: &Value, o: &Value| match o {
        Value::Object(keys) => keys.iter().all(|(k, v)| item.get(k) == Some(v)),
        prim => item == prim,
    };
    let mut rest = std::mem::take(list);
    for o in order {
        if let Some(i) = rest.iter().position(|item| matches(item, o)) {
            list.push(rest.remove(i));
        }
    }
    list.extend(rest);
}

fn merge_list(
    slot: &mut Value,
    items: &[Value],
    strategy: ListStrategy,
    path: &mut Vec<String>,
) -> Result<(), PatchError> {
    let replace_all = items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    if strategy == ListStrategy::Replace || replace_all || !slot.is_array() {
        let kept: Vec<Value> = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .cloned()
            .collect();
        *slot = Value::Array(kept);
        return Ok(());
    }
    let list = slot.as_array_mut().expect("array");
    match strategy {
        ListStrategy::Set => {
            for v in items {
                if !list.contains(v) {
                    list.push(v.clone());
                }
            }
        }
        ListStrategy::ByKey(key) => {
            for item in items {
                let Some(id) = item.get(key) else {
                    return Err(malformed(format!(
                        "map: {item} does not contain declared merge key: {key}"
                    )));
                };
                let at = list.iter().position(|o| o.get(key) == Some(id));
                match (item.get("$patch").and_then(Value::as_str), at) {
                    (Some("delete"), Some(i)) => {
                        list.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (Some(other), _) => {
                        return Err(malformed(format!("unknown patch type {other:?}")));
                    }
                    (None, Some(i)) => {
                        let m = item.as_object().expect("has a key, so a map");
                        merge_map(&mut list[i], m, path)?;
                    }
                    (None, None) => {
                        let mut fresh = Value::Object(Map::new());
                        merge_map(&mut fresh, item.as_object().expect("map"), path)?;
                        list.push(fresh);
                    }
                }
            }
        }
        ListStrategy::Replace => unreachable!("handled above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"metadata": {"name": "d", "finalizers": ["a"], "labels": {"x": "1"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "side", "image": "busybox"}],
              "tolerations": [{"key": "k1"}]}}}})
    }

    #[test]
    fn lists_merge_by_their_keys_and_others_are_replaced() {
        let mut d = deployment();
        apply(&mut d, &json!({"metadata": {"finalizers": ["b", "a"], "labels": {"x": null}},
            "spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "3"}],
                                "ports": [{"containerPort": 443}]}],
                "tolerations": [{"key": "k2"}]}}}}))
        .unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c.as_array().unwrap().len(), 2, "side kept: {c}");
        assert_eq!(c[0]["image"], "nginx:2");
        assert_eq!(
            c[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(
            c[0]["ports"],
            json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}])
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "k2"}])
        );
        assert_eq!(d["metadata"]["finalizers"], json!(["a", "b"]));
        assert!(d["metadata"]["labels"].get("x").is_none());
    }

    #[test]
    fn directives_delete_replace_order_and_retain() {
        let mut d = deployment();
        apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
            "containers": [{"name": "web", "$patch": "delete"}, {"name": "new", "image": "i"}]}}}}),
        )
        .unwrap();
        let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["side", "new"]);

        let mut d = deployment();
        apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {
            "containers": [{"$patch": "replace"}, {"name": "only", "image": "i"}]}}}}),
        )
        .unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "i"}])
        );

        let mut d = deployment();
        apply(
            &mut d,
            &json!({"metadata": {"labels": {"$patch": "replace", "y": "2"},
            "$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .unwrap();
        assert_eq!(d["metadata"]["labels"], json!({"y": "2"}));
        assert_eq!(d["metadata"]["finalizers"], json!([]));

        let mut d = deployment();
        apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {"$retainKeys": ["containers"]}}}}),
        )
        .unwrap();
        assert!(d["spec"]["template"]["spec"].get("tolerations").is_none());
        assert!(d["spec"]["template"]["spec"]["containers"].is_array());

        let mut d = deployment();
        apply(&mut d, &json!({"spec": {"template": {"$patch": "delete"}}})).unwrap();
        assert!(d["spec"].get("template").is_none());
    }

    #[test]
    fn a_missing_merge_key_is_refused_and_nothing_changes() {
        let mut d = deployment();
        let before = d.clone();
        let e = apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("merge key: name"), "{e}");
        assert_eq!(d, before);
        assert_eq!(
            list_strategy(&["spec", "ports"]),
            ListStrategy::ByKey("port")
        );
        assert_eq!(
            list_strategy(&["status", "conditions"]),
            ListStrategy::ByKey("type")
        );
        assert_eq!(
            list_strategy(&["metadata", "ownerReferences"]),
            ListStrategy::ByKey("uid")
        );
    }
}
