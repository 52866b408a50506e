//! Pure classification of what each cleanup operation's call, or its
//! re-observation, answered; and the finalizer patch guarded by `test`.
//!
//! A delete treats 404 as done. "In use" answers are retried with backoff,
//! and every retry re-observes first (a timed-out call may have landed):
//! Neutron's 409 `NetworkInUse`/`SubnetInUse`/`SecurityGroupInUse`/
//! `PortInUseAsSubPort`, the subnet pool's 400 `SubnetPoolDeleteError` (not a
//! 409), Octavia's 409 while an LB is `PENDING_*`. A 409
//! `PortInUseAsTrunkParent` means the plan would delete a trunk's parent,
//! which it never plans: the operator decides. An Octavia cascade delete is
//! accepted, then polled to 404. `remove_router_interface` deletes the
//! interface port itself, so no port delete follows it; `remove_subports`
//! answering 404 `SubPortNotFound` for one port of a batch fails the whole
//! batch, so the trunk is re-observed and the call retried with what remains.
//! A finalizer patch that fails its `test` (422) or conflicts (409) means the
//! list changed: re-read and retry.

use std::time::Duration;

use serde_json::{Value, json};

use super::graph::Op;
use crate::kube::KubeError;
use crate::openstack;

/// What a call answered, reduced to what classification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The service answered this status (2xx included).
    Status {
        status: u16,
        /// Neutron's `NeutronError.type`, or the Kubernetes reason.
        kind: Option<String>,
        message: String,
    },
    /// No answer: timeout, refused or dropped connection, unreadable body.
    NoAnswer(String),
}

impl Answer {
    /// Returns a success answer.
    pub fn ok(status: u16) -> Answer {
        Answer::Status {
            status,
            kind: None,
            message: String::new(),
        }
    }

    /// Returns an error answer.
    pub fn err(status: u16, kind: &str, message: &str) -> Answer {
        Answer::Status {
            status,
            kind: (!kind.is_empty()).then(|| kind.to_string()),
            message: message.to_string(),
        }
    }

    /// Returns the answer of an OpenStack call.
    pub fn of_openstack<T>(r: &Result<openstack::Outcome<T>, openstack::Error>) -> Answer {
        match r {
            Ok(o) => Answer::ok(o.status),
            Err(e) => match (e.status(), e.kind()) {
                (Some(status), kind) => Answer::Status {
                    status,
                    kind: kind.map(str::to_string),
                    message: e.message().unwrap_or_default().to_string(),
                },
                (None, _) => Answer::NoAnswer(e.to_string()),
            },
        }
    }

    /// Returns the answer of a Kubernetes call (`status` is what a success answered).
    pub fn of_kube<T>(r: &Result<T, KubeError>, status: u16) -> Answer {
        match r {
            Ok(_) => Answer::ok(status),
            Err(KubeError::Api {
                code,
                reason,
                message,
                ..
            }) => Answer::Status {
                status: *code,
                kind: Some(reason.clone()),
                message: message.clone(),
            },
            Err(e) => Answer::NoAnswer(e.to_string()),
        }
    }
}

/// Why an operation is retried, which sets its backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryClass {
    /// Something still uses the object (409 in use, 400 `SubnetPoolDeleteError`).
    InUse,
    /// Octavia is busy with it (`PENDING_*`).
    Pending,
    /// No answer or 5xx/429: the call may or may not have landed.
    Transient,
    /// What the call was built from changed (a failed `test`, a stale subport batch): re-read now.
    Stale,
}

/// What to do after a call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallVerdict {
    /// The effect is there (or was already: 404 on a delete).
    Done(String),
    /// An asynchronous delete was accepted: poll until 404.
    Accepted(String),
    /// Re-observe, then retry after [`backoff`].
    Retry { class: RetryClass, why: String },
    /// The object turned out to be in use by something the plan did not see: kept and reported.
    Keep(String),
    /// The live state contradicts the plan: stop for the operator.
    NeedsOperator(String),
    /// A permanent failure (refused request, no permission).
    Failed(String),
}

