//! The authenticated HTTP session every OpenStack call goes through.
//!
//! [`OpenStack`] gets a project-scoped Keystone v3 token (password or
//! application credential), reads the service catalog, and sends requests to
//! the endpoint of a service type. It re-authenticates when the token is near
//! expiry or a service answers 401, once per request. Errors become
//! [`Error::Api`] with the service's message; mutating calls return the status
//! they got in an [`Outcome`], so the step engine can classify outcomes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::Error;
use super::config::{CloudConfig, Credentials};
use super::error::service_message;

/// The status of a mutating call and what it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<T> {
    /// The HTTP status the service answered.
    pub status: u16,
    /// The decoded answer (`()` for calls without a body).
    pub value: T,
}

/// Query parameters of a list call, in order (repeated keys allowed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Returns an empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`.
    pub fn eq(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.push((key.into(), value.into()));
        self
    }

    /// Adds `tags=a,b` (objects with all of them).
    pub fn tags(self, tags: &[&str]) -> Self {
        self.eq("tags", tags.join(","))
    }

    /// Adds `tags-any=a,b` (objects with any of them).
    pub fn tags_any(self, tags: &[&str]) -> Self {
        self.eq("tags-any", tags.join(","))
    }

    /// Adds `not-tags=a,b` (objects without all of them).
    pub fn not_tags(self, tags: &[&str]) -> Self {
        self.eq("not-tags", tags.join(","))
    }

    /// Adds `limit=n` (page size).
    pub fn limit(self, n: usize) -> Self {
        self.eq("limit", n.to_string())
    }
}

/// A service type in the catalog, and the version path the client appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Neutron, `network`, paths under `/v2.0`.
    Network,
    /// Octavia, `load-balancer`, paths under `/v2`.
    LoadBalancer,
    /// Nova, `compute`, whose catalog URL already ends with `/v2.1`.
    Compute,
}

impl Service {
    /// Returns the catalog type.
    pub fn catalog_type(self) -> &'static str {
        match self {
            Service::Network => "network",
            Service::LoadBalancer => "load-balancer",
            Service::Compute => "compute",
        }
    }

    fn version_path(self, base: &str) -> &'static str {
        match self {
            Service::Network if !base.ends_with("/v2.0") => "/v2.0",
            Service::LoadBalancer if !base.ends_with("/v2") && !base.ends_with("/v2.0") => "/v2",
            _ => "",
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
    project_id: String,
    catalog: Vec<CatalogEntry>,
    /// Role names on the project, as Keystone listed them (see `roles.rs`).
    roles: Vec<String>,
}

/// One service of the Keystone catalog.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogEntry {
    /// Service type (`network`, …).
    #[serde(rename = "type")]
    pub service_type: String,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a catalog entry.
#[derive(Clone, Debug, Deserialize)]
pub struct Endpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Region ID.
    #[serde(default)]
    pub region_id: Option<String>,
    /// Region name (older field).
    #[serde(default)]
    pub region: Option<String>,
    /// Base URL.
    pub url: String,
}

/// An authenticated OpenStack session; cheap to clone.
#[derive(Clone)]
pub struct OpenStack {
    http: reqwest::Client,
    config: Arc<CloudConfig>,
    token: Arc<Mutex<Option<Token>>>,
}

impl std::fmt::Debug for OpenStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStack")
            .field("cloud", &self.config.name)
            .finish_non_exhaustive()
    }
}

