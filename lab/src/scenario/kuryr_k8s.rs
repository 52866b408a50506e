//! The Kuryr cluster scenario, Kubernetes side: every object the tool reads,
//! as full JSON with apiVersion and kind: cluster config and operator
//! objects, machine config pools and rendered configs, nodes (providerID
//! `openstack:///<server uuid>`, bootID, MCO annotations), the
//! `openshift-kuryr` namespace with `kuryr-config`, multus, and per namespace
//! pods, services and network policies with Kuryr's finalizers and the
//! KuryrNetwork / KuryrPort / KuryrLoadBalancer / KuryrNetworkPolicy CRs
//! pointing at the OpenStack objects of `kuryr.rs`.

use serde_json::{Value, json};

use super::kuryr::{KuryrIds, ScenarioConfig};

pub(crate) struct NodeInfo {
    pub name: String,
    pub role: &'static str,
    pub server: String,
    pub ip: String,
    pub trunk: String,
    pub next_vlan: u32,
}

pub(crate) struct PodInfo {
    pub name: String,
    pub node: String,
    pub ip: String,
    pub port: String,
    pub vlan: u32,
    pub mac: String,
    pub uid: String,
}

pub(crate) struct SvcInfo {
    pub name: String,
    pub uid: String,
    pub lb: String,
    pub vip: String,
    pub vip_port: String,
    pub listener: String,
    pub pool: String,
    pub members: Vec<(String, String, String)>,
    pub fip: Option<(String, String)>,
}

pub(crate) struct NpInfo {
    pub name: String,
    pub uid: String,
    pub sg: String,
    pub rule: String,
}

pub(crate) struct NsInfo {
    pub name: String,
    pub net: String,
    pub subnet: String,
    pub cidr: String,
    pub pods: Vec<PodInfo>,
    pub services: Vec<SvcInfo>,
    pub policies: Vec<NpInfo>,
}

pub(crate) struct K8sInput {
    pub cluster: String,
    pub project: String,
    pub ids: KuryrIds,
    pub namespaces: Vec<NsInfo>,
}

const CURRENT: &str = "machineconfiguration.openshift.io/currentConfig";
const DESIRED: &str = "machineconfiguration.openshift.io/desiredConfig";
const STATE: &str = "machineconfiguration.openshift.io/state";
const CRDS: [(&str, &str); 4] = [
    ("kuryrnetworks", "KuryrNetwork"),
    ("kuryrports", "KuryrPort"),
    ("kuryrloadbalancers", "KuryrLoadBalancer"),
    ("kuryrnetworkpolicies", "KuryrNetworkPolicy"),
];

fn conditions(ok: &[&str], not: &[&str]) -> Value {
    let mut c: Vec<Value> = ok
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}))
        .collect();
    c.extend(not.iter().map(
        |t| json!({"type": t, "status": "False", "lastTransitionTime": "2024-01-01T00:00:00Z"}),
    ));
    Value::Array(c)
}

fn owner(kind: &str, api: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": api, "kind": kind, "name": name, "uid": uid, "blockOwnerDeletion": true, "controller": true}])
}

