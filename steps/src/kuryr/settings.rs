//! M4: validate the optional OVN-Kubernetes settings and decide the patch.
//!
//! The user may set `mtu`, `genevePort`, `v4InternalSubnet` and
//! `v6InternalSubnet`. The effective value of each is the user's, else what
//! the operator config already has, else OVN-K's default; every effective
//! value is validated, because a default that collides with the cluster is as
//! fatal as a typo: mtu ≤ smallest node MTU − 100, genevePort a valid port and
//! not VXLAN's 4789, internal subnets of the right family not overlapping the
//! cluster, service or machine networks. The merge patch holds only the keys
//! the user set, and nothing is patched when the operator already has them.

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::cidr::{Cidr, CidrError};
use super::names::{
    DEFAULT_GENEVE_PORT, DEFAULT_V4_INTERNAL_SUBNET, DEFAULT_V6_INTERNAL_SUBNET, GENEVE_OVERHEAD,
    VXLAN_PORT,
};

/// What the user asked for; `None` means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OvnSettings {
    /// Pod network MTU.
    pub mtu: Option<u32>,
    /// Geneve UDP port.
    pub geneve_port: Option<u32>,
    /// IPv4 join subnet.
    pub v4_internal_subnet: Option<String>,
    /// IPv6 join subnet.
    pub v6_internal_subnet: Option<String>,
}

/// The networks and MTU the settings must fit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFacts {
    /// The smallest MTU of the nodes' primary interfaces.
    pub smallest_node_mtu: u32,
    /// `spec.clusterNetwork[].cidr`.
    pub cluster_networks: Vec<Cidr>,
    /// `spec.serviceNetwork[]`.
    pub service_networks: Vec<Cidr>,
    /// The machine networks.
    pub machine_networks: Vec<Cidr>,
}

/// A setting that cannot be used; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SettingsError {
    /// MTU too large for the nodes.
    #[error(
        "use mtu {mtu}: Geneve needs {GENEVE_OVERHEAD} bytes, so the largest is {max} (smallest node MTU {node_mtu}); pass --mtu {max} or less"
    )]
    MtuTooLarge {
        /// The effective mtu.
        mtu: u32,
        /// The largest allowed.
        max: u32,
        /// The smallest node MTU.
        node_mtu: u32,
    },
    /// MTU below the protocol minimum.
    #[error("use mtu {mtu}: the minimum is {min}")]
    MtuTooSmall {
        /// The effective mtu.
        mtu: u32,
        /// The minimum.
        min: u32,
    },
    /// Geneve port out of range.
    #[error("use genevePort {0}: a port must be 1-65535")]
    PortOutOfRange(u32),
    /// Geneve port collides with VXLAN.
    #[error(
        "use genevePort {VXLAN_PORT}: it is VXLAN's port; pick another, e.g. the default {DEFAULT_GENEVE_PORT}"
    )]
    PortIsVxlan,
    /// An internal subnet does not parse.
    #[error("use {key}: {source}")]
    BadSubnet {
        /// The setting.
        key: &'static str,
        /// Why it does not parse.
        #[source]
        source: CidrError,
    },
    /// An internal subnet of the wrong family.
    #[error("use {key} {subnet}: it must be an {family} block")]
    WrongFamily {
        /// The setting.
        key: &'static str,
        /// The value.
        subnet: String,
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// An internal subnet overlaps a network of the cluster.
    #[error(
        "use {key} {subnet}: it overlaps the {which} network {other}; set {key} to a free block"
    )]
    Overlap {
        /// The setting.
        key: &'static str,
        /// The value.
        subnet: String,
        /// `cluster`, `service` or `machine`.
        which: &'static str,
        /// The network it overlaps.
        other: String,
    },
}

/// What M4 should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsDecision {
    /// The user set nothing.
    NothingToSet,
    /// The operator config already has every value the user set.
    AlreadyApplied,
    /// Send this merge patch to `networks.operator.openshift.io/cluster`.
    Patch(Value),
}