/// What a re-observation says about an operation's effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The effect is there.
    Done(String),
    /// Not there: act (again).
    NotDone(String),
    /// On its way (PENDING_DELETE, a namespace terminating): look again after [`backoff`].
    Pending(String),
    /// The live state contradicts the plan: stop for the operator.
    NeedsOperator(String),
}

/// A re-observation, read by the driver for one operation (journaled as the
/// operation's observation).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Observed {
    /// The object (trunk, port, network, LB, router, CR…) answered 404.
    Gone,
    /// The object exists; `status` is an LB's `provisioning_status` or a namespace's phase.
    Present { status: Option<String> },
    /// The trunk exists and carries these subports.
    Subports(Vec<String>),
    /// The router has (or not) an interface on the subnet.
    Interface { present: bool },
    /// The Kubernetes object exists with these finalizers.
    Finalizers(Vec<String>),
    /// C19: the tagged networks still there.
    TaggedNetworks(Vec<String>),
}

fn is_delete(op: &Op) -> bool {
    !matches!(
        op,
        Op::RemoveFinalizer { .. }
            | Op::RemoveSubports { .. }
            | Op::RemoveRouterInterface { .. }
            | Op::CheckNetworksGone { .. }
    )
}

/// Classifies the answer of an operation's call.
pub fn classify_call(op: &Op, answer: &Answer) -> CallVerdict {
    let (status, kind, message) = match answer {
        Answer::NoAnswer(why) => {
            return CallVerdict::Retry {
                class: RetryClass::Transient,
                why: format!("no answer ({why}); the call may have landed"),
            };
        }
        Answer::Status {
            status,
            kind,
            message,
        } => (*status, kind.as_deref().unwrap_or(""), message.as_str()),
    };
    let said = |what: &str| format!("{status} {kind} {message}: {what}").replace("  ", " ");
    match (op, status, kind) {
        (Op::DeleteLoadBalancer { .. } | Op::DeleteKuryrNamespace, 200..=299, _) => {
            CallVerdict::Accepted("accepted; poll until it answers 404".into())
        }
        (Op::RemoveRouterInterface { .. }, 200..=299, _) => {
            CallVerdict::Done("interface removed (Neutron deleted its port with it)".into())
        }
        (_, 200..=299, _) => CallVerdict::Done(format!("{status}")),
        (Op::RemoveSubports { .. }, 404, "SubPortNotFound" | "PortNotFound") => {
            CallVerdict::Retry {
                class: RetryClass::Stale,
                why: said(
                    "a port of the batch is no longer a subport; re-read the trunk and retry with the rest",
                ),
            }
        }
        (Op::RemoveFinalizer { .. }, 404, _) => CallVerdict::Done("the object is gone".into()),
        (_, 404, _) if is_delete(op) => CallVerdict::Done("already gone (404)".into()),
        (Op::RemoveSubports { .. } | Op::RemoveRouterInterface { .. }, 404, _) => {
            CallVerdict::Done(said("already removed"))
        }
        (Op::RemoveFinalizer { .. }, 409 | 422, _) => CallVerdict::Retry {
            class: RetryClass::Stale,
            why: said("the finalizer list changed (the patch's test failed); re-read and retry"),
        },
        (Op::DeletePort { .. }, 409, "PortInUseAsTrunkParent") => CallVerdict::NeedsOperator(said(
            "the port is a trunk's parent, which the plan never deletes; the cloud changed since the plan",
        )),
        (Op::DeleteRouter { .. }, 409, _) => CallVerdict::Keep(said(
            "an interface was added since the plan; the router is kept",
        )),
        (Op::DeleteLoadBalancer { .. }, 409, _) => CallVerdict::Retry {
            class: RetryClass::Pending,
            why: said("the load balancer is PENDING_*; retry when it settles"),
        },
        (Op::DeleteSubnetPool { .. }, 400, "SubnetPoolDeleteError") => CallVerdict::Retry {
            class: RetryClass::InUse,
            why: said("subnets still allocate from the pool"),
        },
        (_, 409, _) => CallVerdict::Retry {
            class: RetryClass::InUse,
            why: said("still in use"),
        },
        (_, 408 | 429 | 500..=599, _) => CallVerdict::Retry {
            class: RetryClass::Transient,
            why: said("the service is busy; the call may have landed"),
        },
        (_, 401 | 403, _) => CallVerdict::Failed(said(
            "the credentials may not do this; the cleanup needs a user that owns the project's resources",
        )),
        _ => CallVerdict::Failed(said("refused")),
    }
}

