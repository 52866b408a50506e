//! Server-side printing: `meta.k8s.io/v1 Table` answers for clients that ask
//! for them (`kubectl get` sends `Accept: application/json;as=Table;…`).
//!
//! Every kind gets Name and Age; [`COLUMNS`] adds printer columns per
//! resource, like a CRD's `additionalPrinterColumns`, as paths into the
//! object. A path segment `[field=value]` picks the array element whose
//! `field` equals `value` (so `status/conditions/[type=Ready]/status` is the
//! Ready condition's status).

use std::sync::Arc;

use serde_json::{Value, json};

use super::kinds::Kind;

/// Extra printer columns per group-qualified resource: (header, path).
pub static COLUMNS: &[(&str, &[(&str, &str)])] = &[
    (
        "nodes",
        &[("Ready", "status/conditions/[type=Ready]/status")],
    ),
    (
        "pods",
        &[("Status", "status/phase"), ("Node", "spec/nodeName")],
    ),
    ("namespaces", &[("Status", "status/phase")]),
    (
        "daemonsets.apps",
        &[
            ("Desired", "status/desiredNumberScheduled"),
            ("Up-to-date", "status/updatedNumberScheduled"),
            ("Available", "status/numberAvailable"),
        ],
    ),
    (
        "statefulsets.apps",
        &[
            ("Replicas", "spec/replicas"),
            ("Ready", "status/readyReplicas"),
        ],
    ),
    (
        "networks.config.openshift.io",
        &[
            ("Type", "status/networkType"),
            ("Migration", "status/migration/networkType"),
        ],
    ),
    (
        "networks.operator.openshift.io",
        &[("Migration", "spec/migration/networkType")],
    ),
    (
        "clusteroperators.config.openshift.io",
        &[
            ("Available", "status/conditions/[type=Available]/status"),
            ("Progressing", "status/conditions/[type=Progressing]/status"),
            ("Degraded", "status/conditions/[type=Degraded]/status"),
        ],
    ),
    (
        "machineconfigpools.machineconfiguration.openshift.io",
        &[
            ("Config", "status/configuration/name"),
            ("Updated", "status/conditions/[type=Updated]/status"),
            ("Updating", "status/conditions/[type=Updating]/status"),
            ("Degraded", "status/conditions/[type=Degraded]/status"),
        ],
    ),
    (
        "kuryrnetworks.openstack.org",
        &[("Net", "status/netId"), ("Populated", "status/populated")],
    ),
];

/// Returns true when an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// Returns the value at a column path (see the module doc).
pub fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/').try_fold(obj, |v, seg| {
        match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(sel) => {
                let (k, want) = sel.split_once('=')?;
                v.as_array()?
                    .iter()
                    .find(|e| e.get(k).and_then(Value::as_str) == Some(want))
            }
            None => v.get(seg),
        }
    })
}

fn cell(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => json!("<none>"),
        Some(Value::String(s)) => json!(s),
        Some(other) => json!(other.to_string()),
    }
}

/// Returns an age the way kubectl prints it (`42s`, `5m`, `3h`, `2d`).
pub fn age(created: Option<&str>) -> String {
    let Some(t) = created.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Returns the Table of some objects of one kind.
pub fn table(
    kind: &Kind,
    items: &[Arc<Value>],
    resource_version: u64,
    continue_token: Option<&str>,
) -> Value {
    let resource = kind.resource();
    let extra: &[(&str, &str)] = COLUMNS
        .iter()
        .find(|(r, _)| *r == resource)
        .map_or(&[], |(_, c)| c);
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}),
    ];
    for (name, _) in extra {
        defs.push(
            json!({"name": name, "type": "string", "format": "", "description": "", "priority": 0}),
        );
    }
    defs.push(
        json!({"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}),
    );
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let meta = o.get("metadata").cloned().unwrap_or(json!({}));
            let mut cells = vec![cell(meta.get("name"))];
            cells.extend(extra.iter().map(|(_, path)| cell(lookup(o, path))));
            cells.push(json!(age(meta.get("creationTimestamp").and_then(Value::as_str))));
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
        })
        .collect();
    let mut md = json!({"resourceVersion": resource_version.to_string()});
    if let Some(c) = continue_token {
        md["continue"] = json!(c);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::kinds;

    #[test]
    fn columns_name_known_resources_and_resolve() {
        for (r, _) in COLUMNS {
            assert!(kinds::by_resource(r).is_some(), "{r}");
        }
        let node = json!({"metadata": {"name": "n"}, "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            lookup(&node, "status/conditions/[type=Ready]/status"),
            Some(&json!("True"))
        );
        let t = table(
            kinds::by_resource("nodes").unwrap(),
            &[Arc::new(node)],
            7,
            None,
        );
        assert_eq!(t["rows"][0]["cells"], json!(["n", "True", "<unknown>"]));
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
