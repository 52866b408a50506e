//! Neutron v2.0 calls the tool makes, with typed answers.
//!
//! Only the fields the tool reads are declared; unknown fields are ignored.
//! Lists follow pagination; mutating calls return an [`Outcome`] with the
//! status they got. Create calls exist for tests and for seeding scenarios
//! into real services.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Error;
use super::client::{OpenStack, Outcome, Query, Service};

const N: Service = Service::Network;

/// A Neutron network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub status: String,
    pub mtu: Option<u32>,
    #[serde(rename = "provider:network_type")]
    pub network_type: Option<String>,
    #[serde(rename = "router:external")]
    pub router_external: Option<bool>,
    pub port_security_enabled: Option<bool>,
    pub subnets: Vec<String>,
    pub tags: Vec<String>,
}

/// A Neutron subnet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub cidr: String,
    pub ip_version: u8,
    pub gateway_ip: Option<String>,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    pub subnetpool_id: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub tags: Vec<String>,
}

/// One fixed IP of a port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

/// A Neutron port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub description: String,
    pub network_id: String,
    pub device_owner: String,
    pub device_id: String,
    pub mac_address: String,
    pub status: String,
    pub fixed_ips: Vec<FixedIp>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: Option<bool>,
    #[serde(rename = "binding:vnic_type")]
    pub vnic_type: Option<String>,
    pub tags: Vec<String>,
}

/// One subport of a trunk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubPort {
    pub port_id: String,
    pub segmentation_type: String,
    pub segmentation_id: u32,
}

/// A Neutron trunk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trunk {
    pub id: String,
    pub name: String,
    pub description: String,
    pub port_id: String,
    pub status: String,
    pub sub_ports: Vec<SubPort>,
    pub tags: Vec<String>,
}

/// A Neutron router.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Router {
    pub id: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub external_gateway_info: Option<Value>,
    pub tags: Vec<String>,
}

/// The answer of add/remove_router_interface.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouterInterface {
    pub id: String,
    pub port_id: String,
    pub subnet_id: String,
    pub subnet_ids: Vec<String>,
    pub network_id: String,
}

/// A subnet pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubnetPool {
    pub id: String,
    pub name: String,
    pub description: String,
    pub prefixes: Vec<String>,
    /// Real Neutron answers this as a string (`"23"`), the API reference as a number.
    #[serde(deserialize_with = "lenient_u32")]
    pub default_prefixlen: Option<u32>,
    pub tags: Vec<String>,
}

/// A security group rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    pub description: Option<String>,
}

/// A security group with its rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub stateful: Option<bool>,
    pub security_group_rules: Vec<SecurityGroupRule>,
    pub tags: Vec<String>,
}

/// A floating IP.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FloatingIp {
    pub id: String,
    pub floating_ip_address: String,
    pub floating_network_id: String,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub description: String,
    pub status: String,
    pub tags: Vec<String>,
}

/// IP availability of one subnet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubnetIpAvailability {
    pub subnet_id: String,
    pub subnet_name: String,
    pub cidr: String,
    pub ip_version: u8,
    #[serde(deserialize_with = "address_count")]
    pub total_ips: u128,
    #[serde(deserialize_with = "address_count")]
    pub used_ips: u128,
}

/// IP availability of a network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkIpAvailability {
    pub network_id: String,
    pub network_name: String,
    #[serde(deserialize_with = "address_count")]
    pub total_ips: u128,
    #[serde(deserialize_with = "address_count")]
    pub used_ips: u128,
    pub subnet_ip_availability: Vec<SubnetIpAvailability>,
}

/// An API extension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extension {
    pub alias: String,
    pub name: String,
}

/// Reads an address count: real Neutron answers an IPv6 /64's 2^64 as a
/// float (`1.8446744073709552e+19`), which a `u64` refuses.
pub(crate) fn address_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
    let v = serde_json::Number::deserialize(d)?;
    if let Some(n) = v.as_u64() {
        return Ok(u128::from(n));
    }
    match v.as_f64() {
        Some(f) if f >= 0.0 && f.is_finite() => Ok(f as u128),
        _ => Err(serde::de::Error::custom(format!(
            "expected an address count, got {v}"
        ))),
    }
}

