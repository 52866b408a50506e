//! The Galera cluster behind Neutron's database as the backup steps see it:
//! the `mariadb-server` StatefulSet, its pods, and each member's `wsrep_*`
//! status read through pod exec; the pure judgement of whether the cluster
//! may be desynced for a dump (the spec's P4 table: every member Ready, as
//! many as the replicas, each `wsrep_ready=ON`, `Primary`, `Synced`,
//! `wsrep_connected=ON` and `wsrep_cluster_size` = replicas), and the reads
//! the steps share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::exec::{CONTAINER, sql};
use super::{PrepareCx, kube_err};
use crate::engine::StepError;
use crate::kube::{self, Kind, ObjectRef};

/// The namespace of MOSK's OpenStack services.
pub const NAMESPACE: &str = "openstack";
/// The MariaDB Galera StatefulSet.
pub const STATEFULSET: &str = "mariadb-server";
/// The state a member must be in before and after the dump.
pub const SYNCED: &str = "Synced";
/// The state of a desynced member.
pub const DESYNCED: &str = "Donor/Desynced";

/// The status variables the judgement reads (among the others `wsrep_%` matches).
const STATUS: &str = "SHOW GLOBAL STATUS LIKE 'wsrep_%'";
/// The desync switch.
const DESYNC_VAR: &str = "SHOW GLOBAL VARIABLES LIKE 'wsrep_desync'";

/// One member as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub pod: String,
    /// The pod's Ready condition is True.
    pub ready: bool,
    /// `wsrep_*` status and `wsrep_desync`, by name (empty when unreadable).
    pub status: BTreeMap<String, String>,
    /// Why the status could not be read, if it could not.
    pub error: Option<String>,
}

impl Member {
    /// Returns a status variable's value, or "" when it was not read.
    pub fn var(&self, name: &str) -> &str {
        self.status.get(name).map(String::as_str).unwrap_or("")
    }

    /// Returns whether `wsrep_desync` is ON.
    pub fn desynced(&self) -> bool {
        self.var("wsrep_desync").eq_ignore_ascii_case("ON")
    }

    /// Returns `wsrep_local_state_comment`.
    pub fn state(&self) -> &str {
        self.var("wsrep_local_state_comment")
    }
}

/// The StatefulSet and every member, as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// `spec.replicas`.
    pub replicas: u32,
    /// `status.readyReplicas`.
    pub ready_replicas: u32,
    /// The pods the StatefulSet selects, by name.
    pub members: Vec<Member>,
}

/// Returns the pod name of member `index`.
pub fn member_pod(index: u32) -> String {
    format!("{STATEFULSET}-{index}")
}

