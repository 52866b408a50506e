//! The deployment settings the checks compare against, and where each came from.
//!
//! MOSK configures Neutron through the OpenStackDeployment
//! (`lcm.mirantis.com/v1alpha1`, namespace `openstack`), so a value set there
//! is the one Neutron runs with: it wins. A value the CR does not set comes
//! from the matching flag (`--global-physnet-mtu`, `--path-mtu`,
//! `--max-header-size`, `--overlay-ip-version`, `--tenant-network-types`,
//! `--dhcp-lease-duration`), else from Neutron's default where Neutron has one
//! that applies. A flag the CR overrides is not dropped silently: it is named
//! in [`Settings::notes`]. The tenant network types and the lease duration
//! have no safe default when neither the CR nor a flag gives them: they stay
//! unknown and their checks fail saying so.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mtu::{DEFAULT_GLOBAL_PHYSNET_MTU, MIN_GENEVE_HEADER, Mtu};

/// Neutron's default `dhcp_lease_duration`, in seconds.
pub const NEUTRON_DEFAULT_LEASE_S: u64 = 86_400;
/// The lease duration the migration needs, in seconds (72 h).
pub const REQUIRED_LEASE_S: u64 = 259_200;

/// Path of Neutron's `values.conf` in the CR.
const CONF: &[&str] = &[
    "spec",
    "services",
    "networking",
    "neutron",
    "values",
    "conf",
];

/// The values given on the command line; `None` when a flag was not given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub global_physnet_mtu: Option<u32>,
    pub path_mtu: Option<u32>,
    pub overlay_ip_version: Option<u8>,
    pub max_header_size: Option<u32>,
    pub tenant_network_types: Option<Vec<String>>,
    pub dhcp_lease_duration: Option<u64>,
}

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// The OpenStackDeployment, at this path.
    Deployment(String),
    /// A command-line flag.
    Flag(String),
    /// Neutron's (or OVN's) default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Deployment(path) => write!(f, "OpenStackDeployment {path}"),
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The settings of one assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The MTU inputs.
    pub mtu: Mtu,
    /// Where each MTU input came from: physnet, path, overlay IP version, header size.
    pub mtu_sources: [Source; 4],
    /// `[ml2] tenant_network_types`; `None`: unknown.
    pub tenant_network_types: Option<Sourced<Vec<String>>>,
    /// `dhcp_lease_duration` in seconds; `None`: unknown.
    pub dhcp_lease_duration: Option<Sourced<u64>>,
    /// `features.neutron.dns_servers` of the CR (for the later DNS fix).
    pub dns_servers: Vec<String>,
    /// `namespace/name` of the OpenStackDeployment read, if any.
    pub deployment: Option<String>,
    /// Flags that the CR overrode, and other things the user should know.
    pub notes: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::resolve(None, &Flags::default())
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .filter(|v| !v.is_null())
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        Value::String(s) => Some(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        _ => None,
    }
}

/// Returns the first of `paths` (under the CR) that holds a value, with its dotted path.
fn find<'a>(cr: &'a Value, paths: &[Vec<&str>]) -> Option<(&'a Value, String)> {
    paths
        .iter()
        .find_map(|p| at(cr, p).map(|v| (v, p.join("."))))
}

