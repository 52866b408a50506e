//! Unit tests of the selection: one per safety rule, and a property test that
//! nothing outside the first cluster's own objects is ever selected.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::kuryr::cleanup::fixture::{self, TAG, net, port, sg, subnet, tags};
use crate::openstack::neutron::{SubPort, Trunk};

fn opts() -> SelectOptions {
    SelectOptions {
        cluster_id: "c1".into(),
        octavia_version: (2, 26),
        delete_foreign_ports: BTreeSet::new(),
    }
}

fn sel(s: &Snapshot) -> Selection {
    select(s, &opts()).expect("select")
}

fn set(ids: &[&'static str]) -> BTreeSet<&'static str> {
    ids.iter().copied().collect()
}

fn reason<'a>(x: &'a Selection, kind: ObjKind, id: &str) -> (&'a Reason, bool) {
    let (e, deleted) = x
        .entry(kind, id)
        .unwrap_or_else(|| panic!("{kind} {id} is in neither list"));
    (&e.reason, deleted)
}

#[test]
fn a_plain_cluster_deletes_kuryrs_objects_and_keeps_the_installers() {
    let x = sel(&fixture::snapshot());
    assert_eq!(
        x.deleted(ObjKind::Network),
        set(&["net-a", "net-b", "svc-net"])
    );
    assert_eq!(
        x.deleted(ObjKind::Subnet),
        set(&["sub-a", "sub-b", "svc-sub"])
    );
    assert_eq!(
        x.deleted(ObjKind::Port),
        set(&["dhcp-a", "pod-a1", "pod-a2", "pod-b1", "vip-1", "vip-2"])
    );
    assert_eq!(
        x.deleted(ObjKind::Subport),
        set(&["pod-a1", "pod-a2", "pod-b1"])
    );
    assert_eq!(
        x.deleted(ObjKind::RouterInterface),
        set(&["sub-a", "sub-b", "svc-sub"])
    );
    assert_eq!(x.deleted(ObjKind::LoadBalancer), set(&["lb-1", "lb-2"]));
    assert_eq!(x.deleted(ObjKind::FloatingIp), set(&["fip-1"]));
    assert_eq!(x.deleted(ObjKind::SubnetPool), set(&["pool"]));
    assert_eq!(
        x.deleted(ObjKind::SecurityGroup),
        set(&["np-sg-a", "np-sg-b", "pods-sg"])
    );
    assert!(x.deleted(ObjKind::Router).is_empty());
    assert!(x.deleted(ObjKind::Trunk).is_empty());
    // Kept on purpose, with the reason.
    assert_eq!(
        reason(&x, ObjKind::Network, "machines"),
        (&Reason::Installer, false)
    );
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "master-sg"),
        (&Reason::Installer, false)
    );
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "worker-sg"),
        (&Reason::Installer, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Trunk, "trunk-1"),
        (&Reason::NodeTrunk, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Port, "parent-1"),
        (&Reason::TrunkParent, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Router, "router"),
        (
            &Reason::InterfacesLeft {
                subnets: vec!["nodes".into()]
            },
            false
        )
    );
    assert_eq!(
        x.kept(ObjKind::RouterInterface),
        BTreeSet::new(),
        "the machines interface is not Kuryr's to report"
    );
    // Implicit deletes make no call of their own.
    let implicit: BTreeSet<&str> = x
        .delete
        .iter()
        .filter(|e| e.implicit)
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        implicit,
        set(&["dhcp-a", "sub-a", "sub-b", "svc-sub", "vip-1", "vip-2"])
    );
    assert!(
        x.report()
            .iter()
            .any(|l| l.starts_with("keep network machines"))
    );
}

#[test]
fn the_router_goes_only_when_named_tagged_and_left_without_interfaces() {
    let mut s = fixture::snapshot();
    s.ports.retain(|p| p.id != "ri-nodes");
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Router, "router"),
        (&Reason::KuryrRouter, true)
    );

    let mut untagged = s.clone();
    untagged.routers[0].tags.clear();
    assert_eq!(
        reason(&sel(&untagged), ObjKind::Router, "router"),
        (&Reason::NotTagged, false)
    );

    // Bring your own network: the user's router is never deleted, Kuryr's interfaces on it are removed.
    let mut byon = s.clone();
    byon.routers[0].name = "user-router".into();
    byon.routers[0].tags.clear();
    let x = sel(&byon);
    assert_eq!(
        reason(&x, ObjKind::Router, "router"),
        (
            &Reason::RouterNotNamed {
                expected: "c1-external-router".into()
            },
            false
        )
    );
    assert_eq!(
        x.deleted(ObjKind::RouterInterface),
        set(&["sub-a", "sub-b", "svc-sub"])
    );
}