/// Parses `-N -B` output of `SHOW … STATUS/VARIABLES` (`name\tvalue` lines).
pub fn parse_vars(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// Returns every reason the cluster may not be desynced for a dump (empty: it may).
pub fn problems(c: &Cluster, expected_replicas: u32) -> Vec<String> {
    let mut out = Vec::new();
    if c.replicas != expected_replicas {
        out.push(format!(
            "the StatefulSet {NAMESPACE}/{STATEFULSET} has {} replicas, {expected_replicas} when planned",
            c.replicas
        ));
    }
    if c.members.len() as u32 != c.replicas {
        out.push(format!(
            "{} pods for {} replicas ({})",
            c.members.len(),
            c.replicas,
            names(&c.members)
        ));
    }
    let size = c.replicas.to_string();
    for m in &c.members {
        let mut bad = Vec::new();
        if !m.ready {
            bad.push("not Ready".to_string());
        }
        if let Some(e) = &m.error {
            bad.push(format!("status unreadable: {e}"));
        } else {
            for (var, want) in [
                ("wsrep_ready", "ON"),
                ("wsrep_cluster_status", "Primary"),
                ("wsrep_local_state_comment", SYNCED),
                ("wsrep_connected", "ON"),
                ("wsrep_cluster_size", size.as_str()),
            ] {
                if !m.var(var).eq_ignore_ascii_case(want) {
                    bad.push(format!("{var}={} (want {want})", shown(m.var(var))));
                }
            }
            if m.desynced() {
                bad.push("wsrep_desync=ON already (another backup running?)".into());
            }
        }
        if !bad.is_empty() {
            out.push(format!("{}: {}", m.pod, bad.join(", ")));
        }
    }
    out
}

fn shown(v: &str) -> &str {
    if v.is_empty() { "(missing)" } else { v }
}

fn names(ms: &[Member]) -> String {
    if ms.is_empty() {
        return "none".into();
    }
    ms.iter()
        .map(|m| m.pod.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Returns whether a pod's Ready condition is True.
fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Reads one member's `wsrep_*` status and `wsrep_desync` through exec.
pub async fn read_member(cx: &PrepareCx, pod: &str) -> Result<BTreeMap<String, String>, StepError> {
    let mut vars = BTreeMap::new();
    for q in [STATUS, DESYNC_VAR] {
        let argv = sql(cx.mysql_defaults.as_deref(), q);
        let out = cx.exec.run(NAMESPACE, pod, CONTAINER, &argv).await?;
        vars.extend(parse_vars(
            &out.ok(&format!("read the wsrep status of {pod}"))?,
        ));
    }
    Ok(vars)
}

/// Reads the StatefulSet, its pods and every member's status; a member
/// whose status cannot be read is recorded with the reason.
pub async fn read_cluster(cx: &PrepareCx) -> Result<Cluster, StepError> {
    let sts = kube::get(
        &cx.kube,
        &ObjectRef::namespaced(Kind::StatefulSet, NAMESPACE, STATEFULSET),
    )
    .await
    .map_err(kube_err)?
    .ok_or_else(|| {
        StepError::fatal(format!(
            "find the StatefulSet {NAMESPACE}/{STATEFULSET}: it does not exist (is this MOSK's cluster?)"
        ))
    })?;
    let replicas = sts["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
    let ready_replicas = sts["status"]["readyReplicas"].as_u64().unwrap_or(0) as u32;
    let selector = sts["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let pods = kube::list_all(&cx.kube, Kind::Pod, Some(NAMESPACE), Some(&selector))
        .await
        .map_err(kube_err)?;
    let mut members = Vec::new();
    for p in &pods {
        let pod = p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (status, error) = match read_member(cx, &pod).await {
            Ok(s) => (s, None),
            Err(e) => (BTreeMap::new(), Some(e.message)),
        };
        members.push(Member {
            ready: pod_ready(p),
            pod,
            status,
            error,
        });
    }
    members.sort_by(|a, b| a.pod.cmp(&b.pod));
    Ok(Cluster {
        replicas,
        ready_replicas,
        members,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn healthy(n: u32) -> Cluster {
        Cluster {
            replicas: n,
            ready_replicas: n,
            members: (0..n)
                .map(|i| Member {
                    pod: member_pod(i),
                    ready: true,
                    status: parse_vars(&format!(
                        "wsrep_ready\tON\nwsrep_cluster_status\tPrimary\nwsrep_local_state_comment\tSynced\nwsrep_connected\tON\nwsrep_cluster_size\t{n}\nwsrep_desync\tOFF\n"
                    )),
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_healthy_cluster_has_no_problem() {
        assert_eq!(problems(&healthy(3), 3), Vec::<String>::new());
    }

    #[test]
    fn every_rule_of_the_table_is_a_problem() {
        type Damage = Box<dyn Fn(&mut Cluster)>;
        let cases: Vec<(&str, Damage)> = vec![
            ("not Ready", Box::new(|c| c.members[1].ready = false)),
            (
                "wsrep_ready=OFF",
                Box::new(|c| {
                    c.members[0]
                        .status
                        .insert("wsrep_ready".into(), "OFF".into());
                }),
            ),
            (
                "wsrep_cluster_status=non-Primary",
                Box::new(|c| {
                    c.members[2]
                        .status
                        .insert("wsrep_cluster_status".into(), "non-Primary".into());
                }),
            ),
            (
                "wsrep_local_state_comment=Joining",
                Box::new(|c| {
                    c.members[2]
                        .status
                        .insert("wsrep_local_state_comment".into(), "Joining".into());
                }),
            ),
            (
                "wsrep_connected=OFF",
                Box::new(|c| {
                    c.members[0]
                        .status
                        .insert("wsrep_connected".into(), "OFF".into());
                }),
            ),
            (
                "wsrep_cluster_size=2",
                Box::new(|c| {
                    c.members[0]
                        .status
                        .insert("wsrep_cluster_size".into(), "2".into());
                }),
            ),
            (
                "wsrep_cluster_size=(missing)",
                Box::new(|c| {
                    c.members[0].status.remove("wsrep_cluster_size");
                }),
            ),
            (
                "2 pods for 3 replicas",
                Box::new(|c| {
                    c.members.pop();
                }),
            ),
            (
                "status unreadable: refused",
                Box::new(|c| {
                    c.members[1].error = Some("refused".into());
                    c.members[1].status.clear();
                }),
            ),
            (
                "wsrep_desync=ON already",
                Box::new(|c| {
                    c.members[2]
                        .status
                        .insert("wsrep_desync".into(), "ON".into());
                }),
            ),
        ];
        for (want, damage) in cases {
            let mut c = healthy(3);
            damage(&mut c);
            let p = problems(&c, 3);
            assert_eq!(p.len(), 1, "{want}: {p:?}");
            assert!(p[0].contains(want), "{want}: {p:?}");
        }
        let p = problems(&healthy(3), 5);
        assert!(p[0].contains("3 replicas, 5 when planned"), "{p:?}");
    }

    #[test]
    fn vars_parse_from_tab_separated_rows_case_insensitively() {
        let v = parse_vars("WSREP_READY\tON\ngarbage\nwsrep_desync\tOFF\n");
        assert_eq!(v.get("wsrep_ready").map(String::as_str), Some("ON"));
        assert_eq!(v.len(), 2);
    }
}
