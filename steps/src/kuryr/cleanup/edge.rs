//! The I/O edges of one cleanup operation: [`act`] sends its one call and
//! returns the [`Answer`] for [`classify_call`](super::verdict::classify_call);
//! [`observe`] re-reads what the operation changes and returns the
//! [`Observed`] for [`classify_observation`](super::verdict::classify_observation);
//! [`refresh`] rebuilds an operation from a re-observation (a finalizer's new
//! index, the subports still on a trunk). Nothing here journals or retries:
//! the workflow driver does, around these three.

use super::graph::Op;
use super::snapshot::CrKind;
use super::verdict::{Answer, Observed, finalizer_patch, remaining_subports};
use crate::kube::{self, Deleted, Kind, KubeClient, KubeError, ObjectRef};
use crate::kuryr::names::{KURYR_NAMESPACE, SERVICE_SUBNET_GATEWAY_SERVICE};
use crate::openstack::{self, OpenStack, Query};

/// The clients an operation needs (Kubernetes only for Kubernetes operations).
#[derive(Clone, Copy)]
pub struct Clients<'a> {
    pub kube: Option<&'a KubeClient>,
    pub os: &'a OpenStack,
}

/// Why an observation could not be made (the driver retries it).
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("re-read the cluster: {0}")]
    Kube(#[from] KubeError),
    #[error("re-read OpenStack: {0}")]
    OpenStack(#[from] openstack::Error),
    #[error(
        "re-read the cluster: no Kubernetes client was given for a Kubernetes operation; this is a bug"
    )]
    NoKube,
}

/// Returns the Kubernetes object an operation acts on.
pub fn target(op: &Op) -> Option<ObjectRef> {
    Some(match op {
        Op::RemoveFinalizer {
            kind,
            namespace,
            name,
            ..
        } => ObjectRef::namespaced(kind.kind(), namespace, name),
        Op::DeleteGatewayService => ObjectRef::namespaced(
            Kind::Service,
            KURYR_NAMESPACE,
            SERVICE_SUBNET_GATEWAY_SERVICE,
        ),
        Op::DeleteKuryrNamespace => ObjectRef::cluster(Kind::Namespace, KURYR_NAMESPACE),
        Op::DeleteKuryrNetwork { namespace, name } => {
            ObjectRef::namespaced(Kind::KuryrNetwork, namespace, name)
        }
        Op::DeleteCrd { name } => ObjectRef::cluster(Kind::CustomResourceDefinition, name),
        _ => return None,
    })
}

fn kube_delete(r: Result<Deleted, KubeError>) -> Answer {
    match r {
        Ok(Deleted::Requested) => Answer::ok(200),
        Ok(Deleted::AlreadyGone) => Answer::err(404, "NotFound", "already gone"),
        Err(e) => Answer::of_kube::<()>(&Err(e), 0),
    }
}

/// Sends the operation's one call.
pub async fn act(c: Clients<'_>, op: &Op) -> Answer {
    let os = c.os;
    if let Some(t) = target(op) {
        let Some(kc) = c.kube else {
            return Answer::NoAnswer(ObserveError::NoKube.to_string());
        };
        return match op {
            Op::RemoveFinalizer {
                finalizer, index, ..
            } => {
                let path = format!("/metadata/finalizers/{index}");
                let patch = serde_json::json!([
                    {"op": "test", "path": path, "value": finalizer},
                    {"op": "remove", "path": path},
                ]);
                Answer::of_kube(&kube::json_patch(kc, &t, &patch).await, 200)
            }
            _ => kube_delete(kube::delete(kc, &t).await),
        };
    }
    match op {
        Op::DeleteLoadBalancer { id } => {
            Answer::of_openstack(&os.delete_load_balancer_cascade(id).await)
        }
        Op::RemoveRouterInterface { router, subnet } => Answer::of_openstack(
            &os.remove_router_interface(router, "subnet_id", subnet)
                .await,
        ),
        Op::RemoveSubports { trunk, ports } => {
            let ids: Vec<&str> = ports.iter().map(String::as_str).collect();
            Answer::of_openstack(&os.remove_subports(trunk, &ids).await)
        }
        Op::DeletePort { id } => Answer::of_openstack(&os.delete_port(id).await),
        Op::DeleteNetwork { id } => Answer::of_openstack(&os.delete_network(id).await),
        Op::DeleteSecurityGroup { id } => Answer::of_openstack(&os.delete_security_group(id).await),
        Op::DeleteSubnetPool { id } => Answer::of_openstack(&os.delete_subnetpool(id).await),
        Op::DeleteFloatingIp { id } => Answer::of_openstack(&os.delete_floating_ip(id).await),
        Op::DeleteRouter { id } => Answer::of_openstack(&os.delete_router(id).await),
        // C19 is read-only: its observation decides.
        Op::CheckNetworksGone { .. } => Answer::ok(200),
        _ => unreachable!("Kubernetes operations returned above"),
    }
}

fn gone_or<T>(
    r: Result<T, openstack::Error>,
    f: impl FnOnce(T) -> Observed,
) -> Result<Observed, ObserveError> {
    match r {
        Ok(v) => Ok(f(v)),
        Err(e) if e.is_not_found() => Ok(Observed::Gone),
        Err(e) => Err(e.into()),
    }
}