/// Returns every Kubernetes object of the scenario.
pub(crate) fn objects(cfg: &ScenarioConfig, input: &K8sInput, nodes: &[NodeInfo]) -> Vec<Value> {
    let ids = &input.ids;
    let cluster = &input.cluster;
    let mut o: Vec<Value> = Vec::new();
    o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"},
        "spec": {"platformSpec": {"type": "OpenStack"}}, "status": {"infrastructureName": cluster, "platform": "OpenStack"}}));
    o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
        "spec": {"networkType": "Kuryr", "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}], "serviceNetwork": ["172.30.0.0/16"]},
        "status": {"networkType": "Kuryr", "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}], "serviceNetwork": ["172.30.0.0/16"], "clusterNetworkMTU": 1400}}));
    o.push(json!({"apiVersion": "operator.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster", "generation": 1},
        "spec": {"defaultNetwork": {"type": "Kuryr", "kuryrConfig": {}}, "clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}], "serviceNetwork": ["172.30.0.0/16"], "managementState": "Managed"},
        "status": {"conditions": conditions(&["Available"], &["Progressing", "Degraded"])}}));
    for co in [
        "network",
        "machine-config",
        "kube-apiserver",
        "dns",
        "ingress",
        "authentication",
    ] {
        o.push(json!({"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator", "metadata": {"name": co},
            "status": {"conditions": conditions(&["Available", "Upgradeable"], &["Progressing", "Degraded"]), "versions": [{"name": "operator", "version": "4.14.0"}]}}));
    }
    for (plural, kind) in CRDS {
        o.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": format!("{plural}.openstack.org")},
            "spec": {"group": "openstack.org", "scope": "Namespaced", "names": {"plural": plural, "kind": kind, "singular": kind.to_lowercase()},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}));
    }
    for pool in ["master", "worker"] {
        let rendered = format!(
            "rendered-{pool}-{:032x}",
            cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ pool.len() as u64
        );
        let count = nodes.iter().filter(|n| n.role == pool).count();
        o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig", "metadata": {"name": rendered,
            "annotations": {"machineconfiguration.openshift.io/generated-by-controller-version": "4.14.0"}},
            "spec": {"config": {"ignition": {"version": "3.2.0"}, "systemd": {"units": [{"name": "ovs-configuration.service", "enabled": true,
                "contents": "[Service]\nExecStart=/usr/local/bin/configure-ovs.sh Kuryr\n"}]}}}}));
        o.push(json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool", "metadata": {"name": pool, "generation": 1},
            "spec": {"configuration": {"name": rendered}, "machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": pool}},
                "nodeSelector": {"matchLabels": {format!("node-role.kubernetes.io/{pool}"): ""}}},
            "status": {"observedGeneration": 1, "configuration": {"name": rendered}, "machineCount": count, "updatedMachineCount": count, "readyMachineCount": count,
                "degradedMachineCount": 0, "conditions": conditions(&["Updated"], &["Updating", "Degraded"])}}));
        for (i, n) in nodes.iter().filter(|n| n.role == pool).enumerate() {
            o.push(json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n.name, "labels": {format!("node-role.kubernetes.io/{pool}"): "", "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"},
                    "annotations": {CURRENT: rendered, DESIRED: rendered, STATE: "Done"}},
                "spec": {"providerID": format!("openstack:///{}", n.server)},
                "status": {"nodeInfo": {"bootID": format!("{:08x}-0000-4000-8000-{:012x}", cfg.seed as u32, i + if pool == "master" { 0 } else { 100 })},
                    "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}));
        }
    }
    for ns in [
        "openshift-kuryr",
        "openshift-multus",
        "kube-system",
        "openshift-config",
        "openshift-network-operator",
    ] {
        o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}}));
    }
    let conf = format!(
        "[DEFAULT]\ndebug = false\n\n[kubernetes]\nenabled_handlers = vif,endpoints,service,kuryrloadbalancer,kuryrnetwork,namespace,policy,pod_label,kuryrnetworkpolicy,kuryrport\n\n\
         [neutron_defaults]\nproject = {}\nservice_subnet = {}\npod_security_groups = {}\nresource_tags = {}\nexternal_svc_net = {}\n\n\
         [namespace_subnet]\npod_router = {}\npod_subnet_pool = {}\n\n[octavia_defaults]\nlbaas_activation_timeout = 1200\nenforce_sg_rules = false\n",
        input.project,
        ids.service_subnet_id,
        ids.pods_sg_id,
        ids.tag,
        ids.external_network_id,
        ids.router_id,
        ids.subnetpool_id
    );
    o.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kuryr-config", "namespace": "openshift-kuryr"}, "data": {"kuryr.conf": conf}}));
    o.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "service-subnet-gateway-ip", "namespace": "openshift-kuryr"},
        "spec": {"type": "ClusterIP", "clusterIP": "172.31.255.254", "ports": [{"port": 80, "protocol": "TCP"}]}}));
    o.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "multus", "namespace": "openshift-multus", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "multus"}}, "template": {"metadata": {"labels": {"app": "multus"}}, "spec": {"containers": [{"name": "kube-multus", "image": "multus"}]}}},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": nodes.len(), "updatedNumberScheduled": nodes.len(),
            "numberAvailable": nodes.len(), "numberReady": nodes.len()}}));
    for (i, n) in nodes.iter().enumerate() {
        o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("kuryr-cni-{i:05}"), "namespace": "openshift-kuryr", "labels": {"app": "kuryr-cni"}},
            "spec": {"nodeName": n.name, "hostNetwork": true, "containers": [{"name": "kuryr-cni", "image": "kuryr-cni"}]}, "status": {"phase": "Running", "podIP": n.ip}}));
    }
    o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kuryr-controller-0", "namespace": "openshift-kuryr", "labels": {"app": "kuryr-controller"}},
        "spec": {"nodeName": nodes.first().map(|n| n.name.clone()).unwrap_or_default(), "hostNetwork": true, "containers": [{"name": "controller", "image": "kuryr-controller"}]},
        "status": {"phase": "Running"}}));

    for ns in &input.namespaces {
        let n = &ns.name;
        o.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "uid": format!("ns-{}", ns.net)}, "status": {"phase": "Active"}}));
        o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetwork",
            "metadata": {"name": n, "namespace": n, "finalizers": ["kuryrnetwork.finalizers.kuryr.openstack.org"]},
            "spec": {"nsName": n, "projectId": input.project, "nsLabels": {"kubernetes.io/metadata.name": n}},
            "status": {"netId": ns.net, "subnetId": ns.subnet, "routerId": ids.router_id, "subnetCIDR": ns.cidr, "populated": true, "nsLabels": {"kubernetes.io/metadata.name": n}}}));
        for p in &ns.pods {
            o.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": p.name, "namespace": n, "uid": p.uid, "labels": {"app": "demo"}, "finalizers": ["kuryr.openstack.org/pod-finalizer"]},
                "spec": {"nodeName": p.node, "containers": [{"name": "app", "image": "demo"}]},
                "status": {"phase": "Running", "podIP": p.ip, "podIPs": [{"ip": p.ip}], "conditions": [{"type": "Ready", "status": "True"}]}}));
            let vif = json!({"versioned_object.name": "VIFVlanNested", "versioned_object.namespace": "os_vif", "versioned_object.version": "1.1",
                "versioned_object.data": {"id": p.port, "vlan_id": p.vlan, "address": p.mac, "active": true, "plugin": "noop", "vif_name": "tap0",
                    "network": {"versioned_object.data": {"id": ns.net, "mtu": 1450, "subnets": {"versioned_object.data": {"objects": [{"versioned_object.data": {"cidr": ns.cidr}}]}}}}}});
            o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrPort",
                "metadata": {"name": p.name, "namespace": n, "finalizers": ["kuryr.openstack.org/kuryrport-finalizer"],
                    "labels": {"kuryr.openstack.org/nodeName": p.node}, "ownerReferences": owner("Pod", "v1", &p.name, &p.uid)},
                "spec": {"podUid": p.uid, "podNodeName": p.node},
                "status": {"vifs": {"eth0": {"default": true, "vif": vif}}}}));
        }
        for s in &ns.services {
            let lb_type = if s.fip.is_some() {
                "LoadBalancer"
            } else {
                "ClusterIP"
            };
            o.push(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": s.name, "namespace": n, "uid": s.uid, "finalizers": ["kuryr.openstack.org/service-finalizer"]},
                "spec": {"type": lb_type, "clusterIP": s.vip, "selector": {"app": "demo"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}));
            let lb_name = format!("{n}/{}", s.name);
            let members: Vec<Value> = s
                .members
                .iter()
                .map(|(id, ip, pod)| {
                    json!({"id": id, "ip": ip, "name": format!("{n}/{pod}:8080"), "pool_id": s.pool,
                "port": 8080, "project_id": input.project, "subnet_id": ns.subnet})
                })
                .collect();
            let mut status = json!({
                "loadbalancer": {"id": s.lb, "ip": s.vip, "name": lb_name, "port_id": s.vip_port, "project_id": input.project, "provider": "amphora",
                    "security_groups": [ids.pods_sg_id], "subnet_id": ids.service_subnet_id},
                "listeners": [{"id": s.listener, "loadbalancer_id": s.lb, "name": format!("{lb_name}:TCP:80"), "port": 80, "project_id": input.project, "protocol": "TCP"}],
                "pools": [{"id": s.pool, "listener_id": s.listener, "loadbalancer_id": s.lb, "name": format!("{lb_name}:TCP:80"), "project_id": input.project, "protocol": "TCP"}],
                "members": members});
            if let Some((fip, addr)) = &s.fip {
                status["service_pub_ip_info"] =
                    json!({"ip_id": fip, "ip_addr": addr, "alloc_method": "pool"});
            }
            o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrLoadBalancer",
                "metadata": {"name": s.name, "namespace": n, "finalizers": ["kuryr.openstack.org/kuryrloadbalancer-finalizers"],
                    "ownerReferences": owner("Service", "v1", &s.name, &s.uid)},
                "spec": {"ip": s.vip, "ports": [{"port": 80, "protocol": "TCP", "targetPort": "8080"}], "project_id": input.project, "provider": "amphora",
                    "security_groups_ids": [ids.pods_sg_id], "subnet_id": ids.service_subnet_id, "type": lb_type},
                "status": status}));
        }
        for np in &ns.policies {
            o.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": np.name, "namespace": n, "uid": np.uid, "finalizers": ["kuryr.openstack.org/networkpolicy-finalizer"]},
                "spec": {"podSelector": {"matchLabels": {"app": "demo"}}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}]}}));
            let rule = json!({"sgRule": {"id": np.rule, "security_group_id": np.sg, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
                "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": ns.cidr}});
            o.push(json!({"apiVersion": "openstack.org/v1", "kind": "KuryrNetworkPolicy",
                "metadata": {"name": np.name, "namespace": n, "finalizers": ["kuryr.openstack.org/networkpolicy-finalizer"],
                    "ownerReferences": owner("NetworkPolicy", "networking.k8s.io/v1", &np.name, &np.uid)},
                "spec": {"egressSgRules": [], "ingressSgRules": [rule.clone()], "podSelector": {"matchLabels": {"app": "demo"}}},
                "status": {"securityGroupId": np.sg, "securityGroupRules": [rule["sgRule"].clone()], "podSelector": {"matchLabels": {"app": "demo"}}}}));
        }
    }
    o
}
