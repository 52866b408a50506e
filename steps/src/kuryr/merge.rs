//! Is a JSON merge patch (RFC 7386) already in effect on an object? The
//! done-check of every step that sends one (M3, M4, M7, M11): it compares the
//! whole patch, so a switch that left out the asked-for cluster network is
//! not done.

use serde_json::Value;

/// Returns the paths (`/spec/networkType`) at which `live` does not yet
/// hold what `patch` sets; empty when the patch is in effect. A `null` in
/// the patch means the key must be absent; arrays and scalars compare whole,
/// as a merge patch replaces them.
pub fn unapplied(patch: &Value, live: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    walk(patch, live, String::new(), &mut out);
    out
}

fn walk(patch: &Value, live: Option<&Value>, path: String, out: &mut Vec<String>) {
    let live = live.filter(|v| !v.is_null());
    match patch {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}/{k}");
                let next = live.and_then(|l| l.get(k));
                walk(v, next, here, out);
            }
        }
        Value::Null => {
            if live.is_some() {
                out.push(path);
            }
        }
        want => {
            if live != Some(want) {
                out.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_applied_patch_has_nothing_left() {
        let live = json!({"spec": {"networkType": "OVNKubernetes", "other": 1}});
        assert!(
            unapplied(
                &json!({"spec": {"networkType": "OVNKubernetes"}}),
                Some(&live)
            )
            .is_empty()
        );
    }

    #[test]
    fn every_leaf_counts_including_arrays_whole() {
        let patch = json!({"spec": {"networkType": "OVNKubernetes",
            "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}]}});
        let live = json!({"spec": {"networkType": "OVNKubernetes",
            "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 24}]}});
        assert_eq!(unapplied(&patch, Some(&live)), ["/spec/clusterNetwork"]);
        assert_eq!(unapplied(&patch, None).len(), 2);
    }

    #[test]
    fn null_means_absent() {
        let patch = json!({"spec": {"migration": null}});
        assert!(unapplied(&patch, Some(&json!({"spec": {}}))).is_empty());
        assert!(unapplied(&patch, Some(&json!({"spec": {"migration": null}}))).is_empty());
        assert_eq!(
            unapplied(
                &patch,
                Some(&json!({"spec": {"migration": {"networkType": "x"}}}))
            ),
            ["/spec/migration"]
        );
    }
}
