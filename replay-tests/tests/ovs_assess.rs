//! `ovn-migrate ovs assess` against the lab's OVS scenario, through the real
//! entry point and HTTP client: every check flags exactly the IDs the
//! scenario built for it (the lab answers only the `fields=` asked for, so
//! a field the checks read but did not ask for would show up here), the
//! YAML report has the reference's shape, pagination changes nothing but
//! the call count, Nova failing fails only the canary check, settings come
//! from the OpenStackDeployment or else the flags, and nothing is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lab::OvsLab;
use lab::faults::FaultRule;
use lab::scenario::OvsConfig;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const PRECHECK_FAILED: i32 = 5;

struct Rig {
    lab: OvsLab,
    kubeconfig: PathBuf,
    clouds: PathBuf,
    dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

impl Rig {
    fn start(faults: Vec<FaultRule>) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt
            .block_on(OvsLab::start(&OvsConfig::default(), faults))
            .expect("the OVS lab starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = lab.write_kubeconfig(dir.path()).unwrap();
        let clouds = lab.write_clouds_yaml(dir.path()).unwrap();
        Rig {
            lab,
            kubeconfig,
            clouds,
            dir,
            _rt: rt,
        }
    }

    fn assess(&self, extra: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.args(["ovs", "assess", "--no-progress"])
            .args(extra)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("OS_CLOUD", "lab")
            .env("OVN_MIGRATE_STATE_DIR", self.dir.path().join("state"))
            .env_remove("RUST_LOG");
        c.output().expect("the tool runs")
    }

