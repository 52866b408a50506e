//! The step that recreates a load balancer with its listeners, pools and
//! members. It finds the load balancer again by name on the restored VIP
//! subnet (never one that existed before the restore, nor one another old
//! ID maps to), else creates it in one Octavia call with its whole tree (the
//! same VIP address asked for). Then, waiting for ACTIVE between calls, it
//! creates whatever part of the tree is missing (a service that took only
//! the load balancer, or a run killed halfway through the tree): so a
//! resumed run finishes the tree and never makes a second load balancer.

use std::collections::BTreeMap;
use std::time::Instant;

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{RestoreCx, os_err};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use crate::kuryr::cleanup::restore::{RestoreStep, vip_key};
use crate::openstack::{OpenStack, Query};

/// Creates (or completes) one load balancer tree.
pub struct CreateTree {
    pub spec: OperationSpec,
    pub group: String,
    pub step: RestoreStep,
}

/// A listener as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerSeen {
    pub id: String,
    pub protocol: String,
    pub protocol_port: u32,
    pub default_pool_id: Option<String>,
}

/// A pool as read back, with its members' (address, port).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSeen {
    pub id: String,
    pub name: String,
    pub members: Vec<(String, u32)>,
}

/// A load balancer tree as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub id: String,
    pub provisioning_status: String,
    pub vip_port_id: Option<String>,
    pub listeners: Vec<ListenerSeen>,
    pub pools: Vec<PoolSeen>,
}

/// What the step reads before deciding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub body: Value,
    pub found: Option<Tree>,
    pub id_map: BTreeMap<String, String>,
}

/// What the intent records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub body: Value,
    pub found: Option<String>,
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn u(v: &Value, k: &str) -> u32 {
    v[k].as_u64().unwrap_or_default() as u32
}

fn list(v: &Value, k: &str) -> Vec<Value> {
    v[k].as_array().cloned().unwrap_or_default()
}

/// Returns the parts of the body's tree that `tree` lacks, as text (pure).
pub(crate) fn missing(body: &Value, tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let pool_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| tree.pools.iter().find(|p| &p.id == id))
    };
    let members_missing = |want: &Value, have: &PoolSeen, out: &mut Vec<String>| {
        for m in list(want, "members") {
            let key = (s(&m, "address"), u(&m, "protocol_port"));
            if !have.members.contains(&key) {
                out.push(format!("member {}:{} of pool {}", key.0, key.1, have.name));
            }
        }
    };
    for l in list(body, "listeners") {
        let (proto, port) = (s(&l, "protocol"), u(&l, "protocol_port"));
        let Some(have) = tree
            .listeners
            .iter()
            .find(|x| x.protocol == proto && x.protocol_port == port)
        else {
            out.push(format!("listener {proto}:{port}"));
            continue;
        };
        if let Some(p) = l.get("default_pool") {
            match pool_of(&have.default_pool_id) {
                None => out.push(format!("pool {} of listener {proto}:{port}", s(p, "name"))),
                Some(pool) => members_missing(p, pool, &mut out),
            }
        }
    }
    for p in list(body, "pools") {
        match tree.pools.iter().find(|x| x.name == s(&p, "name")) {
            None => out.push(format!("pool {}", s(&p, "name"))),
            Some(pool) => members_missing(&p, pool, &mut out),
        }
    }
    out
}

/// Reads a load balancer's tree.
async fn read_tree(os: &OpenStack, id: &str) -> Result<Tree, StepError> {
    let lb = os
        .get_load_balancer(id)
        .await
        .map_err(|e| os_err(&format!("read load balancer {id}"), e))?;
    let by_lb = Query::new().eq("loadbalancer_id", id.to_string());
    let listeners = os
        .list_listeners(&by_lb)
        .await
        .map_err(|e| os_err(&format!("list the listeners of {id}"), e))?;
    let pools = os
        .list_pools(&by_lb)
        .await
        .map_err(|e| os_err(&format!("list the pools of {id}"), e))?;
    let mut seen_pools = Vec::new();
    for p in pools {
        let members = os
            .list_members(&p.id)
            .await
            .map_err(|e| os_err(&format!("list the members of pool {}", p.id), e))?;
        seen_pools.push(PoolSeen {
            id: p.id,
            name: p.name,
            members: members
                .into_iter()
                .map(|m| (m.address, m.protocol_port))
                .collect(),
        });
    }
    Ok(Tree {
        id: lb.id,
        provisioning_status: lb.provisioning_status,
        vip_port_id: lb.vip_port_id,
        listeners: listeners
            .into_iter()
            .map(|l| ListenerSeen {
                id: l.id,
                protocol: l.protocol,
                protocol_port: l.protocol_port,
                default_pool_id: l.default_pool_id,
            })
            .collect(),
        pools: seen_pools,
    })
}

