//! The fault matrix: the migration run against a lab that answers 503 and 409,
//! drops connections before or after its handler ran, answers late, or never
//! answers. Every case must end like an uninterrupted run: the same cluster
//! state, the same mutating calls per object (an effect whose answer was lost
//! is re-observed, never repeated), and a sealed journal that verifies and
//! accounts for every planned operation. A permanent fault must stop the run
//! with its exit code; once it is cleared, `kuryr resume` completes it.
//!
//! Every fault rule is limited (`remaining`) or cleared by the test, and fires
//! with probability 1, so each case injects exactly the faults it names,
//! whatever the timing; the lab's `injected()` count proves they happened.
//!
//! A 409 on the network PATCHes is retried (they are merge patches without a
//! resourceVersion, and the engine re-observes before each retry); a 409 that
//! never ends exhausts the retries and stops the run, which resumes once it
//! clears.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use lab::faults::FaultRule;
use replay_tests::{Reference, Rig, check_journal, code, count, describe, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

const OPERATOR_NET: &str = "/apis/operator.openshift.io/v1/networks/cluster";
const CONFIG_NET: &str = "/apis/config.openshift.io/v1/networks/cluster";
const NODES: &str = "/api/v1/nodes";
const NOVA_ACTION: &str = "/action";
const NOVA_SERVER: &str = "/servers/";

/// The run's `FAILURE` exit code (an operation failed for good; resumable).
const FAILURE: i32 = 1;

/// What a fault does to the requests it matches.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Error503,
    Conflict409,
    Timeout,
    DropBefore,
    DropAfter,
    LatencyMs(u64),
}

/// One row of the matrix.
struct Case {
    name: &'static str,
    /// HTTP method, path substring, fault, and how many requests (`None`: until cleared).
    rules: Vec<(&'static str, &'static str, Fault, Option<u64>)>,
    /// Extra flags for the run and the resume.
    extra: &'static [&'static str],
    /// For a permanent fault: the exit code the first run must stop with.
    stops_with: Option<i32>,
    /// Path substrings whose call count must equal the reference's and be
    /// checked on their own (the effects whose answers were lost).
    exactly_as_reference: &'static [&'static str],
}

fn rule(method: &str, path: &str, fault: Fault, remaining: Option<u64>) -> FaultRule {
    let mut r = FaultRule {
        method: Some(method.into()),
        path_contains: path.into(),
        remaining,
        ..FaultRule::default()
    };
    match fault {
        Fault::Error503 => r.error_rate = 1.0,
        Fault::Conflict409 => r.conflict_rate = 1.0,
        Fault::Timeout => r.timeout_rate = 1.0,
        Fault::DropBefore => r.drop_before_rate = 1.0,
        Fault::DropAfter => r.drop_after_rate = 1.0,
        Fault::LatencyMs(ms) => r.latency_ms = ms,
    }
    r
}

/// Request timeout short enough that a hung request is abandoned quickly.
const QUICK_TIMEOUT: &[&str] = &["--request-timeout-s", "2"];

fn cases() -> Vec<Case> {
    use Fault::*;
    let case = |name, rules, extra, stops_with, exactly_as_reference| Case {
        name,
        rules,
        extra,
        stops_with,
        exactly_as_reference,
    };
    vec![
        // kube-rs retries 503 by itself (up to 15 times, backing off): a burst
        // below that is absorbed by the client, and must still change nothing.
        case(
            "503 burst on node GETs",
            vec![("GET", NODES, Error503, Some(8))],
            &[],
            None,
            &[],
        ),
        case(
            "503 burst on network config GETs",
            vec![("GET", CONFIG_NET, Error503, Some(8))],
            &[],
            None,
            &[],
        ),
        case(
            "503 burst on the operator network PATCH",
            vec![("PATCH", OPERATOR_NET, Error503, Some(6))],
            &[],
            None,
            &[OPERATOR_NET],
        ),
        // The OpenStack client does not retry: the engine sees these.
        case(
            "503 burst on Nova server GETs",
            vec![("GET", NOVA_SERVER, Error503, Some(4))],
            &[],
            None,
            &[],
        ),
        case(
            "503 burst on Nova reboot",
            vec![("POST", NOVA_ACTION, Error503, Some(3))],
            &[],
            None,
            &[NOVA_ACTION],
        ),
        case(
            "409 burst on the operator network PATCH",
            vec![("PATCH", OPERATOR_NET, Conflict409, Some(3))],
            &[],
            None,
            &[OPERATOR_NET],
        ),
        case(
            "connection dropped before the operator network PATCH ran",
            vec![("PATCH", OPERATOR_NET, DropBefore, Some(2))],
            &[],
            None,
            &[OPERATOR_NET],
        ),
        case(
            "connection dropped before Nova reboot ran",
            vec![("POST", NOVA_ACTION, DropBefore, Some(2))],
            &[],
            None,
            &[NOVA_ACTION],
        ),
        case(
            "config network PATCH landed, answer lost",
            vec![("PATCH", CONFIG_NET, DropAfter, Some(1))],
            &[],
            None,
            &[CONFIG_NET],
        ),
        case(
            "operator network PATCHes landed, answers lost",
            vec![("PATCH", OPERATOR_NET, DropAfter, Some(2))],
            &[],
            None,
            &[OPERATOR_NET],
        ),
        case(
            "Nova reboots landed, answers lost",
            vec![("POST", NOVA_ACTION, DropAfter, Some(3))],
            &[],
            None,
            &[NOVA_ACTION],
        ),
        case(
            "latency on GETs and PATCHes",
            vec![
                ("GET", "/api", LatencyMs(150), Some(30)),
                ("PATCH", "/networks/cluster", LatencyMs(700), Some(3)),
                ("POST", NOVA_ACTION, LatencyMs(400), Some(2)),
            ],
            &[],
            None,
            &[],
        ),
        case(
            "config network PATCH never answered",
            vec![("PATCH", CONFIG_NET, Timeout, Some(1))],
            QUICK_TIMEOUT,
            None,
            &[CONFIG_NET],
        ),
        case(
            "Nova reboot never answered",
            vec![("POST", NOVA_ACTION, Timeout, Some(1))],
            QUICK_TIMEOUT,
            None,
            &[NOVA_ACTION],
        ),
        case(
            "Nova reboot answers 503 until the fault is cleared",
            vec![("POST", NOVA_ACTION, Error503, None)],
            &[],
            Some(FAILURE),
            &[NOVA_ACTION],
        ),
        case(
            "config network PATCH answers 409 until the fault is cleared",
            vec![("PATCH", CONFIG_NET, Conflict409, None)],
            &[],
            Some(FAILURE),
            &[CONFIG_NET],
        ),
    ]
}

