//! Benchmark of `ovs assess`'s collection: a lab cloud of 10,000+ ports on
//! 2,000+ networks with 30 ms of latency on every call (the lab's latency
//! fault), read through the tool's own HTTP client and assessed, concurrently
//! (the default: 8 listings in flight, pages of 1,000) and, as the baseline
//! measured in the same run, one call at a time (concurrency 1). Each is run
//! `--rounds` times and the best kept. Keystone's token request is made once
//! before timing. The last line is machine-readable:
//! `assess_seconds_10k_ports=<S> api_calls=<N>`.
//!
//! usage: `cargo run --release -p replay-tests --example ovs_assess_bench [-- --rounds N --latency-ms MS]`

use std::time::Instant;

use lab::OvsLab;
use lab::faults::FaultRule;
use lab::scenario::OvsConfig;
use steps::openstack::{CloudConfig, OpenStack};
use steps::ovs::{CollectOptions, CollectStats, Settings, collect, run_all};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v}"))
        })
        .unwrap_or(default)
}

/// Collects and assesses once; returns (seconds, stats, checks failed).
async fn assess(os: &OpenStack, options: CollectOptions) -> (f64, CollectStats, usize) {
    let t = Instant::now();
    let (inv, stats) = collect(os, options, &|_, _| {}).await.expect("collect");
    let results = run_all(&inv, &Settings::default(), &[]);
    let s = t.elapsed().as_secs_f64();
    assert!(
        inv.ports.len() >= 10_000 && inv.networks.len() >= 2_000,
        "the lab is smaller than asked"
    );
    (s, stats, results.iter().filter(|r| !r.passed).count())
}

#[tokio::main]
async fn main() {
    let rounds = arg("--rounds", 3).max(1);
    let latency = arg("--latency-ms", 30);
    let cfg = OvsConfig {
        clean_networks: 2_000,
        ports_per_clean_network: 5,
        ..OvsConfig::default()
    };
    let t = Instant::now();
    let lab = OvsLab::start(&cfg, vec![]).await.expect("the lab starts");
    let s = lab.scenario();
    println!(
        "lab: {} networks, {} subnets, {} ports, {} security group rules; seeded in {:.2} s",
        s.objects("networks").len(),
        s.objects("subnets").len(),
        s.objects("ports").len(),
        s.objects("security-group-rules").len(),
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clouds = lab.write_clouds_yaml(dir.path()).expect("clouds.yaml");
    let os = OpenStack::new(CloudConfig::from_clouds_yaml(&clouds, "lab").expect("cloud"))
        .expect("client");
    os.authenticate().await.expect("authenticate");
    lab.faults().set_rules(vec![FaultRule {
        latency_ms: latency,
        ..FaultRule::default()
    }]);
    println!("latency: {latency} ms on every call; best of {rounds} rounds");
    let best = |label: &str, options: CollectOptions| {
        let os = os.clone();
        let label = label.to_string();
        async move {
            let mut out: Option<(f64, CollectStats, usize)> = None;
            for _ in 0..rounds {
                let r = assess(&os, options).await;
                if out.as_ref().is_none_or(|o| r.0 < o.0) {
                    out = Some(r);
                }
            }
            let (secs, stats, failed) = out.expect("one round");
            println!(
                "{label:<34} {secs:>6.2} s  {:>3} calls  {failed} checks failed",
                stats.calls
            );
            for c in &stats.collections {
                println!(
                    "    {:<26} {:>6} items {:>3} calls {:>6} ms",
                    c.collection, c.items, c.calls, c.millis
                );
            }
            (secs, stats)
        }
    };
    let (fast, stats) = best(
        "concurrent (8 in flight, 1,000/page)",
        CollectOptions::default(),
    )
    .await;
    let (slow, base) = best(
        "baseline: one call at a time",
        CollectOptions {
            concurrency: 1,
            ..CollectOptions::default()
        },
    )
    .await;
    assert_eq!(stats.calls, base.calls, "the same listing either way");
    println!("speed-up over one call at a time: {:.2}x", slow / fast);
    println!(
        "assess_seconds_10k_ports={fast:.3} api_calls={}",
        stats.calls
    );
}