#[test]
fn a_users_vm_port_on_a_kuryr_network_is_kept_with_what_it_blocks() {
    let mut s = fixture::snapshot();
    s.ports.push(port(
        "vm",
        "net-a",
        "sub-a",
        "compute:nova",
        "user-server",
        vec![],
    ));
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Port, "vm"),
        (&Reason::ForeignPort, false)
    );
    let blocked = Reason::BlockedBy {
        ports: vec!["vm".into()],
    };
    assert_eq!(reason(&x, ObjKind::Network, "net-a"), (&blocked, false));
    assert_eq!(reason(&x, ObjKind::Subnet, "sub-a"), (&blocked, false));
    assert_eq!(
        reason(&x, ObjKind::RouterInterface, "sub-a"),
        (&blocked, false)
    );
    // Kuryr's own ports on it still go; the other networks are untouched by the block.
    assert!(x.deleted(ObjKind::Port).contains("pod-a1"));
    assert!(x.deleted(ObjKind::Network).contains("net-b"));
    // The pool stays: the kept subnet allocates from it.
    assert_eq!(
        reason(&x, ObjKind::SubnetPool, "pool"),
        (
            &Reason::PoolInUse {
                subnets: vec!["sub-a".into()]
            },
            false
        )
    );

    // Named by the operator: deleted, and its network with it.
    let mut o = opts();
    o.delete_foreign_ports.insert("vm".into());
    let x = select(&s, &o).unwrap();
    assert_eq!(
        reason(&x, ObjKind::Port, "vm"),
        (&Reason::OperatorNamed, true)
    );
    assert!(x.deleted(ObjKind::Network).contains("net-a"));
    assert!(x.deleted(ObjKind::SubnetPool).contains("pool"));
}

#[test]
fn naming_a_port_that_is_not_a_foreign_port_on_a_kuryr_network_is_refused() {
    let s = fixture::snapshot();
    for (id, says) in [
        ("nope", "no such port"),
        ("pod-a1", "Kuryr's own port"),
        ("parent-1", "not on a network the cleanup deletes"),
        ("ri-a", "router interface"),
    ] {
        let mut o = opts();
        o.delete_foreign_ports.insert(id.into());
        let e = select(&s, &o).unwrap_err();
        assert!(e.to_string().contains(says), "{id}: {e}");
        assert!(e.to_string().contains("--delete-foreign-port"), "{e}");
    }
}

fn appliance(s: &mut Snapshot, subport_tags: Vec<String>) {
    s.ports.push(port(
        "appl-parent",
        "machines",
        "nodes",
        "compute:nova",
        "appl-vm",
        vec![],
    ));
    s.ports.push(port(
        "appl-sub",
        "net-b",
        "sub-b",
        "trunk:subport",
        "",
        subport_tags,
    ));
    s.trunks.push(Trunk {
        id: "appl-trunk".into(),
        name: "appliance".into(),
        port_id: "appl-parent".into(),
        sub_ports: vec![SubPort {
            port_id: "appl-sub".into(),
            segmentation_type: "vlan".into(),
            segmentation_id: 7,
        }],
        ..Default::default()
    });
    s.normalize();
}

#[test]
fn an_untagged_appliance_trunk_keeps_its_subport_and_blocks_the_network() {
    let mut s = fixture::snapshot();
    appliance(&mut s, vec![]);
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Trunk, "appl-trunk"),
        (&Reason::NotThisClustersTrunk, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Port, "appl-sub"),
        (&Reason::ForeignPort, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Subport, "appl-sub"),
        (&Reason::ForeignPort, false)
    );
    assert!(!x.deleted(ObjKind::Subport).contains("appl-sub"));
    assert_eq!(
        reason(&x, ObjKind::Network, "net-b"),
        (
            &Reason::BlockedBy {
                ports: vec!["appl-sub".into()]
            },
            false
        )
    );
    assert!(
        !x.keep.iter().any(|e| e.id == "appl-parent"),
        "an untagged parent off Kuryr networks is not ours to report"
    );

    // Even a subport carrying the cluster tag is never taken off a trunk that is not this cluster's.
    let mut s = fixture::snapshot();
    appliance(&mut s, tags());
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Subport, "appl-sub"),
        (
            &Reason::SubportOfOtherTrunk {
                trunk: "appl-trunk".into()
            },
            false
        )
    );
    let e = select(
        &s,
        &SelectOptions {
            delete_foreign_ports: ["appl-sub".to_string()].into(),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("Kuryr's own port"), "{e}");
}

