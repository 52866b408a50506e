//! The lab's object store: every Kubernetes object as JSON, keyed by kind and
//! namespace/name, with one global resourceVersion counter.
//!
//! The HTTP server, the simulated controllers and the scenario seeding all go
//! through [`Store`]; its methods implement the API server's semantics once for
//! every kind (the write rules live in `write.rs`). Every change is published
//! twice: as a [`WatchEvent`] on a broadcast channel (also kept in a bounded
//! history so watches can resume from a resourceVersion) and as the new
//! resourceVersion on a `tokio::sync::watch` channel, which is what the
//! controllers wait on.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::error::ApiError;
use super::kinds::{self, Kind};
use super::selectors::{FieldSelector, LabelSelector};

/// How many past events are kept for watches that resume from a resourceVersion.
pub(super) const HISTORY: usize = 50_000;

/// The type of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object changed (including: it got a deletionTimestamp).
    Modified,
    /// The object is gone.
    Deleted,
}

impl EventType {
    /// Returns the wire name (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventType,
    /// The object's kind.
    pub resource: &'static Kind,
    /// The object after the change (before it, for deletions).
    pub object: Arc<Value>,
    /// The resourceVersion of this change.
    pub rv: u64,
}

/// List parameters, as in the `list` query string.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `limit` (0 or `None`: everything).
    pub limit: Option<usize>,
    /// `continue` token from a previous page.
    pub continue_token: Option<String>,
}

/// One page of a list, sharing the stored objects.
#[derive(Clone, Debug)]
pub struct ListPage {
    /// The listed kind.
    pub kind: &'static Kind,
    /// The store's resourceVersion when the page was read.
    pub resource_version: u64,
    /// The token for the next page, when there is one.
    pub continue_token: Option<String>,
    /// The objects, in namespace/name order.
    pub items: Vec<Arc<Value>>,
}

impl ListPage {
    /// Returns the `<Kind>List` object without its `items`.
    pub fn envelope(&self) -> Value {
        let mut meta = json!({"resourceVersion": self.resource_version.to_string()});
        if let Some(c) = &self.continue_token {
            meta["continue"] = json!(c);
        }
        json!({"apiVersion": self.kind.api_version(), "kind": format!("{}List", self.kind.kind), "metadata": meta})
    }

    /// Returns the whole `<Kind>List` as JSON text, serializing the shared objects in place.
    pub fn to_json(&self) -> String {
        let env = self.envelope().to_string();
        let mut out = String::with_capacity(env.len() + self.items.len() * 1024);
        out.push_str(&env[..env.len() - 1]);
        out.push_str(",\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(&**item).expect("json values serialize"));
        }
        out.push_str("]}");
        out
    }
}

pub(super) type ObjKey = (String, String);

/// The locked state.
pub(super) struct State {
    pub(super) rv: u64,
    /// Objects per kind (index into [`kinds::all`]), ordered by (namespace, name).
    pub(super) objects: Vec<BTreeMap<ObjKey, Arc<Value>>>,
    /// uid → (kind index, namespace, name).
    pub(super) uids: HashMap<String, (usize, String, String)>,
    /// owner uid → dependents (kind index, namespace, name).
    pub(super) dependents: HashMap<String, HashSet<(usize, String, String)>>,
    /// namespace → number of namespaced objects in it.
    pub(super) ns_counts: HashMap<String, usize>,
    pub(super) history: VecDeque<WatchEvent>,
    pub(super) events: broadcast::Sender<WatchEvent>,
    pub(super) changed: watch::Sender<u64>,
    /// True for a dry run's private copy (`dryrun.rs`): nothing global changes.
    pub(super) dry_run: bool,
}

/// The shared object store (cheap to clone).
#[derive(Clone)]
pub struct Store {
    pub(super) state: Arc<Mutex<State>>,
    changes: watch::Receiver<u64>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns the index of a kind in [`kinds::all`].
pub(super) fn kind_index(k: &'static Kind) -> usize {
    kinds::index_of(k)
}

/// Resolves a group-qualified resource name to its kind, or NotFound.
pub fn resolve(resource: &str) -> Result<&'static Kind, ApiError> {
    kinds::by_resource(resource).ok_or(ApiError::NoSuchResource)
}

/// Returns the store key of a kind's object: cluster-scoped kinds ignore `ns`.
pub(super) fn key(k: &Kind, ns: &str, name: &str) -> ObjKey {
    let ns = if k.namespaced { ns } else { "" };
    (ns.to_string(), name.to_string())
}

fn encode_continue(key: &ObjKey) -> String {
    let raw = format!("{}\u{0}{}", key.0, key.1);
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Result<ObjKey, ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid continue token {token:?}"));
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ns, name) = s.split_once('\u{0}').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

