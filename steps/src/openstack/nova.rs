//! Nova v2.1 calls the tool makes: servers (get, list with filters), the
//! soft reboot of a node by the server ID taken from its `providerID`, and
//! server tags (microversion 2.26, sent on every request) for canaries.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Error;
use super::client::{OpenStack, Outcome, Query, Service};

const C: Service = Service::Compute;

/// A Nova server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    pub host: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
}

impl OpenStack {
    /// Returns one server.
    pub async fn get_server(&self, id: &str) -> Result<Server, Error> {
        self.get_one(C, &format!("/servers/{id}"), "server").await
    }

    /// Lists servers with details (filters such as `name`, `status`, `host`, `tags`).
    pub async fn list_servers(&self, query: &Query) -> Result<Vec<Server>, Error> {
        self.list(C, "/servers/detail", "servers", query).await
    }

    /// Soft-reboots a server (202).
    pub async fn reboot_server(&self, id: &str) -> Result<Outcome<()>, Error> {
        let body = json!({"reboot": {"type": "SOFT"}});
        self.call_empty(
            C,
            Method::POST,
            &format!("/servers/{id}/action"),
            Some(&body),
        )
        .await
    }

    /// Adds a tag to a server (201 new, 204 already there).
    pub async fn add_server_tag(&self, id: &str, tag: &str) -> Result<Outcome<()>, Error> {
        self.call_empty(C, Method::PUT, &format!("/servers/{id}/tags/{tag}"), None)
            .await
    }

    /// Creates a server from the fields of `body`, sent as `{"server": body}` (202).
    pub async fn create_server(&self, body: Value) -> Result<Outcome<Server>, Error> {
        self.write_one(C, Method::POST, "/servers", "server", body)
            .await
    }

    /// Deletes a server (204).
    pub async fn delete_server(&self, id: &str) -> Result<Outcome<()>, Error> {
        self.call_empty(C, Method::DELETE, &format!("/servers/{id}"), None)
            .await
    }

    /// Returns a server's tags.
    pub async fn list_server_tags(&self, id: &str) -> Result<Vec<String>, Error> {
        self.get_one(C, &format!("/servers/{id}/tags"), "tags")
            .await
    }
}