fn present<T>(_: T) -> Observed {
    Observed::Present { status: None }
}

/// Re-reads what the operation changes.
pub async fn observe(c: Clients<'_>, op: &Op) -> Result<Observed, ObserveError> {
    let os = c.os;
    if let Some(t) = target(op) {
        let kc = c.kube.ok_or(ObserveError::NoKube)?;
        let Some(obj) = kube::get(kc, &t).await? else {
            return Ok(Observed::Gone);
        };
        return Ok(match op {
            Op::RemoveFinalizer { .. } => Observed::Finalizers(
                kube::finalizers(&obj)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
            _ => {
                let terminating = obj
                    .pointer("/metadata/deletionTimestamp")
                    .is_some_and(|v| !v.is_null());
                Observed::Present {
                    status: terminating.then(|| "Terminating".to_string()),
                }
            }
        });
    }
    match op {
        Op::DeleteLoadBalancer { id } => {
            gone_or(os.get_load_balancer(id).await, |lb| Observed::Present {
                status: Some(lb.provisioning_status),
            })
        }
        Op::RemoveRouterInterface { router, subnet } => {
            if let Err(e) = os.get_router(router).await {
                return if e.is_not_found() {
                    Ok(Observed::Gone)
                } else {
                    Err(e.into())
                };
            }
            let q = Query::new().eq("device_id", router.as_str());
            let ports = os.list_ports(&q).await?;
            Ok(Observed::Interface {
                present: ports.iter().any(|p| {
                    p.device_owner.starts_with("network:router_interface")
                        && p.fixed_ips.iter().any(|f| f.subnet_id == *subnet)
                }),
            })
        }
        Op::RemoveSubports { trunk, .. } => gone_or(os.get_subports(trunk).await, |sps| {
            Observed::Subports(sps.into_iter().map(|s| s.port_id).collect())
        }),
        Op::DeletePort { id } => gone_or(os.get_port(id).await, present),
        Op::DeleteNetwork { id } => gone_or(os.get_network(id).await, present),
        Op::DeleteSecurityGroup { id } => gone_or(os.get_security_group(id).await, present),
        Op::DeleteSubnetPool { id } => gone_or(os.get_subnetpool(id).await, present),
        Op::DeleteFloatingIp { id } => gone_or(os.get_floating_ip(id).await, present),
        Op::DeleteRouter { id } => gone_or(os.get_router(id).await, present),
        Op::CheckNetworksGone { tag, .. } => {
            let nets = os.list_networks(&Query::new().tags(&[tag])).await?;
            Ok(Observed::TaggedNetworks(
                nets.into_iter().map(|n| n.id).collect(),
            ))
        }
        _ => unreachable!("Kubernetes operations returned above"),
    }
}

/// Returns the operation rebuilt from a re-observation, when it changes what to send:
/// a finalizer's index in the current list, or the subports still on the trunk.
pub fn refresh(op: &Op, seen: &Observed) -> Option<Op> {
    match (op, seen) {
        (
            Op::RemoveFinalizer {
                kind,
                namespace,
                name,
                finalizer,
                index,
            },
            Observed::Finalizers(list),
        ) => {
            let _ = finalizer_patch(list, finalizer)?;
            let now = list.iter().position(|f| f == finalizer)?;
            (now != *index).then(|| Op::RemoveFinalizer {
                kind: *kind,
                namespace: namespace.clone(),
                name: name.clone(),
                finalizer: finalizer.clone(),
                index: now,
            })
        }
        (Op::RemoveSubports { trunk, ports }, Observed::Subports(now)) => {
            let left = remaining_subports(ports, now);
            (!left.is_empty() && left.len() != ports.len()).then(|| Op::RemoveSubports {
                trunk: trunk.clone(),
                ports: left,
            })
        }
        _ => None,
    }
}

/// Returns the finalizer operation's kind, for callers that only hold the op.
pub fn finalizer_kind(op: &Op) -> Option<CrKind> {
    match op {
        Op::RemoveFinalizer { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_follows_the_finalizer_and_drops_subports_already_off() {
        let op = Op::RemoveFinalizer {
            kind: CrKind::Pod,
            namespace: "ns".into(),
            name: "p".into(),
            finalizer: "f".into(),
            index: 1,
        };
        let moved = refresh(&op, &Observed::Finalizers(vec!["f".into()])).unwrap();
        assert!(matches!(moved, Op::RemoveFinalizer { index: 0, .. }));
        assert_eq!(
            refresh(&op, &Observed::Finalizers(vec!["a".into(), "f".into()])),
            None
        );
        assert_eq!(refresh(&op, &Observed::Finalizers(vec![])), None);
        let sub = Op::RemoveSubports {
            trunk: "t".into(),
            ports: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            refresh(&sub, &Observed::Subports(vec!["b".into()])),
            Some(Op::RemoveSubports {
                trunk: "t".into(),
                ports: vec!["b".into()]
            })
        );
        assert_eq!(
            refresh(&sub, &Observed::Subports(vec!["a".into(), "b".into()])),
            None
        );
        assert_eq!(finalizer_kind(&op), Some(CrKind::Pod));
        assert!(target(&Op::DeletePort { id: "p".into() }).is_none());
        assert_eq!(
            target(&Op::DeleteKuryrNamespace).unwrap().to_string(),
            "namespaces/openshift-kuryr"
        );
    }
}
