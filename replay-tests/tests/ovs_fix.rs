//! `ovn-migrate ovs fix` against the lab's OVS scenario, through the real
//! entry point: the safe fixes applied, then `ovs assess` finds those checks
//! passing; a second run changes nothing; a dry run prints before → after
//! and writes nothing; checks without a safe fix are refused; and the run
//! killed with SIGKILL at every journal append (and between an MTU PUT and
//! its tag PUT) then resumed ends in the uninterrupted run's state with the
//! same mutating calls: every MTU lowered exactly once, no rule added twice.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lab::OvsLab;
use lab::faults::FaultRule;
use lab::scenario::OvsConfig;
use replay_tests::{describe, kill_points};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const FIXED: &[&str] = &[
    "subnets_without_dns_nameservers_check",
    "ports_with_blocked_access_to_dhcpv4_check",
    "ports_with_blocked_access_to_dhcpv6_check",
    "stateless_security_groups_dhcp_check",
    "networks_mtu_size_check",
];
const TAG: &str = "ovn-migrate:adapted-mtu";

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

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn tool(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(BIN);
        c.args(args)
            .args(["--no-progress", "--yes"])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("OS_CLOUD", "lab")
            .env("OVN_MIGRATE_STATE_DIR", self.state_dir())
            .env_remove("RUST_LOG")
            .env_remove("OVN_MIGRATE_KILL_AT");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("the tool runs")
    }

    /// `ovs fix --all-safe` with fast timing.
    fn fix(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = vec!["ovs", "fix", "--all-safe"];
        args.extend(TIMING);
        args.extend(extra);
        self.tool(&args, env)
    }

    fn resume(&self) -> Output {
        let mut args = vec!["ovs", "fix", "resume"];
        args.extend(TIMING);
        self.tool(&args, &[])
    }

    fn assess(&self) -> BTreeMap<String, Vec<String>> {
        let out = self.tool(&["ovs", "assess", "--output", "json"], &[]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
        doc["checks"]
            .as_array()
            .unwrap()
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

    /// Neutron's successful mutating calls (the cluster lease's renewals vary).
    fn neutron_writes(&self) -> BTreeMap<String, u64> {
        self.lab
            .faults()
            .calls()
            .into_iter()
            .filter(|(k, _)| k.contains(" /network/v2.0/"))
            .collect()
    }

    /// What the fixes change, comparable between runs: MTUs and tags, DNS
    /// servers, and every group's rules without their IDs.
    fn cloud_state(&self) -> Value {
        let c = self.lab.cloud();
        let mut nets: Vec<Value> = c
            .neutron_objects("networks")
            .iter()
            .map(|n| json!([n["id"], n["mtu"], n["tags"]]))
            .collect();
        nets.sort_by_key(|v| v.to_string());
        let mut subnets: Vec<Value> = c
            .neutron_objects("subnets")
            .iter()
            .map(|s| json!([s["id"], s["dns_nameservers"]]))
            .collect();
        subnets.sort_by_key(|v| v.to_string());
        let mut rules: Vec<Value> = c
            .neutron_objects("security-group-rules")
            .iter()
            .map(|r| {
                json!([
                    r["security_group_id"],
                    r["direction"],
                    r["ethertype"],
                    r["protocol"],
                    r["port_range_min"],
                    r["port_range_max"],
                    r["remote_ip_prefix"],
                    r["remote_address_group_id"]
                ])
            })
            .collect();
        rules.sort_by_key(|v| v.to_string());
        json!({"networks": nets, "subnets": subnets, "rules": rules})
    }

    fn network(&self, id: &str) -> Value {
        self.lab.cloud().neutron_object("networks", id).unwrap()
    }
}

const TIMING: &[&str] = &[
    "--poll-ms",
    "50",
    "--retry-base-ms",
    "50",
    "--in-doubt-grace-s",
    "1",
    "--lease-s",
    "15",
];

/// Returns the current `ovs-fix` run's journal under `state`, if one is recorded.
fn current_fix_journal(state: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(state).ok()?.flatten() {
        let current = std::fs::read_to_string(e.path().join("current")).ok();
        if let Some(run) = current.as_deref().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("ovs-fix ").map(|r| r.trim().to_string()))
        }) {
            return Some(e.path().join(run));
        }
    }
    None
}

