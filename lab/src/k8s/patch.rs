//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over `serde_json::Value`.
//!
//! The store applies a PATCH request by running one of these on the stored
//! object and then treating the result like a PUT. Strategic merge patch is
//! served as a merge patch (lists are replaced, not merged by key).

use serde_json::Value;

/// Why a JSON patch could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    /// The patch document is not a JSON patch.
    #[error("malformed json patch: {0}")]
    Malformed(String),
    /// An operation's `path` (or `from`) does not exist or cannot be used.
    #[error("invalid path {path:?} in operation {index}: {reason}")]
    Path {
        index: usize,
        path: String,
        reason: String,
    },
    /// A `test` operation found a different value.
    #[error("testing value {path:?} failed in operation {index}")]
    TestFailed { index: usize, path: String },
}

/// Applies an RFC 7386 merge patch to `target` in place.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let obj = target.as_object_mut().expect("object");
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(k);
        } else {
            merge_patch(obj.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies an RFC 6902 JSON patch to `target`; on error `target` is unchanged.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| PatchError::Malformed("a json patch must be an array".into()))?;
    let mut doc = target.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_op(&mut doc, index, op)?;
    }
    *target = doc;
    Ok(())
}

fn apply_op(doc: &mut Value, index: usize, op: &Value) -> Result<(), PatchError> {
    let field = |name: &str| -> Result<&str, PatchError> {
        op.get(name).and_then(Value::as_str).ok_or_else(|| {
            PatchError::Malformed(format!("operation {index} has no string {name:?}"))
        })
    };
    let kind = field("op")?;
    let path = field("path")?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| PatchError::Malformed(format!("operation {index} has no \"value\"")))
    };
    let perr = |reason: &str| PatchError::Path {
        index,
        path: path.to_string(),
        reason: reason.into(),
    };
    match kind {
        "add" => add(doc, path, value()?).map_err(|r| perr(&r)),
        "remove" => remove(doc, path).map(drop).map_err(|r| perr(&r)),
        "replace" => {
            let slot = doc.pointer_mut(path).ok_or_else(|| perr("no such path"))?;
            *slot = value()?;
            Ok(())
        }
        "move" => {
            let from = field("from")?;
            if path.starts_with(&format!("{from}/")) {
                return Err(perr("cannot move a value into itself"));
            }
            let v = remove(doc, from).map_err(|r| perr(&r))?;
            add(doc, path, v).map_err(|r| perr(&r))
        }
        "copy" => {
            let from = field("from")?;
            let v = doc
                .pointer(from)
                .cloned()
                .ok_or_else(|| perr("no such \"from\" path"))?;
            add(doc, path, v).map_err(|r| perr(&r))
        }
        "test" => {
            let expected = value()?;
            match doc.pointer(path) {
                Some(v) if *v == expected => Ok(()),
                _ => Err(PatchError::TestFailed {
                    index,
                    path: path.to_string(),
                }),
            }
        }
        other => Err(PatchError::Malformed(format!(
            "unknown operation {other:?}"
        ))),
    }
}

/// Splits a JSON pointer into its parent pointer and unescaped last token.
fn split_pointer(path: &str) -> Result<(&str, String), String> {
    if path.is_empty() {
        return Err("the whole document cannot be the target".into());
    }
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or("a pointer must start with '/'")?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let i: usize = token
        .parse()
        .map_err(|_| format!("{token:?} is not an array index"))?;
    if i > len || (!allow_end && i == len) {
        return Err(format!("index {i} is out of bounds"));
    }
    Ok(i)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, token) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(token, value);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = array_index(&token, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        Some(_) => Err("parent is neither an object nor an array".into()),
        None => Err("parent does not exist".into()),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, token) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => m.remove(&token).ok_or_else(|| "no such member".into()),
        Some(Value::Array(a)) => {
            let i = array_index(&token, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err("no such path".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(
            &mut t,
            &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": null}}),
        );
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}));
    }

    #[test]
    fn json_patch_ops() {
        let mut t = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        json_patch(
            &mut t,
            &json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": "b"},
                {"op": "remove", "path": "/metadata/finalizers/1"},
                {"op": "add", "path": "/metadata/finalizers/-", "value": "d"},
                {"op": "replace", "path": "/metadata/finalizers/0", "value": "z"},
                {"op": "copy", "from": "/metadata/finalizers", "path": "/copy"},
                {"op": "move", "from": "/copy", "path": "/moved"},
                {"op": "add", "path": "/a~1b", "value": 1}
            ]),
        )
        .unwrap();
        assert_eq!(
            t,
            json!({"metadata": {"finalizers": ["z", "c", "d"]}, "moved": ["z", "c", "d"], "a/b": 1})
        );
    }

    #[test]
    fn failed_test_leaves_document_unchanged() {
        let mut t = json!({"metadata": {"finalizers": ["a"]}});
        let before = t.clone();
        let err = json_patch(
            &mut t,
            &json!([
                {"op": "remove", "path": "/metadata/finalizers/0"},
                {"op": "test", "path": "/metadata/finalizers/0", "value": "a"}
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, PatchError::TestFailed { index: 1, .. }));
        assert_eq!(t, before);
    }

    #[test]
    fn bad_paths_are_errors() {
        let mut t = json!({"a": [1]});
        assert!(json_patch(&mut t, &json!([{"op": "remove", "path": "/a/5"}])).is_err());
        assert!(
            json_patch(
                &mut t,
                &json!([{"op": "replace", "path": "/x", "value": 1}])
            )
            .is_err()
        );
        assert!(json_patch(&mut t, &json!([{"op": "add", "path": "/x/y", "value": 1}])).is_err());
        assert!(json_patch(&mut t, &json!({"op": "add"})).is_err());
    }
}
