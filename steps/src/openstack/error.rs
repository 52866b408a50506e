//! The one error type of the OpenStack client.
//!
//! Configuration mistakes (no clouds.yaml, unknown cloud, missing variables)
//! say where the tool looked and what to set; API errors carry the method,
//! URL, status and the service's own message (Neutron `NeutronError.message`,
//! Octavia `faultstring`, Keystone `error.message`), so the step engine can
//! classify them with [`Error::is_not_found`], [`Error::is_conflict`] and
//! [`Error::is_retryable`].

use std::path::PathBuf;

/// Returns the OpenStack client's errors; messages read after "failed to …".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No clouds.yaml in any place the OpenStack tools look.
    #[error(
        "find cloud {cloud:?}: no clouds.yaml found (looked in {searched}); set OS_CLIENT_CONFIG_FILE or use OS_AUTH_URL and friends"
    )]
    NoCloudsFile { cloud: String, searched: String },
    /// The named cloud is not in the clouds.yaml that was found.
    #[error(
        "find cloud {cloud:?} in {file}: the clouds there are [{found}]; pass one of them with --os-cloud or OS_CLOUD"
    )]
    CloudNotFound {
        cloud: String,
        file: PathBuf,
        found: String,
    },
    /// A config file could not be read.
    #[error("read {path}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid YAML of the expected shape.
    #[error("parse {path}: {message}")]
    ParseConfig { path: PathBuf, message: String },
    /// Not enough settings to authenticate.
    #[error("configure OpenStack access: {0}")]
    MissingConfig(String),
    /// The identity service could not be reached.
    #[error(
        "reach the identity service at {url} ({source}); check auth_url / OS_AUTH_URL and that Keystone is up"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Keystone refused the credentials.
    #[error(
        "authenticate at {url} as {who}: Keystone answered {status} ({message}); check the username, password, project and domains (or the application credential)"
    )]
    Unauthorized {
        url: String,
        who: String,
        status: u16,
        message: String,
    },
    /// The catalog has no endpoint for a service.
    #[error(
        "find a {service_type:?} endpoint with interface {interface:?} in region {region:?} in the service catalog (it has: {available}); set OS_INTERFACE / OS_REGION_NAME or ask the cloud's operator"
    )]
    NoEndpoint {
        service_type: String,
        interface: String,
        region: String,
        available: String,
    },
    /// The service answered with an error status.
    /// `kind` is Neutron's `NeutronError.type` (e.g. `NetworkInUse`) where the service gives one.
    #[error("{method} {url}: {status} {message}")]
    Api {
        method: String,
        url: String,
        status: u16,
        kind: Option<String>,
        message: String,
    },
    /// The request did not get an answer (connection refused or dropped, timeout).
    #[error("{method} {url}: {source}")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON the client expects.
    #[error("decode the answer of {method} {url}: {source}")]
    Decode {
        method: String,
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// The service answered something the client cannot use.
    #[error("use the answer of {method} {url}: {message}")]
    Unexpected {
        method: String,
        url: String,
        message: String,
    },
}

impl Error {
    /// Returns the HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Unauthorized { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Returns true when the service answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Returns true when the service answered 409.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Returns true for errors worth retrying: 5xx, timeouts, connection errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status >= 500,
            Error::Transport { .. } | Error::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// Returns Neutron's error type (`NetworkInUse`, `PortNotFound`, …) of an API error.
    pub fn kind(&self) -> Option<&str> {
        match self {
            Error::Api { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }

    /// Returns the service's own message of an API error.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Api { message, .. } | Error::Unauthorized { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// Returns the error type (Neutron's `NeutronError.type`) and message an
/// OpenStack service put in an error body.
pub(crate) fn service_message(body: &[u8]) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(body);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, text.trim().chars().take(300).collect());
    };
    let kind = v
        .pointer("/NeutronError/type")
        .and_then(|t| t.as_str())
        .map(str::to_string);
    let candidates = [
        v.pointer("/NeutronError/message"),
        v.pointer("/faultstring"),
        v.pointer("/error/message"),
        v.pointer("/itemNotFound/message"),
        v.pointer("/badRequest/message"),
        v.pointer("/conflictingRequest/message"),
        v.pointer("/forbidden/message"),
        v.pointer("/message"),
        v.pointer("/title"),
    ];
    let message = candidates
        .into_iter()
        .flatten()
        .find_map(|m| m.as_str().map(str::to_string))
        .unwrap_or_else(|| text.trim().chars().take(300).collect());
    (kind, message)
}