/// Returns the parameters of every intent of operation `op` in the journal at `dir`.
fn intents(dir: &Path, op: &str) -> Vec<Value> {
    let j = journal::Journal::open_read(dir).unwrap();
    j.iter(1)
        .filter_map(|r| match r.unwrap().event {
            journal::Event::OperationIntended { op: o, params, .. } if o.0 == op => {
                Some(steps::engine::resolve(&j, &params).unwrap())
            }
            _ => None,
        })
        .collect()
}

/// Returns the sum of the calls whose `METHOD path` contains `needle`.
fn count(calls: &BTreeMap<String, u64>, needle: &str) -> u64 {
    calls
        .iter()
        .filter(|(k, _)| k.contains(needle))
        .map(|(_, n)| *n)
        .sum()
}

#[test]
fn fix_then_assess_finds_the_fixed_checks_passing() {
    let rig = Rig::start(vec![]);
    let before = rig.assess();
    for id in FIXED {
        assert!(
            !before[*id].is_empty(),
            "{id} has nothing to fix in the lab"
        );
    }
    let out = rig.fix(&["--output", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["outcome"]["outcome"], "completed", "{doc}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the cluster lease"),
        "{}",
        describe(&out)
    );
    let after = rig.assess();
    for (id, v) in &after {
        if FIXED.contains(&id.as_str()) {
            assert!(v.is_empty(), "{id} still fails after the fix: {v:?}");
        } else {
            assert_eq!(v, &before[id], "{id} changed, but was not asked for");
        }
    }
    // The MTU is the Geneve MTU, tagged, on exactly the networks flagged.
    let e = rig.lab.expected();
    let writes = rig.neutron_writes();
    for id in &e.networks_mtu {
        let n = rig.network(id);
        assert_eq!(n["mtu"], 1442, "{n}");
        assert!(
            n["tags"].as_array().unwrap().iter().any(|t| t == TAG),
            "{n}"
        );
        assert_eq!(
            count(&writes, &format!("PUT /network/v2.0/networks/{id}")),
            2,
            "{writes:?}"
        );
    }
    assert_eq!(count(&writes, "/tags/"), e.networks_mtu.len() as u64);
    // Four rules: DHCPv4 egress on two groups, DHCPv6 egress, a stateless reply.
    assert_eq!(
        count(&writes, "POST /network/v2.0/security-group-rules"),
        4,
        "{writes:?}"
    );
    assert_eq!(
        count(&writes, "PUT /network/v2.0/subnets/"),
        1,
        "{writes:?}"
    );
    let journal = current_fix_journal(&rig.state_dir()).expect("a current run");

    // Again: a new plan with nothing in it, and not one write.
    let state = rig.cloud_state();
    let again = rig.fix(&[], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to change"),
        "{}",
        describe(&again)
    );
    assert_eq!(rig.neutron_writes(), writes);
    assert_eq!(rig.cloud_state(), state);
    assert_ne!(current_fix_journal(&rig.state_dir()).unwrap(), journal);

    // Status reads the journal alone.
    let st = rig.tool(&["ovs", "fix", "status", "--output", "json"], &[]);
    assert_eq!(st.status.code(), Some(0), "{}", describe(&st));
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["phase"], "completed", "{st}");
}

