//! The API server's write rules, written once for every kind, on the locked
//! store state (the public verbs that call them are in `verbs.rs`).
//!
//! * resourceVersion is one global counter; a stale `metadata.resourceVersion`
//!   on update is a 409 Conflict, an absent one is an unconditional update, and
//!   an update that changes nothing changes nothing (no new resourceVersion).
//! * Kinds with a status subresource keep their status on main-resource writes
//!   and change only their status on `/status` writes; `metadata.generation`
//!   is bumped when anything outside metadata and status changes.
//! * Delete with finalizers sets `deletionTimestamp` and keeps the object until
//!   an update leaves the finalizers empty; no new finalizer may be added then.
//! * Removal garbage-collects dependents whose owners (by uid) are all gone,
//!   and so does a create or update that leaves an object's owners all
//!   missing; a terminating namespace goes once the last object in it is gone.
//! * Create drops `status` for kinds with a status subresource (Namespaces get
//!   `phase: Active`): status is written through `/status`.

use std::collections::HashSet;
use std::sync::Arc;

use rand::Rng;
use serde_json::{Value, json};

use super::crd;
use super::error::ApiError;
use super::kinds::{self, Kind};
use super::store::{EventType, HISTORY, ObjKey, State, WatchEvent, key, kind_index, meta_str};

/// A patch body, by content type.
#[derive(Clone, Debug)]
pub enum Patch {
    /// `application/merge-patch+json`.
    Merge(Value),
    /// `application/strategic-merge-patch+json` (built-in kinds only; see `strategic.rs`).
    Strategic(Value),
    /// `application/json-patch+json`.
    Json(Value),
}

/// Preconditions of a delete (`DeleteOptions.preconditions`).
#[derive(Clone, Debug, Default)]
pub struct Preconditions {
    /// The object's uid must be this.
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    pub resource_version: Option<String>,
}

/// Returns the current time as Kubernetes writes it (RFC 3339, seconds, `Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn namespace_kind() -> &'static Kind {
    kinds::by_resource("namespaces").expect("namespaces in the table")
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid")?.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn metadata(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// Returns the object without metadata, status, apiVersion and kind: what
/// `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        for f in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(f);
        }
    }
    v
}

fn validate_name(k: &Kind, name: &str) -> Result<(), ApiError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() <= 253
        && name.chars().all(ok_char)
        && alnum(name.chars().next())
        && alnum(name.chars().last())
    {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: k.kind.to_string(),
        name: name.to_string(),
        message: format!(
            "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case \
             alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ),
    })
}

fn random_suffix() -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

impl State {
    fn publish(&mut self, kind: EventType, ki: usize, object: Arc<Value>) {
        let ev = WatchEvent {
            kind,
            resource: kinds::at(ki),
            object,
            rv: self.rv,
        };
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(ev.clone());
        let _ = self.events.send(ev);
        self.changed.send_replace(self.rv);
    }

    fn index(&mut self, ki: usize, key: &ObjKey, obj: &Value) {
        if let Some(uid) = meta_str(obj, "uid") {
            self.uids
                .insert(uid.to_string(), (ki, key.0.clone(), key.1.clone()));
        }
        for owner in owner_uids(obj) {
            self.dependents
                .entry(owner)
                .or_default()
                .insert((ki, key.0.clone(), key.1.clone()));
        }
    }

