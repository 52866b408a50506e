//! The inventory: every OpenStack fact the readiness checks read, typed.
//!
//! One [`Inventory`] is collected once per assessment (`collect.rs`) and every
//! check is a pure function of it and the [`super::Settings`]. Each type
//! declares only the fields a check reads; [`FIELDS`] lists them per
//! collection, so collection asks Neutron for exactly those (`fields=`). The
//! types are `Serialize + Deserialize` in plain shapes (no flatten, no
//! skipping), so a later journaled `assess` can record the inventory as its
//! observation. Parts that could not be read are kept as [`Part::Unavailable`]
//! with the reason, and the checks that need them fail with it instead of
//! passing on missing data.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A Neutron network: provider attributes and MTU.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// The owner (`ovs fix --project` fixes only one project's objects).
    pub project_id: String,
    pub mtu: Option<u32>,
    #[serde(rename = "provider:network_type")]
    pub network_type: Option<String>,
    #[serde(rename = "provider:physical_network")]
    pub physical_network: Option<String>,
    #[serde(rename = "router:external")]
    pub router_external: Option<bool>,
    pub tags: Vec<String>,
}

/// A Neutron subnet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subnet {
    pub id: String,
    /// The owner.
    pub project_id: String,
    pub network_id: String,
    pub cidr: String,
    pub ip_version: u8,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    pub ipv6_address_mode: Option<String>,
}

/// One fixed IP of a port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

/// A Neutron port: owner, binding, port security and fixed IPs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Port {
    pub id: String,
    /// The owner.
    pub project_id: String,
    pub network_id: String,
    pub device_owner: String,
    pub device_id: String,
    pub fixed_ips: Vec<FixedIp>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: Option<bool>,
    #[serde(rename = "binding:vnic_type")]
    pub vnic_type: Option<String>,
}

/// A security group (its rules are listed separately, see [`SecurityGroupRule`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    /// The owner.
    pub project_id: String,
    /// `None` when the `stateful-security-group` extension is absent (then stateful).
    pub stateful: Option<bool>,
}

/// A security group rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupRule {
    pub id: String,
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u32>,
    pub port_range_max: Option<u32>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub remote_address_group_id: Option<String>,
}

/// An address group: CIDRs a rule may name as its remote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressGroup {
    pub id: String,
    pub addresses: Vec<String>,
}

/// A router's external gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayInfo {
    pub network_id: String,
}

/// A Neutron router (its interfaces are the ports whose `device_id` it is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub external_gateway_info: Option<GatewayInfo>,
}

/// A floating IP and the port holding it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FloatingIp {
    pub id: String,
    pub floating_ip_address: String,
    pub port_id: Option<String>,
}

/// IP availability of one subnet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubnetAvailability {
    pub subnet_id: String,
    pub ip_version: u8,
    #[serde(deserialize_with = "crate::openstack::neutron::address_count")]
    pub total_ips: u128,
    #[serde(deserialize_with = "crate::openstack::neutron::address_count")]
    pub used_ips: u128,
}

/// IP availability of one network (Neutron's `network-ip-availabilities`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAvailability {
    pub network_id: String,
    #[serde(deserialize_with = "crate::openstack::neutron::address_count")]
    pub total_ips: u128,
    #[serde(deserialize_with = "crate::openstack::neutron::address_count")]
    pub used_ips: u128,
    pub subnet_ip_availability: Vec<SubnetAvailability>,
}

/// A Neutron API extension.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extension {
    pub alias: String,
}

/// A Nova compute service (one per compute host).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComputeService {
    pub host: String,
    /// `up` or `down`.
    pub state: String,
    /// `enabled` or `disabled`.
    pub status: String,
}

/// A Nova server carrying the canary tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    pub host: Option<String>,
    pub tags: Vec<String>,
}

/// One part of the inventory: read, or not readable (with why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part<T> {
    /// What the service answered.
    Read(T),
    /// The service could not be read; the message says why.
    Unavailable(String),
}

impl<T> Part<T> {
    /// Returns the value, or the reason it is missing.
    pub fn get(&self) -> Result<&T, String> {
        match self {
            Part::Read(v) => Ok(v),
            Part::Unavailable(why) => Err(why.clone()),
        }
    }
}

impl<T: Default> Default for Part<T> {
    fn default() -> Self {
        Part::Read(T::default())
    }
}

