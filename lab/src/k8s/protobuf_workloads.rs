//! Protobuf conversions of the workload kinds kubectl's typed commands send:
//! Pods (`kubectl run`), Deployments (`kubectl create deployment`) and
//! Services (`kubectl create service`, `kubectl expose`), for the fields
//! those commands set. Like `protobuf.rs`, every conversion takes what it
//! maps out of the decoded message and refuses (415, send JSON) whatever is
//! left, so nothing is dropped silently. Go encodes zero values of plain
//! fields, so empty strings, zeros and `false` read as unset (as JSON's
//! `omitempty` omits them), except where the field is a pointer in Go
//! (`replicas`).

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::protobuf::{leftover, object_meta};

fn text(m: &mut Map<String, Value>, key: &str, v: &mut Option<String>) {
    if let Some(s) = v.take().filter(|s| !s.is_empty()) {
        m.insert(key.into(), json!(s));
    }
}

fn int(m: &mut Map<String, Value>, key: &str, v: &mut Option<i32>) {
    if let Some(n) = v.take().filter(|n| *n != 0) {
        m.insert(key.into(), json!(n));
    }
}

fn flag(m: &mut Map<String, Value>, key: &str, v: &mut Option<bool>) {
    if let Some(b) = v.take().filter(|b| *b) {
        m.insert(key.into(), json!(b));
    }
}

fn strings(m: &mut Map<String, Value>, key: &str, v: &mut Vec<String>) {
    let v = std::mem::take(v);
    if !v.is_empty() {
        m.insert(key.into(), json!(v));
    }
}

fn labels(m: &mut Map<String, Value>, key: &str, v: &mut BTreeMap<String, String>) {
    let v = std::mem::take(v);
    if !v.is_empty() {
        m.insert(key.into(), json!(v));
    }
}

fn int_or_string(v: IntOrString) -> Option<Value> {
    match v.r#type {
        Some(1) => v.str_val.map(Value::from),
        _ => v.int_val.map(Value::from),
    }
}

fn container(mut c: core::Container) -> Result<Value, ApiError> {
    let mut m = Map::new();
    text(&mut m, "name", &mut c.name);
    text(&mut m, "image", &mut c.image);
    strings(&mut m, "command", &mut c.command);
    strings(&mut m, "args", &mut c.args);
    text(&mut m, "workingDir", &mut c.working_dir);
    text(&mut m, "imagePullPolicy", &mut c.image_pull_policy);
    text(
        &mut m,
        "terminationMessagePath",
        &mut c.termination_message_path,
    );
    text(
        &mut m,
        "terminationMessagePolicy",
        &mut c.termination_message_policy,
    );
    flag(&mut m, "stdin", &mut c.stdin);
    flag(&mut m, "stdinOnce", &mut c.stdin_once);
    flag(&mut m, "tty", &mut c.tty);
    let mut ports = Vec::new();
    for mut p in std::mem::take(&mut c.ports) {
        let mut pm = Map::new();
        text(&mut pm, "name", &mut p.name);
        int(&mut pm, "containerPort", &mut p.container_port);
        int(&mut pm, "hostPort", &mut p.host_port);
        text(&mut pm, "protocol", &mut p.protocol);
        text(&mut pm, "hostIP", &mut p.host_ip);
        leftover("a container port", &p)?;
        ports.push(Value::Object(pm));
    }
    if !ports.is_empty() {
        m.insert("ports".into(), Value::Array(ports));
    }
    let mut env = Vec::new();
    for mut e in std::mem::take(&mut c.env) {
        let mut em = Map::new();
        text(&mut em, "name", &mut e.name);
        if let Some(v) = e.value.take() {
            em.insert("value".into(), json!(v));
        }
        leftover("an env var", &e)?;
        env.push(Value::Object(em));
    }
    if !env.is_empty() {
        m.insert("env".into(), Value::Array(env));
    }
    if let Some(r) = c.resources.take() {
        if r.limits.is_empty() && r.requests.is_empty() && r.claims.is_empty() {
            m.insert("resources".into(), json!({}));
        } else {
            return Err(super::protobuf::unsupported("container resources"));
        }
    }
    leftover("a container", &c)?;
    Ok(Value::Object(m))
}

fn pod_spec(mut s: core::PodSpec) -> Result<Value, ApiError> {
    let mut m = Map::new();
    let containers: Vec<Value> = std::mem::take(&mut s.containers)
        .into_iter()
        .map(container)
        .collect::<Result<_, _>>()?;
    m.insert("containers".into(), Value::Array(containers));
    text(&mut m, "restartPolicy", &mut s.restart_policy);
    text(&mut m, "dnsPolicy", &mut s.dns_policy);
    text(&mut m, "serviceAccountName", &mut s.service_account_name);
    text(&mut m, "nodeName", &mut s.node_name);
    text(&mut m, "schedulerName", &mut s.scheduler_name);
    labels(&mut m, "nodeSelector", &mut s.node_selector);
    flag(&mut m, "hostNetwork", &mut s.host_network);
    // Plain (non-pointer) Go fields, always on the wire: zero means unset.
    text(&mut m, "serviceAccount", &mut s.service_account);
    text(&mut m, "hostname", &mut s.hostname);
    text(&mut m, "subdomain", &mut s.subdomain);
    text(&mut m, "priorityClassName", &mut s.priority_class_name);
    flag(&mut m, "hostPID", &mut s.host_pid);
    flag(&mut m, "hostIPC", &mut s.host_ipc);
    if let Some(sc) = s.security_context.take()
        && sc != core::PodSecurityContext::default()
    {
        return Err(super::protobuf::unsupported("a pod security context"));
    }
    if let Some(n) = s.termination_grace_period_seconds.take() {
        m.insert("terminationGracePeriodSeconds".into(), json!(n));
    }
    leftover("a pod spec", &s)?;
    Ok(Value::Object(m))
}

