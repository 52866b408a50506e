//! The step that recreates one Neutron object (subnet pool, network, subnet,
//! router, security group, port, floating IP): find it again by its
//! idempotency key, else create it, then set its tags with `PUT …/tags`
//! (Neutron Zed refuses `tags` in POST bodies except on ports).
//!
//! The key: the name, for pools, networks, routers and groups (never an
//! object that existed before the restore, nor one another old ID already
//! maps to); the network and CIDR for a subnet; the network and first fixed
//! IP for a port; the address on its floating network for a floating IP.

use std::collections::BTreeMap;

use journal::OperationSpec;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::plan::default_shaped;
use super::{RestoreCx, os_err, same_tags};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::restore::{Create, RestoreStep};
use crate::openstack::{Query, Service};

/// Creates (or finds again) one Neutron object and tags it.
pub struct CreateObject {
    pub spec: OperationSpec,
    pub group: String,
    pub step: RestoreStep,
    /// A security group's default rules to keep (see `Operation::default_rules`).
    pub default_rules: Vec<(String, String)>,
}

/// An object found by the idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub id: String,
    pub tags: Vec<String>,
    /// A floating IP's port.
    pub port_id: Option<String>,
}

/// What the step reads before deciding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// The create call's body, references resolved.
    pub body: Value,
    /// The object found again, if any.
    pub found: Option<Found>,
    /// Old → new, when found.
    pub id_map: BTreeMap<String, String>,
    /// A found security group's default rules the snapshot's group did not have.
    pub extra_rules: Vec<String>,
}

/// What the intent records: the body, the object found again (if any) and
/// what of it is already right, so a resumed act sends only what is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub body: Value,
    pub found: Option<String>,
    /// The found object has its tags.
    pub tags_ok: bool,
    /// The found floating IP is on its port.
    pub port_ok: bool,
}

/// Returns the collection and the one-object key of a create.
pub(crate) fn collection(create: &Create) -> (&'static str, &'static str) {
    match create {
        Create::SubnetPool { .. } => ("subnetpools", "subnetpool"),
        Create::Network { .. } => ("networks", "network"),
        Create::Subnet { .. } => ("subnets", "subnet"),
        Create::Router { .. } => ("routers", "router"),
        Create::SecurityGroup { .. } => ("security-groups", "security_group"),
        Create::Port { .. } => ("ports", "port"),
        Create::FloatingIp { .. } => ("floatingips", "floatingip"),
        _ => ("", ""),
    }
}

/// Returns the listing that finds the object again, from the resolved body.
fn key_query(create: &Create, body: &Value) -> Query {
    let s = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    match create {
        Create::Subnet { .. } => Query::new()
            .eq("network_id", s("network_id"))
            .eq("cidr", s("cidr")),
        Create::Port { .. } => Query::new().eq("network_id", s("network_id")),
        Create::FloatingIp { .. } => Query::new()
            .eq("floating_ip_address", s("floating_ip_address"))
            .eq("floating_network_id", s("floating_network_id")),
        _ => Query::new().eq("name", s("name")),
    }
}

/// Returns the candidates that are this step's object (pure).
pub(crate) fn candidates<'a>(
    create: &Create,
    body: &Value,
    listed: &'a [Value],
    theirs: &dyn Fn(&str) -> bool,
) -> Vec<&'a Value> {
    let want_ip = body["fixed_ips"][0]["ip_address"].as_str();
    let mut c: Vec<&Value> = listed
        .iter()
        .filter(|v| !theirs(v["id"].as_str().unwrap_or_default()))
        .filter(|v| match create {
            Create::Port { .. } => v["fixed_ips"]
                .as_array()
                .is_some_and(|ips| ips.iter().any(|f| f["ip_address"].as_str() == want_ip)),
            Create::Subnet { .. } | Create::FloatingIp { .. } => true,
            // The listing's filter is the name; a service may match it loosely.
            _ => v["name"] == body["name"],
        })
        .collect();
    c.sort_by_key(|v| v["id"].as_str().unwrap_or_default().to_string());
    c
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl CreateObject {
    /// Returns the default rules Neutron gave a restored group that the
    /// snapshot's group did not have (none for other objects).
    async fn extra_rules(&self, cx: &RestoreCx, id: &str) -> Result<Vec<String>, StepError> {
        if !matches!(self.step.create, Create::SecurityGroup { .. }) {
            return Ok(Vec::new());
        }
        let rules = cx
            .openstack
            .list_security_group_rules(&Query::new().eq("security_group_id", id.to_string()))
            .await
            .map_err(|e| os_err(&format!("list the rules of security group {id}"), e))?;
        Ok(rules
            .into_iter()
            .filter(|r| {
                default_shaped(r)
                    && !self
                        .default_rules
                        .iter()
                        .any(|(d, e)| *d == r.direction && *e == r.ethertype)
            })
            .map(|r| r.id)
            .collect())
    }
}

