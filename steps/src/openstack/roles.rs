//! The permission precheck: before a workflow changes anything, the roles of
//! the tool's own token (as Keystone listed them when it issued the token,
//! implied roles included) must allow the writes the plan makes.
//!
//! The Kuryr migration deletes Kuryr's Neutron ports, trunks subports,
//! networks and security groups and Octavia load balancers, and reboots
//! servers through Nova: under OpenStack's default policies that takes the
//! `member` role on the project (or `admin`, which implies it). A credential
//! with only `reader` (or only `load-balancer_*` roles) would fail half-way,
//! on the first write; [`require_writer`] refuses it up front with an error
//! that names the missing role and what to do.

use super::{Error, OpenStack};

/// Roles that allow the migration's writes (either one).
pub const WRITER_ROLES: &[&str] = &["member", "admin"];

/// Returns `Ok` when `roles` include a writer role, or the message saying
/// which role is missing (pure, for tests).
pub fn missing_writer_role(roles: &[String], who: &str) -> Option<String> {
    if roles
        .iter()
        .any(|r| WRITER_ROLES.iter().any(|w| r.eq_ignore_ascii_case(w)))
    {
        return None;
    }
    let have = if roles.is_empty() {
        "no roles".to_string()
    } else {
        format!("only the role(s) {}", roles.join(", "))
    };
    Some(format!(
        "the token of {who} has {have}, but the migration deletes Kuryr's Neutron ports, networks, \
         security groups and Octavia load balancers and reboots servers through Nova, which needs \
         the \"member\" role on the project (or \"admin\"): ask the cloud's administrator to grant \
         it (`openstack role add --user USER --project PROJECT member`), or point --os-cloud / \
         OS_CLOUD at credentials that have it; nothing was changed"
    ))
}

/// Refuses credentials whose token cannot make the plan's writes.
pub async fn require_writer(os: &OpenStack) -> Result<(), Error> {
    let roles = os.roles().await?;
    match missing_writer_role(&roles, &os.config().who()) {
        None => Ok(()),
        Some(message) => Err(Error::MissingConfig(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn member_or_admin_may_write_and_others_are_named() {
        assert!(missing_writer_role(&roles(&["reader", "member"]), "u").is_none());
        assert!(missing_writer_role(&roles(&["admin"]), "u").is_none());
        let m = missing_writer_role(&roles(&["reader"]), "user \"r\" (project \"p\")").unwrap();
        assert!(m.contains("only the role(s) reader"), "{m}");
        assert!(m.contains("\"member\" role"), "{m}");
        assert!(m.contains("user \"r\""), "{m}");
        let m = missing_writer_role(&roles(&["load-balancer_member"]), "u").unwrap();
        assert!(m.contains("load-balancer_member"), "{m}");
        assert!(missing_writer_role(&[], "u").unwrap().contains("no roles"));
    }
}