fn conf(rest: &[&'static str]) -> Vec<&'static str> {
    CONF.iter().chain(rest).copied().collect()
}

impl Settings {
    /// Resolves the settings from the CR (if one was read) and the flags.
    pub fn resolve(cr: Option<&Value>, flags: &Flags) -> Settings {
        let mut notes = Vec::new();
        let deployment = cr.map(|c| {
            format!(
                "{}/{}",
                c["metadata"]["namespace"].as_str().unwrap_or("openstack"),
                c["metadata"]["name"].as_str().unwrap_or("?")
            )
        });
        let from_cr = |paths: &[Vec<&str>]| cr.and_then(|c| find(c, paths));
        // One numeric setting: CR, else flag, else default.
        let mut pick = |paths: Vec<Vec<&str>>, flag: Option<u64>, flag_name: &str, default: u64| {
            let found = from_cr(&paths);
            if let Some((v, path)) = &found
                && number(v).is_none()
            {
                notes.push(format!(
                    "the OpenStackDeployment's {path} = {v} is not a number: ignored"
                ));
            }
            match (found, flag) {
                (Some((v, path)), f) if number(v).is_some() => {
                    let value = number(v).unwrap_or(default);
                    if let Some(f) = f.filter(|f| *f != value) {
                        notes.push(format!(
                            "{flag_name} {f} ignored: the OpenStackDeployment sets {path} = {value}"
                        ));
                    }
                    (value, Source::Deployment(path))
                }
                (_, Some(f)) => (f, Source::Flag(flag_name.to_string())),
                _ => (default, Source::Default),
            }
        };
        let (physnet, s1) = pick(
            vec![conf(&["neutron", "DEFAULT", "global_physnet_mtu"])],
            flags.global_physnet_mtu.map(u64::from),
            "--global-physnet-mtu",
            u64::from(DEFAULT_GLOBAL_PHYSNET_MTU),
        );
        let (path_mtu, s2) = pick(
            vec![conf(&["plugins", "ml2_conf", "ml2", "path_mtu"])],
            flags.path_mtu.map(u64::from),
            "--path-mtu",
            0,
        );
        let (ipv, s3) = pick(
            vec![conf(&["plugins", "ml2_conf", "ml2", "overlay_ip_version"])],
            flags.overlay_ip_version.map(u64::from),
            "--overlay-ip-version",
            4,
        );
        let (header, s4) = pick(
            vec![conf(&[
                "plugins",
                "ml2_conf",
                "ml2_type_geneve",
                "max_header_size",
            ])],
            flags.max_header_size.map(u64::from),
            "--max-header-size",
            u64::from(MIN_GENEVE_HEADER),
        );
        let lease_paths = vec![
            conf(&["dhcp_agent", "DEFAULT", "dhcp_lease_duration"]),
            conf(&["neutron", "DEFAULT", "dhcp_lease_duration"]),
        ];
        let dhcp_lease_duration = match (from_cr(&lease_paths), flags.dhcp_lease_duration) {
            (Some((v, path)), f) if number(v).is_some() => {
                let value = number(v).unwrap_or_default();
                if let Some(f) = f.filter(|f| *f != value) {
                    notes.push(format!(
                        "--dhcp-lease-duration {f} ignored: the OpenStackDeployment sets {path} = {value}"
                    ));
                }
                Some(Sourced {
                    value,
                    source: Source::Deployment(path),
                })
            }
            (_, Some(f)) => Some(Sourced {
                value: f,
                source: Source::Flag("--dhcp-lease-duration".into()),
            }),
            // The CR configures Neutron: a lease it does not set is Neutron's default.
            (None, None) if cr.is_some() => Some(Sourced {
                value: NEUTRON_DEFAULT_LEASE_S,
                source: Source::Default,
            }),
            _ => None,
        };
        let types_paths = vec![
            vec!["spec", "features", "neutron", "tenant_network_types"],
            conf(&["plugins", "ml2_conf", "ml2", "tenant_network_types"]),
        ];
        let tenant_network_types = match (
            from_cr(&types_paths).and_then(|(v, p)| list(v).map(|l| (l, p))),
            &flags.tenant_network_types,
        ) {
            (Some((value, path)), f) => {
                if let Some(f) = f.as_ref().filter(|f| **f != value) {
                    notes.push(format!(
                        "--tenant-network-types {} ignored: the OpenStackDeployment sets {path} = {}",
                        f.join(","),
                        value.join(",")
                    ));
                }
                Some(Sourced {
                    value,
                    source: Source::Deployment(path),
                })
            }
            (None, Some(f)) => Some(Sourced {
                value: f.clone(),
                source: Source::Flag("--tenant-network-types".into()),
            }),
            (None, None) => None,
        };
        let dns_servers = cr
            .and_then(|c| at(c, &["spec", "features", "neutron", "dns_servers"]))
            .and_then(list)
            .unwrap_or_default();
        Settings {
            mtu: Mtu {
                global_physnet_mtu: physnet as u32,
                path_mtu: path_mtu as u32,
                overlay_ip_version: ipv as u8,
                max_header_size: header as u32,
            },
            mtu_sources: [s1, s2, s3, s4],
            tenant_network_types,
            dhcp_lease_duration,
            dns_servers,
            deployment,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cr() -> Value {
        json!({"metadata": {"name": "osh-dev", "namespace": "openstack"}, "spec": {
            "features": {"neutron": {"tenant_network_types": ["vxlan"], "dns_servers": ["10.0.0.53"]}},
            "services": {"networking": {"neutron": {"values": {"conf": {
                "neutron": {"DEFAULT": {"global_physnet_mtu": 9000}},
                "plugins": {"ml2_conf": {"ml2": {"path_mtu": "1600"}, "ml2_type_geneve": {"max_header_size": 38}}},
                "dhcp_agent": {"DEFAULT": {"dhcp_lease_duration": 600}}}}}}}}})
    }

    #[test]
    fn the_deployment_wins_and_overridden_flags_are_noted() {
        let flags = Flags {
            global_physnet_mtu: Some(1500),
            max_header_size: Some(38),
            tenant_network_types: Some(vec!["geneve".into()]),
            ..Flags::default()
        };
        let s = Settings::resolve(Some(&cr()), &flags);
        assert_eq!(s.mtu.global_physnet_mtu, 9000);
        assert_eq!(s.mtu.path_mtu, 1600);
        assert_eq!(s.mtu.geneve(), 1600 - 20 - 38);
        assert_eq!(
            s.tenant_network_types.as_ref().unwrap().value,
            vec!["vxlan"]
        );
        assert_eq!(s.dhcp_lease_duration.as_ref().unwrap().value, 600);
        assert_eq!(s.dns_servers, vec!["10.0.0.53"]);
        assert_eq!(s.deployment.as_deref(), Some("openstack/osh-dev"));
        // The same value as the CR is not worth a note; a different one is.
        assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
        assert!(s.notes[0].starts_with("--global-physnet-mtu 1500 ignored"));
        assert!(s.notes[1].contains("tenant_network_types"));
        assert!(
            matches!(&s.mtu_sources[0], Source::Deployment(p) if p.ends_with("global_physnet_mtu"))
        );
    }

    #[test]
    fn flags_fill_what_the_deployment_does_not_set() {
        let mut c = cr();
        c["spec"]["services"]["networking"]["neutron"]["values"]["conf"]
            .as_object_mut()
            .unwrap()
            .remove("dhcp_agent");
        let s = Settings::resolve(Some(&c), &Flags::default());
        // Without the key and without a flag, Neutron's default applies under a CR.
        let lease = s.dhcp_lease_duration.unwrap();
        assert_eq!(
            (lease.value, lease.source),
            (NEUTRON_DEFAULT_LEASE_S, Source::Default)
        );
        let s = Settings::resolve(
            Some(&c),
            &Flags {
                dhcp_lease_duration: Some(259_200),
                overlay_ip_version: Some(6),
                ..Flags::default()
            },
        );
        assert_eq!(s.dhcp_lease_duration.unwrap().value, 259_200);
        assert_eq!(s.mtu.overlay_ip_version, 6);
        assert_eq!(
            s.mtu_sources[2],
            Source::Flag("--overlay-ip-version".into())
        );
    }

    #[test]
    fn without_a_deployment_unknowns_stay_unknown() {
        let s = Settings::resolve(None, &Flags::default());
        assert_eq!(s.mtu, Mtu::default());
        assert!(s.tenant_network_types.is_none());
        assert!(s.dhcp_lease_duration.is_none());
        assert!(s.deployment.is_none() && s.notes.is_empty());
        let s = Settings::resolve(
            None,
            &Flags {
                tenant_network_types: Some(vec!["geneve".into()]),
                max_header_size: Some(50),
                ..Flags::default()
            },
        );
        assert_eq!(s.tenant_network_types.unwrap().value, vec!["geneve"]);
        assert_eq!(s.mtu.geneve(), 1430);
    }

    #[test]
    fn ml2_string_lists_and_bad_numbers() {
        let c = json!({"metadata": {"name": "x"}, "spec": {"services": {"networking": {"neutron": {"values": {"conf": {
            "plugins": {"ml2_conf": {"ml2": {"tenant_network_types": "vxlan, geneve", "path_mtu": "abc"}}}}}}}}}});
        let s = Settings::resolve(Some(&c), &Flags::default());
        assert_eq!(
            s.tenant_network_types.unwrap().value,
            vec!["vxlan", "geneve"]
        );
        // A value that is not a number is not used, and the user is told.
        assert_eq!((s.mtu.path_mtu, &s.mtu_sources[1]), (0, &Source::Default));
        assert_eq!(s.notes.len(), 1);
        assert!(
            s.notes[0].contains("path_mtu = \"abc\" is not a number"),
            "{:?}",
            s.notes
        );
    }
}