/// Re-authenticate when the token has less than this left.
const EXPIRY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl OpenStack {
    /// Returns a client for a cloud; nothing is sent until the first call.
    pub fn new(config: CloudConfig) -> Result<Self, Error> {
        Self::with_timeout(config, Duration::from_secs(60))
    }

    /// Returns a client whose requests time out after `timeout`.
    pub fn with_timeout(config: CloudConfig, timeout: Duration) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| Error::Transport {
                method: "BUILD".into(),
                url: config.auth_url.clone(),
                source,
            })?;
        Ok(OpenStack {
            http,
            config: Arc::new(config),
            token: Arc::new(Mutex::new(None)),
        })
    }

    /// Returns the cloud's configuration.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// Authenticates now (to check credentials early) and returns the project ID.
    pub async fn authenticate(&self) -> Result<String, Error> {
        let token = self.fresh_token(true).await?;
        Ok(token.project_id)
    }

    /// Returns the project ID of the current token.
    pub async fn project_id(&self) -> Result<String, Error> {
        Ok(self.fresh_token(false).await?.project_id)
    }

    /// Returns the role names of the session's token on its project.
    pub async fn roles(&self) -> Result<Vec<String>, Error> {
        Ok(self.fresh_token(false).await?.roles)
    }

    /// Returns the endpoint URL of a service (from the catalog, interface and region of the config).
    pub async fn endpoint(&self, service: Service) -> Result<String, Error> {
        let token = self.fresh_token(false).await?;
        self.find_endpoint(&token, service)
    }

    fn find_endpoint(&self, token: &Token, service: Service) -> Result<String, Error> {
        let ty = service.catalog_type();
        let region_ok = |e: &Endpoint| match &self.config.region_name {
            None => true,
            Some(r) => e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r),
        };
        token
            .catalog
            .iter()
            .filter(|c| c.service_type == ty)
            .flat_map(|c| c.endpoints.iter())
            .find(|e| e.interface == self.config.interface && region_ok(e))
            .map(|e| e.url.trim_end_matches('/').to_string())
            .ok_or_else(|| Error::NoEndpoint {
                service_type: ty.into(),
                interface: self.config.interface.clone(),
                region: self
                    .config
                    .region_name
                    .clone()
                    .unwrap_or_else(|| "any".into()),
                available: token
                    .catalog
                    .iter()
                    .flat_map(|c| {
                        c.endpoints.iter().map(move |e| {
                            format!(
                                "{} {} {}",
                                c.service_type,
                                e.interface,
                                e.region_id.as_deref().unwrap_or("-")
                            )
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn token_url(&self) -> String {
        let base = self.config.auth_url.trim_end_matches('/');
        if base.ends_with("/v3") {
            format!("{base}/auth/tokens")
        } else {
            format!("{base}/v3/auth/tokens")
        }
    }

    fn auth_body(&self) -> Value {
        let c = &*self.config;
        let identity = match &c.credentials {
            Credentials::Password {
                username,
                password,
                user_domain_name,
                user_domain_id,
            } => {
                let domain = match (user_domain_id, user_domain_name) {
                    (Some(id), _) => json!({"id": id}),
                    (None, Some(name)) => json!({"name": name}),
                    (None, None) => json!({"id": "default"}),
                };
                json!({"methods": ["password"], "password": {"user": {
                    "name": username, "domain": domain, "password": password.expose()}}})
            }
            Credentials::ApplicationCredential { id, secret } => json!({
                "methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret.expose()}}),
        };
        let mut auth = json!({ "identity": identity });
        if matches!(c.credentials, Credentials::Password { .. }) {
            let domain = match (&c.project_domain_id, &c.project_domain_name) {
                (Some(id), _) => json!({"id": id}),
                (None, Some(name)) => json!({"name": name}),
                (None, None) => json!({"id": "default"}),
            };
            if let Some(id) = &c.project_id {
                auth["scope"] = json!({"project": {"id": id}});
            } else if let Some(name) = &c.project_name {
                auth["scope"] = json!({"project": {"name": name, "domain": domain}});
            }
        }
        json!({ "auth": auth })
    }

    async fn fresh_token(&self, force: bool) -> Result<Token, Error> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && !force
            && t.expires_at - EXPIRY_MARGIN > Utc::now()
        {
            return Ok(t.clone());
        }
        let url = self.token_url();
        let resp = self
            .http
            .post(&url)
            .json(&self.auth_body())
            .send()
            .await
            .map_err(|source| Error::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let subject = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(|source| Error::Unreachable {
            url: url.clone(),
            source,
        })?;
        if status == 401 || status == 403 {
            let (_, message) = service_message(&body);
            return Err(Error::Unauthorized {
                url,
                who: self.config.who(),
                status,
                message,
            });
        }
        if !(200..300).contains(&status) {
            let (kind, message) = service_message(&body);
            return Err(Error::Api {
                method: "POST".into(),
                url,
                status,
                kind,
                message,
            });
        }
        #[derive(Deserialize)]
        struct Body {
            token: TokenBody,
        }
        #[derive(Deserialize)]
        struct TokenBody {
            expires_at: DateTime<Utc>,
            #[serde(default)]
            project: Option<IdOnly>,
            #[serde(default)]
            catalog: Vec<CatalogEntry>,
            #[serde(default)]
            roles: Vec<NameOnly>,
        }
        #[derive(Deserialize)]
        struct IdOnly {
            id: String,
        }
        #[derive(Deserialize)]
        struct NameOnly {
            name: String,
        }
        let parsed: Body = serde_json::from_slice(&body).map_err(|source| Error::Decode {
            method: "POST".into(),
            url: url.clone(),
            source,
        })?;
        let Some(value) = subject else {
            return Err(Error::Unexpected {
                method: "POST".into(),
                url,
                message: "no X-Subject-Token header".into(),
            });
        };
        let Some(project) = parsed.token.project else {
            return Err(Error::MissingConfig(format!(
                "the token of {} is not scoped to a project: set project_name (and project_domain_name) or project_id",
                self.config.who()
            )));
        };
        let token = Token {
            value,
            expires_at: parsed.token.expires_at,
            project_id: project.id,
            catalog: parsed.token.catalog,
            roles: parsed.token.roles.into_iter().map(|r| r.name).collect(),
        };
        *guard = Some(token.clone());
        Ok(token)
    }

    /// Sends one request to a service and returns its status and raw body;
    /// error statuses become [`Error::Api`]. `path` starts with `/`, after the version.
    pub async fn send(
        &self,
        service: Service,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let mut token = self.fresh_token(false).await?;
        let base = self.find_endpoint(&token, service)?;
        let url = format!("{base}{}{path}", service.version_path(&base));
        self.send_url(method, &url, query, body, &mut token).await
    }

    async fn send_url(
        &self,
        method: Method,
        url: &str,
        query: &Query,
        body: Option<&Value>,
        token: &mut Token,
    ) -> Result<(u16, Vec<u8>), Error> {
        for attempt in 0..2 {
            let mut req = self
                .http
                .request(method.clone(), url)
                .header("X-Auth-Token", &token.value)
                .header("Accept", "application/json")
                .header("OpenStack-API-Version", "compute 2.26");
            if !query.0.is_empty() {
                req = req.query(&query.0);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let transport = |source| Error::Transport {
                method: method.to_string(),
                url: url.to_string(),
                source,
            };
            let resp = req.send().await.map_err(transport)?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(transport)?.to_vec();
            if status == 401 && attempt == 0 {
                *token = self.fresh_token(true).await?;
                continue;
            }
            if status >= 400 {
                let (kind, message) = service_message(&bytes);
                return Err(Error::Api {
                    method: method.to_string(),
                    url: url.to_string(),
                    status,
                    kind,
                    message,
                });
            }
            return Ok((status, bytes));
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Sends a GET to an absolute URL (a service's version document) with the token.
    pub async fn send_root(&self, url: &str) -> Result<(u16, Vec<u8>), Error> {
        let mut token = self.fresh_token(false).await?;
        self.send_url(Method::GET, url, &Query::new(), None, &mut token)
            .await
    }

    /// Sends a request and decodes the JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        service: Service,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<&Value>,
    ) -> Result<Outcome<T>, Error> {
        let (status, bytes) = self
            .send(service, method.clone(), path, query, body)
            .await?;
        let value = serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            method: method.to_string(),
            url: path.into(),
            source,
        })?;
        Ok(Outcome { status, value })
    }

    /// Sends a request whose answer has no body worth reading (DELETE, actions).
    pub async fn call_empty(
        &self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Outcome<()>, Error> {
        let (status, _) = self
            .send(service, method, path, &Query::new(), body)
            .await?;
        Ok(Outcome { status, value: () })
    }

    /// Sends a GET and decodes the object under `key` of the answer.
    pub async fn get_one<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        key: &str,
    ) -> Result<T, Error> {
        let out: Outcome<Value> = self
            .call(service, Method::GET, path, &Query::new(), None)
            .await?;
        unwrap_key(out.value, key, path)
    }

    /// Sends a POST/PUT of `{key: body}` and decodes the object under `key` of the answer.
    pub async fn write_one<T: DeserializeOwned>(
        &self,
        service: Service,
        method: Method,
        path: &str,
        key: &str,
        body: Value,
    ) -> Result<Outcome<T>, Error> {
        let out: Outcome<Value> = self
            .call(
                service,
                method,
                path,
                &Query::new(),
                Some(&json!({ key: body })),
            )
            .await?;
        Ok(Outcome {
            status: out.status,
            value: unwrap_key(out.value, key, path)?,
        })
    }

    /// Lists a collection, following `<key>_links` `next` pages until the end.
    pub async fn list<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        key: &str,
        query: &Query,
    ) -> Result<Vec<T>, Error> {
        Ok(self.list_pages(service, path, key, query).await?.0)
    }

    /// Lists a collection as [`Self::list`] does, and returns how many pages (calls) it took.
    pub async fn list_pages<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        key: &str,
        query: &Query,
    ) -> Result<(Vec<T>, u64), Error> {
        let mut token = self.fresh_token(false).await?;
        let base = self.find_endpoint(&token, service)?;
        let mut url = format!("{base}{}{path}", service.version_path(&base));
        let mut query = query.clone();
        let mut out = Vec::new();
        let key = key.replace('-', "_");
        let key = key.as_str();
        let links_key = format!("{key}_links");
        for page in 1..=100_000u64 {
            let (_, bytes) = self
                .send_url(Method::GET, &url, &query, None, &mut token)
                .await?;
            let mut v: Value = serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
                method: "GET".into(),
                url: url.clone(),
                source,
            })?;
            let items = v
                .get_mut(key)
                .map(Value::take)
                .unwrap_or(Value::Array(vec![]));
            let items: Vec<T> = serde_json::from_value(items).map_err(|source| Error::Decode {
                method: "GET".into(),
                url: url.clone(),
                source,
            })?;
            let got = items.len();
            out.extend(items);
            let next = v
                .get(&links_key)
                .and_then(Value::as_array)
                .and_then(|links| links.iter().find(|l| l["rel"] == "next"))
                .and_then(|l| l["href"].as_str())
                .map(str::to_string);
            match next {
                Some(href) if got > 0 => {
                    url = rebase(&href, &base);
                    query = Query::new();
                }
                _ => return Ok((out, page)),
            }
        }
        Err(Error::Unexpected {
            method: "GET".into(),
            url,
            message: "pagination did not end".into(),
        })
    }
}

/// Keeps a `next` link's path and query but the scheme/host/port of the catalog
/// endpoint (services behind a proxy often advertise an internal host).
fn rebase(href: &str, base: &str) -> String {
    let origin = |u: &str| -> usize {
        u.find("://")
            .map(|i| i + 3)
            .and_then(|s| u[s..].find('/').map(|j| s + j))
            .unwrap_or(u.len())
    };
    format!("{}{}", &base[..origin(base)], &href[origin(href)..])
}

fn unwrap_key<T: DeserializeOwned>(mut v: Value, key: &str, path: &str) -> Result<T, Error> {
    let inner = v
        .get_mut(key)
        .map(Value::take)
        .ok_or_else(|| Error::Unexpected {
            method: "GET".into(),
            url: path.into(),
            message: format!("no {key:?} in the answer"),
        })?;
    serde_json::from_value(inner).map_err(|source| Error::Decode {
        method: "GET".into(),
        url: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_path_and_query() {
        assert_eq!(
            rebase(
                "http://internal:9696/v2.0/ports?limit=2&marker=x",
                "http://127.0.0.1:5/network"
            ),
            "http://127.0.0.1:5/v2.0/ports?limit=2&marker=x"
        );
    }
}