#[test]
fn network_policy_groups_need_a_cr_or_tag_and_description() {
    let mut s = fixture::snapshot();
    // A leftover: tagged, Kuryr's description, no CR.
    s.security_groups.push(sg(
        "np-left",
        "sg/c-np",
        "Kuryr-Kubernetes Network Policy c/np SG",
        tags(),
    ));
    // Another cluster's with the very same description as one of ours.
    s.security_groups.push(sg(
        "np-other",
        "sg/a-np",
        "Kuryr-Kubernetes Network Policy a/np SG",
        vec!["openshiftClusterID=c2".into()],
    ));
    // Tagged but not described as Kuryr's.
    s.security_groups
        .push(sg("tagged-misc", "misc", "something else", tags()));
    // Named by a CR though untagged.
    s.kuryr_network_policies[1].sg_id = Some("np-untagged".into());
    s.security_groups
        .push(sg("np-untagged", "sg/b-np", "", vec![]));
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "np-left"),
        (&Reason::TaggedAndDescribed, true)
    );
    assert!(
        x.entry(ObjKind::SecurityGroup, "np-other").is_none(),
        "another cluster's group is neither deleted nor ours to report"
    );
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "tagged-misc"),
        (&Reason::TaggedNotKuryr, false)
    );
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "np-untagged"),
        (
            &Reason::KuryrNetworkPolicy {
                policy: "b/np".into()
            },
            true
        )
    );
}

#[test]
fn a_group_in_use_by_a_kept_port_or_a_kept_groups_rule_stays() {
    let mut s = fixture::snapshot();
    let mut vm = port(
        "vm",
        "net-a",
        "sub-a",
        "compute:nova",
        "user-server",
        vec![],
    );
    vm.security_groups = vec!["np-sg-a".into()];
    s.ports.push(vm);
    s.security_groups[0].security_group_rules[0].remote_group_id = Some("pods-sg".into());
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "np-sg-a"),
        (&Reason::UsedByKeptPort { port: "vm".into() }, false)
    );
    assert_eq!(
        reason(&x, ObjKind::SecurityGroup, "pods-sg"),
        (
            &Reason::ReferencedBy {
                security_group: "master-sg".into()
            },
            false
        )
    );
    assert!(x.deleted(ObjKind::SecurityGroup).contains("np-sg-b"));
}

#[test]
fn the_pods_group_must_be_named_by_kuryr_config_and_tagged() {
    let mut s = fixture::snapshot();
    s.security_groups
        .iter_mut()
        .find(|g| g.id == "pods-sg")
        .unwrap()
        .tags
        .clear();
    assert_eq!(
        reason(&sel(&s), ObjKind::SecurityGroup, "pods-sg"),
        (&Reason::NotTagged, false)
    );
    // kuryr-config naming an installer group never makes it deletable.
    let mut s = fixture::snapshot();
    s.kuryr_config.pod_security_groups.push("worker-sg".into());
    assert_eq!(
        reason(&sel(&s), ObjKind::SecurityGroup, "worker-sg"),
        (&Reason::Installer, false)
    );
}