/// Runs one case; returns its summary line, or what went wrong.
fn run_case(bin: &Path, reference: &Reference, case: &Case) -> Result<(String, u64), String> {
    let rig = Rig::start(small());
    let rules: Vec<FaultRule> = case
        .rules
        .iter()
        .map(|(m, p, f, n)| rule(m, p, *f, *n))
        .collect();
    rig.lab.faults().set_rules(rules);
    let first = rig.run(bin, case.extra, None);
    let mut problems = Vec::new();
    let mut outcome = format!("exit {}", code(&first));
    match case.stops_with {
        None if !first.status.success() => {
            return Err(format!("the run failed: {}", describe(&first)));
        }
        None => {}
        Some(want) => {
            if code(&first) != want {
                return Err(format!(
                    "the run should stop with exit code {want}: {}",
                    describe(&first)
                ));
            }
            let injected = rig.lab.faults().injected();
            rig.lab.faults().set_rules(Vec::new());
            let resumed = rig.resume(bin, case.extra);
            if !resumed.status.success() {
                return Err(format!(
                    "resume after clearing the fault failed: {}",
                    describe(&resumed)
                ));
            }
            if rig.lab.faults().injected() != injected {
                problems.push("a fault fired after it was cleared".to_string());
            }
            outcome = format!("exit {want}, resumed to exit 0");
        }
    }
    let injected = rig.lab.faults().injected();
    let expected: Option<u64> = case
        .rules
        .iter()
        .map(|(_, _, f, n)| match f {
            Fault::LatencyMs(_) => Some(0),
            _ => *n,
        })
        .sum();
    match expected {
        Some(n) if injected != n => {
            problems.push(format!("{injected} faults injected, {n} expected"))
        }
        None if injected == 0 => problems.push("the permanent fault never fired".into()),
        _ => {}
    }
    problems.extend(reference.differences(&rig));
    let calls = rig.calls();
    for needle in case.exactly_as_reference {
        let (got, want) = (count(&calls, needle), count(&reference.calls, needle));
        if got != want {
            problems.push(format!(
                "{got} successful calls to {needle}, {want} expected"
            ));
        }
    }
    let journal = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_journal(&rig)));
    if let Err(e) = journal {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        problems.push(format!("the journal does not check: {msg}"));
    }
    if problems.is_empty() {
        Ok((outcome, injected))
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn every_fault_ends_like_an_uninterrupted_run() {
    let bin = Path::new(BIN);
    let reference = Reference::take(bin);
    assert_eq!(count(&reference.calls, CONFIG_NET), 1);
    assert_eq!(count(&reference.calls, OPERATOR_NET), 2);
    assert_eq!(count(&reference.calls, NOVA_ACTION), 5);
    assert!(
        reference.calls.values().all(|n| *n <= 2),
        "{:?}",
        reference.calls
    );
    let cases = cases();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::<(usize, Result<(String, u64), String>)>::new());
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(case) = cases.get(i) else { return };
            let r = run_case(bin, &reference, case);
            results.lock().unwrap().push((i, r));
        }
    };
    std::thread::scope(|s| {
        s.spawn(worker);
        s.spawn(worker);
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut failures = Vec::new();
    let mut injected = Vec::new();
    for (i, r) in &results {
        match r {
            Ok((outcome, n)) => {
                println!("  {}: {outcome}, {n} faults injected", cases[*i].name);
                injected.push(n.to_string());
            }
            Err(e) => {
                failures.push(format!("{}: {e}", cases[*i].name));
                injected.push("failed".into());
            }
        }
    }
    println!(
        "fault matrix: {} cases, {} passed, {} failed; faults injected per case: {}",
        cases.len(),
        results.len() - failures.len(),
        failures.len(),
        injected.join(" ")
    );
    assert_eq!(results.len(), cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
