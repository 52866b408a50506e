//! The store's public write API: the verbs the HTTP server, the controllers
//! and scenario seeding call ([`Store::seed`], create, update, status update,
//! patch, [`Store::mutate`], delete). Each takes the store lock once and runs
//! the shared rules in `write.rs`, so every caller gets the same semantics.

use serde_json::{Value, json};

use super::crd::{crd_status, is_crd, register_crd};
use super::error::ApiError;
use super::kinds::{self, Kind};
use super::patch::{self, PatchError};
use super::store::{EventType, Store, key, kind_index, meta_str, resolve};
use super::strategic;
use super::write::{Patch, Preconditions, metadata, namespace_kind, now};

fn patch_error(k: &Kind, name: &str, e: PatchError) -> ApiError {
    match e {
        PatchError::Malformed(m) => ApiError::BadRequest(m),
        e => ApiError::Invalid {
            kind: k.kind.into(),
            name: name.into(),
            message: e.to_string(),
        },
    }
}

impl Store {
    /// Loads full objects (with apiVersion and kind) as they are, filling in
    /// uid, creationTimestamp, generation and resourceVersion; replaces objects
    /// that exist. No validation, no namespace checks, no GC: this is how
    /// scenarios are loaded. Returns how many objects were stored.
    pub fn seed(&self, objects: Vec<Value>) -> Result<usize, ApiError> {
        let mut st = self.lock();
        let n = objects.len();
        for mut obj in objects {
            let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            let k = kinds::by_kind(av, kind).ok_or_else(|| {
                ApiError::BadRequest(format!("the lab serves no kind {kind:?} in {av:?}"))
            })?;
            let name = meta_str(&obj, "name")
                .filter(|n| !n.is_empty())
                .map(String::from);
            let name = name.ok_or_else(|| {
                ApiError::BadRequest(format!("a seeded {kind} has no metadata.name"))
            })?;
            let m = metadata(&mut obj);
            if k.namespaced {
                m.entry("namespace").or_insert(json!("default"));
            } else {
                m.remove("namespace");
            }
            m.entry("uid")
                .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
            m.entry("creationTimestamp").or_insert_with(|| json!(now()));
            m.entry("generation").or_insert(json!(1));
            if std::ptr::eq(k, namespace_kind()) && obj.pointer("/status/phase").is_none() {
                obj["status"]["phase"] = json!("Active");
            }
            if is_crd(k) {
                register_crd(&obj, true).map_err(|(f, r)| {
                    ApiError::BadRequest(format!("a seeded CRD {name} is invalid: {f}: {r}"))
                })?;
                if obj.get("status").is_none() {
                    obj["status"] = crd_status(&obj);
                }
            }
            let ki = kind_index(k);
            let exists = st.objects[ki].contains_key(&key(
                k,
                meta_str(&obj, "namespace").unwrap_or(""),
                &name,
            ));
            st.insert(
                ki,
                obj,
                if exists {
                    EventType::Modified
                } else {
                    EventType::Added
                },
            );
        }
        Ok(n)
    }

    /// Creates an object (the POST verb): `ns` is ignored for cluster-scoped kinds.
    pub fn create(&self, resource: &str, ns: &str, obj: Value) -> Result<Value, ApiError> {
        self.create_kind(resolve(resource)?, ns, obj)
    }

    /// Creates an object of a kind.
    pub fn create_kind(&self, k: &'static Kind, ns: &str, obj: Value) -> Result<Value, ApiError> {
        Ok((*self.lock().create(k, ns, obj)?).clone())
    }

    /// Replaces an object (the PUT verb).
    pub fn update(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        self.update_kind(resolve(resource)?, ns, name, obj, false)
    }

    /// Replaces an object's status (PUT on `/status`).
    pub fn update_status(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        self.update_kind(resolve(resource)?, ns, name, obj, true)
    }

    /// Replaces an object or (`status_only`) its status.
    pub fn update_kind(
        &self,
        k: &'static Kind,
        ns: &str,
        name: &str,
        obj: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        Ok((*self.lock().update(k, ns, name, obj, status_only)?).clone())
    }

    /// Patches an object or (`status_only`) its status.
    pub fn patch(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        p: &Patch,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        self.patch_kind(resolve(resource)?, ns, name, p, status_only)
    }

    /// Patches an object of a kind: the patch is applied to the stored object,
    /// and the result is written like an update (so a resourceVersion in the
    /// patch is a precondition).
    pub fn patch_kind(
        &self,
        k: &'static Kind,
        ns: &str,
        name: &str,
        p: &Patch,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        self.patch_kind_checked(k, ns, name, p, status_only, &mut |_| Ok(()))
    }

    /// Patches an object, running `check` on the patched object before it is
    /// written (the server's field validation).
    pub fn patch_kind_checked(
        &self,
        k: &'static Kind,
        ns: &str,
        name: &str,
        p: &Patch,
        status_only: bool,
        check: &mut dyn FnMut(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let ki = kind_index(k);
        let mut doc = st.objects[ki]
            .get(&key(k, ns, name))
            .map(|v| (**v).clone())
            .ok_or_else(|| ApiError::NotFound {
                resource: k.resource(),
                name: name.into(),
            })?;
        match p {
            Patch::Merge(m) => patch::merge_patch(&mut doc, m),
            Patch::Strategic(m) => {
                strategic::apply(&mut doc, m).map_err(|e| patch_error(k, name, e))?
            }
            Patch::Json(j) => {
                patch::json_patch(&mut doc, j).map_err(|e| patch_error(k, name, e))?
            }
        }
        check(&mut doc)?;
        Ok((*st.update(k, ns, name, doc, status_only)?).clone())
    }

    /// Reads, changes and writes back an object atomically (for controllers).
    pub fn mutate(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        status_only: bool,
        f: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let k = resolve(resource)?;
        let mut st = self.lock();
        let mut doc = st.objects[kind_index(k)]
            .get(&key(k, ns, name))
            .map(|v| (**v).clone())
            .ok_or_else(|| ApiError::NotFound {
                resource: k.resource(),
                name: name.into(),
            })?;
        f(&mut doc);
        Ok((*st.update(k, ns, name, doc, status_only)?).clone())
    }

    /// Deletes an object (the DELETE verb).
    pub fn delete(&self, resource: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.delete_kind(resolve(resource)?, ns, name, &Preconditions::default())
    }

    /// Deletes an object of a kind, checking preconditions.
    pub fn delete_kind(
        &self,
        k: &'static Kind,
        ns: &str,
        name: &str,
        pre: &Preconditions,
    ) -> Result<Value, ApiError> {
        Ok((*self.lock().delete(kind_index(k), &key(k, ns, name), pre)?).clone())
    }
}