    fn report_path(&self) -> PathBuf {
        self.dir.path().join("report.yaml")
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Returns the violations of each check in a JSON document.
fn violations(doc: &Value) -> BTreeMap<String, Vec<String>> {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let v = c["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            (c["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn expected(rig: &Rig) -> BTreeMap<String, Vec<String>> {
    rig.lab
        .expected()
        .by_check()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every successful mutating call the lab saw, except Keystone's token requests.
fn writes(rig: &Rig) -> Vec<String> {
    rig.lab
        .faults()
        .calls()
        .into_keys()
        .filter(|k| !k.contains("/auth/tokens"))
        .collect()
}

#[test]
fn every_check_flags_exactly_the_scenario_ids() {
    let rig = Rig::start(vec![]);
    let report = rig.report_path();
    let out = rig.assess(&["--output", "json", "--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(PRECHECK_FAILED), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_eq!(violations(&doc), expected(&rig));
    assert_eq!(doc["critical_failed"], true);
    assert_eq!(doc["journaled"], false);
    assert_eq!(doc["settings"]["deployment"], "openstack/osh-dev");
    assert!(stderr(&out).contains("settings from OpenStackDeployment openstack/osh-dev"));
    // The report: {id: {state, description, violations}} with the reference's states.
    let yaml: Value = serde_saphyr::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let map = yaml.as_object().expect("a mapping");
    assert_eq!(map.len(), 17);
    assert_eq!(map["networks_mtu_size_check"]["state"], "ERROR");
    assert_eq!(map["routers_gateway_mtu_check"]["state"], "WARNING");
    for (id, want) in expected(&rig) {
        let got: Vec<&str> = map[&id]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{id} in the YAML report");
        assert!(
            map[&id]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    assert_eq!(
        writes(&rig),
        Vec::<String>::new(),
        "assess wrote to the lab"
    );
}

#[test]
fn the_table_groups_by_severity_with_remediations() {
    let rig = Rig::start(vec![]);
    let out = rig.assess(&[]);
    assert_eq!(out.status.code(), Some(PRECHECK_FAILED), "{}", stderr(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    let crit = t.find("CRITICAL (").expect("a critical section");
    let major = t.find("MAJOR (").expect("a major section");
    assert!(crit < major, "{t}");
    let e = rig.lab.expected();
    assert!(
        t.contains(&format!("          - {}\n", e.networks_mtu[0])),
        "{t}"
    );
    assert!(t.contains("fix: lower each network's MTU"), "{t}");
    assert!(
        t.contains("17 checks: 10 critical and 7 major failed, 0 passed"),
        "{t}"
    );
    assert!(stderr(&out).contains("API calls"), "{}", stderr(&out));
}

#[test]
fn small_pages_give_the_same_answer_in_more_calls() {
    let rig = Rig::start(vec![]);
    let big = json_of(&rig.assess(&["--output", "json"]));
    let small =
        json_of(&rig.assess(&["--output", "json", "--page-size", "2", "--concurrency", "1"]));
    assert_eq!(violations(&small), violations(&big));
    let calls = |d: &Value, c: &str| {
        d["collection"]["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["collection"] == c)
            .map(|x| (x["items"].as_u64().unwrap(), x["calls"].as_u64().unwrap()))
            .unwrap()
    };
    for c in [
        "ports",
        "networks",
        "subnets",
        "security-group-rules",
        "network-ip-availabilities",
        "servers",
    ] {
        let (items, calls_big) = calls(&big, c);
        let (items_small, calls_small) = calls(&small, c);
        assert_eq!(items, items_small, "{c}");
        assert_eq!(calls_big, 1, "{c} in one page of 1000");
        // Two per page, plus the last (short or empty) page.
        assert_eq!(
            calls_small,
            items / 2 + 1,
            "{c}: {items} items in pages of 2"
        );
    }
    assert!(small["collection"]["calls"].as_u64() > big["collection"]["calls"].as_u64());
}

#[test]
fn nova_failing_fails_only_the_canary_check() {
    let rig = Rig::start(vec![FaultRule {
        path_contains: "/compute/".into(),
        error_rate: 1.0,
        ..FaultRule::default()
    }]);
    let out = rig.assess(&["--output", "json"]);
    assert_eq!(out.status.code(), Some(PRECHECK_FAILED), "{}", stderr(&out));
    let doc = json_of(&out);
    let mut want = expected(&rig);
    let got = violations(&doc);
    let canary = &got["canary_instances_check"];
    assert_eq!(canary.len(), 1);
    assert!(
        canary[0].starts_with("check failed: Nova's compute services could not be read"),
        "{canary:?}"
    );
    want.remove("canary_instances_check");
    let mut got = got;
    got.remove("canary_instances_check");
    assert_eq!(got, want);
    assert!(stderr(&out).contains("note: Nova's compute services could not be read"));
}

#[test]
fn without_the_deployment_the_flags_decide() {
    let rig = Rig::start(vec![]);
    let out = rig.assess(&["--output", "json", "--no-deployment"]);
    let got = violations(&json_of(&out));
    for id in [
        "neutron_tenant_network_types_check",
        "dhcp_lease_duration_check",
    ] {
        assert!(got[id][0].contains("unknown"), "{id}: {:?}", got[id]);
    }
    let out = rig.assess(&[
        "--output",
        "json",
        "--no-deployment",
        "--tenant-network-types",
        "geneve,vlan",
        "--dhcp-lease-duration",
        "259200",
        "--global-physnet-mtu",
        "1508",
    ]);
    let got = violations(&json_of(&out));
    assert!(got["neutron_tenant_network_types_check"].is_empty());
    assert!(got["dhcp_lease_duration_check"].is_empty());
    // 1508 − 20 − 38 = 1450: the VXLAN network at 1450 fits, the GRE one at 1458 does not.
    let e = rig.lab.expected();
    assert_eq!(
        got["networks_mtu_size_check"],
        vec![e.networks_mtu[1].clone()]
    );
    // With the CR read, its value wins over the flag, and the user is told.
    let out = rig.assess(&["--output", "json", "--global-physnet-mtu", "9000"]);
    assert!(
        stderr(&out).contains("--global-physnet-mtu 9000 ignored"),
        "{}",
        stderr(&out)
    );
    assert_eq!(violations(&json_of(&out)), expected(&rig));
}

#[test]
fn only_major_failures_exit_zero_and_unknown_checks_are_refused() {
    let rig = Rig::start(vec![]);
    let out = rig.assess(&[
        "--check",
        "routers_gateway_mtu_check",
        "--check",
        "canary_instances_check",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("2 checks: 0 critical and 2 major failed"), "{t}");
    let out = rig.assess(&["--check", "no_such_check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no_such_check") && err.contains("networks_mtu_size_check"),
        "{err}"
    );
}

#[test]
fn a_wrong_cloud_is_a_config_error() {
    let rig = Rig::start(vec![]);
    let mut c = Command::new(BIN);
    let out = c
        .args(["ovs", "assess", "--no-deployment"])
        .env("OS_CLIENT_CONFIG_FILE", &rig.clouds)
        .env("OS_CLOUD", "nope")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nope"));
    let _ = Path::new(BIN);
}

#[test]
fn a_second_deployment_is_not_guessed_between() {
    let rig = Rig::start(vec![]);
    rig.lab
        .store()
        .seed(vec![serde_json::json!({"apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
            "metadata": {"name": "other", "namespace": "openstack"}, "spec": {"features": {"neutron": {"tenant_network_types": ["geneve"]}}}})])
        .unwrap();
    let out = rig.assess(&["--output", "json"]);
    assert!(
        stderr(&out)
            .contains("there are 2 OpenStackDeployments in namespace openstack (osh-dev, other)"),
        "{}",
        stderr(&out)
    );
    let got = violations(&json_of(&out));
    assert!(got["neutron_tenant_network_types_check"][0].contains("unknown"));
}

#[test]
fn an_unreachable_cluster_or_an_unwritable_report_stops_with_a_hint() {
    let rig = Rig::start(vec![]);
    let out = rig.assess(&["--report", "/nonexistent-dir/report.yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("/nonexistent-dir/report.yaml") && err.contains("hint:"),
        "{err}"
    );
    // The kubeconfig was given (KUBECONFIG): its cluster being down is an error, not a skip.
    rig.lab.shutdown();
    let out = rig.assess(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--no-deployment"), "{err}");
    // …and --no-deployment goes on from the flags.
    let out = rig.assess(&["--no-deployment", "--output", "json"]);
    assert_eq!(out.status.code(), Some(PRECHECK_FAILED), "{}", stderr(&out));
}