/// Reads an optional number given as a number or a string.
fn lenient_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_u64().map(|n| n as u32)),
        Some(Value::String(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a number, got {other}"
        ))),
    }
}

/// Returns the JSON list of `{"port_id": …}` for remove_subports.
fn port_ids(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "port_id": id })).collect())
}

macro_rules! crud {
    ($ty:ty, $coll:literal, $one:literal, $list:ident, $get:ident, $create:ident, $delete:ident) => {
        impl OpenStack {
            #[doc = concat!("Lists ", $coll, " (all pages) matching the query.")]
            pub async fn $list(&self, query: &Query) -> Result<Vec<$ty>, Error> {
                self.list(N, concat!("/", $coll), $coll, query).await
            }

            #[doc = concat!("Returns one of the ", $coll, ".")]
            pub async fn $get(&self, id: &str) -> Result<$ty, Error> {
                self.get_one(N, &format!(concat!("/", $coll, "/{}"), id), $one).await
            }

            #[doc = concat!("Creates one of the ", $coll, " from the fields of `body` (the inner object).")]
            pub async fn $create(&self, body: Value) -> Result<Outcome<$ty>, Error> {
                self.write_one(N, Method::POST, concat!("/", $coll), $one, body).await
            }

            #[doc = concat!("Deletes one of the ", $coll, " (204).")]
            pub async fn $delete(&self, id: &str) -> Result<Outcome<()>, Error> {
                self.call_empty(N, Method::DELETE, &format!(concat!("/", $coll, "/{}"), id), None).await
            }
        }
    };
}

crud!(
    Network,
    "networks",
    "network",
    list_networks,
    get_network,
    create_network,
    delete_network
);
crud!(
    Subnet,
    "subnets",
    "subnet",
    list_subnets,
    get_subnet,
    create_subnet,
    delete_subnet
);
crud!(
    Port,
    "ports",
    "port",
    list_ports,
    get_port,
    create_port,
    delete_port
);
crud!(
    Trunk,
    "trunks",
    "trunk",
    list_trunks,
    get_trunk,
    create_trunk,
    delete_trunk
);
crud!(
    Router,
    "routers",
    "router",
    list_routers,
    get_router,
    create_router,
    delete_router
);
crud!(
    SubnetPool,
    "subnetpools",
    "subnetpool",
    list_subnetpools,
    get_subnetpool,
    create_subnetpool,
    delete_subnetpool
);
crud!(
    SecurityGroup,
    "security-groups",
    "security_group",
    list_security_groups,
    get_security_group,
    create_security_group,
    delete_security_group
);
crud!(
    SecurityGroupRule,
    "security-group-rules",
    "security_group_rule",
    list_security_group_rules,
    get_security_group_rule,
    create_security_group_rule,
    delete_security_group_rule
);
crud!(
    FloatingIp,
    "floatingips",
    "floatingip",
    list_floating_ips,
    get_floating_ip,
    create_floating_ip,
    delete_floating_ip
);

impl OpenStack {
    /// Returns a trunk's subports (`GET /trunks/{id}/get_subports`).
    pub async fn get_subports(&self, trunk_id: &str) -> Result<Vec<SubPort>, Error> {
        self.get_one(N, &format!("/trunks/{trunk_id}/get_subports"), "sub_ports")
            .await
    }

    /// Adds subports to a trunk.
    pub async fn add_subports(
        &self,
        trunk_id: &str,
        sub_ports: &[SubPort],
    ) -> Result<Outcome<Trunk>, Error> {
        let body = json!({ "sub_ports": sub_ports });
        let out: Outcome<Trunk> = self
            .call(
                N,
                Method::PUT,
                &format!("/trunks/{trunk_id}/add_subports"),
                &Query::new(),
                Some(&body),
            )
            .await?;
        Ok(out)
    }

    /// Removes subports (by port ID) from a trunk.
    pub async fn remove_subports(
        &self,
        trunk_id: &str,
        port_ids_: &[&str],
    ) -> Result<Outcome<Trunk>, Error> {
        let body = json!({ "sub_ports": port_ids(port_ids_) });
        self.call(
            N,
            Method::PUT,
            &format!("/trunks/{trunk_id}/remove_subports"),
            &Query::new(),
            Some(&body),
        )
        .await
    }