/// Returns the cluster and service networks from `networks.config.openshift.io/cluster`.
pub fn networks_from_config(config_network: &Value) -> Result<(Vec<Cidr>, Vec<Cidr>), CidrError> {
    let cluster = config_network
        .pointer("/spec/clusterNetwork")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("cidr")?.as_str())
                .map(str::parse)
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))?;
    let service = config_network
        .pointer("/spec/serviceNetwork")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::parse).collect())
        .unwrap_or(Ok(Vec::new()))?;
    Ok((cluster, service))
}

/// Returns the current `ovnKubernetesConfig` of the operator network (empty object when unset).
fn current_config(operator_network: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    operator_network
        .pointer("/spec/defaultNetwork/ovnKubernetesConfig")
        .unwrap_or(&EMPTY)
}

/// Validates every effective setting; returns all problems at once.
pub fn validate(
    settings: &OvnSettings,
    facts: &NetworkFacts,
    operator_network: &Value,
) -> Vec<SettingsError> {
    let current = current_config(operator_network);
    let mut errors = Vec::new();
    let has_v6 = facts
        .cluster_networks
        .iter()
        .chain(&facts.service_networks)
        .chain(&facts.machine_networks)
        .any(|c| !c.is_ipv4());
    let mtu = settings
        .mtu
        .or_else(|| current.get("mtu").and_then(Value::as_u64).map(|m| m as u32));
    if let Some(mtu) = mtu {
        let max = facts.smallest_node_mtu.saturating_sub(GENEVE_OVERHEAD);
        let min = if has_v6 { 1280 } else { 576 };
        if mtu > max {
            errors.push(SettingsError::MtuTooLarge {
                mtu,
                max,
                node_mtu: facts.smallest_node_mtu,
            });
        } else if mtu < min {
            errors.push(SettingsError::MtuTooSmall { mtu, min });
        }
    }
    let port = settings
        .geneve_port
        .or_else(|| {
            current
                .get("genevePort")
                .and_then(Value::as_u64)
                .map(|p| p as u32)
        })
        .unwrap_or(u32::from(DEFAULT_GENEVE_PORT));
    if port == 0 || port > u32::from(u16::MAX) {
        errors.push(SettingsError::PortOutOfRange(port));
    } else if port == u32::from(VXLAN_PORT) {
        errors.push(SettingsError::PortIsVxlan);
    }
    let subnets = [
        (
            "v4InternalSubnet",
            &settings.v4_internal_subnet,
            DEFAULT_V4_INTERNAL_SUBNET,
            true,
        ),
        (
            "v6InternalSubnet",
            &settings.v6_internal_subnet,
            DEFAULT_V6_INTERNAL_SUBNET,
            false,
        ),
    ];
    for (key, user, default, v4) in subnets {
        let text = user
            .clone()
            .or_else(|| current.get(key).and_then(Value::as_str).map(str::to_string));
        // A default of a family the cluster does not use cannot collide with anything.
        if text.is_none() && !v4 && !has_v6 {
            continue;
        }
        let text = text.unwrap_or_else(|| default.to_string());
        match text.parse::<Cidr>() {
            Err(source) => errors.push(SettingsError::BadSubnet { key, source }),
            Ok(subnet) if subnet.is_ipv4() != v4 => errors.push(SettingsError::WrongFamily {
                key,
                subnet: text.clone(),
                family: if v4 { "IPv4" } else { "IPv6" },
            }),
            Ok(subnet) => {
                let others = [
                    ("cluster", &facts.cluster_networks),
                    ("service", &facts.service_networks),
                    ("machine", &facts.machine_networks),
                ];
                for (which, nets) in others {
                    if let Some(other) = nets.iter().find(|n| n.overlaps(&subnet)) {
                        errors.push(SettingsError::Overlap {
                            key,
                            subnet: text.clone(),
                            which,
                            other: other.to_string(),
                        });
                    }
                }
            }
        }
    }
    errors
}