impl Step for CreateObject {
    type Cx = RestoreCx;
    type Observation = Seen;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn observe(&self, cx: &RestoreCx) -> Result<Seen, StepError> {
        let create = &self.step.create;
        let body = cx.map.body(create)?;
        let (coll, _) = collection(create);
        let listed: Vec<Value> = cx
            .openstack
            .list(
                Service::Network,
                &format!("/{coll}"),
                coll,
                &key_query(create, &body),
            )
            .await
            .map_err(|e| os_err(&format!("look for {coll} of {}", self.spec.target), e))?;
        let old = &self.step.old_id;
        let theirs = |id: &str| cx.existing.has(coll, id) || cx.map.claimed_by_other(old, id);
        let found = candidates(create, &body, &listed, &theirs)
            .into_iter()
            // The one already mapped to this old ID first, if it is there.
            .min_by_key(|v| cx.map.get(old).as_deref() != v["id"].as_str())
            .map(|v| Found {
                id: v["id"].as_str().unwrap_or_default().to_string(),
                tags: string_list(&v["tags"]),
                port_id: v["port_id"].as_str().map(str::to_string),
            });
        let mut id_map = BTreeMap::new();
        let mut extra_rules = Vec::new();
        if let Some(f) = &found {
            id_map.insert(old.clone(), f.id.clone());
            cx.map.record(&id_map);
            extra_rules = self.extra_rules(cx, &f.id).await?;
        }
        Ok(Seen {
            body,
            found,
            id_map,
            extra_rules,
        })
    }
}

impl Effect for CreateObject {
    type Params = Params;

    fn settles(&self) -> bool {
        // Nothing to wait for after the call: its outcome holds what it made.
        false
    }

    fn params(&self, seen: &Seen) -> Params {
        let f = seen.found.as_ref();
        Params {
            body: seen.body.clone(),
            found: f.map(|f| f.id.clone()),
            tags_ok: f.is_some_and(|f| same_tags(&f.tags, self.step.create.tags())),
            port_ok: f.is_some_and(|f| f.port_id.as_deref() == seen.body["port_id"].as_str()),
        }
    }

    fn classify(&self, seen: &Seen, _intent: Option<&Params>) -> Verdict {
        let Some(f) = &seen.found else {
            return Verdict::NotDone("not created yet".into());
        };
        if !same_tags(&f.tags, self.step.create.tags()) {
            return Verdict::NotDone(format!("{} is there, its tags are not", f.id));
        }
        if matches!(self.step.create, Create::FloatingIp { .. })
            && f.port_id.as_deref() != seen.body["port_id"].as_str()
        {
            return Verdict::NotDone(format!("{} is there, on another port", f.id));
        }
        if !seen.extra_rules.is_empty() {
            return Verdict::NotDone(format!(
                "{} is there with default rules its snapshot did not have",
                f.id
            ));
        }
        Verdict::Done(format!("{} is there", f.id))
    }