impl Store {
    /// Returns an empty store.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(16_384);
        let (changed, changes) = watch::channel(0);
        let state = State {
            rv: 0,
            // Room for every kind a CRD may add (empty maps allocate nothing).
            objects: (0..kinds::MAX_KINDS).map(|_| BTreeMap::new()).collect(),
            uids: HashMap::new(),
            dependents: HashMap::new(),
            ns_counts: HashMap::new(),
            history: VecDeque::new(),
            events,
            changed,
            dry_run: false,
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            changes,
        }
    }

    /// Wraps a state (see `dryrun.rs`).
    pub(super) fn from_parts(state: Arc<Mutex<State>>, changes: watch::Receiver<u64>) -> Self {
        Self { state, changes }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns a receiver of every change, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.lock().events.subscribe()
    }

    /// Returns a receiver of the latest resourceVersion; it changes on every write.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Returns the current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Returns one object.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.get_kind(resolve(resource)?, ns, name)
    }

    /// Returns one object of a kind.
    pub fn get_kind(&self, k: &'static Kind, ns: &str, name: &str) -> Result<Value, ApiError> {
        let st = self.lock();
        st.objects[kind_index(k)]
            .get(&key(k, ns, name))
            .map(|v| (**v).clone())
            .ok_or_else(|| ApiError::NotFound {
                resource: k.resource(),
                name: name.to_string(),
            })
    }

    /// Returns every object of a resource (in `ns`, or everywhere when `None`).
    pub fn list_all(&self, resource: &str, ns: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let k = resolve(resource)?;
        let st = self.lock();
        Ok(Self::range(&st, k, ns)
            .map(|(_, v)| (**v).clone())
            .collect())
    }

    fn range<'a>(
        st: &'a State,
        k: &'static Kind,
        ns: Option<&str>,
    ) -> Box<dyn Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a> {
        let map = &st.objects[kind_index(k)];
        match ns.filter(|_| k.namespaced) {
            None => Box::new(map.iter()),
            Some(ns) => {
                let ns = ns.to_string();
                let start = (ns.clone(), String::new());
                Box::new(map.range(start..).take_while(move |(key, _)| key.0 == ns))
            }
        }
    }

    /// Returns a `<Kind>List` page, as the list verb does.
    pub fn list(
        &self,
        k: &'static Kind,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Value, ApiError> {
        let page = self.list_page(k, ns, opts)?;
        let items: Vec<Value> = page.items.iter().map(|v| (**v).clone()).collect();
        let mut list = page.envelope();
        list["items"] = Value::Array(items);
        Ok(list)
    }

    /// Returns one page of a list: shared objects, no copies (the HTTP server
    /// serializes them straight from the store's values).
    pub fn list_page(
        &self,
        k: &'static Kind,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ListPage, ApiError> {
        let bad = |e: super::selectors::SelectorError| ApiError::BadRequest(e.to_string());
        let labels = opts
            .label_selector
            .as_deref()
            .map(LabelSelector::parse)
            .transpose()
            .map_err(bad)?;
        let fields = opts
            .field_selector
            .as_deref()
            .map(|f| FieldSelector::parse_for(k, f))
            .transpose()
            .map_err(ApiError::BadRequest)?;
        let after = opts
            .continue_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(decode_continue)
            .transpose()?;
        let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let st = self.lock();
        let mut iter = Self::range(&st, k, ns)
            .filter(|(key, _)| after.as_ref().is_none_or(|a| *key > a))
            .filter(|(_, v)| labels.as_ref().is_none_or(|s| s.matches(v)))
            .filter(|(_, v)| fields.as_ref().is_none_or(|s| s.matches(v)));
        let mut items = Vec::new();
        let mut last = None;
        for (key, v) in iter.by_ref() {
            items.push(v.clone());
            last = Some(key);
            if items.len() == limit {
                break;
            }
        }
        let more = items.len() == limit && iter.next().is_some();
        let continue_token =
            more.then(|| encode_continue(last.expect("a full page has a last item")));
        Ok(ListPage {
            kind: k,
            resource_version: st.rv,
            continue_token,
            items,
        })
    }

    /// Returns the events after `rv` for a kind (and namespace) and a receiver for
    /// later ones, atomically. `rv == 0` yields every current object as ADDED.
    pub fn watch_from(
        &self,
        k: &'static Kind,
        ns: Option<&str>,
        rv: u64,
    ) -> Result<(Vec<WatchEvent>, broadcast::Receiver<WatchEvent>), ApiError> {
        let st = self.lock();
        let rx = st.events.subscribe();
        let in_ns = |e: &WatchEvent| {
            ns.is_none_or(|ns| {
                !k.namespaced
                    || e.object
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        == Some(ns)
            })
        };
        let backlog = if rv == 0 {
            Self::range(&st, k, ns)
                .map(|(_, v)| WatchEvent {
                    kind: EventType::Added,
                    resource: k,
                    object: v.clone(),
                    rv: st.rv,
                })
                .collect()
        } else {
            let oldest = st.history.front().map_or(st.rv + 1, |e| e.rv);
            if rv + 1 < oldest && rv < st.rv {
                return Err(ApiError::Gone(rv.to_string()));
            }
            st.history
                .iter()
                .filter(|e| e.rv > rv && std::ptr::eq(e.resource, k) && in_ns(e))
                .cloned()
                .collect()
        };
        Ok((backlog, rx))
    }
}

/// Extracts `metadata.<field>` as a string.
pub(super) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let k = ("ns-1".to_string(), "pod-é".to_string());
        assert_eq!(decode_continue(&encode_continue(&k)).unwrap(), k);
        assert!(decode_continue("zz").is_err());
    }
}