/// Returns the `ovnKubernetesConfig` keys the user set, as JSON.
fn user_keys(settings: &OvnSettings) -> Map<String, Value> {
    let mut keys = Map::new();
    if let Some(m) = settings.mtu {
        keys.insert("mtu".into(), json!(m));
    }
    if let Some(p) = settings.geneve_port {
        keys.insert("genevePort".into(), json!(p));
    }
    if let Some(s) = &settings.v4_internal_subnet {
        keys.insert("v4InternalSubnet".into(), json!(s));
    }
    if let Some(s) = &settings.v6_internal_subnet {
        keys.insert("v6InternalSubnet".into(), json!(s));
    }
    keys
}

/// Validates the settings and returns what M4 should send, if anything.
pub fn decide(
    settings: &OvnSettings,
    facts: &NetworkFacts,
    operator_network: &Value,
) -> Result<SettingsDecision, Vec<SettingsError>> {
    let errors = validate(settings, facts, operator_network);
    if !errors.is_empty() {
        return Err(errors);
    }
    let wanted = user_keys(settings);
    if wanted.is_empty() {
        return Ok(SettingsDecision::NothingToSet);
    }
    let current = current_config(operator_network);
    let differing: Map<String, Value> = wanted
        .into_iter()
        .filter(|(k, v)| current.get(k) != Some(v))
        .collect();
    if differing.is_empty() {
        return Ok(SettingsDecision::AlreadyApplied);
    }
    Ok(SettingsDecision::Patch(
        json!({"spec": {"defaultNetwork": {"ovnKubernetesConfig": differing}}}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> NetworkFacts {
        NetworkFacts {
            smallest_node_mtu: 1450,
            cluster_networks: vec!["10.128.0.0/14".parse().unwrap()],
            service_networks: vec!["172.30.0.0/16".parse().unwrap()],
            machine_networks: vec!["10.0.0.0/16".parse().unwrap()],
        }
    }

    fn operator(ovn: Value) -> Value {
        json!({"spec": {"defaultNetwork": {"type": "Kuryr", "ovnKubernetesConfig": ovn}}})
    }

    #[test]
    fn nothing_set_is_nothing_to_do() {
        let d = decide(&OvnSettings::default(), &facts(), &json!({})).unwrap();
        assert_eq!(d, SettingsDecision::NothingToSet);
    }

    #[test]
    fn patch_holds_only_user_keys() {
        let s = OvnSettings {
            mtu: Some(1350),
            geneve_port: Some(6082),
            ..Default::default()
        };
        let d = decide(&s, &facts(), &json!({})).unwrap();
        assert_eq!(
            d,
            SettingsDecision::Patch(
                json!({"spec": {"defaultNetwork": {"ovnKubernetesConfig": {"mtu": 1350, "genevePort": 6082}}}})
            )
        );
    }

    #[test]
    fn matching_operator_config_is_not_patched_again() {
        let s = OvnSettings {
            mtu: Some(1350),
            ..Default::default()
        };
        let d = decide(&s, &facts(), &operator(json!({"mtu": 1350}))).unwrap();
        assert_eq!(d, SettingsDecision::AlreadyApplied);
        let d = decide(&s, &facts(), &operator(json!({"mtu": 1300}))).unwrap();
        assert!(matches!(d, SettingsDecision::Patch(_)));
    }

    #[test]
    fn mtu_must_leave_geneve_overhead() {
        let s = OvnSettings {
            mtu: Some(1351),
            ..Default::default()
        };
        let errs = decide(&s, &facts(), &json!({})).unwrap_err();
        assert_eq!(
            errs,
            vec![SettingsError::MtuTooLarge {
                mtu: 1351,
                max: 1350,
                node_mtu: 1450
            }]
        );
        assert!(errs[0].to_string().contains("--mtu 1350"));
        let s = OvnSettings {
            mtu: Some(500),
            ..Default::default()
        };
        assert_eq!(
            decide(&s, &facts(), &json!({})).unwrap_err(),
            vec![SettingsError::MtuTooSmall { mtu: 500, min: 576 }]
        );
    }

    #[test]
    fn geneve_port_must_be_valid_and_not_vxlan() {
        for (port, err) in [
            (4789, SettingsError::PortIsVxlan),
            (0, SettingsError::PortOutOfRange(0)),
            (70000, SettingsError::PortOutOfRange(70000)),
        ] {
            let s = OvnSettings {
                geneve_port: Some(port),
                ..Default::default()
            };
            assert_eq!(decide(&s, &facts(), &json!({})).unwrap_err(), vec![err]);
        }
    }

    #[test]
    fn internal_subnet_must_not_overlap() {
        let s = OvnSettings {
            v4_internal_subnet: Some("10.0.128.0/17".into()),
            ..Default::default()
        };
        let errs = decide(&s, &facts(), &json!({})).unwrap_err();
        assert!(
            matches!(
                &errs[..],
                [SettingsError::Overlap {
                    which: "machine",
                    ..
                }]
            ),
            "{errs:?}"
        );
        let s = OvnSettings {
            v4_internal_subnet: Some("fd00::/64".into()),
            ..Default::default()
        };
        assert!(matches!(
            &decide(&s, &facts(), &json!({})).unwrap_err()[..],
            [SettingsError::WrongFamily { .. }]
        ));
        let s = OvnSettings {
            v4_internal_subnet: Some("100.64.0.1/16".into()),
            ..Default::default()
        };
        assert!(matches!(
            &decide(&s, &facts(), &json!({})).unwrap_err()[..],
            [SettingsError::BadSubnet { .. }]
        ));
    }

    #[test]
    fn colliding_default_is_reported_even_when_unset() {
        let mut f = facts();
        f.machine_networks = vec!["100.64.0.0/10".parse().unwrap()];
        let errs = decide(&OvnSettings::default(), &f, &json!({})).unwrap_err();
        assert!(
            errs[0].to_string().contains("set v4InternalSubnet"),
            "{}",
            errs[0]
        );
        let s = OvnSettings {
            v4_internal_subnet: Some("100.100.0.0/16".into()),
            ..Default::default()
        };
        let errs = decide(&s, &f, &json!({})).unwrap_err();
        assert!(
            matches!(&errs[..], [SettingsError::Overlap { .. }]),
            "100.100/16 is inside 100.64/10"
        );
        let s = OvnSettings {
            v4_internal_subnet: Some("192.168.0.0/16".into()),
            ..Default::default()
        };
        assert!(decide(&s, &f, &json!({})).is_ok());
    }

    #[test]
    fn ipv6_subnets_are_checked_on_ipv6_clusters() {
        let mut f = facts();
        f.cluster_networks.push("fd98::/64".parse().unwrap());
        let errs = decide(&OvnSettings::default(), &f, &json!({})).unwrap_err();
        assert!(
            matches!(
                &errs[..],
                [SettingsError::Overlap {
                    key: "v6InternalSubnet",
                    which: "cluster",
                    ..
                }]
            ),
            "{errs:?}"
        );
        let s = OvnSettings {
            v6_internal_subnet: Some("fd99::/48".into()),
            mtu: Some(1300),
            ..Default::default()
        };
        assert!(decide(&s, &f, &json!({})).is_ok());
    }

    #[test]
    fn networks_are_read_from_the_config() {
        let cfg = json!({"spec": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}], "serviceNetwork": ["172.30.0.0/16"]}});
        let (c, s) = networks_from_config(&cfg).unwrap();
        assert_eq!(c[0].to_string(), "10.128.0.0/14");
        assert_eq!(s[0].to_string(), "172.30.0.0/16");
        assert!(networks_from_config(&json!({"spec": {"serviceNetwork": ["x"]}})).is_err());
    }
}