#[test]
fn load_balancers_by_tag_or_before_2_5_by_cr_and_description() {
    let mut s = fixture::snapshot();
    let mut other = fixture::lb(
        "lb-other",
        "vip-other",
        vec!["openshiftClusterID=c2".into()],
    );
    other.lb.description = "openshiftClusterID=c2".into();
    s.load_balancers.push(other);
    s.load_balancers[1].lb.tags.clear(); // lb-2: named by a CR, untagged
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-1"),
        (&Reason::Tagged, true)
    );
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-2"),
        (&Reason::NotTagged, false)
    );
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-other"),
        (&Reason::NotProvenKuryrs, false)
    );
    // lb-2 stays, so does its VIP port, which blocks the service network.
    assert_eq!(
        reason(&x, ObjKind::Port, "vip-2"),
        (&Reason::ForeignPort, false)
    );
    assert!(x.kept(ObjKind::Network).contains("svc-net"));

    // Octavia 2.4: no tags; the CR and the description together.
    let mut old = fixture::snapshot();
    old.octavia_version = (2, 4);
    for t in &mut old.load_balancers {
        t.lb.tags.clear();
    }
    old.load_balancers[1].lb.description = "made by hand".into();
    let mut stray = fixture::lb("lb-stray", "vip-stray", vec![]);
    stray.lb.description = TAG.into(); // the tag string, but no CR names it
    old.load_balancers.push(stray);
    old.normalize();
    let x = select(
        &old,
        &SelectOptions {
            octavia_version: (2, 4),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-1"),
        (&Reason::NamedAndDescribed, true)
    );
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-2"),
        (&Reason::NotProvenKuryrs, false)
    );
    assert_eq!(
        reason(&x, ObjKind::LoadBalancer, "lb-stray"),
        (&Reason::NotProvenKuryrs, false)
    );
}

#[test]
fn floating_ips_only_those_kuryr_allocated_for_a_snapshot_service() {
    let mut s = fixture::snapshot();
    let user = crate::openstack::neutron::FloatingIp {
        id: "fip-user".into(),
        floating_ip_address: "198.51.100.20".into(),
        tags: tags(),
        ..Default::default()
    };
    let stray = crate::openstack::neutron::FloatingIp {
        id: "fip-stray".into(),
        tags: tags(),
        description: "kuryr_lb".into(),
        ..Default::default()
    };
    s.floating_ips.extend([user, stray]);
    s.kuryr_load_balancers[1].pub_ip = Some(crate::kuryr::cleanup::snapshot::PubIpInfo {
        ip_id: "fip-user".into(),
        ip_addr: "198.51.100.20".into(),
        alloc_method: "user".into(),
    });
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::FloatingIp, "fip-1"),
        (
            &Reason::KuryrFloatingIp {
                service: "a/svc-1".into()
            },
            true
        )
    );
    assert_eq!(
        reason(&x, ObjKind::FloatingIp, "fip-user"),
        (&Reason::UsersFloatingIp, false)
    );
    assert_eq!(
        reason(&x, ObjKind::FloatingIp, "fip-stray"),
        (&Reason::NotNamedByKuryr, false)
    );
}

#[test]
fn subnet_pools_by_tag_only() {
    let mut s = fixture::snapshot();
    s.subnet_pools[0].tags.clear();
    assert_eq!(
        reason(&sel(&s), ObjKind::SubnetPool, "pool"),
        (&Reason::NotTagged, false)
    );
}

#[test]
fn networks_only_from_kuryr_networks_never_the_installers_or_external() {
    let mut s = fixture::snapshot();
    s.networks.push(net("tagged-extra", "c1-something", tags()));
    s.kuryr_networks[0].net_id = Some("machines".into()); // a corrupt CR pointing at the machines network
    s.kuryr_networks[1].net_id = Some("public".into());
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Network, "machines"),
        (&Reason::Installer, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Network, "public"),
        (&Reason::ExternalNetwork, false)
    );
    assert_eq!(
        reason(&x, ObjKind::Network, "tagged-extra"),
        (&Reason::NotKuryrNetwork, false)
    );
    assert_eq!(x.deleted(ObjKind::Network), set(&["svc-net"]));
    assert!(!x.deleted(ObjKind::Port).contains("parent-1"));
}

#[test]
fn an_unnamed_subnet_on_a_kuryr_network_blocks_it() {
    let mut s = fixture::snapshot();
    s.subnets
        .push(subnet("extra", "net-b", "192.168.0.0/24", vec![]));
    s.normalize();
    let x = sel(&s);
    assert_eq!(
        reason(&x, ObjKind::Subnet, "extra"),
        (&Reason::UnnamedSubnet, false)
    );
    assert!(x.kept(ObjKind::Network).contains("net-b"));
}

