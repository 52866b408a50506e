//! A stable digest of what discovery saw, for telling one cluster state from another.
//!
//! The digest is blake3 over a canonical JSON serialisation: object keys
//! sorted at every level (independent of serde_json's map order feature), no
//! whitespace, and volatile fields removed — `resourceVersion`,
//! `managedFields`, and timestamps (`creationTimestamp`,
//! `lastTransitionTime`, `lastHeartbeatTime`, any key ending in `Timestamp`
//! or `Time`). Two discoveries of an unchanged cluster give the same digest.

use serde_json::Value;

/// Keys removed wherever they appear.
const VOLATILE_KEYS: &[&str] = &["resourceVersion", "managedFields", "heartbeat"];

/// Returns true for keys that hold volatile data.
fn volatile(key: &str) -> bool {
    VOLATILE_KEYS.contains(&key) || key.ends_with("Timestamp") || key.ends_with("Time")
}

/// Returns the canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| !volatile(k)).collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Returns the hex blake3 digest of the canonical form of `value`.
pub fn digest(value: &Value) -> String {
    blake3::hash(canonical_json(value).as_bytes())
        .to_hex()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_volatile_fields_dropped() {
        let v = json!({"b": 1, "a": {"resourceVersion": "9", "name": "x", "creationTimestamp": "t",
            "managedFields": [1]}, "status": {"conditions": [{"type": "Ready", "lastTransitionTime": "t"}]}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"name":"x"},"b":1,"status":{"conditions":[{"type":"Ready"}]}}"#
        );
    }

    #[test]
    fn digest_ignores_volatile_changes_and_key_order() {
        let a = json!({"metadata": {"name": "n", "resourceVersion": "1"}, "spec": {"x": 1, "y": [1, 2]}});
        let b = json!({"spec": {"y": [1, 2], "x": 1}, "metadata": {"resourceVersion": "2", "name": "n"}});
        assert_eq!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn digest_sees_real_changes() {
        let a = json!({"spec": {"y": [1, 2]}});
        assert_ne!(digest(&a), digest(&json!({"spec": {"y": [2, 1]}})));
        assert_ne!(
            digest(&a),
            digest(&json!({"spec": {"y": [1, 2], "z": null}}))
        );
        assert_ne!(digest(&json!("a\"b")), digest(&json!("a\\b")));
    }
}
