//! The command tree as users meet it: help, completions, man pages, parse
//! errors, and `lab up` serving a Kubernetes API that answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate");

fn ovn(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn help_lists_the_subcommands_and_exit_codes() {
    let o = ovn(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8(o.stdout).unwrap();
    for word in [
        "lab",
        "journal",
        "completions",
        "man",
        "--state-dir",
        "--output",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    assert!(
        help.contains(" 7  another runner holds the journal"),
        "{help}"
    );
    let o = ovn(&["journal", "--help"]);
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("verify") && help.contains("list"), "{help}");
}

#[test]
fn completions_name_the_binary() {
    let o = ovn(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = String::from_utf8(o.stdout).unwrap();
    assert!(script.contains("ovn-migrate"));
    assert!(script.contains("complete "), "{script}");
}

#[test]
fn man_writes_roff_for_every_command() {
    let o = ovn(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let roff = String::from_utf8(o.stdout).unwrap();
    assert!(roff.contains(".TH ovn-migrate 1"), "{roff}");
    assert!(roff.contains(".TH ovn-migrate-journal-verify 1"));

    let tmp = tempfile::tempdir().unwrap();
    let o = ovn(&["man", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let page = std::fs::read_to_string(tmp.path().join("ovn-migrate-lab-up.1")).unwrap();
    assert!(page.contains(".TH ovn-migrate-lab-up 1"));
}

#[test]
fn parse_errors_exit_usage_in_text_and_json() {
    let o = ovn(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unrecognized subcommand"));
    let o = ovn(&["--output", "json", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["error"]["code"], "usage");
}

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_up_writes_its_files_and_serves_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(BIN)
            .args(["lab", "up", "--namespaces", "1", "--dir"])
            .arg(tmp.path())
            .args(["--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let kubeconfig = tmp.path().join("ovn-migrate-lab.kubeconfig");
    let clouds = tmp.path().join("ovn-migrate-lab.clouds.yaml");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(kubeconfig.exists() && clouds.exists()) {
        assert!(Instant::now() < deadline, "lab up wrote no files in 60 s");
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("lab up exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The JSON document comes once both files are complete.
    let mut doc_text = String::new();
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    while !doc_text.ends_with("}\n") {
        assert!(
            out.read_line(&mut doc_text).unwrap() > 0,
            "stdout closed: {doc_text}"
        );
    }
    let doc: Value = serde_json::from_str(&doc_text).unwrap();
    assert_eq!(
        doc["kubeconfig"].as_str(),
        kubeconfig.canonicalize().unwrap().to_str()
    );
    assert!(doc["export"].as_str().unwrap().contains("OS_CLOUD=lab"));

    // The lab writes its kubeconfig as JSON, which is also YAML.
    let kc: Value = serde_json::from_slice(&std::fs::read(&kubeconfig).unwrap()).unwrap();
    let server = kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .expect("kubeconfig names a server");
    assert_eq!(server, doc["kube_url"].as_str().unwrap());
    let addr = server
        .strip_prefix("http://")
        .expect("lab serves plain http");
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "GET /api HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer lab\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("APIVersions"), "{resp}");
}