/// Waits until the load balancer is ACTIVE (an ERROR is fatal; too long is worth a retry).
async fn wait_active(cx: &RestoreCx, id: &str) -> Result<(), StepError> {
    let start = Instant::now();
    loop {
        let lb = cx
            .openstack
            .get_load_balancer(id)
            .await
            .map_err(|e| os_err(&format!("read load balancer {id}"), e))?;
        match lb.provisioning_status.as_str() {
            "ACTIVE" => return Ok(()),
            "ERROR" => {
                return Err(StepError::fatal(format!(
                    "load balancer {id} went to ERROR while it was being restored; look at it with `openstack loadbalancer show {id}`"
                )));
            }
            other if start.elapsed() >= cx.lb_wait.timeout => {
                return Err(StepError::retryable(format!(
                    "load balancer {id} is still {other} after {:?}",
                    cx.lb_wait.timeout
                )));
            }
            _ => tokio::time::sleep(cx.lb_wait.poll).await,
        }
    }
}

impl CreateTree {
    fn pairs(&self, tree: &Tree) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert(self.step.old_id.clone(), tree.id.clone());
        if let Some(v) = &tree.vip_port_id {
            m.insert(vip_key(&self.step.old_id), v.clone());
        }
        m
    }

    /// Creates the pool `p` (on a listener, or on the load balancer) and its members.
    async fn pool(
        &self,
        cx: &RestoreCx,
        lb: &str,
        on: (&str, &str),
        p: &Value,
        have: Option<&PoolSeen>,
    ) -> Result<(), StepError> {
        let os = &cx.openstack;
        let pool_id = match have {
            Some(h) => h.id.clone(),
            None => {
                let body = json!({"name": p["name"], "protocol": p["protocol"], "lb_algorithm": p["lb_algorithm"], on.0: on.1});
                let id = os
                    .create_pool(body)
                    .await
                    .map_err(|e| os_err(&format!("create pool {} on {lb}", s(p, "name")), e))?
                    .value
                    .id;
                wait_active(cx, lb).await?;
                id
            }
        };
        for m in list(p, "members") {
            let key = (s(&m, "address"), u(&m, "protocol_port"));
            if have.is_some_and(|h| h.members.contains(&key)) {
                continue;
            }
            os.create_member(&pool_id, m.clone())
                .await
                .map_err(|e| os_err(&format!("create member {}:{} on {lb}", key.0, key.1), e))?;
            wait_active(cx, lb).await?;
        }
        Ok(())
    }
}

impl Step for CreateTree {
    type Cx = RestoreCx;
    type Observation = Seen;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn observe(&self, cx: &RestoreCx) -> Result<Seen, StepError> {
        let body = cx.map.body(&self.step.create)?;
        let old = &self.step.old_id;
        let listed = cx
            .openstack
            .list_load_balancers(&Query::new().eq("name", s(&body, "name")))
            .await
            .map_err(|e| os_err(&format!("look for load balancer {}", s(&body, "name")), e))?;
        let mut candidates: Vec<_> = listed
            .into_iter()
            .filter(|lb| {
                lb.name == s(&body, "name")
                    && lb.vip_subnet_id.as_deref() == body["vip_subnet_id"].as_str()
                    && !cx.existing.has("loadbalancers", &lb.id)
                    && !cx.map.claimed_by_other(old, &lb.id)
                    && lb.provisioning_status != "PENDING_DELETE"
            })
            .collect();
        candidates.sort_by_key(|lb| (cx.map.get(old).as_ref() != Some(&lb.id), lb.id.clone()));
        let found = match candidates.first() {
            Some(lb) => Some(read_tree(&cx.openstack, &lb.id).await?),
            None => None,
        };
        let id_map = found.as_ref().map(|t| self.pairs(t)).unwrap_or_default();
        cx.map.record(&id_map);
        Ok(Seen {
            body,
            found,
            id_map,
        })
    }
}

impl Effect for CreateTree {
    type Params = Params;

    fn settles(&self) -> bool {
        // Nothing to wait for after the call: its outcome holds what it made.
        false
    }

    fn params(&self, seen: &Seen) -> Params {
        Params {
            body: seen.body.clone(),
            found: seen.found.as_ref().map(|t| t.id.clone()),
        }
    }

    fn classify(&self, seen: &Seen, _intent: Option<&Params>) -> Verdict {
        let Some(t) = &seen.found else {
            return Verdict::NotDone("not created yet".into());
        };
        let lacking = missing(&seen.body, t);
        if t.provisioning_status == "ACTIVE" && lacking.is_empty() {
            Verdict::Done(format!("{} is there with its whole tree", t.id))
        } else {
            Verdict::NotDone(format!(
                "{} is {}; missing: {}",
                t.id,
                t.provisioning_status,
                if lacking.is_empty() {
                    "nothing".into()
                } else {
                    lacking.join(", ")
                }
            ))
        }
    }