    async fn act(&self, cx: &RestoreCx, p: &Params) -> Result<Applied, StepError> {
        let create = &self.step.create;
        let (coll, one) = collection(create);
        let os = &cx.openstack;
        let mut status = None;
        let id = match &p.found {
            Some(id) => id.clone(),
            None => {
                let out = os
                    .write_one::<Value>(
                        Service::Network,
                        Method::POST,
                        &format!("/{coll}"),
                        one,
                        p.body.clone(),
                    )
                    .await
                    .map_err(|e| os_err(&format!("create {coll} for {}", self.spec.target), e))?;
                status = Some(out.status);
                let id = out.value["id"].as_str().unwrap_or_default().to_string();
                if id.is_empty() {
                    return Err(StepError::fatal(format!(
                        "create {coll} for {}: the answer has no id: {}",
                        self.spec.target, out.value
                    )));
                }
                cx.map.record(
                    &[(self.step.old_id.clone(), id.clone())]
                        .into_iter()
                        .collect(),
                );
                id
            }
        };
        if p.found.is_some() && !p.port_ok && matches!(create, Create::FloatingIp { .. }) {
            let port = p.body.get("port_id").cloned().unwrap_or(Value::Null);
            os.update(coll, one, &id, json!({ "port_id": port }))
                .await
                .map_err(|e| os_err(&format!("set the port of floating IP {id}"), e))?;
        }
        let tags: Vec<&str> = create.tags().iter().map(String::as_str).collect();
        let tagged = if p.found.is_some() {
            p.tags_ok
        } else {
            create.tags_in_body()
        };
        if !tagged {
            let out = os
                .replace_tags(coll, &id, &tags)
                .await
                .map_err(|e| os_err(&format!("tag {coll}/{id}"), e))?;
            status = status.or(Some(out.status));
        }
        for rule in self.extra_rules(cx, &id).await? {
            match os.delete_security_group_rule(&rule).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(os_err(&format!("delete default rule {rule} of {id}"), e)),
            }
        }
        Ok(Applied {
            http_status: status,
            observed: json!({"id_map": {self.step.old_id.clone(): id}, "created": p.found.is_none()}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> Create {
        Create::Network {
            name: "ns/a-net".into(),
            description: String::new(),
            tags: vec!["openshiftClusterID=c1".into()],
        }
    }

    #[test]
    fn an_object_that_existed_before_or_is_another_ones_is_never_taken() {
        let body = json!({"name": "ns/a-net"});
        let listed = vec![
            json!({"id": "B", "name": "ns/a-net"}),
            json!({"id": "A", "name": "ns/a-net"}),
            json!({"id": "C", "name": "ns/a-net-2"}),
            json!({"id": "D", "name": "ns/a-net"}),
        ];
        let theirs = |id: &str| id == "A" || id == "D";
        let c = candidates(&network(), &body, &listed, &theirs);
        let ids: Vec<&str> = c.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["B"]);
    }

    #[test]
    fn a_port_is_found_by_its_fixed_ip_on_the_new_network() {
        let create = Create::Port {
            name: "p".into(),
            network: crate::kuryr::cleanup::restore::Ref::New("n".into()),
            fixed_ips: vec![],
            security_groups: vec![],
            tags: vec![],
        };
        let body = json!({"fixed_ips": [{"subnet_id": "S", "ip_address": "10.0.0.5"}]});
        let listed = vec![
            json!({"id": "P1", "fixed_ips": [{"ip_address": "10.0.0.6"}]}),
            json!({"id": "P2", "fixed_ips": [{"ip_address": "10.0.0.5"}]}),
        ];
        let c = candidates(&create, &body, &listed, &|_| false);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["id"], "P2");
    }

    fn step(create: Create) -> CreateObject {
        CreateObject {
            spec: super::super::test_spec(),
            group: "g".into(),
            default_rules: vec![],
            step: RestoreStep {
                kind: crate::kuryr::cleanup::select::ObjKind::Network,
                old_id: "net-a".into(),
                create,
                maps_id: true,
                after: vec![],
            },
        }
    }

    #[test]
    fn done_only_when_found_with_its_tags() {
        let s = step(network());
        let seen = |found: Option<Found>| Seen {
            body: json!({"name": "ns/a-net"}),
            found,
            id_map: BTreeMap::new(),
            extra_rules: vec![],
        };
        assert!(matches!(s.classify(&seen(None), None), Verdict::NotDone(_)));
        let untagged = Found {
            id: "N".into(),
            tags: vec![],
            port_id: None,
        };
        assert!(matches!(
            s.classify(&seen(Some(untagged.clone())), None),
            Verdict::NotDone(_)
        ));
        let tagged = Found {
            tags: vec!["openshiftClusterID=c1".into()],
            ..untagged
        };
        assert!(matches!(
            s.classify(&seen(Some(tagged.clone())), None),
            Verdict::Done(_)
        ));
        let p = s.params(&seen(Some(tagged.clone())));
        assert_eq!(
            (p.found.as_deref(), p.tags_ok),
            (Some("N"), true),
            "an object found again is never created twice, nor tagged twice"
        );
        assert!(!s.params(&seen(Some(untagged_of(&tagged)))).tags_ok);
        // A group with a default rule its snapshot lacked is not done yet.
        let mut extra = seen(Some(tagged));
        extra.extra_rules = vec!["R".into()];
        assert!(matches!(s.classify(&extra, None), Verdict::NotDone(_)));
    }

    fn untagged_of(f: &Found) -> Found {
        Found {
            tags: vec![],
            ..f.clone()
        }
    }
}
