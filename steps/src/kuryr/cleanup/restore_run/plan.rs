//! The restore run's plan, pure: [`plan_restore`]'s creation order cut into
//! groups that may run concurrently, the floating IPs whose address another
//! floating IP holds now (not restored), and every deleted object no step
//! brings back, each with why.
//!
//! A group is a run of steps of one kind (so nothing in it refers to
//! another step of it), split further so that no two steps of a group share
//! an idempotency key (two networks of the same name): a step finds its
//! object again by that key, and the map must already know the first one's
//! object when the second one looks.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::existing::Existing;
use super::{Operation, action_name};
use crate::kuryr::cleanup::restore::{Create, Deleted, Loss, RestoreStep, plan_restore};
use crate::kuryr::cleanup::select::ObjKind;
use crate::kuryr::cleanup::snapshot::Snapshot;
use crate::openstack::neutron::SecurityGroupRule;

/// A deleted object the restore does not bring back, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotRestored {
    pub kind: ObjKind,
    pub old_id: String,
    pub why: String,
}

/// The restore run's plan, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestorePlanned {
    /// The cleanup run restored from.
    pub source_run: String,
    /// The digest of the discovery the plan was made from.
    pub discovery_digest: String,
    /// The creates, in order.
    pub operations: Vec<Operation>,
    /// What the restored objects cannot get back (new IDs, MACs, …).
    pub losses: Vec<Loss>,
    /// Deleted objects no operation brings back.
    pub not_restored: Vec<NotRestored>,
}

/// Returns whether a rule has the shape of the egress rules Neutron adds to
/// every new group (a direction and ethertype, nothing else).
pub fn default_shaped(r: &SecurityGroupRule) -> bool {
    r.direction == "egress"
        && r.protocol.is_none()
        && r.port_range_min.is_none()
        && r.port_range_max.is_none()
        && r.remote_ip_prefix.is_none()
        && r.remote_group_id.is_none()
        && r.remote_address_group_id.is_none()
}

/// Returns the identity key two steps of one group must not share.
fn key_of(create: &Create) -> String {
    match create {
        Create::SubnetPool { name, .. }
        | Create::Network { name, .. }
        | Create::Router { name, .. }
        | Create::SecurityGroup { name, .. }
        | Create::LoadBalancer { name, .. } => name.clone(),
        Create::Subnet { cidr, .. } => cidr.clone(),
        Create::FloatingIp {
            floating_ip_address,
            ..
        } => floating_ip_address.clone(),
        // Keyed by objects of their own (the router and subnet, the trunk
        // and port, the group and the rule), which differ within a plan.
        _ => String::new(),
    }
}

/// Returns why a deleted object with no step is not brought back.
fn why_not(s: &Snapshot, kind: ObjKind, id: &str) -> String {
    match (kind, s.port(id)) {
        (ObjKind::Port, Some(p)) if p.device_owner == "network:dhcp" => {
            "Neutron makes a new DHCP port on the restored subnet".into()
        }
        (ObjKind::Port, Some(p))
            if p.device_owner.starts_with("Octavia")
                || s.load_balancers
                    .iter()
                    .any(|t| t.lb.vip_port_id.as_deref() == Some(id)) =>
        {
            "Octavia makes a new VIP port with the restored load balancer".into()
        }
        (ObjKind::Port, Some(p)) if p.device_owner.starts_with("network:router_interface") => {
            "adding the router interface again makes a new interface port".into()
        }
        _ => format!("the snapshot does not hold this {kind}, so there is nothing to make it from"),
    }
}

