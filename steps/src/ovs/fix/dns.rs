//! Gives a DHCP subnet `dns_nameservers` (`subnets_without_dns_nameservers_check`).
//!
//! OVN does not forward DNS as the DHCP agents' dnsmasq did, so a subnet
//! needs explicit servers before the migration. The servers come from the
//! OpenStackDeployment (`features.neutron.dns_servers`) or `--dns`, only
//! those of the subnet's IP version (Neutron refuses the others). The PUT
//! sets the whole list, so sending it again changes nothing; the operation
//! is done as soon as the subnet has servers, whoever set them: a list an
//! operator set meanwhile is never overwritten.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Change, FixCx, os_err, spec};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};

/// Set one subnet's DNS servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDns {
    /// The check this remedies.
    pub check: String,
    pub subnet_id: String,
    pub cidr: String,
    /// The servers to set (of the subnet's IP version).
    pub servers: Vec<String>,
}

/// What the step reads of the subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsObservation {
    /// False when the subnet is gone (404).
    pub exists: bool,
    pub dns_nameservers: Vec<String>,
}

/// What an intent records: the list before and the list sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsParams {
    pub before: Vec<String>,
    pub servers: Vec<String>,
}

impl SetDns {
    /// Returns the operation's journal spec.
    pub fn op_spec(&self) -> OperationSpec {
        spec(
            format!("ovs-fix/dns/{}", self.subnet_id),
            "dns",
            "set-dns-nameservers",
            format!("subnets/{}", self.subnet_id),
        )
    }

    /// Returns the change for a dry run.
    pub fn change(&self) -> Change {
        Change {
            op: self.op_spec().op.0,
            check: self.check.clone(),
            object: format!("subnets/{} ({})", self.subnet_id, self.cidr),
            field: "dns_nameservers".into(),
            before: "[]".into(),
            after: format!("[{}]", self.servers.join(", ")),
        }
    }
}

impl Step for SetDns {
    type Cx = FixCx;
    type Observation = DnsObservation;

    fn spec(&self) -> OperationSpec {
        self.op_spec()
    }

    fn group(&self) -> Option<String> {
        Some("dns".into())
    }

    async fn observe(&self, cx: &FixCx) -> Result<DnsObservation, StepError> {
        match cx.openstack.get_subnet(&self.subnet_id).await {
            Ok(s) => Ok(DnsObservation {
                exists: true,
                dns_nameservers: s.dns_nameservers,
            }),
            Err(e) if e.is_not_found() => Ok(DnsObservation {
                exists: false,
                dns_nameservers: Vec::new(),
            }),
            Err(e) => Err(os_err("read the subnet", e)),
        }
    }
}

impl Effect for SetDns {
    type Params = DnsParams;

    fn params(&self, o: &DnsObservation) -> DnsParams {
        DnsParams {
            before: o.dns_nameservers.clone(),
            servers: self.servers.clone(),
        }
    }

    fn classify(&self, o: &DnsObservation, _intent: Option<&DnsParams>) -> Verdict {
        if !o.exists {
            return Verdict::Done(format!(
                "subnet {} no longer exists: nothing to set",
                self.subnet_id
            ));
        }
        if o.dns_nameservers.is_empty() {
            Verdict::NotDone("the subnet has no dns_nameservers".into())
        } else {
            Verdict::Done(format!(
                "the subnet has dns_nameservers [{}]",
                o.dns_nameservers.join(", ")
            ))
        }
    }

    async fn act(&self, cx: &FixCx, p: &DnsParams) -> Result<Applied, StepError> {
        let out = cx
            .openstack
            .update(
                "subnets",
                "subnet",
                &self.subnet_id,
                json!({ "dns_nameservers": p.servers }),
            )
            .await
            .map_err(|e| os_err("set the subnet's dns_nameservers", e))?;
        Ok(Applied {
            http_status: Some(out.status),
            observed: json!({
                "subnet_id": self.subnet_id,
                "dns_nameservers": out.value["dns_nameservers"],
            }),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> SetDns {
        SetDns {
            check: "subnets_without_dns_nameservers_check".into(),
            subnet_id: "s-1".into(),
            cidr: "10.0.0.0/24".into(),
            servers: vec!["192.0.2.53".into()],
        }
    }

    fn seen(dns: &[&str]) -> DnsObservation {
        DnsObservation {
            exists: true,
            dns_nameservers: dns.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn done_when_the_subnet_has_servers_whoever_set_them() {
        let s = sample();
        assert!(matches!(s.classify(&seen(&[]), None), Verdict::NotDone(_)));
        assert_eq!(
            s.params(&seen(&[])),
            DnsParams {
                before: vec![],
                servers: vec!["192.0.2.53".into()]
            }
        );
        let p = s.params(&seen(&[]));
        assert!(matches!(
            s.classify(&seen(&["192.0.2.53"]), Some(&p)),
            Verdict::Done(_)
        ));
        // An operator's own list counts and is never overwritten.
        assert!(matches!(
            s.classify(&seen(&["198.51.100.1"]), None),
            Verdict::Done(_)
        ));
        let gone = DnsObservation {
            exists: false,
            dns_nameservers: vec![],
        };
        assert!(matches!(s.classify(&gone, Some(&p)), Verdict::Done(_)));
        assert_eq!(s.change().after, "[192.0.2.53]");
    }
}
