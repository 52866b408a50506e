//! CustomResourceDefinitions: how one adds kinds to the table at run time, as
//! on a real apiserver.
//!
//! Creating (or seeding) a `CustomResourceDefinition` validates it (group,
//! names, scope, versions, `metadata.name` = plural.group; a 422 names the
//! field otherwise), appends a [`Kind`] per served version to the table
//! (process wide: kinds are never removed) and gives it the status the
//! apiserver gives an accepted CRD (`NamesAccepted`, `Established`). From then
//! on discovery, OpenAPI and routing serve the kind like any other. A dry run
//! only validates. [`crd_for`] writes the CRD of a table kind (an empty lab is
//! seeded with those of Kuryr and OpenShift).

use serde_json::{Value, json};

use super::kinds::{CUSTOM, KINDS, Kind, MAX_KINDS, row};
use super::write::now;

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Reads a CustomResourceDefinition (apiextensions.k8s.io/v1) and adds a
/// kind for each served version the table does not have yet. Returns the
/// field and reason of the first problem, as the apiserver's 422 names it.
/// With `commit` false it only validates (a dry run).
pub fn register_crd(crd: &Value, commit: bool) -> Result<Vec<&'static Kind>, (String, String)> {
    let spec = &crd["spec"];
    let text = |path: &str| {
        spec.pointer(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                (
                    format!("spec{}", path.replace('/', ".")),
                    "Required value".to_string(),
                )
            })
    };
    let group = text("/group")?;
    let plural = text("/names/plural")?;
    let kind = text("/names/kind")?;
    let namespaced = match text("/scope")? {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err((
                "spec.scope".into(),
                format!(
                    "Unsupported value: {other:?}: supported values: \"Cluster\", \"Namespaced\""
                ),
            ));
        }
    };
    let expected = format!("{plural}.{group}");
    if let Some(name) = crd.pointer("/metadata/name").and_then(Value::as_str)
        && name != expected
    {
        return Err((
            "metadata.name".into(),
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = spec["versions"]
        .as_array()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            (
                "spec.versions".to_string(),
                "Invalid value: null: must have exactly one version marked as storage version"
                    .to_string(),
            )
        })?;
    let shorts: Vec<&'static str> = spec
        .pointer("/names/shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(leak)
        .collect();
    let shorts: &'static [&'static str] = Box::leak(shorts.into_boxed_slice());
    let mut added = Vec::new();
    let mut table = CUSTOM.write().unwrap_or_else(|e| e.into_inner());
    for v in versions {
        let Some(version) = v["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(("spec.versions[].name".into(), "Required value".into()));
        };
        if v["served"] == Value::Bool(false) {
            continue;
        }
        let same = |k: &&Kind| k.group == group && k.version == version && k.plural == plural;
        if KINDS.iter().any(|k| same(&k)) || table.iter().any(same) {
            continue;
        }
        if !commit {
            continue;
        }
        if KINDS.len() + table.len() >= MAX_KINDS {
            return Err((
                "spec".into(),
                format!("the lab serves at most {MAX_KINDS} kinds"),
            ));
        }
        let k: &'static Kind = Box::leak(Box::new(row(
            leak(group),
            leak(version),
            leak(plural),
            leak(kind),
            namespaced,
            v.pointer("/subresources/status").is_some(),
            shorts,
        )));
        table.push(k);
        added.push(k);
    }
    Ok(added)
}

/// Returns a CustomResourceDefinition for a kind of the table, as a cluster
/// running it would have (used to seed an empty lab with the Kuryr and
/// OpenShift CRDs).
pub fn crd_for(k: &Kind) -> Value {
    let mut version = json!({"name": k.version, "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
    if k.status {
        version["subresources"] = json!({"status": {}});
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", k.plural, k.group)},
        "spec": {
            "group": k.group,
            "names": {"plural": k.plural, "singular": k.kind.to_lowercase(), "kind": k.kind,
                      "listKind": format!("{}List", k.kind), "shortNames": k.short_names},
            "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version],
        }
    })
}

/// Returns true for the CustomResourceDefinition kind.
pub fn is_crd(k: &Kind) -> bool {
    k.group == "apiextensions.k8s.io" && k.kind == "CustomResourceDefinition"
}

/// Returns the status the apiserver gives an accepted CRD.
pub fn crd_status(crd: &Value) -> Value {
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == json!(true))
        .map(|v| v["name"].clone())
        .collect();
    let t = now();
    json!({
        "acceptedNames": crd["spec"]["names"],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": t},
        ],
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::kinds::{at, by_kind, by_resource, index_of};

    #[test]
    fn a_crd_adds_a_kind_once_and_bad_ones_are_refused() {
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wg"]}, "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v0", "served": false}]}});
        let added = register_crd(&crd, true).unwrap();
        assert!(added.len() <= 1, "another test may have added it first");
        let k = by_kind("example.com/v1", "Widget").expect("registered");
        assert!(k.namespaced && k.status);
        assert_eq!(k.short_names, ["wg"]);
        assert!(by_kind("example.com/v0", "Widget").is_none(), "not served");
        assert!(register_crd(&crd, true).unwrap().is_empty(), "once");
        assert_eq!(at(index_of(k)), k);
        let mut bad = crd.clone();
        bad["spec"]["scope"] = json!("Galaxy");
        assert_eq!(register_crd(&bad, true).unwrap_err().0, "spec.scope");
        bad["metadata"]["name"] = json!("wrong");
        bad["spec"]["scope"] = json!("Cluster");
        assert_eq!(register_crd(&bad, true).unwrap_err().0, "metadata.name");
        // The table's own CRDs register nothing new.
        let kn = by_resource("kuryrnetworks.openstack.org").unwrap();
        assert!(register_crd(&crd_for(kn), true).unwrap().is_empty());
    }

    #[test]
    fn deleting_a_crd_deletes_its_custom_resources() {
        let store = crate::k8s::Store::new();
        let kp = by_resource("kuryrports.openstack.org").unwrap();
        let klb = by_resource("kuryrloadbalancers.openstack.org").unwrap();
        store
            .seed(vec![
                crd_for(kp),
                crd_for(klb),
                json!({"apiVersion": "openstack.org/v1", "kind": "KuryrPort",
                    "metadata": {"name": "p", "namespace": "ns"}}),
                json!({"apiVersion": "openstack.org/v1", "kind": "KuryrLoadBalancer",
                    "metadata": {"name": "s", "namespace": "ns"}}),
            ])
            .unwrap();
        let crds = "customresourcedefinitions.apiextensions.k8s.io";
        store.delete(crds, "", "kuryrports.openstack.org").unwrap();
        assert!(
            store
                .list_all("kuryrports.openstack.org", None)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .list_all("kuryrloadbalancers.openstack.org", None)
                .unwrap()
                .len(),
            1,
            "another CRD's resources stay"
        );
    }
}
