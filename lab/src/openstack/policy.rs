//! Role-based policy of the simulated services, as OpenStack's "secure RBAC"
//! defaults (`[oslo_policy] enforce_new_defaults = True`) apply it to a
//! project-scoped token: the `reader` role reads, `member` (or `admin`, which
//! implies both) also writes. A token whose user has only `reader` gets the
//! real services' 403 for every write: Neutron's `PolicyNotAuthorized`
//! naming the rule, Octavia's `Policy does not allow this request to be
//! performed.`, Nova's `Policy doesn't allow … to be performed.`
//!
//! The recipe's Zed services (`lab/real/up.sh`) run with the same setting;
//! `lab/real/NOTES.md` says what their legacy defaults would answer instead.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::http::{Req, json_status, neutron_error};

/// Returns true for methods that change nothing.
fn reads(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Returns Neutron's policy rule for a write (`create_network`, `update_port`,
/// `add_router_interface`, …).
fn neutron_rule(req: &Req) -> String {
    let segs = req.segs();
    let one = |coll: &str| {
        super::neutron::kind(coll)
            .map(|k| k.one.to_string())
            .unwrap_or_else(|| coll.trim_end_matches('s').replace('-', "_"))
    };
    match (req.method.clone(), segs.as_slice()) {
        (_, ["v2.0", "quotas", ..]) => "update_quota".into(),
        (Method::POST, ["v2.0", coll]) => format!("create_{}", one(coll)),
        (Method::PUT, ["v2.0", coll, _]) => format!("update_{}", one(coll)),
        (Method::DELETE, ["v2.0", coll, _]) => format!("delete_{}", one(coll)),
        (m, ["v2.0", coll, _, "tags", ..]) => {
            let verb = if m == Method::DELETE {
                "delete"
            } else {
                "update"
            };
            format!("{verb}_{}s_tags", one(coll))
        }
        (_, ["v2.0", _, _, action]) => action.to_string(),
        _ => "update".into(),
    }
}

/// Returns Nova's policy name for a write.
fn nova_rule(req: &Req) -> &'static str {
    match req.segs().as_slice() {
        [_, "servers", _, "action"] => "os_compute_api:os-server-actions:reboot",
        [_, "servers", _, "tags", ..] => "os_compute_api:os-server-tags:update",
        [_, "servers"] => "os_compute_api:servers:create",
        _ => "os_compute_api:servers:update",
    }
}

/// Returns the 403 a reader-only token gets for this request to `service`
/// (`/network`, `/load-balancer`, `/compute`), or `None` when it may proceed.
pub(crate) fn refuse(reader_only: bool, service: &str, req: &Req) -> Option<Response> {
    if !reader_only || reads(&req.method) {
        return None;
    }
    Some(match service {
        "/network" => neutron_error(
            StatusCode::FORBIDDEN,
            "PolicyNotAuthorized",
            format!("(rule:{}) is disallowed by policy", neutron_rule(req)),
        ),
        "/load-balancer" => json_status(
            StatusCode::FORBIDDEN,
            json!({"faultcode": "Client", "faultstring": "Policy does not allow this request to be performed.", "debuginfo": null}),
        ),
        _ => json_status(
            StatusCode::FORBIDDEN,
            json!({"forbidden": {"code": 403, "message": format!("Policy doesn't allow {} to be performed.", nova_rule(req))}}),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::HeaderMap;

    fn req(m: Method, path: &str) -> Req {
        let r = Req::parse(m, path, None, &HeaderMap::new(), &Bytes::new());
        r.unwrap_or_else(|_| panic!("parse {path}"))
    }

    async fn body(r: Response) -> serde_json::Value {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn readers_read_and_their_writes_name_the_rule() {
        assert!(refuse(true, "/network", &req(Method::GET, "/v2.0/networks")).is_none());
        assert!(refuse(false, "/network", &req(Method::POST, "/v2.0/networks")).is_none());
        for (m, path, rule) in [
            (Method::POST, "/v2.0/networks", "create_network"),
            (Method::PUT, "/v2.0/ports/p1", "update_port"),
            (
                Method::DELETE,
                "/v2.0/security-groups/g",
                "delete_security_group",
            ),
            (
                Method::PUT,
                "/v2.0/routers/r/add_router_interface",
                "add_router_interface",
            ),
            (Method::PUT, "/v2.0/ports/p1/tags/t", "update_ports_tags"),
        ] {
            let r = refuse(true, "/network", &req(m, path)).expect("refused");
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            let b = body(r).await;
            assert_eq!(b["NeutronError"]["type"], "PolicyNotAuthorized");
            assert_eq!(
                b["NeutronError"]["message"],
                format!("(rule:{rule}) is disallowed by policy")
            );
        }
        let r = refuse(
            true,
            "/compute",
            &req(Method::POST, "/v2.1/servers/s/action"),
        )
        .unwrap();
        assert_eq!(
            body(r).await["forbidden"]["message"],
            "Policy doesn't allow os_compute_api:os-server-actions:reboot to be performed."
        );
        let r = refuse(
            true,
            "/load-balancer",
            &req(Method::DELETE, "/v2/lbaas/loadbalancers/x"),
        )
        .unwrap();
        assert_eq!(body(r).await["faultcode"], "Client");
    }
}