#[test]
fn kubernetes_actions_come_from_the_snapshot_with_the_finalizer_index() {
    let x = sel(&fixture::snapshot());
    assert!(x.k8s.contains(&K8sAction::RemoveFinalizer {
        kind: CrKind::Pod,
        namespace: "a".into(),
        name: "pod-a1".into(),
        finalizer: POD_FINALIZER.into(),
        index: 1,
    }));
    let count = |f: &str| {
        x.k8s
            .iter()
            .filter(|a| matches!(a, K8sAction::RemoveFinalizer { finalizer, .. } if finalizer == f))
            .count()
    };
    assert_eq!(count(SERVICE_FINALIZER), 1);
    assert_eq!(count(KURYR_LOADBALANCER_FINALIZER), 2);
    assert_eq!(count(KURYR_PORT_FINALIZER), 3);
    assert_eq!(count(NETWORK_POLICY_FINALIZER), 3);
    assert_eq!(count(KURYR_NETWORK_FINALIZER), 2);
    assert!(x.k8s.contains(&K8sAction::DeleteGatewayService));
    assert!(x.k8s.contains(&K8sAction::DeleteKuryrNamespace));
    assert!(x.k8s.contains(&K8sAction::DeleteKuryrNetwork {
        namespace: "b".into(),
        name: "b".into()
    }));
    assert!(x.k8s.contains(&K8sAction::DeleteCrd {
        name: "kuryrports.openstack.org".into()
    }));
}