/// Classifies a re-observation of an operation (before acting, after an in-doubt call, while polling).
pub fn classify_observation(op: &Op, seen: &Observed) -> Seen {
    match (op, seen) {
        (Op::RemoveSubports { ports, .. }, Observed::Subports(now)) => {
            let left = remaining_subports(ports, now);
            if left.is_empty() {
                Seen::Done("none of the planned subports is on the trunk".into())
            } else {
                Seen::NotDone(format!("still on the trunk: {}", left.join(", ")))
            }
        }
        (Op::RemoveSubports { .. }, Observed::Gone) => Seen::Done("the trunk is gone".into()),
        (
            Op::RemoveRouterInterface { .. },
            Observed::Interface { present: false } | Observed::Gone,
        ) => Seen::Done("no interface on the subnet".into()),
        (Op::RemoveRouterInterface { .. }, Observed::Interface { present: true }) => {
            Seen::NotDone("the interface is there".into())
        }
        (Op::RemoveFinalizer { finalizer, .. }, Observed::Finalizers(list)) => {
            if list.iter().any(|f| f == finalizer) {
                Seen::NotDone(format!("{finalizer} is there"))
            } else {
                Seen::Done(format!("{finalizer} is absent"))
            }
        }
        (Op::CheckNetworksGone { ids, .. }, Observed::TaggedNetworks(now)) => {
            let left: Vec<&String> = now.iter().filter(|n| ids.contains(n)).collect();
            if left.is_empty() {
                Seen::Done("no Kuryr network is left".into())
            } else {
                Seen::NeedsOperator(format!(
                    "Kuryr networks are still there after their deletes: {left:?}; look at them before going on"
                ))
            }
        }
        (_, Observed::Gone) => Seen::Done("gone (404)".into()),
        (Op::DeleteLoadBalancer { .. }, Observed::Present { status: Some(s) })
            if s == "PENDING_DELETE" =>
        {
            Seen::Pending("PENDING_DELETE".into())
        }
        (Op::DeleteLoadBalancer { .. }, Observed::Present { status: Some(s) })
            if s.starts_with("PENDING_") =>
        {
            Seen::Pending(format!("{s}; delete again when it settles"))
        }
        (Op::DeleteKuryrNamespace, Observed::Present { status: Some(s) }) if s == "Terminating" => {
            Seen::Pending("Terminating".into())
        }
        (_, Observed::Present { status }) => Seen::NotDone(format!(
            "still there{}",
            status
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        )),
        (op, other) => Seen::NeedsOperator(format!(
            "{other:?} is no observation of {op:?}; this is a bug"
        )),
    }
}

/// Returns the planned subports still on the trunk: the batch to send again.
pub fn remaining_subports(planned: &[String], now: &[String]) -> Vec<String> {
    planned
        .iter()
        .filter(|p| now.contains(p))
        .cloned()
        .collect()
}

/// Returns the JSON patch removing `finalizer` from the current list, guarded by `test`;
/// `None` when it is absent (done).
pub fn finalizer_patch(finalizers: &[String], finalizer: &str) -> Option<Value> {
    let i = finalizers.iter().position(|f| f == finalizer)?;
    let path = format!("/metadata/finalizers/{i}");
    Some(json!([
        {"op": "test", "path": path, "value": finalizer},
        {"op": "remove", "path": path},
    ]))
}

