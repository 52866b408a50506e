//! Generic reads and writes of any kind in the resource table, as JSON.
//!
//! Every function takes a [`KubeClient`] and an [`ObjectRef`] (or a kind and
//! an optional namespace) and speaks `serde_json::Value`, so callers hand the
//! result straight to pure decision code. Semantics steps rely on: `get`
//! gives `None` on 404; `list_all` pages with `limit`/`continue` and restarts
//! when a continue token expires (410); `delete` treats 404 as already gone.

use ::kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::client::KubeClient;
use super::error::{ErrorKind, KubeError};
use super::resources::{Kind, ObjectRef};

/// Page size for `list_all`.
pub const PAGE_SIZE: u32 = 500;

/// How many times `list_all` restarts after an expired continue token.
const LIST_RESTARTS: u32 = 3;

/// Returns the API handle for one object's kind and namespace.
fn api_for(kc: &KubeClient, target: &ObjectRef) -> Result<Api<DynamicObject>, KubeError> {
    if let Some(problem) = target.scope_problem() {
        return Err(KubeError::Scope {
            target: target.to_string(),
            problem,
        });
    }
    Ok(api_in(kc, target.kind, target.namespace.as_deref()))
}

/// Returns the API handle for `kind` in `namespace`, or all namespaces when `None`.
fn api_in(kc: &KubeClient, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    match namespace {
        Some(ns) if kind.namespaced() => Api::namespaced_with(kc.client.clone(), ns, &ar),
        _ => Api::all_with(kc.client.clone(), &ar),
    }
}

/// Converts a `DynamicObject` into plain JSON.
fn to_value(verb: &'static str, target: &str, obj: DynamicObject) -> Result<Value, KubeError> {
    serde_json::to_value(obj).map_err(|source| KubeError::Json {
        verb,
        target: target.to_string(),
        source,
    })
}

/// Returns the object, or `None` when it does not exist.
pub async fn get(kc: &KubeClient, target: &ObjectRef) -> Result<Option<Value>, KubeError> {
    let api = api_for(kc, target)?;
    match api.get_opt(&target.name).await {
        Ok(Some(obj)) => to_value("get", &target.to_string(), obj).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(KubeError::from_kube("get", target.to_string(), e)),
    }
}

/// Lists every object of `kind` (in `namespace`, or everywhere), page by page.
pub async fn list_all(
    kc: &KubeClient,
    kind: Kind,
    namespace: Option<&str>,
    label_selector: Option<&str>,
) -> Result<Vec<Value>, KubeError> {
    let api = api_in(kc, kind, namespace);
    let target = match namespace {
        Some(ns) => format!("{} in namespace {ns}", kind.info().qualified_plural()),
        None => kind.info().qualified_plural(),
    };
    let mut restarts = 0;
    'restart: loop {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(PAGE_SIZE);
            if let Some(sel) = label_selector {
                lp = lp.labels(sel);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = match api.list(&lp).await {
                Ok(page) => page,
                Err(e) => {
                    let err = KubeError::from_kube("list", target.clone(), e);
                    if err.kind() == ErrorKind::Expired
                        && token.is_some()
                        && restarts < LIST_RESTARTS
                    {
                        restarts += 1;
                        continue 'restart;
                    }
                    return Err(err);
                }
            };
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            for obj in page.items {
                items.push(to_value("list", &target, obj)?);
            }
            if token.is_none() {
                return Ok(items);
            }
        }
    }
}

/// Applies a JSON merge patch and returns the patched object.
pub async fn merge_patch(
    kc: &KubeClient,
    target: &ObjectRef,
    patch: &Value,
) -> Result<Value, KubeError> {
    let api = api_for(kc, target)?;
    let obj = api
        .patch(&target.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| KubeError::from_kube("patch", target.to_string(), e))?;
    to_value("patch", &target.to_string(), obj)
}

/// Applies a JSON patch (RFC 6902, `test` ops included) given as a JSON array of operations.
pub async fn json_patch(
    kc: &KubeClient,
    target: &ObjectRef,
    ops: &Value,
) -> Result<Value, KubeError> {
    let api = api_for(kc, target)?;
    let parsed: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|source| KubeError::Json {
            verb: "patch",
            target: target.to_string(),
            source,
        })?;
    let obj = api
        .patch(
            &target.name,
            &PatchParams::default(),
            &Patch::<()>::Json(parsed),
        )
        .await
        .map_err(|e| KubeError::from_kube("patch", target.to_string(), e))?;
    to_value("patch", &target.to_string(), obj)
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The server accepted the delete (the object may linger on finalizers).
    Requested,
    /// The object was already gone (404).
    AlreadyGone,
}

/// Deletes the object in the background; 404 means it was already gone.
pub async fn delete(kc: &KubeClient, target: &ObjectRef) -> Result<Deleted, KubeError> {
    let api = api_for(kc, target)?;
    match api.delete(&target.name, &DeleteParams::background()).await {
        Ok(_) => Ok(Deleted::Requested),
        Err(e) => {
            let err = KubeError::from_kube("delete", target.to_string(), e);
            if err.is_not_found() {
                Ok(Deleted::AlreadyGone)
            } else {
                Err(err)
            }
        }
    }
}