/// Makes the run's plan (pure).
pub fn plan_run(
    source_run: &str,
    snapshot: &Snapshot,
    deleted: &Deleted,
    existing: &Existing,
    discovery_digest: String,
) -> RestorePlanned {
    let rp = plan_restore(snapshot, deleted);
    let mut not_restored = Vec::new();
    let mut kept: Vec<RestoreStep> = Vec::new();
    for st in rp.steps {
        if let Create::FloatingIp {
            floating_ip_address,
            ..
        } = &st.create
            && let Some(holder) = existing.floating_ips.get(floating_ip_address)
        {
            not_restored.push(NotRestored {
                kind: st.kind,
                old_id: st.old_id.clone(),
                why: format!(
                    "its address {floating_ip_address} is held by floating IP {holder} now; release it and restore again, or allocate another address by hand"
                ),
            });
            continue;
        }
        kept.push(st);
    }
    let covered: BTreeSet<(ObjKind, &str)> = kept
        .iter()
        .map(|st| (st.kind, st.old_id.as_str()))
        .chain(not_restored.iter().map(|n| (n.kind, n.old_id.as_str())))
        .collect();
    let uncovered: Vec<NotRestored> = deleted
        .iter()
        .filter(|(k, id)| !covered.contains(&(*k, id.as_str())))
        .map(|(k, id)| NotRestored {
            kind: *k,
            old_id: id.clone(),
            why: why_not(snapshot, *k, id),
        })
        .collect();
    not_restored.extend(uncovered);
    not_restored.sort();
    // Segments of one kind (and create variant), in plan order; within
    // each, the n-th step with a key goes into sub-group n.
    let mut ops: Vec<(usize, usize, usize, Operation)> = Vec::new();
    let mut segment = 0;
    let mut last: Option<&'static str> = None;
    let mut dups: BTreeMap<String, usize> = BTreeMap::new();
    for (i, st) in kept.into_iter().enumerate() {
        let action = action_name(&st.create);
        if last != Some(action) {
            segment += 1;
            last = Some(action);
            dups.clear();
        }
        let key = key_of(&st.create);
        let dup = if key.is_empty() {
            0
        } else {
            let n = dups.entry(key).or_default();
            *n += 1;
            *n - 1
        };
        ops.push((
            segment,
            dup,
            i,
            Operation {
                key: format!("restore/{action}/{}", st.old_id),
                group: format!("restore/{segment:02}-{action}#{dup}"),
                default_rules: match &st.create {
                    Create::SecurityGroup { .. } => snapshot
                        .security_group(&st.old_id)
                        .map(|g| {
                            g.security_group_rules
                                .iter()
                                .filter(|r| default_shaped(r))
                                .map(|r| (r.direction.clone(), r.ethertype.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    _ => Vec::new(),
                },
                step: st,
            },
        ));
    }
    ops.sort_by_key(|(seg, dup, i, _)| (*seg, *dup, *i));
    RestorePlanned {
        source_run: source_run.to_string(),
        discovery_digest,
        operations: ops.into_iter().map(|(.., op)| op).collect(),
        losses: rp.losses,
        not_restored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;
    use crate::kuryr::cleanup::select::{SelectOptions, select};

    fn deleted_of(s: &Snapshot) -> Deleted {
        select(
            s,
            &SelectOptions {
                cluster_id: "c1".into(),
                octavia_version: (2, 26),
                ..Default::default()
            },
        )
        .unwrap()
        .delete
        .iter()
        .map(|e| (e.kind, e.id.clone()))
        .collect()
    }

    #[test]
    fn every_deleted_object_is_restored_or_said_why_not() {
        let s = fixture::snapshot();
        let d = deleted_of(&s);
        let p = plan_run("run-1", &s, &d, &Existing::default(), "dig".into());
        for (kind, id) in &d {
            let step = p
                .operations
                .iter()
                .any(|o| o.step.kind == *kind && o.step.old_id == *id);
            let why = p
                .not_restored
                .iter()
                .any(|n| n.kind == *kind && n.old_id == *id);
            assert!(step ^ why, "{kind} {id}: step {step}, reported {why}");
        }
        assert!(
            p.not_restored
                .iter()
                .any(|n| n.old_id == "dhcp-a" && n.why.contains("DHCP")),
            "{:?}",
            p.not_restored
        );
        let keys: BTreeSet<&str> = p.operations.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.len(), p.operations.len(), "operation ids are unique");
    }

    #[test]
    fn a_taken_floating_ip_address_is_reported_not_restored() {
        let s = fixture::snapshot();
        let d = deleted_of(&s);
        let addr = s.floating_ips[0].floating_ip_address.clone();
        let existing = Existing {
            floating_ips: [(addr.clone(), "someone-elses".to_string())].into(),
            ..Default::default()
        };
        let p = plan_run("run-1", &s, &d, &existing, "dig".into());
        let id = &s.floating_ips[0].id;
        assert!(!p.operations.iter().any(|o| &o.step.old_id == id));
        let n = p.not_restored.iter().find(|n| &n.old_id == id).unwrap();
        assert!(n.why.contains(&addr) && n.why.contains("someone-elses"));
    }

    #[test]
    fn groups_keep_the_creation_order_and_split_same_named_objects() {
        let mut s = fixture::snapshot();
        // A second network named like the first.
        let mut twin = s.network("net-a").unwrap().clone();
        twin.id = "net-twin".into();
        s.networks.push(twin);
        let mut d = deleted_of(&s);
        d.insert((ObjKind::Network, "net-twin".into()));
        let p = plan_run("run-1", &s, &d, &Existing::default(), "dig".into());
        // Every reference is created in an earlier group.
        let at = |old: &str| {
            p.operations
                .iter()
                .position(|o| o.step.maps_id && o.step.old_id == old)
        };
        for (i, o) in p.operations.iter().enumerate() {
            for dep in &o.step.after {
                let dep = dep.strip_prefix("vip-of:").unwrap_or(dep);
                let j = at(dep).unwrap_or_else(|| panic!("{} needs {dep}", o.key));
                assert!(j < i, "{} needs {dep} first", o.key);
                assert_ne!(
                    p.operations[j].group, o.group,
                    "{} and {dep} may not run together",
                    o.key
                );
            }
        }
        let group_of = |id: &str| {
            p.operations
                .iter()
                .find(|o| o.step.old_id == id && o.step.kind == ObjKind::Network)
                .unwrap()
                .group
                .clone()
        };
        assert_ne!(group_of("net-a"), group_of("net-twin"));
    }
}