/// Everything the checks read from Neutron and Nova.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub networks: Vec<Network>,
    pub subnets: Vec<Subnet>,
    pub ports: Vec<Port>,
    pub security_groups: Vec<SecurityGroup>,
    pub security_group_rules: Vec<SecurityGroupRule>,
    /// Unavailable when the `address-group` extension is absent.
    pub address_groups: Part<Vec<AddressGroup>>,
    pub routers: Vec<Router>,
    pub floating_ips: Vec<FloatingIp>,
    /// Unavailable when the `network-ip-availability` extension is absent.
    pub ip_availabilities: Part<Vec<NetworkAvailability>>,
    pub extensions: Vec<Extension>,
    /// Unavailable when Nova is not in the catalog or refuses.
    pub compute_services: Part<Vec<ComputeService>>,
    /// Servers tagged as canaries ([`CANARY_TAG`]).
    pub canaries: Part<Vec<Server>>,
}

/// The tag MOSK's prober canaries carry.
pub const CANARY_TAG: &str = "openstack.lcm.mirantis.com:prober";

/// The fields each Neutron collection is asked for (`fields=`); `id` first.
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "networks",
        &[
            "id",
            "name",
            "project_id",
            "mtu",
            "provider:network_type",
            "provider:physical_network",
            "router:external",
            "tags",
        ],
    ),
    (
        "subnets",
        &[
            "id",
            "project_id",
            "network_id",
            "cidr",
            "ip_version",
            "enable_dhcp",
            "dns_nameservers",
            "ipv6_address_mode",
        ],
    ),
    (
        "ports",
        &[
            "id",
            "project_id",
            "network_id",
            "device_owner",
            "device_id",
            "fixed_ips",
            "security_groups",
            "port_security_enabled",
            "binding:vnic_type",
        ],
    ),
    ("security-groups", &["id", "name", "project_id", "stateful"]),
    (
        "security-group-rules",
        &[
            "id",
            "security_group_id",
            "direction",
            "ethertype",
            "protocol",
            "port_range_min",
            "port_range_max",
            "remote_ip_prefix",
            "remote_group_id",
            "remote_address_group_id",
        ],
    ),
    ("address-groups", &["id", "addresses"]),
    ("routers", &["id", "name", "external_gateway_info"]),
    ("floatingips", &["id", "floating_ip_address", "port_id"]),
    (
        "network-ip-availabilities",
        &[
            "network_id",
            "total_ips",
            "used_ips",
            "subnet_ip_availability",
        ],
    ),
];

/// Returns the `fields=` list of a collection (empty for one not in [`FIELDS`]).
pub fn fields_of(collection: &str) -> &'static [&'static str] {
    FIELDS
        .iter()
        .find(|(c, _)| *c == collection)
        .map_or(&[], |(_, f)| f)
}

/// Device owners of a router's interfaces on its internal networks.
pub const ROUTER_INTERFACE_OWNERS: &[&str] = &[
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
];

/// Device owner of a router's gateway port.
pub const ROUTER_GATEWAY_OWNER: &str = "network:router_gateway";

/// Lookups over an inventory, built once for all checks.
pub struct Index<'a> {
    pub inv: &'a Inventory,
    pub networks: BTreeMap<&'a str, &'a Network>,
    pub subnets: BTreeMap<&'a str, &'a Subnet>,
    /// Subnets of each network.
    pub subnets_of: BTreeMap<&'a str, Vec<&'a Subnet>>,
    /// Ports of each network.
    pub ports_of: BTreeMap<&'a str, Vec<&'a Port>>,
    /// Ports with a fixed IP in each subnet.
    pub ports_in_subnet: BTreeMap<&'a str, Vec<&'a Port>>,
    pub groups: BTreeMap<&'a str, &'a SecurityGroup>,
    /// Rules of each security group.
    pub rules_of: BTreeMap<&'a str, Vec<&'a SecurityGroupRule>>,
    /// Ports with a floating IP.
    pub ports_with_fip: BTreeSet<&'a str>,
}

