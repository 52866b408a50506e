//! Conformance of a reader-only credential (issue 14): the lab's `lab-reader`
//! cloud and the recipe's `oslab-reader` (`lab/real/up.sh`: user `reader` with
//! only the `reader` role on project `demo`). Keystone lists just `reader` in
//! the token, the tool's permission precheck refuses it, and Octavia refuses
//! its writes with the same 403 on both targets. Neutron differs: the recipe's
//! Zed Neutron runs its legacy default policy, under which a project's reader
//! is its "owner" and may write; the simulation follows the secure-RBAC
//! defaults (`enforce_new_defaults`), as `lab/real/NOTES.md` records.

use serde_json::json;
use steps::openstack::{CloudConfig, OpenStack, roles};

use super::{Target, api_err};

fn reader(t: &Target) -> OpenStack {
    let cfg = match &t._cloud {
        Some(cloud) => {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("clouds.yaml");
            std::fs::write(&path, cloud.clouds_yaml("lab")).expect("write clouds.yaml");
            CloudConfig::from_clouds_yaml(&path, "lab-reader").expect("the lab's reader cloud")
        }
        None => {
            let dir = std::env::var("OSLAB_DIR").unwrap_or_else(|_| "/tmp/oslab".into());
            let path = std::path::PathBuf::from(&dir).join("clouds.yaml");
            CloudConfig::from_clouds_yaml(&path, "oslab-reader").unwrap_or_else(|e| {
                panic!("no reader cloud ({e}): run `OSLAB_DIR={dir} bash lab/real/up.sh` (it writes oslab-reader)")
            })
        }
    };
    OpenStack::new(cfg).expect("client")
}

pub(crate) async fn reader_cannot_write(t: Target) {
    let r = reader(&t);
    r.authenticate().await.expect("the reader authenticates");
    let got = r.roles().await.unwrap();
    assert!(got.iter().any(|x| x == "reader"), "{got:?}");
    assert!(
        !got.iter().any(|x| x == "member" || x == "admin"),
        "{got:?}"
    );
    assert!(!t.os.roles().await.unwrap().is_empty());
    roles::require_writer(&t.os)
        .await
        .expect("the admin may write");
    let e = roles::require_writer(&r)
        .await
        .expect_err("the reader may not");
    assert!(e.to_string().contains("\"member\" role"), "{e}");

    // Octavia checks policy before the body: a 403, not a 400 for the subnet.
    let e = api_err(
        r.create_load_balancer(json!({"name": format!("{}-ro", t.run), "vip_subnet_id": "00000000-0000-0000-0000-000000000000"})).await,
        403,
        None,
    );
    assert!(
        e.to_string()
            .contains("Policy does not allow this request to be performed."),
        "{e}"
    );

    let net = r
        .create_network(json!({"name": format!("{}-ro", t.run)}))
        .await;
    if t._cloud.is_some() {
        let e = api_err(net, 403, Some("PolicyNotAuthorized"));
        assert!(
            e.to_string()
                .contains("(rule:create_network) is disallowed by policy"),
            "{e}"
        );
        assert!(
            r.list_networks(&steps::openstack::Query::new())
                .await
                .is_ok(),
            "reads are allowed"
        );
    } else {
        // Legacy Zed policy: the project's reader owns what it creates.
        let net = net.expect("legacy Neutron policy lets a project reader create");
        r.delete_network(&net.value.id).await.expect("and delete");
    }
}