    async fn act(&self, cx: &RestoreCx, p: &Params) -> Result<Applied, StepError> {
        let os = &cx.openstack;
        let mut status = None;
        let id = match &p.found {
            Some(id) => id.clone(),
            None => {
                let out = os.create_load_balancer(p.body.clone()).await.map_err(|e| {
                    os_err(&format!("create load balancer {}", s(&p.body, "name")), e)
                })?;
                status = Some(out.status);
                let mut m = BTreeMap::new();
                m.insert(self.step.old_id.clone(), out.value.id.clone());
                if let Some(v) = &out.value.vip_port_id {
                    m.insert(vip_key(&self.step.old_id), v.clone());
                }
                cx.map.record(&m);
                out.value.id
            }
        };
        wait_active(cx, &id).await?;
        let tree = read_tree(os, &id).await?;
        for l in list(&p.body, "listeners") {
            let (proto, port) = (s(&l, "protocol"), u(&l, "protocol_port"));
            let have = tree
                .listeners
                .iter()
                .find(|x| x.protocol == proto && x.protocol_port == port)
                .cloned();
            let listener = match have {
                Some(h) => h,
                None => {
                    let body = json!({"name": l["name"], "loadbalancer_id": id, "protocol": proto, "protocol_port": port});
                    let made = os
                        .create_listener(body)
                        .await
                        .map_err(|e| os_err(&format!("create listener {proto}:{port} on {id}"), e))?
                        .value;
                    wait_active(cx, &id).await?;
                    ListenerSeen {
                        id: made.id,
                        protocol: proto.clone(),
                        protocol_port: port,
                        default_pool_id: None,
                    }
                }
            };
            if let Some(pool) = l.get("default_pool") {
                let have = listener
                    .default_pool_id
                    .as_ref()
                    .and_then(|pid| tree.pools.iter().find(|x| &x.id == pid));
                self.pool(cx, &id, ("listener_id", &listener.id), pool, have)
                    .await?;
            }
        }
        for pool in list(&p.body, "pools") {
            let have = tree.pools.iter().find(|x| x.name == s(&pool, "name"));
            self.pool(cx, &id, ("loadbalancer_id", &id), &pool, have)
                .await?;
        }
        let tree = read_tree(os, &id).await?;
        Ok(Applied {
            http_status: status,
            observed: json!({"id_map": self.pairs(&tree), "created": p.found.is_none()}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({"name": "a/svc", "vip_subnet_id": "S", "listeners": [
            {"name": "a/svc:TCP:80", "protocol": "TCP", "protocol_port": 80,
             "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
               "members": [{"address": "10.0.0.5", "protocol_port": 8080}, {"address": "10.0.0.6", "protocol_port": 8080}]}}]})
    }

    #[test]
    fn the_missing_parts_of_a_tree_are_named() {
        let mut t = Tree {
            id: "L".into(),
            provisioning_status: "ACTIVE".into(),
            vip_port_id: Some("V".into()),
            listeners: vec![],
            pools: vec![],
        };
        assert_eq!(missing(&body(), &t), ["listener TCP:80"]);
        t.listeners.push(ListenerSeen {
            id: "l".into(),
            protocol: "TCP".into(),
            protocol_port: 80,
            default_pool_id: Some("P".into()),
        });
        t.pools.push(PoolSeen {
            id: "P".into(),
            name: "p".into(),
            members: vec![("10.0.0.5".into(), 8080)],
        });
        assert_eq!(missing(&body(), &t), ["member 10.0.0.6:8080 of pool p"]);
        t.pools[0].members.push(("10.0.0.6".into(), 8080));
        assert!(missing(&body(), &t).is_empty());
        let step = CreateTree {
            spec: super::super::test_spec(),
            group: "g".into(),
            step: RestoreStep {
                kind: crate::kuryr::cleanup::select::ObjKind::LoadBalancer,
                old_id: "lb-1".into(),
                create: crate::kuryr::cleanup::restore::Create::Network {
                    name: String::new(),
                    description: String::new(),
                    tags: vec![],
                },
                maps_id: true,
                after: vec![],
            },
        };
        let mut seen = Seen {
            body: body(),
            found: Some(t.clone()),
            id_map: BTreeMap::new(),
        };
        assert!(matches!(step.classify(&seen, None), Verdict::Done(_)));
        seen.found.as_mut().unwrap().provisioning_status = "PENDING_UPDATE".into();
        assert!(matches!(step.classify(&seen, None), Verdict::NotDone(_)));
        assert_eq!(
            step.pairs(&t).get("vip-of:lb-1").map(String::as_str),
            Some("V")
        );
    }
}