fn template(mut t: core::PodTemplateSpec) -> Result<Value, ApiError> {
    let mut m = Map::new();
    m.insert(
        "metadata".into(),
        object_meta(t.metadata.take().unwrap_or_default())?,
    );
    m.insert("spec".into(), pod_spec(t.spec.take().unwrap_or_default())?);
    leftover("a pod template", &t)?;
    Ok(Value::Object(m))
}

fn selector(mut s: meta::LabelSelector) -> Result<Value, ApiError> {
    let mut m = Map::new();
    labels(&mut m, "matchLabels", &mut s.match_labels);
    leftover("a label selector", &s)?;
    Ok(Value::Object(m))
}

/// Converts a Pod (`kubectl run`).
pub(super) fn pod(mut p: core::Pod) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert(
        "metadata".into(),
        object_meta(p.metadata.take().unwrap_or_default())?,
    );
    out.insert("spec".into(), pod_spec(p.spec.take().unwrap_or_default())?);
    // Status is the server's on create.
    p.status = None;
    leftover("a Pod", &p)?;
    Ok(Value::Object(out))
}

/// Converts a Deployment (`kubectl create deployment`).
pub(super) fn deployment(mut d: apps::Deployment) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert(
        "metadata".into(),
        object_meta(d.metadata.take().unwrap_or_default())?,
    );
    let mut s = d.spec.take().unwrap_or_default();
    let mut spec = Map::new();
    if let Some(r) = s.replicas.take() {
        spec.insert("replicas".into(), json!(r));
    }
    if let Some(sel) = s.selector.take() {
        spec.insert("selector".into(), selector(sel)?);
    }
    if let Some(t) = s.template.take() {
        spec.insert("template".into(), template(t)?);
    }
    if let Some(mut st) = s.strategy.take() {
        let mut sm = Map::new();
        text(&mut sm, "type", &mut st.r#type);
        if let Some(mut ru) = st.rolling_update.take() {
            let mut rm = Map::new();
            if let Some(v) = ru.max_unavailable.take().and_then(int_or_string) {
                rm.insert("maxUnavailable".into(), v);
            }
            if let Some(v) = ru.max_surge.take().and_then(int_or_string) {
                rm.insert("maxSurge".into(), v);
            }
            leftover("a rolling update", &ru)?;
            sm.insert("rollingUpdate".into(), Value::Object(rm));
        }
        leftover("a deployment strategy", &st)?;
        spec.insert("strategy".into(), Value::Object(sm));
    }
    int(&mut spec, "minReadySeconds", &mut s.min_ready_seconds);
    flag(&mut spec, "paused", &mut s.paused);
    leftover("a Deployment spec", &s)?;
    out.insert("spec".into(), Value::Object(spec));
    d.status = None;
    leftover("a Deployment", &d)?;
    Ok(Value::Object(out))
}

/// Converts a Service (`kubectl create service`, `kubectl expose`).
pub(super) fn service(mut svc: core::Service) -> Result<Value, ApiError> {
    let mut out = Map::new();
    out.insert(
        "metadata".into(),
        object_meta(svc.metadata.take().unwrap_or_default())?,
    );
    let mut s = svc.spec.take().unwrap_or_default();
    let mut spec = Map::new();
    let mut ports = Vec::new();
    for mut p in std::mem::take(&mut s.ports) {
        let mut pm = Map::new();
        text(&mut pm, "name", &mut p.name);
        text(&mut pm, "protocol", &mut p.protocol);
        int(&mut pm, "port", &mut p.port);
        int(&mut pm, "nodePort", &mut p.node_port);
        if let Some(v) = p.target_port.take().and_then(int_or_string)
            && v != json!(0)
            && v != json!("")
        {
            pm.insert("targetPort".into(), v);
        }
        text(&mut pm, "appProtocol", &mut p.app_protocol);
        leftover("a service port", &p)?;
        ports.push(Value::Object(pm));
    }
    if !ports.is_empty() {
        spec.insert("ports".into(), Value::Array(ports));
    }
    labels(&mut spec, "selector", &mut s.selector);
    text(&mut spec, "type", &mut s.r#type);
    text(&mut spec, "clusterIP", &mut s.cluster_ip);
    strings(&mut spec, "clusterIPs", &mut s.cluster_ips);
    text(&mut spec, "externalName", &mut s.external_name);
    text(&mut spec, "sessionAffinity", &mut s.session_affinity);
    strings(&mut spec, "externalIPs", &mut s.external_ips);
    text(&mut spec, "loadBalancerIP", &mut s.load_balancer_ip);
    text(
        &mut spec,
        "externalTrafficPolicy",
        &mut s.external_traffic_policy,
    );
    int(
        &mut spec,
        "healthCheckNodePort",
        &mut s.health_check_node_port,
    );
    flag(
        &mut spec,
        "publishNotReadyAddresses",
        &mut s.publish_not_ready_addresses,
    );
    leftover("a Service spec", &s)?;
    out.insert("spec".into(), Value::Object(spec));
    svc.status = None;
    leftover("a Service", &svc)?;
    Ok(Value::Object(out))
}