impl<'a> Index<'a> {
    /// Builds the lookups.
    pub fn new(inv: &'a Inventory) -> Self {
        let mut ix = Index {
            inv,
            networks: inv.networks.iter().map(|n| (n.id.as_str(), n)).collect(),
            subnets: inv.subnets.iter().map(|s| (s.id.as_str(), s)).collect(),
            subnets_of: BTreeMap::new(),
            ports_of: BTreeMap::new(),
            ports_in_subnet: BTreeMap::new(),
            groups: inv
                .security_groups
                .iter()
                .map(|g| (g.id.as_str(), g))
                .collect(),
            rules_of: BTreeMap::new(),
            ports_with_fip: inv
                .floating_ips
                .iter()
                .filter_map(|f| f.port_id.as_deref())
                .collect(),
        };
        for s in &inv.subnets {
            ix.subnets_of
                .entry(s.network_id.as_str())
                .or_default()
                .push(s);
        }
        for p in &inv.ports {
            ix.ports_of
                .entry(p.network_id.as_str())
                .or_default()
                .push(p);
            let mut seen = BTreeSet::new();
            for ip in &p.fixed_ips {
                if seen.insert(ip.subnet_id.as_str()) {
                    ix.ports_in_subnet
                        .entry(ip.subnet_id.as_str())
                        .or_default()
                        .push(p);
                }
            }
        }
        for r in &inv.security_group_rules {
            ix.rules_of
                .entry(r.security_group_id.as_str())
                .or_default()
                .push(r);
        }
        ix
    }

    /// Returns the network's type (`vxlan`, `vlan`, …), or `""`.
    pub fn network_type(&self, network_id: &str) -> &'a str {
        self.networks
            .get(network_id)
            .and_then(|n| n.network_type.as_deref())
            .unwrap_or("")
    }

    /// Returns the subnets of a network (none when unknown).
    pub fn subnets_of(&self, network_id: &str) -> &[&'a Subnet] {
        self.subnets_of.get(network_id).map_or(&[], Vec::as_slice)
    }

    /// Returns the ports of a network.
    pub fn ports_of(&self, network_id: &str) -> &[&'a Port] {
        self.ports_of.get(network_id).map_or(&[], Vec::as_slice)
    }

    /// Returns the ports with an IP in a subnet.
    pub fn ports_in_subnet(&self, subnet_id: &str) -> &[&'a Port] {
        self.ports_in_subnet
            .get(subnet_id)
            .map_or(&[], Vec::as_slice)
    }

    /// Returns the rules of a group.
    pub fn rules_of(&self, group_id: &str) -> &[&'a SecurityGroupRule] {
        self.rules_of.get(group_id).map_or(&[], Vec::as_slice)
    }

    /// Returns the MTUs of the networks a router has interfaces on
    /// (`with_gateway`: also its gateway network), by network ID.
    pub fn router_network_mtus(
        &self,
        router: &Router,
        with_gateway: bool,
    ) -> BTreeMap<&'a str, Option<u32>> {
        let mut out = BTreeMap::new();
        for p in &self.inv.ports {
            let internal = ROUTER_INTERFACE_OWNERS.contains(&p.device_owner.as_str());
            let gateway = p.device_owner == ROUTER_GATEWAY_OWNER;
            if p.device_id == router.id && (internal || (with_gateway && gateway)) {
                let mtu = self.networks.get(p.network_id.as_str()).and_then(|n| n.mtu);
                out.insert(p.network_id.as_str(), mtu);
            }
        }
        if with_gateway
            && let Some(gw) = &router.external_gateway_info
            && let Some((id, n)) = self.networks.get_key_value(gw.network_id.as_str())
        {
            out.insert(id, n.mtu);
        }
        out
    }
}

/// Returns true for a workload port: `device_owner` not starting with `network` or `neutron`.
pub fn is_workload(port: &Port) -> bool {
    !(port.device_owner.starts_with("network") || port.device_owner.starts_with("neutron"))
}

/// Returns true for VXLAN and GRE networks (overlays whose MTU OVN's Geneve lowers).
pub fn is_overlay(network_type: &str) -> bool {
    matches!(network_type, "vxlan" | "gre")
}

/// Returns true for provider networks the checks care about (`vlan`, `flat`).
pub fn is_provider(network_type: &str) -> bool {
    matches!(network_type, "vlan" | "flat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_real_neutron_sends_them() {
        let a: NetworkAvailability = serde_json::from_str(
            r#"{"network_id": "n", "total_ips": 1.8446744073709552e+19, "used_ips": 3,
                "subnet_ip_availability": [{"subnet_id": "s", "ip_version": 6, "total_ips": 1.8446744073709552e+19, "used_ips": 3}]}"#,
        )
        .unwrap();
        assert_eq!(a.total_ips, 1u128 << 64);
        assert_eq!(a.subnet_ip_availability[0].used_ips, 3);
        assert!(serde_json::from_str::<NetworkAvailability>(r#"{"total_ips": -1}"#).is_err());
    }
}
