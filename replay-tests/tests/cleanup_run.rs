//! The cleanup run end to end against the lab over HTTP, through the tool's
//! own `kuryr cleanup` commands: a migrated cluster sharing its project with
//! a second live Kuryr cluster, an untagged appliance trunk and a user's VM
//! port on one of its Kuryr networks. The cleanup removes exactly what its
//! plan (journaled at C0) says, every other cluster's, appliance's and
//! user's object stays unchanged field for field, no object is deleted
//! twice, `kubectl` (a second client) sees the Kuryr CRDs and namespace
//! gone, the run is sealed and a second run changes nothing. A plan the
//! cluster drifted from is refused with nothing deleted, and a foreign port
//! the operator names is deleted and journaled as a decision.

use std::collections::BTreeSet;

use journal::{Event, Journal};
use replay_tests::{Rig, code, describe};
use serde_json::Value;
use steps::kuryr::cleanup::record::read_cleanup;
use steps::kuryr::cleanup::select::ObjKind;

mod cleanup_run_common;
use cleanup_run_common::*;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", describe(out)))
}

fn kubectl(rig: &Rig, args: &[&str]) -> Option<std::process::Output> {
    std::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", &rig.kubeconfig)
        .output()
        .ok()
}

#[test]
fn the_cleanup_removes_exactly_its_plan_and_leaves_every_other_object_unchanged() {
    let cfg = config();
    let ids = ids(&cfg);
    let rig = Rig::start(cfg);
    let before = world(&rig);

    // The plan, as JSON: counts, what goes, what stays and why, its digests.
    let out = cleanup(&rig, "plan", &["--output", "json"], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let plan = json_of(&out);
    assert!(plan["plan_digest"].as_str().is_some_and(|d| d.len() == 64));
    let kept: Vec<&Value> = plan["keep"].as_array().unwrap().iter().collect();
    let vm = kept
        .iter()
        .find(|e| e["id"] == ids.user_vm_port.as_str())
        .expect("the user's VM port is listed as kept");
    assert!(
        vm["reason"]
            .as_str()
            .unwrap()
            .contains("--delete-foreign-port"),
        "{vm}"
    );
    assert!(plan["counts"]["network"]["delete"].as_u64().unwrap() > 0);
    assert!(plan["counts"]["network"]["keep"].as_u64().unwrap() > 0);
    assert_eq!(
        removals(&rig),
        Default::default(),
        "the plan changes nothing"
    );

    // The run carries out that plan.
    let out = cleanup(&rig, "run", &[], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let dir = journal_dir(&rig.state).expect("a current cleanup run");
    let j = Journal::open_read(&dir).unwrap();
    let rec = read_cleanup(&j).unwrap();
    assert!(rec.sealed, "the run is sealed as completed");
    // What the journal says the run deleted (for the restore): every
    // selected deletion but the ports that go with their owner.
    let want: steps::kuryr::cleanup::restore::Deleted = rec
        .selection
        .delete
        .iter()
        .filter(|e| !(e.implicit && e.kind == ObjKind::Port))
        .map(|e| (e.kind, e.id.clone()))
        .collect();
    assert_eq!(rec.deleted, want);
    assert_eq!(
        rec.done.len(),
        rec.graph.nodes.len(),
        "every operation done"
    );
    assert_eq!(rec.plan_digest, plan["plan_digest"].as_str().unwrap());
    let after = world(&rig);

    // What went is exactly what the selection deletes, by its IDs.
    let gone: BTreeSet<String> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let coll = |k: ObjKind| match k {
        ObjKind::LoadBalancer => Some("loadbalancers"),
        ObjKind::FloatingIp => Some("floatingips"),
        ObjKind::Port => Some("ports"),
        ObjKind::Subnet => Some("subnets"),
        ObjKind::Network => Some("networks"),
        ObjKind::SubnetPool => Some("subnetpools"),
        ObjKind::SecurityGroup => Some("security-groups"),
        ObjKind::Router => Some("routers"),
        ObjKind::Trunk => Some("trunks"),
        // A subport's port and an interface's port are ports of their own.
        ObjKind::Subport | ObjKind::RouterInterface => None,
    };
    let planned: BTreeSet<String> = rec
        .selection
        .delete
        .iter()
        .filter_map(|e| coll(e.kind).map(|c| format!("{c}/{}", e.id)))
        .collect();
    let gone_os: BTreeSet<String> = gone
        .iter()
        .filter(|k| {
            !k.contains(".")
                && !k.starts_with("services/")
                && !k.starts_with("pods/")
                && !k.starts_with("namespaces/")
                && !k.starts_with("configmaps/")
        })
        .cloned()
        .collect();
    let interface_ports: BTreeSet<String> = before
        .iter()
        .filter(|(k, v)| {
            k.starts_with("ports/")
                && v["device_owner"] == "network:router_interface"
                && v["fixed_ips"].as_array().is_some_and(|f| {
                    f.iter().any(|ip| {
                        rec.selection.delete.iter().any(|e| {
                            e.kind == ObjKind::RouterInterface && ip["subnet_id"] == e.id.as_str()
                        })
                    })
                })
        })
        .map(|(k, _)| k.clone())
        .collect();
    let unplanned: Vec<&String> = gone_os
        .iter()
        .filter(|k| !planned.contains(*k) && !interface_ports.contains(*k))
        // Neutron deletes a floating IP's own port with it.
        .filter(|k| {
            !before.get(*k).is_some_and(|p| {
                p["device_owner"] == "network:floatingip"
                    && planned.contains(&format!(
                        "floatingips/{}",
                        p["device_id"].as_str().unwrap_or_default()
                    ))
            })
        })
        .collect();
    assert!(
        unplanned.is_empty(),
        "deleted although not planned: {:?}",
        unplanned
            .iter()
            .filter_map(|k| before.get(*k))
            .collect::<Vec<_>>()
    );
    let left: Vec<&String> = planned.iter().filter(|k| !gone_os.contains(*k)).collect();
    assert!(left.is_empty(), "planned but still there: {left:?}");
    assert!(
        rec.deleted
            .contains(&(ObjKind::Network, ids.first.namespace_network_ids[0].clone()))
            || rec.deleted.iter().any(|(k, _)| *k == ObjKind::Network)
    );

    // Every other cluster's, appliance's and user's object is unchanged, field for field.
    let mut others: Vec<&String> = ids.second.iter().collect();
    others.extend(&ids.second_np_sgs);
    others.extend([
        &ids.appliance_trunk,
        &ids.appliance_parent,
        &ids.appliance_subport,
        &ids.user_vm_port,
    ]);
    others.extend(&ids.blocked_networks);
    others.extend(&ids.blocked_subnets);
    others.extend(&ids.blocked_interfaces);
    let mut checked = 0;
    for id in others {
        let keys: Vec<&String> = before
            .keys()
            .filter(|k| k.ends_with(&format!("/{id}")))
            .collect();
        for k in keys {
            checked += 1;
            assert_eq!(after.get(k), before.get(k), "{k} changed or went");
        }
    }
    assert!(checked > 30, "only {checked} other objects checked");
    for (id, why) in &ids.must_keep {
        assert!(
            before
                .keys()
                .filter(|k| k.ends_with(&format!("/{id}")))
                .all(|k| after.contains_key(k)),
            "{id} ({why}) was deleted"
        );
    }

    // No object was deleted (or detached) twice: one call per object (a
    // router's interfaces share its `remove_router_interface` path, one call each).
    let once = |path: &str| -> u64 {
        match path.split('/').skip_while(|p| *p != "routers").nth(1) {
            Some(router) if path.ends_with("/remove_router_interface") => {
                rec.selection
                    .delete
                    .iter()
                    .filter(|e| {
                        e.kind == ObjKind::RouterInterface && e.parent.as_deref() == Some(router)
                    })
                    .count() as u64
            }
            _ => 1,
        }
    };
    let twice: Vec<(String, u64)> = removals(&rig)
        .into_iter()
        .filter(|(k, n)| *n > once(k))
        .collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    // Kubernetes: the Kuryr CRDs, the namespace and the finalizers are gone.
    for k in after.keys() {
        assert!(!k.starts_with("kuryr"), "{k} is left");
        assert!(!k.contains("/openshift-kuryr/"), "{k} is left");
        assert!(!k.ends_with("/kuryrnetworks.openstack.org"), "{k} is left");
    }
    for v in after.values() {
        let fins = v["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            !fins
                .iter()
                .any(|f| f.as_str().is_some_and(|f| f.contains("kuryr"))),
            "a Kuryr finalizer is left: {v}"
        );
    }
    if let Some(out) = kubectl(&rig, &["get", "crd", "kuryrnetworks.openstack.org"]) {
        assert!(!out.status.success(), "kubectl still sees the CRD");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("NotFound"),
            "{}",
            describe(&out)
        );
        let ns = kubectl(&rig, &["get", "namespace", "openshift-kuryr"]).unwrap();
        assert!(!ns.status.success(), "kubectl still sees the namespace");
    }

    // Status from the journal, and a second run that changes nothing.
    let st = cleanup(&rig, "status", &["--output", "json"], None);
    assert_eq!(code(&st), 0, "{}", describe(&st));
    assert!(
        String::from_utf8_lossy(&st.stdout).contains("completed"),
        "{}",
        describe(&st)
    );
    let calls = rig.calls();
    let again = cleanup(&rig, "run", &[], None);
    assert_eq!(code(&again), 0, "{}", describe(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already completed"),
        "{}",
        describe(&again)
    );
    assert_eq!(rig.calls(), calls, "a second run sends nothing");
}

#[test]
fn a_drifted_plan_is_refused_and_a_named_foreign_port_is_a_journaled_decision() {
    let cfg = config();
    let ids = ids(&cfg);
    let rig = Rig::start(cfg);
    let out = cleanup(&rig, "plan", &[], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    // The cluster moves on: a KuryrNetwork loses its finalizer.
    let kn = rig
        .lab
        .store()
        .list_all("kuryrnetworks.openstack.org", None)
        .unwrap()
        .into_iter()
        .find(|o| {
            o["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        })
        .expect("a KuryrNetwork with a finalizer");
    let (ns, name) = (
        kn["metadata"]["namespace"].as_str().unwrap().to_string(),
        kn["metadata"]["name"].as_str().unwrap().to_string(),
    );
    rig.lab
        .store()
        .mutate("kuryrnetworks.openstack.org", &ns, &name, false, |o| {
            o["metadata"]["finalizers"] = serde_json::json!([]);
        })
        .unwrap();
    let before = rig.calls();
    let out = cleanup(&rig, "run", &[], None);
    assert_ne!(code(&out), 0, "a drifted plan runs: {}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("changed since it was made"),
        "{}",
        describe(&out)
    );
    assert!(err.contains("nothing was deleted"), "{}", describe(&out));
    assert_eq!(rig.calls(), before, "nothing was sent");

    // A new plan naming the user's VM port: the port goes, and the journal says who chose it.
    let out = cleanup(
        &rig,
        "plan",
        &["--delete-foreign-port", &ids.user_vm_port],
        None,
    );
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let out = cleanup(&rig, "run", &[], None);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert!(
        rig.lab
            .cloud()
            .neutron_object("ports", &ids.user_vm_port)
            .is_none()
    );
    let j = Journal::open_read(&journal_dir(&rig.state).unwrap()).unwrap();
    let decided: Vec<String> = j
        .iter(1)
        .filter_map(|r| match r.unwrap().event {
            Event::DecisionRecorded {
                decision, detail, ..
            } if decision == "delete-foreign-port" => Some(j.full_text(&detail).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert!(decided[0].starts_with(&ids.user_vm_port), "{decided:?}");
    let rec = read_cleanup(&j).unwrap();
    assert!(
        rec.deleted
            .contains(&(ObjKind::Port, ids.user_vm_port.clone()))
    );
}

#[test]
fn a_cluster_still_on_kuryr_fails_the_precheck_and_nothing_is_deleted() {
    let cfg = lab::LabConfig {
        migrated: false,
        ..config()
    };
    let rig = Rig::start(cfg);
    let out = cleanup(&rig, "run", &[], None);
    assert_eq!(
        code(&out),
        5,
        "the precheck's exit code: {}",
        describe(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("network-type-ovnk"), "{}", describe(&out));
    assert!(
        text.contains("finish the migration first"),
        "{}",
        describe(&out)
    );
    assert_eq!(removals(&rig), Default::default(), "nothing was sent");
    let j = Journal::open_read(&journal_dir(&rig.state).unwrap()).unwrap();
    let e = read_cleanup(&j).unwrap_err();
    assert!(e.contains("never journaled its snapshot"), "{e}");
}