#[test]
fn another_clusters_snapshot_is_refused() {
    let e = select(
        &fixture::snapshot(),
        &SelectOptions {
            cluster_id: "c2".into(),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("snapshot is of cluster c1, not c2"),
        "{e}"
    );
}

/// Objects that are not the first cluster's, in every disguise the rules must see through.
#[derive(Clone, Debug)]
enum Stranger {
    /// Another cluster's SG with our NP description.
    OtherNpSg(u8),
    /// Another cluster's LB, with our tag string in its description.
    OtherLb(bool),
    /// Another cluster's subnet pool.
    OtherPool,
    /// A user's port on one of our networks.
    VmPort(u8),
    /// An untagged trunk with a subport on one of our networks, tagged or not.
    ApplianceTrunk(u8, bool),
    /// A user's router with our router's name but no tag.
    NamedRouter,
    /// A floating IP with Kuryr's description and our tag, named by no CR.
    StrayFip,
    /// Another cluster's network, subnet and port.
    OtherNetwork,
}

fn stranger() -> impl Strategy<Value = Stranger> {
    prop_oneof![
        any::<u8>().prop_map(Stranger::OtherNpSg),
        any::<bool>().prop_map(Stranger::OtherLb),
        Just(Stranger::OtherPool),
        any::<u8>().prop_map(Stranger::VmPort),
        (any::<u8>(), any::<bool>()).prop_map(|(a, b)| Stranger::ApplianceTrunk(a, b)),
        Just(Stranger::NamedRouter),
        Just(Stranger::StrayFip),
        Just(Stranger::OtherNetwork),
    ]
}

fn add(s: &mut Snapshot, x: &Stranger, i: usize) -> Vec<String> {
    let our_nets = ["net-a", "net-b", "svc-net"];
    let our_subs = ["sub-a", "sub-b", "svc-sub"];
    let other = vec!["openshiftClusterID=c2".to_string()];
    let id = |p: &str| format!("x{i}-{p}");
    match x {
        Stranger::OtherNpSg(n) => {
            s.security_groups.push(sg(
                &id("sg"),
                "sg/a-np",
                &format!("Kuryr-Kubernetes Network Policy a/np{n} SG"),
                other,
            ));
            vec![id("sg")]
        }
        Stranger::OtherLb(described) => {
            let mut t = fixture::lb(&id("lb"), &id("vip"), other);
            if *described {
                t.lb.description = TAG.into();
            }
            s.load_balancers.push(t);
            vec![id("lb")]
        }
        Stranger::OtherPool => {
            s.subnet_pools.push(crate::openstack::neutron::SubnetPool {
                id: id("pool"),
                tags: other,
                ..Default::default()
            });
            vec![id("pool")]
        }
        Stranger::VmPort(n) => {
            let k = *n as usize % 3;
            s.ports.push(port(
                &id("vm"),
                our_nets[k],
                our_subs[k],
                "compute:nova",
                "vm",
                vec![],
            ));
            vec![id("vm")]
        }
        Stranger::ApplianceTrunk(n, tagged) => {
            let k = *n as usize % 3;
            s.ports.push(port(
                &id("parent"),
                "machines",
                "nodes",
                "compute:nova",
                "vm",
                vec![],
            ));
            let t = if *tagged { tags() } else { vec![] };
            s.ports.push(port(
                &id("sub"),
                our_nets[k],
                our_subs[k],
                "trunk:subport",
                "",
                t,
            ));
            s.trunks.push(Trunk {
                id: id("trunk"),
                port_id: id("parent"),
                sub_ports: vec![SubPort {
                    port_id: id("sub"),
                    segmentation_type: "vlan".into(),
                    segmentation_id: 9,
                }],
                ..Default::default()
            });
            vec![id("parent"), id("sub"), id("trunk")]
        }
        Stranger::NamedRouter => {
            s.routers.push(crate::openstack::neutron::Router {
                id: id("router"),
                name: "c1-external-router".into(),
                ..Default::default()
            });
            vec![id("router")]
        }
        Stranger::StrayFip => {
            s.floating_ips.push(crate::openstack::neutron::FloatingIp {
                id: id("fip"),
                description: "kuryr_lb".into(),
                tags: tags(),
                ..Default::default()
            });
            vec![id("fip")]
        }
        Stranger::OtherNetwork => {
            s.networks.push(net(&id("net"), "ns/a-net", other.clone()));
            s.subnets.push(subnet(
                &id("sub"),
                &id("net"),
                "10.132.0.0/23",
                other.clone(),
            ));
            s.ports.push(port(
                &id("port"),
                &id("net"),
                &id("sub"),
                "trunk:subport",
                "",
                other,
            ));
            vec![id("net"), id("sub"), id("port")]
        }
    }
}

/// The IDs of the first cluster's own objects that the cleanup may delete.
fn own_ids(s: &Snapshot) -> BTreeSet<String> {
    let installer = [
        "machines",
        "nodes",
        "master-sg",
        "worker-sg",
        "trunk-0",
        "trunk-1",
        "parent-0",
        "parent-1",
        "public",
    ];
    let mut ids: BTreeSet<String> = BTreeSet::new();
    ids.extend(s.networks.iter().map(|o| o.id.clone()));
    ids.extend(s.subnets.iter().map(|o| o.id.clone()));
    ids.extend(s.ports.iter().map(|o| o.id.clone()));
    ids.extend(s.routers.iter().map(|o| o.id.clone()));
    ids.extend(s.subnet_pools.iter().map(|o| o.id.clone()));
    ids.extend(s.security_groups.iter().map(|o| o.id.clone()));
    ids.extend(s.load_balancers.iter().map(|o| o.lb.id.clone()));
    ids.extend(s.floating_ips.iter().map(|o| o.id.clone()));
    for i in installer {
        ids.remove(i);
    }
    ids
}

proptest! {
    #[test]
    fn nothing_outside_the_first_clusters_own_objects_is_ever_selected(
        strangers in proptest::collection::vec(stranger(), 0..12),
        drop_machines_interface in any::<bool>(),
        old_octavia in any::<bool>(),
    ) {
        let mut s = fixture::snapshot();
        if drop_machines_interface {
            s.ports.retain(|p| p.id != "ri-nodes");
        }
        let own = own_ids(&s);
        let mut theirs: BTreeSet<String> = BTreeSet::new();
        for (i, x) in strangers.iter().enumerate() {
            theirs.extend(add(&mut s, x, i));
        }
        s.normalize();
        let version = if old_octavia { (2, 4) } else { (2, 26) };
        let x = select(&s, &SelectOptions { octavia_version: version, ..opts() }).unwrap();
        for e in &x.delete {
            let id = if e.kind == ObjKind::RouterInterface { e.parent.clone().unwrap_or_default() } else { e.id.clone() };
            prop_assert!(own.contains(&e.id) || e.kind == ObjKind::RouterInterface && own.contains(&id),
                "{} {} ({}) is not the first cluster's", e.kind, e.id, e.reason);
            prop_assert!(!theirs.contains(&e.id), "{} {} is a stranger's", e.kind, e.id);
            if e.kind == ObjKind::Subport {
                prop_assert!(e.parent.as_deref().is_some_and(|t| t == "trunk-1"), "subport {} off {:?}", e.id, e.parent);
            }
        }
        // A stranger on one of our networks keeps that network.
        for p in s.ports.iter().filter(|p| theirs.contains(&p.id) && ["net-a", "net-b", "svc-net"].contains(&p.network_id.as_str())) {
            prop_assert!(x.kept(ObjKind::Network).contains(p.network_id.as_str()));
        }
    }
}