    fn unindex(&mut self, ki: usize, key: &ObjKey, obj: &Value) {
        if let Some(uid) = meta_str(obj, "uid") {
            self.uids.remove(uid);
        }
        for owner in owner_uids(obj) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(&(ki, key.0.clone(), key.1.clone()));
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
        }
    }

    /// Stores an object under a new resourceVersion and publishes the change.
    pub(super) fn insert(&mut self, ki: usize, mut obj: Value, kind: EventType) -> Arc<Value> {
        self.rv += 1;
        metadata(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let k = kinds::at(ki);
        let key = key(
            k,
            meta_str(&obj, "namespace").unwrap_or(""),
            meta_str(&obj, "name").unwrap_or(""),
        );
        let arc = Arc::new(obj);
        match self.objects[ki].insert(key.clone(), arc.clone()) {
            Some(old) => self.unindex(ki, &key, &old),
            None if k.namespaced => *self.ns_counts.entry(key.0.clone()).or_default() += 1,
            None => {}
        }
        self.index(ki, &key, &arc);
        self.publish(kind, ki, arc.clone());
        arc
    }

    /// Removes an object for good (publishing `last` as its final state), then
    /// collects its orphaned dependents and, maybe, its terminating namespace.
    fn remove(&mut self, ki: usize, key: &ObjKey, last: Option<Value>) -> Option<Arc<Value>> {
        let old = self.objects[ki].remove(key)?;
        self.unindex(ki, key, &old);
        self.rv += 1;
        let mut last = last.unwrap_or_else(|| (*old).clone());
        metadata(&mut last).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let last = Arc::new(last);
        self.publish(EventType::Deleted, ki, last.clone());
        if let Some(uid) = meta_str(&old, "uid")
            && let Some(deps) = self.dependents.remove(uid)
        {
            for (dki, dns, dname) in deps {
                let dkey = (dns, dname);
                let orphaned = self.objects[dki]
                    .get(&dkey)
                    .is_some_and(|d| owner_uids(d).iter().all(|u| !self.uids.contains_key(u)));
                if orphaned {
                    let _ = self.delete(dki, &dkey, &Preconditions::default());
                }
            }
        }
        if kinds::at(ki).namespaced {
            let count = self.ns_counts.entry(key.0.clone()).or_default();
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.ns_counts.remove(&key.0);
                self.maybe_remove_namespace(&key.0);
            }
        }
        Some(last)
    }

    fn maybe_remove_namespace(&mut self, ns: &str) {
        let ki = kind_index(namespace_kind());
        let key = (String::new(), ns.to_string());
        let ready = self.objects[ki]
            .get(&key)
            .is_some_and(|n| is_deleting(n) && finalizers(n).is_empty());
        if ready && self.ns_counts.get(ns).copied().unwrap_or(0) == 0 {
            self.remove(ki, &key, None);
        }
    }

    fn not_found(ki: usize, key: &ObjKey) -> ApiError {
        ApiError::NotFound {
            resource: kinds::at(ki).resource(),
            name: key.1.clone(),
        }
    }

    /// The delete verb on one stored object.
    pub(super) fn delete(
        &mut self,
        ki: usize,
        key: &ObjKey,
        pre: &Preconditions,
    ) -> Result<Arc<Value>, ApiError> {
        let k = kinds::at(ki);
        let old = self.objects[ki]
            .get(key)
            .cloned()
            .ok_or_else(|| Self::not_found(ki, key))?;
        let conflict = |message: String| ApiError::Conflict {
            resource: k.resource(),
            name: key.1.clone(),
            message,
        };
        if let Some(uid) = &pre.uid
            && meta_str(&old, "uid") != Some(uid.as_str())
        {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}"
            )));
        }
        if let Some(rv) = &pre.resource_version
            && meta_str(&old, "resourceVersion") != Some(rv.as_str())
        {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}"
            )));
        }
        if is_deleting(&old) {
            return Ok(old);
        }
        // As kube-apiserver does, deleting a CRD deletes its custom resources.
        if crd::is_crd(k)
            && let Some(cr) = kinds::by_resource(&key.1)
        {
            let cki = kind_index(cr);
            let keys: Vec<ObjKey> = self.objects[cki].keys().cloned().collect();
            for kk in keys {
                let _ = self.delete(cki, &kk, &Preconditions::default());
            }
        }
        let is_ns = std::ptr::eq(k, namespace_kind());
        if !is_ns && finalizers(&old).is_empty() {
            return Ok(self.remove(ki, key, None).expect("present"));
        }
        let mut marked = (*old).clone();
        let m = metadata(&mut marked);
        m.insert("deletionTimestamp".into(), json!(now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        if is_ns {
            marked["status"]["phase"] = json!("Terminating");
        }
        let marked = self.insert(ki, marked, EventType::Modified);
        if is_ns {
            for (cki, ck) in kinds::all()
                .into_iter()
                .enumerate()
                .filter(|(_, k)| k.namespaced)
            {
                let keys: Vec<ObjKey> = self.objects[cki]
                    .range((key.1.clone(), String::new())..)
                    .take_while(|(kk, _)| kk.0 == key.1)
                    .map(|(kk, _)| kk.clone())
                    .collect();
                tracing::trace!(kind = ck.kind, n = keys.len(), "namespace deletion");
                for kk in keys {
                    let _ = self.delete(cki, &kk, &Preconditions::default());
                }
            }
            self.maybe_remove_namespace(&key.1);
            return Ok(self.objects[ki].get(key).cloned().unwrap_or(marked));
        }
        Ok(marked)
    }

    /// The create verb.
    pub(super) fn create(
        &mut self,
        k: &'static Kind,
        ns: &str,
        mut obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        let ki = kind_index(k);
        if !obj.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        for (field, want) in [
            ("apiVersion", k.api_version()),
            ("kind", k.kind.to_string()),
        ] {
            match obj.get(field).and_then(Value::as_str) {
                Some(got) if got != want => {
                    return Err(ApiError::BadRequest(format!(
                        "the {field} of the object ({got}) does not match the resource ({want})"
                    )));
                }
                _ => obj[field] = json!(want),
            }
        }
        let m = metadata(&mut obj);
        if k.namespaced {
            match m.get("namespace").and_then(Value::as_str) {
                Some(got) if !got.is_empty() && got != ns => {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ));
                }
                _ => m.insert("namespace".into(), json!(ns)),
            };
        } else {
            m.remove("namespace");
        }
        let mut name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            let Some(prefix) = m
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
            else {
                return Err(ApiError::Invalid {
                    kind: k.kind.into(),
                    name: String::new(),
                    message: "metadata.name: Required value: name or generateName is required"
                        .into(),
                });
            };
            let prefix = prefix.to_string();
            name = loop {
                let candidate = format!("{prefix}{}", random_suffix());
                if !self.objects[ki].contains_key(&key(k, ns, &candidate)) {
                    break candidate;
                }
            };
            m.insert("name".into(), json!(name));
        }
        validate_name(k, &name)?;
        for f in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ] {
            m.remove(f);
        }
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now()));
        m.insert("generation".into(), json!(1));
        if self.objects[ki].contains_key(&key(k, ns, &name)) {
            return Err(ApiError::AlreadyExists {
                resource: k.resource(),
                name,
            });
        }
        if k.namespaced {
            let nsk = kind_index(namespace_kind());
            match self.objects[nsk].get(&(String::new(), ns.to_string())) {
                None => {
                    return Err(ApiError::NotFound {
                        resource: "namespaces".into(),
                        name: ns.into(),
                    });
                }
                Some(n) if is_deleting(n) => {
                    return Err(ApiError::Forbidden {
                        reason: "Forbidden".into(),
                        message: format!(
                            "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            k.resource()
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        if std::ptr::eq(k, namespace_kind()) {
            obj["status"] = json!({"phase": "Active"});
        } else if k.status {
            // Status is written through the status subresource only.
            obj.as_object_mut().expect("object").remove("status");
        }
        if crd::is_crd(k) {
            crd::register_crd(&obj, !self.dry_run).map_err(|(field, reason)| {
                ApiError::Invalid {
                    kind: k.kind.into(),
                    name: name.clone(),
                    message: format!("{field}: {reason}"),
                }
            })?;
            obj["status"] = crd::crd_status(&obj);
        }
        let created = self.insert(ki, obj, EventType::Added);
        self.collect_if_orphaned(ki, &key(k, ns, &name));
        Ok(created)
    }

    /// Deletes an object whose owners (by uid) are all gone, as the garbage
    /// collector would: it may be written with owners that never existed or
    /// were deleted in the meantime.
    fn collect_if_orphaned(&mut self, ki: usize, key: &ObjKey) {
        let orphaned = self.objects[ki].get(key).is_some_and(|o| {
            let owners = owner_uids(o);
            !owners.is_empty() && owners.iter().all(|u| !self.uids.contains_key(u))
        });
        if orphaned {
            let _ = self.delete(ki, key, &Preconditions::default());
        }
    }

    /// The update verb (`status_only`: the `/status` subresource).
    pub(super) fn update(
        &mut self,
        k: &'static Kind,
        ns: &str,
        name: &str,
        new: Value,
        status_only: bool,
    ) -> Result<Arc<Value>, ApiError> {
        let ki = kind_index(k);
        let key = key(k, ns, name);
        let old = self.objects[ki]
            .get(&key)
            .cloned()
            .ok_or_else(|| Self::not_found(ki, &key))?;
        if !new.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        if let Some(body_name) = meta_str(&new, "name").filter(|n| *n != name) {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let conflict = |message: String| ApiError::Conflict {
            resource: k.resource(),
            name: name.into(),
            message,
        };
        let old_rv = meta_str(&old, "resourceVersion").unwrap_or("");
        if let Some(rv) =
            meta_str(&new, "resourceVersion").filter(|rv| !rv.is_empty() && *rv != old_rv)
        {
            tracing::debug!(resource = %k.resource(), name, rv, old_rv, "stale resourceVersion");
            return Err(conflict(
                "the object has been modified; please apply your changes to the latest version and try again".into(),
            ));
        }
        if let Some(uid) =
            meta_str(&new, "uid").filter(|u| !u.is_empty() && Some(*u) != meta_str(&old, "uid"))
        {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}"
            )));
        }
        let mut merged;
        if status_only {
            merged = (*old).clone();
            match new.get("status") {
                Some(s) => merged["status"] = s.clone(),
                None => drop(merged.as_object_mut().expect("object").remove("status")),
            }
        } else {
            merged = new;
            merged["apiVersion"] = json!(k.api_version());
            merged["kind"] = json!(k.kind);
            let old_meta = old["metadata"].as_object().cloned().unwrap_or_default();
            let m = metadata(&mut merged);
            for f in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
                "resourceVersion",
            ] {
                match old_meta.get(f) {
                    Some(v) => m.insert(f.into(), v.clone()),
                    None => m.remove(f),
                };
            }
            if k.status {
                let obj = merged.as_object_mut().expect("object");
                match old.get("status") {
                    Some(s) => obj.insert("status".into(), s.clone()),
                    None => obj.remove("status"),
                };
            }
            if is_deleting(&old) {
                let before: HashSet<String> = finalizers(&old).into_iter().collect();
                if let Some(added) = finalizers(&merged)
                    .into_iter()
                    .find(|f| !before.contains(f))
                {
                    return Err(ApiError::Invalid {
                        kind: k.kind.into(),
                        name: name.into(),
                        message: format!(
                            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [\"{added}\"]"
                        ),
                    });
                }
            }
            if spec_part(&old) != spec_part(&merged) {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                metadata(&mut merged).insert("generation".into(), json!(g + 1));
            }
        }
        if merged == *old {
            return Ok(old);
        }
        if is_deleting(&merged) && finalizers(&merged).is_empty() {
            let is_ns = std::ptr::eq(k, namespace_kind());
            if !is_ns || self.ns_counts.get(name).copied().unwrap_or(0) == 0 {
                return Ok(self.remove(ki, &key, Some(merged)).expect("present"));
            }
        }
        let written = self.insert(ki, merged, EventType::Modified);
        self.collect_if_orphaned(ki, &key);
        Ok(written)
    }
}