    /// Attaches a subnet or port to a router; `by` is `subnet_id` or `port_id`.
    pub async fn add_router_interface(
        &self,
        router_id: &str,
        by: &str,
        id: &str,
    ) -> Result<Outcome<RouterInterface>, Error> {
        let body = json!({ by: id });
        self.call(
            N,
            Method::PUT,
            &format!("/routers/{router_id}/add_router_interface"),
            &Query::new(),
            Some(&body),
        )
        .await
    }

    /// Detaches a subnet or port from a router; `by` is `subnet_id` or `port_id`. 404 when absent.
    pub async fn remove_router_interface(
        &self,
        router_id: &str,
        by: &str,
        id: &str,
    ) -> Result<Outcome<RouterInterface>, Error> {
        let body = json!({ by: id });
        self.call(
            N,
            Method::PUT,
            &format!("/routers/{router_id}/remove_router_interface"),
            &Query::new(),
            Some(&body),
        )
        .await
    }

    /// Replaces every tag of a resource (`resource` is the collection, e.g. `networks`).
    pub async fn replace_tags(
        &self,
        resource: &str,
        id: &str,
        tags: &[&str],
    ) -> Result<Outcome<Vec<String>>, Error> {
        #[derive(Deserialize)]
        struct Tags {
            tags: Vec<String>,
        }
        let out: Outcome<Tags> = self
            .call(
                N,
                Method::PUT,
                &format!("/{resource}/{id}/tags"),
                &Query::new(),
                Some(&json!({ "tags": tags })),
            )
            .await?;
        Ok(Outcome {
            status: out.status,
            value: out.value.tags,
        })
    }

    /// Adds one tag to a resource.
    pub async fn add_tag(&self, resource: &str, id: &str, tag: &str) -> Result<Outcome<()>, Error> {
        self.call_empty(
            N,
            Method::PUT,
            &format!("/{resource}/{id}/tags/{tag}"),
            None,
        )
        .await
    }

    /// Returns the IP availability of a network.
    pub async fn get_network_ip_availability(
        &self,
        network_id: &str,
    ) -> Result<NetworkIpAvailability, Error> {
        self.get_one(
            N,
            &format!("/network-ip-availabilities/{network_id}"),
            "network_ip_availability",
        )
        .await
    }

    /// Lists IP availability of every network (matching the query).
    pub async fn list_network_ip_availabilities(
        &self,
        query: &Query,
    ) -> Result<Vec<NetworkIpAvailability>, Error> {
        self.list(
            N,
            "/network-ip-availabilities",
            "network_ip_availabilities",
            query,
        )
        .await
    }

    /// Lists the enabled API extensions.
    pub async fn list_extensions(&self) -> Result<Vec<Extension>, Error> {
        self.list(N, "/extensions", "extensions", &Query::new())
            .await
    }

    /// Updates fields of a resource (`PUT /<resource>/<id>` with `{one: fields}`), e.g. a subnet's DNS servers.
    pub async fn update(
        &self,
        resource: &str,
        one: &str,
        id: &str,
        fields: Value,
    ) -> Result<Outcome<Value>, Error> {
        self.write_one(N, Method::PUT, &format!("/{resource}/{id}"), one, fields)
            .await
    }
}

#[cfg(test)]
mod address_count_tests {
    use super::NetworkIpAvailability;

    #[test]
    fn an_ipv6_64_counted_as_a_float_is_read() {
        let v: NetworkIpAvailability = serde_json::from_str(
            r#"{"network_id":"n","total_ips":1.8446744073709552e+19,"used_ips":3,
                "subnet_ip_availability":[{"subnet_id":"s","ip_version":6,
                "total_ips":1.8446744073709552e+19,"used_ips":3}]}"#,
        )
        .unwrap();
        assert_eq!(v.total_ips, 1u128 << 64);
        assert_eq!(v.subnet_ip_availability[0].total_ips, 1u128 << 64);
        assert_eq!(v.used_ips, 3);
        assert!(serde_json::from_str::<NetworkIpAvailability>(r#"{"total_ips":-1}"#).is_err());
    }
}
