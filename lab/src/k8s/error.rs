//! Errors of the lab's Kubernetes store, and their `kind: Status` form on the wire.
//!
//! Each variant maps to one Status `reason` and HTTP code the way
//! kube-apiserver answers, with the same message shapes (`pods "x" not found`),
//! so clients such as kube-rs and kubectl classify them as they would against
//! a real cluster.

use serde_json::{Value, json};

/// A failed API call, answered as a `kind: Status` object.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// The object (or the resource, or its namespace) does not exist: 404.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    /// The server does not serve this URL: 404 with reason NotFound.
    #[error("the server could not find the requested resource")]
    NoSuchResource,
    /// Create of a name that exists: 409.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    /// Stale resourceVersion or failed precondition: 409.
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {message}")]
    Conflict {
        resource: String,
        name: String,
        message: String,
    },
    /// The object or patch is invalid: 422.
    #[error("{kind} \"{name}\" is invalid: {message}")]
    Invalid {
        kind: String,
        name: String,
        message: String,
    },
    /// The request is malformed: 400.
    #[error("{0}")]
    BadRequest(String),
    /// The verb is not allowed here: 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request is refused (e.g. create in a terminating namespace): 403.
    #[error("{message}")]
    Forbidden { reason: String, message: String },
    /// A watch asked for a resourceVersion the lab no longer remembers: 410.
    #[error("too old resource version: {0}")]
    Gone(String),
    /// The patch content type is not supported: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl ApiError {
    /// Returns the HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::NoSuchResource => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed(_) => 405,
            Self::Forbidden { .. } => 403,
            Self::Gone(_) => 410,
            Self::UnsupportedMediaType(_) => 415,
        }
    }

    /// Returns the Status `reason`.
    pub fn reason(&self) -> &str {
        match self {
            Self::NotFound { .. } | Self::NoSuchResource => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::Forbidden { reason, .. } => reason,
            Self::Gone(_) => "Expired",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
        }
    }

    /// Returns the `kind: Status` object sent to the client.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name, .. } => {
                let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
                Some(json!({"name": name, "group": group, "kind": kind}))
            }
            Self::Invalid {
                kind,
                name,
                message,
            } => Some(json!({"name": name, "kind": kind, "causes": [{"message": message}]})),
            _ => None,
        };
        if let Some(d) = details {
            s["details"] = d;
        }
        s
    }

    /// Returns true for 404s.
    pub fn is_not_found(&self) -> bool {
        self.code() == 404
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shapes() {
        let e = ApiError::NotFound {
            resource: "networks.config.openshift.io".into(),
            name: "x".into(),
        };
        let s = e.status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["message"], "networks.config.openshift.io \"x\" not found");
        assert_eq!(s["details"]["group"], "config.openshift.io");
        assert_eq!(s["details"]["kind"], "networks");
        let c = ApiError::Conflict {
            resource: "pods".into(),
            name: "p".into(),
            message: "m".into(),
        };
        assert_eq!(c.status()["code"], 409);
        assert_eq!(c.status()["reason"], "Conflict");
    }
}
