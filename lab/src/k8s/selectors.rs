//! Label and field selectors, parsed from list query strings.
//!
//! Label selectors support the full set-based syntax (`=`, `==`, `!=`, `in`,
//! `notin`, `key`, `!key`). Field selectors support `=`, `==` and `!=` on the
//! fields kube-apiserver supports for the kind ([`supported_fields`]:
//! `metadata.name` and `metadata.namespace` everywhere, plus e.g. a Pod's
//! `spec.nodeName` and `status.phase`); any other field is a 400 `field label
//! not supported`, as on a real cluster.

use serde_json::Value;

/// A parse failure, reported to the client as 400 BadRequest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unable to parse requirement {0:?}")]
pub struct SelectorError(pub String);

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector: every requirement must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<LabelReq>);

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(s: &str) -> Result<Vec<String>, SelectorError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| SelectorError(s.to_string()))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (f,g),!h`.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let bad = || SelectorError(part.to_string());
            let req = if let Some(k) = part.strip_prefix('!') {
                LabelReq::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                LabelReq::NotEq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==") {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once('=') {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                LabelReq::NotIn(k.trim().to_string(), set_values(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                LabelReq::In(k.trim().to_string(), set_values(rest)?)
            } else if part.contains(['(', ')', ' ', '<', '>']) {
                return Err(bad());
            } else {
                LabelReq::Exists(part.to_string())
            };
            let key = match &req {
                LabelReq::Eq(k, _)
                | LabelReq::NotEq(k, _)
                | LabelReq::In(k, _)
                | LabelReq::NotIn(k, _)
                | LabelReq::Exists(k)
                | LabelReq::NotExists(k) => k,
            };
            if key.is_empty() {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Returns true when the object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Returns the field paths kube-apiserver accepts in a field selector for a
/// kind, beyond `metadata.name` and `metadata.namespace`.
pub fn supported_fields(k: &super::kinds::Kind) -> &'static [&'static str] {
    match (k.group, k.plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "namespaces") => &["status.phase"],
        ("", "services") => &["spec.clusterIP", "spec.type"],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        _ => &[],
    }
}

/// A parsed field selector: every `path op value` must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `metadata.name=x,spec.nodeName!=y`.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let (path, eq, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(SelectorError(part.to_string()));
            };
            let pointer = format!("/{}", path.trim().replace('.', "/"));
            reqs.push((pointer, eq, value.trim().to_string()));
        }
        Ok(Self(reqs))
    }

    /// Parses a field selector for a kind, refusing fields the kind does not
    /// support as kube-apiserver does (`field label not supported: spec.x`).
    pub fn parse_for(k: &super::kinds::Kind, s: &str) -> Result<Self, String> {
        let sel = Self::parse(s).map_err(|e| e.to_string())?;
        for (pointer, _, _) in &sel.0 {
            let label = pointer.trim_start_matches('/').replace('/', ".");
            let ok = matches!(label.as_str(), "metadata.name" | "metadata.namespace")
                || supported_fields(k).contains(&label.as_str());
            if !ok {
                return Err(format!("field label not supported: {label}"));
            }
        }
        Ok(sel)
    }

    /// Returns true when every field requirement holds (a missing field reads as "").
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(pointer, eq, value)| {
            let actual = match obj.pointer(pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            (actual == *value) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({"metadata": {"name": "p", "namespace": "n", "labels": {"app": "web", "tier": "fe"}},
               "spec": {"nodeName": "w1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn only_supported_field_labels_are_accepted() {
        let pods = crate::k8s::kinds::by_resource("pods").unwrap();
        let kn = crate::k8s::kinds::by_resource("kuryrnetworks.openstack.org").unwrap();
        assert!(FieldSelector::parse_for(pods, "spec.nodeName=w1,metadata.name!=x").is_ok());
        assert_eq!(
            FieldSelector::parse_for(pods, "spec.containers=x").unwrap_err(),
            "field label not supported: spec.containers"
        );
        assert!(FieldSelector::parse_for(kn, "metadata.namespace=a").is_ok());
        assert!(FieldSelector::parse_for(kn, "spec.nsName=a").is_err());
    }

    #[test]
    fn label_selector_operators() {
        let o = obj();
        for (sel, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, db)", true),
            ("app notin (web,db)", false),
            ("missing notin (x)", true),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=web,tier in (fe),!missing", true),
            ("app=web,tier=be", false),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&o),
                want,
                "{sel}"
            );
        }
        assert!(LabelSelector::parse("app in web").is_err());
    }

    #[test]
    fn field_selector_paths() {
        let o = obj();
        for (sel, want) in [
            ("metadata.name=p", true),
            ("metadata.namespace==n", true),
            ("spec.nodeName!=w1", false),
            ("status.phase=Running,metadata.name=p", true),
            ("spec.missing=", true),
        ] {
            assert_eq!(
                FieldSelector::parse(sel).unwrap().matches(&o),
                want,
                "{sel}"
            );
        }
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