/// Returns the delay before retry `attempt` (1-based) of a class, or `None` to give up.
pub fn backoff(class: RetryClass, attempt: u32) -> Option<Duration> {
    let (base_ms, cap_ms, max): (u64, u64, u32) = match class {
        RetryClass::InUse => (1_000, 30_000, 40),
        RetryClass::Pending => (2_000, 30_000, 120),
        RetryClass::Transient => (500, 30_000, 8),
        RetryClass::Stale => (0, 1_000, 5),
    };
    if attempt == 0 || attempt > max {
        return None;
    }
    let exp = base_ms.saturating_mul(1 << (attempt - 1).min(16));
    let ms = if base_ms == 0 {
        100 * u64::from(attempt - 1)
    } else {
        exp
    };
    Some(Duration::from_millis(ms.min(cap_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::snapshot::CrKind;

    fn port() -> Op {
        Op::DeletePort { id: "p".into() }
    }
    fn lb() -> Op {
        Op::DeleteLoadBalancer { id: "lb".into() }
    }
    fn subports() -> Op {
        Op::RemoveSubports {
            trunk: "t".into(),
            ports: vec!["a".into(), "b".into()],
        }
    }
    fn fin() -> Op {
        Op::RemoveFinalizer {
            kind: CrKind::Pod,
            namespace: "ns".into(),
            name: "p".into(),
            finalizer: "kuryr.openstack.org/pod-finalizer".into(),
            index: 0,
        }
    }
    fn retry(v: CallVerdict) -> RetryClass {
        match v {
            CallVerdict::Retry { class, .. } => class,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn deletes_treat_404_as_done() {
        for op in [
            port(),
            lb(),
            Op::DeleteNetwork { id: "n".into() },
            Op::DeleteSecurityGroup { id: "s".into() },
            Op::DeleteSubnetPool { id: "x".into() },
            Op::DeleteFloatingIp { id: "f".into() },
            Op::DeleteRouter { id: "r".into() },
            Op::DeleteCrd { name: "c".into() },
        ] {
            assert!(
                matches!(
                    classify_call(&op, &Answer::err(404, "NotFound", "x")),
                    CallVerdict::Done(_)
                ),
                "{op:?}"
            );
        }
        assert!(matches!(
            classify_call(&fin(), &Answer::err(404, "NotFound", "")),
            CallVerdict::Done(_)
        ));
    }

    #[test]
    fn in_use_answers_are_retried_after_re_observing() {
        let net = Op::DeleteNetwork { id: "n".into() };
        assert_eq!(
            retry(classify_call(
                &net,
                &Answer::err(
                    409,
                    "NetworkInUse",
                    "Unable to complete operation on network n. There are one or more ports still in use on the network."
                )
            )),
            RetryClass::InUse
        );
        let sg = Op::DeleteSecurityGroup { id: "s".into() };
        assert_eq!(
            retry(classify_call(
                &sg,
                &Answer::err(409, "SecurityGroupInUse", "Security Group s in use.")
            )),
            RetryClass::InUse
        );
        assert_eq!(
            retry(classify_call(
                &port(),
                &Answer::err(409, "PortInUseAsSubPort", "x")
            )),
            RetryClass::InUse
        );
        // The subnet pool answers 400, not 409.
        let pool = Op::DeleteSubnetPool { id: "x".into() };
        assert_eq!(
            retry(classify_call(
                &pool,
                &Answer::err(
                    400,
                    "SubnetPoolDeleteError",
                    "Unable to delete subnet pool: Subnet pool has existing allocations"
                )
            )),
            RetryClass::InUse
        );
        assert!(matches!(
            classify_call(&pool, &Answer::err(400, "HTTPBadRequest", "x")),
            CallVerdict::Failed(_)
        ));
        // Octavia: 409 while PENDING_*.
        assert_eq!(
            retry(classify_call(
                &lb(),
                &Answer::err(
                    409,
                    "",
                    "Invalid state PENDING_CREATE of loadbalancer resource lb"
                )
            )),
            RetryClass::Pending
        );
    }

    #[test]
    fn a_trunk_parent_is_never_retried_into_deletion() {
        let v = classify_call(
            &port(),
            &Answer::err(
                409,
                "PortInUseAsTrunkParent",
                "Port p is currently a parent port for trunk t.",
            ),
        );
        assert!(
            matches!(&v, CallVerdict::NeedsOperator(m) if m.contains("trunk's parent")),
            "{v:?}"
        );
    }

    #[test]
    fn cascade_delete_is_accepted_then_polled_to_404() {
        assert!(matches!(
            classify_call(&lb(), &Answer::ok(204)),
            CallVerdict::Accepted(_)
        ));
        assert_eq!(
            classify_observation(
                &lb(),
                &Observed::Present {
                    status: Some("PENDING_DELETE".into())
                }
            ),
            Seen::Pending("PENDING_DELETE".into())
        );
        assert!(matches!(
            classify_observation(
                &lb(),
                &Observed::Present {
                    status: Some("PENDING_UPDATE".into())
                }
            ),
            Seen::Pending(_)
        ));
        assert!(matches!(
            classify_observation(
                &lb(),
                &Observed::Present {
                    status: Some("ACTIVE".into())
                }
            ),
            Seen::NotDone(_)
        ));
        assert!(matches!(
            classify_observation(&lb(), &Observed::Gone),
            Seen::Done(_)
        ));
    }

    #[test]
    fn remove_router_interface_needs_no_port_delete_after_it() {
        let op = Op::RemoveRouterInterface {
            router: "r".into(),
            subnet: "s".into(),
        };
        assert!(
            matches!(classify_call(&op, &Answer::ok(200)), CallVerdict::Done(m) if m.contains("deleted its port"))
        );
        assert!(matches!(
            classify_call(
                &op,
                &Answer::err(404, "RouterInterfaceNotFoundForSubnet", "x")
            ),
            CallVerdict::Done(_)
        ));
        assert!(matches!(
            classify_observation(&op, &Observed::Interface { present: false }),
            Seen::Done(_)
        ));
        assert!(matches!(
            classify_observation(&op, &Observed::Interface { present: true }),
            Seen::NotDone(_)
        ));
    }

    #[test]
    fn a_stale_subport_batch_is_re_read_and_resent_with_what_remains() {
        assert_eq!(
            retry(classify_call(
                &subports(),
                &Answer::err(404, "SubPortNotFound", "x")
            )),
            RetryClass::Stale
        );
        assert!(matches!(
            classify_call(&subports(), &Answer::err(404, "TrunkNotFound", "x")),
            CallVerdict::Done(_)
        ));
        assert_eq!(
            classify_observation(
                &subports(),
                &Observed::Subports(vec!["b".into(), "z".into()])
            ),
            Seen::NotDone("still on the trunk: b".into())
        );
        assert_eq!(
            remaining_subports(&["a".into(), "b".into()], &["b".into(), "z".into()]),
            vec!["b".to_string()]
        );
        assert!(matches!(
            classify_observation(&subports(), &Observed::Subports(vec!["z".into()])),
            Seen::Done(_)
        ));
    }

    #[test]
    fn the_finalizer_patch_is_guarded_and_a_failed_test_means_re_read() {
        let list = vec![
            "a".to_string(),
            "kuryr.openstack.org/pod-finalizer".to_string(),
        ];
        let patch = finalizer_patch(&list, "kuryr.openstack.org/pod-finalizer").unwrap();
        assert_eq!(
            patch[0],
            json!({"op": "test", "path": "/metadata/finalizers/1", "value": "kuryr.openstack.org/pod-finalizer"})
        );
        assert_eq!(
            patch[1],
            json!({"op": "remove", "path": "/metadata/finalizers/1"})
        );
        assert!(finalizer_patch(&["a".into()], "kuryr.openstack.org/pod-finalizer").is_none());
        // Applied to a list that changed meanwhile, the test fails and nothing is removed.
        let parsed: json_patch::Patch = serde_json::from_value(patch).unwrap();
        let mut doc = json!({"metadata": {"finalizers": ["kuryr.openstack.org/pod-finalizer"]}});
        assert!(json_patch::patch(&mut doc, &parsed).is_err());
        assert_eq!(
            retry(classify_call(
                &fin(),
                &Answer::err(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request"
                )
            )),
            RetryClass::Stale
        );
        assert_eq!(
            retry(classify_call(&fin(), &Answer::err(409, "Conflict", ""))),
            RetryClass::Stale
        );
        assert!(matches!(
            classify_observation(&fin(), &Observed::Finalizers(vec!["a".into()])),
            Seen::Done(_)
        ));
        assert!(matches!(
            classify_observation(&fin(), &Observed::Finalizers(list)),
            Seen::NotDone(_)
        ));
    }

    #[test]
    fn no_answer_is_retried_as_possibly_landed_and_permissions_fail() {
        assert_eq!(
            retry(classify_call(&port(), &Answer::NoAnswer("timeout".into()))),
            RetryClass::Transient
        );
        assert_eq!(
            retry(classify_call(&port(), &Answer::err(503, "", "x"))),
            RetryClass::Transient
        );
        assert!(
            matches!(classify_call(&port(), &Answer::err(403, "", "policy")), CallVerdict::Failed(m) if m.contains("credentials"))
        );
    }

    #[test]
    fn the_router_is_kept_when_it_gained_an_interface_and_c19_is_a_hard_stop() {
        assert!(matches!(
            classify_call(
                &Op::DeleteRouter { id: "r".into() },
                &Answer::err(409, "RouterInUse", "x")
            ),
            CallVerdict::Keep(_)
        ));
        let c19 = Op::CheckNetworksGone {
            tag: "t".into(),
            ids: vec!["n".into()],
        };
        assert!(matches!(
            classify_observation(&c19, &Observed::TaggedNetworks(vec!["machines".into()])),
            Seen::Done(_)
        ));
        assert!(matches!(
            classify_observation(&c19, &Observed::TaggedNetworks(vec!["n".into()])),
            Seen::NeedsOperator(_)
        ));
    }

    #[test]
    fn backoff_grows_to_its_cap_and_gives_up() {
        assert_eq!(backoff(RetryClass::InUse, 1), Some(Duration::from_secs(1)));
        assert_eq!(backoff(RetryClass::InUse, 3), Some(Duration::from_secs(4)));
        assert_eq!(
            backoff(RetryClass::InUse, 30),
            Some(Duration::from_secs(30))
        );
        assert_eq!(backoff(RetryClass::InUse, 41), None);
        assert_eq!(backoff(RetryClass::Stale, 1), Some(Duration::ZERO));
        assert_eq!(backoff(RetryClass::Stale, 6), None);
        assert_eq!(backoff(RetryClass::Transient, 9), None);
        assert_eq!(backoff(RetryClass::Pending, 0), None);
    }

    #[test]
    fn answers_are_read_from_client_errors() {
        let e: Result<openstack::Outcome<()>, _> = Err(openstack::Error::Api {
            method: "DELETE".into(),
            url: "u".into(),
            status: 409,
            kind: Some("SecurityGroupInUse".into()),
            message: "in use".into(),
        });
        assert_eq!(
            Answer::of_openstack(&e),
            Answer::err(409, "SecurityGroupInUse", "in use")
        );
        let ok: Result<openstack::Outcome<()>, openstack::Error> = Ok(openstack::Outcome {
            status: 204,
            value: (),
        });
        assert_eq!(Answer::of_openstack(&ok), Answer::ok(204));
    }
}