#[test]
fn a_dry_run_shows_before_and_after_and_writes_nothing() {
    let rig = Rig::start(vec![]);
    let out = rig.fix(&["--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let e = rig.lab.expected();
    for id in &e.networks_mtu {
        assert!(text.contains(&format!("networks/{id}")), "{text}");
    }
    assert!(
        text.contains("mtu, tags: 1450 (vxlan) → 1442, tagged ovn-migrate:adapted-mtu"),
        "{text}"
    );
    assert!(text.contains("mtu, tags: 1458 (gre) → 1442"), "{text}");
    assert!(
        text.contains("dns_nameservers: [] → [192.0.2.53]"),
        "{text}"
    );
    assert!(text.contains("+ egress IPv4 udp/67 to 0.0.0.0/0"), "{text}");
    assert!(text.contains("+ egress IPv6 udp/547 to ::/0"), "{text}");
    assert!(
        text.contains("+ ingress IPv4 udp/68 from 10.80.0.0/24"),
        "{text}"
    );
    assert!(text.contains("nothing was changed (--dry-run)"), "{text}");
    let json = rig.fix(&["--dry-run", "--output", "json"], &[]);
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    // One subnet, four rules, two networks.
    assert_eq!(doc["changes"].as_array().unwrap().len(), 7, "{doc}");
    assert_eq!(doc["changed"], false);
    assert!(
        rig.neutron_writes().is_empty(),
        "{:?}",
        rig.neutron_writes()
    );
    assert!(current_fix_journal(&rig.state_dir()).is_none());
}

#[test]
fn checks_without_a_safe_fix_are_refused_with_their_manual_remediation() {
    let rig = Rig::start(vec![]);
    let out = rig.tool(
        &[
            "ovs",
            "fix",
            "--check",
            "networks_mtu_size_check",
            "--check",
            "routers_internal_mtu_check",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no safe automatic fix for:\n  routers_internal_mtu_check"),
        "{text}"
    );
    assert!(text.contains("by hand: "), "{text}");
    assert!(!text.contains("networks_mtu_size_check\n"), "{text}");
    let unknown = rig.tool(&["ovs", "fix", "--check", "nope_check"], &[]);
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("there is no check nope_check"));
    let none = rig.tool(&["ovs", "fix"], &[]);
    assert_eq!(none.status.code(), Some(2), "{}", describe(&none));
    let bad_dns = rig.tool(&["ovs", "fix", "--all-safe", "--dns", "dns.example"], &[]);
    assert_eq!(bad_dns.status.code(), Some(2), "{}", describe(&bad_dns));
    assert!(
        String::from_utf8_lossy(&bad_dns.stderr).contains("\"dns.example\" as a DNS server"),
        "{}",
        describe(&bad_dns)
    );
    let nothing = rig.resume();
    assert_eq!(nothing.status.code(), Some(2), "{}", describe(&nothing));
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("ovn-migrate ovs fix --check ID"),
        "{}",
        describe(&nothing)
    );
    assert!(rig.neutron_writes().is_empty());
    assert!(current_fix_journal(&rig.state_dir()).is_none());
}

#[test]
fn without_a_kubeconfig_the_settings_come_from_flags_and_a_local_lock_is_taken() {
    let rig = Rig::start(vec![]);
    let out = rig.fix(
        &[
            "--no-deployment",
            "--dns",
            "198.51.100.53",
            "--global-physnet-mtu",
            "9000",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a local lock"),
        "{}",
        describe(&out)
    );
    // No lease was taken in the cluster.
    assert_eq!(count(&rig.lab.faults().calls(), "leases"), 0);
    let e = rig.lab.expected();
    // A jumbo underlay (the flag; the CR, not read, says 1500) leaves the MTUs alone.
    let legacy = rig.network(&e.networks_mtu[0]);
    assert_eq!(legacy["mtu"], 1450, "{legacy}");
    assert_eq!(
        count(&rig.neutron_writes(), "PUT /network/v2.0/networks/"),
        0
    );
    let sub = rig
        .lab
        .cloud()
        .neutron_object("subnets", &e.subnets_without_dns[0])
        .unwrap();
    assert_eq!(sub["dns_nameservers"], json!(["198.51.100.53"]));
    let dir = current_fix_journal(&rig.state_dir()).unwrap();
    assert!(
        dir.parent()
            .unwrap()
            .join("ovs-lock")
            .join("lock")
            .is_file()
    );
}

#[test]
fn a_crash_between_the_mtu_put_and_the_tag_put_lowers_once() {
    let rig = Rig::start(vec![]);
    let id = rig.lab.expected().networks_mtu[0].clone();
    let point = format!("MtuLowered:ovs-fix/mtu/{id}#1");
    let first = rig.fix(&[], &[("OVN_MIGRATE_KILL_AT", point.as_str())]);
    assert_eq!(first.status.signal(), Some(9), "{}", describe(&first));
    let n = rig.network(&id);
    assert_eq!(n["mtu"], 1442, "the MTU PUT landed before the kill: {n}");
    assert!(
        !n["tags"].as_array().unwrap().iter().any(|t| t == TAG),
        "{n}"
    );
    let resumed = rig.resume();
    assert_eq!(resumed.status.code(), Some(0), "{}", describe(&resumed));
    let n = rig.network(&id);
    assert_eq!(n["mtu"], 1442, "lowered twice? {n}");
    assert!(
        n["tags"].as_array().unwrap().iter().any(|t| t == TAG),
        "{n}"
    );
    let writes = rig.neutron_writes();
    assert_eq!(
        count(&writes, &format!("PUT /network/v2.0/networks/{id}/tags")),
        1
    );
    assert_eq!(
        count(&writes, &format!("PUT /network/v2.0/networks/{id}")),
        2,
        "one MTU PUT and one tag PUT: {writes:?}"
    );
    // The journal's intents: the first lowers from 1450, the second (after
    // the kill, judged with the first) only tags, and both name the original.
    let dir = current_fix_journal(&rig.state_dir()).unwrap();
    let intents = intents(&dir, &format!("ovs-fix/mtu/{id}"));
    assert_eq!(
        intents,
        vec![
            json!({"original_mtu": 1450, "observed_mtu": 1450, "target_mtu": 1442, "lower": true}),
            json!({"original_mtu": 1450, "observed_mtu": 1442, "target_mtu": 1442, "lower": false}),
        ]
    );
}

#[test]
fn a_lost_answer_to_the_mtu_put_is_judged_by_its_intent() {
    let (_, e) = lab::scenario::ovs_deployment(&OvsConfig::default());
    let id = e.networks_mtu[0].clone();
    // The PUT is applied, then its connection dropped: the client sees an error.
    let rig = Rig::start(vec![FaultRule {
        method: Some("PUT".into()),
        path_contains: format!("/network/v2.0/networks/{id}"),
        drop_after_rate: 1.0,
        remaining: Some(1),
        ..FaultRule::default()
    }]);
    let out = rig.fix(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let n = rig.network(&id);
    assert_eq!(n["mtu"], 1442, "{n}");
    assert!(
        n["tags"].as_array().unwrap().iter().any(|t| t == TAG),
        "{n}"
    );
    assert_eq!(rig.lab.faults().injected(), 1);
    // The retry looked first: the MTU was there, so only the tag was sent.
    let dir = current_fix_journal(&rig.state_dir()).unwrap();
    let lowered: Vec<bool> = intents(&dir, &format!("ovs-fix/mtu/{id}"))
        .iter()
        .map(|p| p["lower"].as_bool().unwrap())
        .collect();
    assert_eq!(lowered, [true, false]);
}

#[test]
fn killed_at_every_append_and_resumed_ends_like_an_uninterrupted_run() {
    let reference = Rig::start(vec![]);
    let out = reference.fix(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let (want_state, want_writes) = (reference.cloud_state(), reference.neutron_writes());
    assert_eq!(
        count(&want_writes, "POST /network/v2.0/security-group-rules"),
        4
    );
    let points = kill_points(&current_fix_journal(&reference.state_dir()).unwrap());
    assert!(points.len() > 20, "{points:?}");
    eprintln!("ovs fix: {} kill points", points.len());
    drop(reference);
    let mut failures = Vec::new();
    for point in &points {
        let rig = Rig::start(vec![]);
        let first = rig.fix(&[], &[("OVN_MIGRATE_KILL_AT", point.as_str())]);
        if first.status.signal() != Some(9) {
            failures.push(format!("{point} was not reached: {}", describe(&first)));
            continue;
        }
        let resumed = match current_fix_journal(&rig.state_dir()) {
            Some(_) => rig.resume(),
            None => rig.fix(&[], &[]),
        };
        if resumed.status.code() != Some(0) {
            failures.push(format!(
                "{point}: the resume failed: {}",
                describe(&resumed)
            ));
            continue;
        }
        if rig.cloud_state() != want_state {
            failures.push(format!(
                "{point}: the cloud differs from an uninterrupted run's"
            ));
        }
        let writes = rig.neutron_writes();
        if writes != want_writes {
            failures.push(format!(
                "{point}: other mutating calls than an uninterrupted run's:\n  got  {writes:?}\n  want {want_writes:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn violations_left_unfixed_are_listed_and_exit_1() {
    let rig = Rig::start(vec![]);
    // No OpenStackDeployment and no --dns: no server to give the subnet.
    let mut args = vec![
        "ovs",
        "fix",
        "--check",
        "subnets_without_dns_nameservers_check",
        "--no-deployment",
        "--output",
        "json",
    ];
    args.extend(TIMING);
    let out = rig.tool(&args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 1, "{doc}");
    assert_eq!(doc["outcome"]["outcome"], "completed", "{doc}");
    assert!(
        doc["unmet"]
            .as_str()
            .is_some_and(|u| u.contains("1 violation was not fixed automatically")),
        "{doc}"
    );
    let e = rig.lab.expected();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "subnets_without_dns_nameservers_check {}: no DNS server to set",
            e.subnets_without_dns[0]
        )),
        "{}",
        describe(&out)
    );
    assert!(rig.neutron_writes().is_empty());
}
