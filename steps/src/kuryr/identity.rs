//! Who the cluster is: its id, and Kuryr's view of its OpenStack resources.
//!
//! The cluster id (the infra ID, `CLUSTERID` in the documented procedure)
//! comes from `infrastructures/cluster .status.infrastructureName`; every
//! OpenStack resource of the cluster is tagged `openshiftClusterID=<id>`.
//! Kuryr's configuration comes from the `kuryr-config` ConfigMap's
//! `kuryr.conf`; its IDs are preferred over names because older clusters used
//! unprefixed names.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::ini::{Ini, IniError};
use super::names::{KURYR_CONF_KEY, KURYR_CONFIGMAP, KURYR_NAMESPACE};

/// Errors reading identities; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The infrastructure object has no infrastructureName.
    #[error("read the cluster id: infrastructures/cluster has no .status.infrastructureName")]
    NoClusterId,
    /// The ConfigMap lacks the `kuryr.conf` key.
    #[error("read {KURYR_NAMESPACE}/{KURYR_CONFIGMAP}: it has no data key {KURYR_CONF_KEY:?}")]
    NoKuryrConf,
    /// `kuryr.conf` is not valid ini.
    #[error("read {KURYR_NAMESPACE}/{KURYR_CONFIGMAP} key {KURYR_CONF_KEY}: {0}")]
    Ini(#[source] IniError),
    /// A setting the migration needs is missing.
    #[error(
        "read {KURYR_NAMESPACE}/{KURYR_CONFIGMAP}: [{section}] {key} is not set; the cleanup needs it to find Kuryr's resources"
    )]
    MissingSetting {
        /// Ini section.
        section: &'static str,
        /// Ini key.
        key: &'static str,
    },
}

/// Returns the cluster id from the `infrastructures/cluster` object.
pub fn cluster_id(infrastructure: &Value) -> Result<String, IdentityError> {
    infrastructure
        .pointer("/status/infrastructureName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(IdentityError::NoClusterId)
}

/// The OpenStack resources Kuryr was configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KuryrConfig {
    /// `[namespace_subnet] pod_router`: the router namespace subnets attach to.
    pub pod_router: String,
    /// `[namespace_subnet] pod_subnet_pool`: the subnet pool of namespace subnets.
    pub pod_subnet_pool: Option<String>,
    /// `[neutron_defaults] service_subnet`: the subnet of service VIPs.
    pub service_subnet: String,
    /// `[neutron_defaults] pod_security_groups`: security groups of pod ports.
    pub pod_security_groups: Vec<String>,
    /// `[neutron_defaults] resource_tags`: tags Kuryr put on what it created.
    pub resource_tags: Vec<String>,
    /// `[neutron_defaults] project`: the OpenStack project.
    pub project: Option<String>,
}

impl KuryrConfig {
    /// Parses `kuryr.conf` text.
    pub fn parse(text: &str) -> Result<KuryrConfig, IdentityError> {
        let ini = Ini::parse(text).map_err(IdentityError::Ini)?;
        let required = |section: &'static str, key: &'static str| {
            ini.get(section, key)
                .map(str::to_string)
                .ok_or(IdentityError::MissingSetting { section, key })
        };
        let optional = |section: &str, key: &str| ini.get(section, key).map(str::to_string);
        Ok(KuryrConfig {
            pod_router: required("namespace_subnet", "pod_router")?,
            pod_subnet_pool: optional("namespace_subnet", "pod_subnet_pool"),
            service_subnet: required("neutron_defaults", "service_subnet")?,
            pod_security_groups: ini.get_list("neutron_defaults", "pod_security_groups"),
            resource_tags: ini.get_list("neutron_defaults", "resource_tags"),
            project: optional("neutron_defaults", "project"),
        })
    }

    /// Reads the `kuryr-config` ConfigMap object.
    pub fn from_configmap(configmap: &Value) -> Result<KuryrConfig, IdentityError> {
        let text = configmap
            .get("data")
            .and_then(|d| d.get(KURYR_CONF_KEY))
            .and_then(Value::as_str)
            .ok_or(IdentityError::NoKuryrConf)?;
        KuryrConfig::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONF: &str = "[DEFAULT]\ndebug = false\n\n[namespace_subnet]\npod_router = r-1\npod_subnet_pool = sp-1\n\n[neutron_defaults]\nproject = p-1\nservice_subnet = s-1\npod_security_groups = sg-1,sg-2\nresource_tags = openshiftClusterID=c-1\n";

    #[test]
    fn cluster_id_comes_from_infrastructure_name() {
        let infra = json!({"status": {"infrastructureName": "ostest-x7k2p"}});
        assert_eq!(cluster_id(&infra).unwrap(), "ostest-x7k2p");
        assert_eq!(
            cluster_id(&json!({"status": {}})),
            Err(IdentityError::NoClusterId)
        );
        let empty = json!({"status": {"infrastructureName": ""}});
        assert_eq!(cluster_id(&empty), Err(IdentityError::NoClusterId));
    }

    #[test]
    fn kuryr_conf_yields_ids() {
        let cm = json!({"data": {"kuryr.conf": CONF}});
        let cfg = KuryrConfig::from_configmap(&cm).unwrap();
        assert_eq!(cfg.pod_router, "r-1");
        assert_eq!(cfg.pod_subnet_pool.as_deref(), Some("sp-1"));
        assert_eq!(cfg.service_subnet, "s-1");
        assert_eq!(cfg.pod_security_groups, vec!["sg-1", "sg-2"]);
        assert_eq!(cfg.resource_tags, vec!["openshiftClusterID=c-1"]);
        assert_eq!(cfg.project.as_deref(), Some("p-1"));
    }

    #[test]
    fn missing_router_is_named() {
        let err = KuryrConfig::parse("[neutron_defaults]\nservice_subnet = s\n").unwrap_err();
        assert_eq!(
            err,
            IdentityError::MissingSetting {
                section: "namespace_subnet",
                key: "pod_router"
            }
        );
        assert!(err.to_string().contains("pod_router"));
    }

    #[test]
    fn configmap_without_key_or_with_bad_ini_fails() {
        assert_eq!(
            KuryrConfig::from_configmap(&json!({"data": {}})),
            Err(IdentityError::NoKuryrConf)
        );
        let bad = json!({"data": {"kuryr.conf": "[broken\n"}});
        assert!(matches!(
            KuryrConfig::from_configmap(&bad),
            Err(IdentityError::Ini(_))
        ));
    }
}
