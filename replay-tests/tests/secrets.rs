//! No secret in any output: the tool is run with bad inputs that carry
//! secrets (a malformed kubeconfig holding a token, malformed clouds.yaml and
//! secure.yaml holding a password, an auth URL and an API server URL with
//! userinfo, a wrong password), in text and `--output json`, at `-vv`, and
//! every byte of stdout, stderr, and every file under the state directory
//! (journal, log, status file, backup) is searched for the secrets. Parse
//! errors must still say which file, and where (line and column).
//!
//! The lab's own token and password (`lab`, `secret`) are ordinary words that
//! appear in names and messages, so the secrets here are distinctive strings
//! the test puts into the lab's files (the lab accepts any bearer token).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use replay_tests::{FAST, Rig, code, describe, output_within, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const LIMIT: Duration = Duration::from_secs(180);

const TOKEN: &str = "tok-7f3a9c1e5b2d-kube";
const CLOUDS_PW: &str = "pw-clouds-4c8e2a91";
const SECURE_PW: &str = "pw-secure-b71d3f06";
const USERINFO_PW: &str = "pw-userinfo-e5a0c2d8";
const KUBE_USERINFO_PW: &str = "pw-kubeurl-0d93bb71";
const WRONG_PW: &str = "pw-wrong-93b6e1f4";
const SECRETS: &[&str] = &[
    TOKEN,
    CLOUDS_PW,
    SECURE_PW,
    USERINFO_PW,
    KUBE_USERINFO_PW,
    WRONG_PW,
];

/// Returns every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Asserts that no secret is in the output or under the state directory;
/// returns the bytes searched (for positive controls).
fn assert_no_secret(rig: &Rig, out: &Output, case: &str) -> Vec<u8> {
    let mut searched = Vec::new();
    for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for s in SECRETS {
            assert!(
                !contains(bytes, s),
                "{case}: {s} is on {what}: {}",
                describe(out)
            );
        }
        searched.extend_from_slice(bytes);
    }
    for f in files(&rig.state) {
        let bytes = std::fs::read(&f).unwrap();
        for s in SECRETS {
            assert!(
                !contains(&bytes, s),
                "{case}: {s} is in {} ({} bytes)",
                f.display(),
                bytes.len()
            );
        }
        searched.extend_from_slice(&bytes);
    }
    searched
}

/// Runs `kuryr run` with the secrets' files, in text and JSON output, and
/// checks both; returns the two outputs and everything searched.
fn run_both(
    rig: &Rig,
    env: &[(&str, &Path)],
    extra: &[&str],
    case: &str,
) -> (Output, Output, Vec<u8>) {
    let mut outs = Vec::new();
    let mut searched = Vec::new();
    for json in [false, true] {
        let mut args = vec!["kuryr", "run", "--yes", "--no-progress", "-vv"];
        args.extend_from_slice(FAST);
        args.extend_from_slice(extra);
        if json {
            args.extend_from_slice(&["--output", "json"]);
        }
        let mut cmd = rig.tool(Path::new(BIN), &args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = output_within(cmd, case, LIMIT);
        searched.extend(assert_no_secret(rig, &out, case));
        if json {
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "{case}: stdout is not one JSON document ({e}): {}",
                    describe(&out)
                )
            });
        }
        outs.push(out);
    }
    let json = outs.pop().unwrap();
    (outs.pop().unwrap(), json, searched)
}

fn write(rig: &Rig, name: &str, text: &str) -> PathBuf {
    let p = rig.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_malformed_kubeconfig_shows_file_line_and_column_but_not_its_token() {
    let rig = Rig::start(small());
    let server = rig.lab.kube_url();
    // The token line is fine; the next one breaks the YAML (and a second file
    // puts the token where a list belongs, which serde reports by value).
    let broken = write(
        &rig,
        "broken.kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: {server}\nusers:\n- name: lab\n  user:\n    token: {TOKEN}\n   oops: [\n"
        ),
    );
    let mistyped = write(
        &rig,
        "mistyped.kubeconfig",
        &format!("apiVersion: v1\nkind: Config\nusers: {TOKEN}\n"),
    );
    for path in [&broken, &mistyped] {
        let (text, json, _) = run_both(
            &rig,
            &[("KUBECONFIG", path.as_path())],
            &[],
            "a malformed kubeconfig",
        );
        assert_eq!(code(&text), 3, "{}", describe(&text));
        assert_eq!(code(&json), 3, "{}", describe(&json));
        let err = stderr(&text);
        assert!(
            err.contains(&path.display().to_string()) && err.contains("at line "),
            "names the file and the position: {}",
            describe(&text)
        );
        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let msg = doc["error"]["message"].as_str().unwrap();
        assert!(msg.contains("line ") && msg.contains("column "), "{msg}");
    }
}

#[test]
fn malformed_clouds_and_secure_yaml_show_file_line_and_column_but_not_the_password() {
    let rig = Rig::start(small());
    let c = rig.lab.cloud().credentials();
    let dir = tempfile::tempdir().unwrap();
    // A clouds.yaml whose password line is fine and the next one is not.
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  lab:\n    auth:\n      auth_url: {}\n      username: {}\n      password: {CLOUDS_PW}\n     project_name: [\n",
            c.auth_url, c.username
        ),
    )
    .unwrap();
    let (text, json, _) = run_both(
        &rig,
        &[("OS_CLIENT_CONFIG_FILE", clouds.as_path())],
        &[],
        "a malformed clouds.yaml",
    );
    for out in [&text, &json] {
        assert_eq!(code(out), 3, "{}", describe(out));
    }
    assert!(
        stderr(&text).contains(&clouds.display().to_string()) && stderr(&text).contains("at line "),
        "{}",
        describe(&text)
    );

    // A valid clouds.yaml without the password, and a malformed secure.yaml beside it.
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  lab:\n    auth:\n      auth_url: {}\n      username: {}\n      project_name: {}\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n",
            c.auth_url, c.username, c.project_name, c.region_name
        ),
    )
    .unwrap();
    let secure = dir.path().join("secure.yaml");
    std::fs::write(
        &secure,
        format!("clouds:\n  lab:\n    auth:\n      password: {SECURE_PW}\n   - [\n"),
    )
    .unwrap();
    let (text, json, _) = run_both(
        &rig,
        &[("OS_CLIENT_CONFIG_FILE", clouds.as_path())],
        &[],
        "a malformed secure.yaml",
    );
    for out in [&text, &json] {
        assert_eq!(code(out), 3, "{}", describe(out));
    }
    assert!(
        stderr(&text).contains(&secure.display().to_string()) && stderr(&text).contains("at line "),
        "{}",
        describe(&text)
    );
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
}

#[test]
fn a_wrong_password_is_refused_without_being_shown() {
    let rig = Rig::start(small());
    let c = rig.lab.cloud().credentials();
    let text = std::fs::read_to_string(&rig.clouds).unwrap();
    let needle = format!("password: {}\n", c.password);
    assert!(text.contains(&needle));
    // The auth URL carries userinfo too: Keystone's refusal names that URL.
    let host = c
        .auth_url
        .strip_prefix("http://")
        .expect("an http auth URL");
    let clouds = write(
        &rig,
        "wrong.clouds.yaml",
        &text
            .replace(&needle, &format!("password: {WRONG_PW}\n"))
            .replace(
                &c.auth_url,
                &format!("http://svc-user:{USERINFO_PW}@{host}"),
            ),
    );
    let (text, json, _) = run_both(
        &rig,
        &[("OS_CLIENT_CONFIG_FILE", clouds.as_path())],
        &[],
        "a wrong password",
    );
    for out in [&text, &json] {
        assert_eq!(code(out), 3, "{}", describe(out));
    }
    assert!(stderr(&text).contains("401"), "{}", describe(&text));
}

#[test]
fn userinfo_in_the_auth_url_and_the_api_server_url_is_never_stored_or_shown() {
    let rig = Rig::start(small());
    let c = rig.lab.cloud().credentials();
    let clouds_text = std::fs::read_to_string(&rig.clouds).unwrap();
    let host = c
        .auth_url
        .strip_prefix("http://")
        .expect("an http auth URL");
    let with_userinfo = format!("http://svc-user:{USERINFO_PW}@{host}");

    // Unreachable: the same URL on a closed port (the error names the URL).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let port = host
        .split_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap();
    let dead = write(
        &rig,
        "dead.clouds.yaml",
        &clouds_text.replace(
            &c.auth_url,
            &with_userinfo.replace(&format!(":{port}"), &format!(":{closed}")),
        ),
    );
    let (text, _, _) = run_both(
        &rig,
        &[("OS_CLIENT_CONFIG_FILE", dead.as_path())],
        &["--request-timeout-s", "5"],
        "an unreachable auth URL with userinfo",
    );
    assert_eq!(code(&text), 4, "{}", describe(&text));
    assert!(
        stderr(&text).contains(&format!("http://***@127.0.0.1:{closed}")),
        "the URL is shown, redacted: {}",
        describe(&text)
    );

    // Reachable: the whole migration runs; its journal, log and status file
    // hold the target and every message, and none may carry the userinfo.
    let clouds = write(
        &rig,
        "userinfo.clouds.yaml",
        &clouds_text.replace(&c.auth_url, &with_userinfo),
    );
    let (text, json, searched) = run_both(
        &rig,
        &[("OS_CLIENT_CONFIG_FILE", clouds.as_path())],
        &[],
        "an auth URL with userinfo",
    );
    assert_eq!(code(&text), 0, "{}", describe(&text));
    assert_eq!(code(&json), 0, "{}", describe(&json));
    // Positive control: the searched bytes include the journal's target.
    assert!(
        contains(&searched, &format!("http://***@{host}")),
        "the redacted auth URL is where the search looked"
    );

    // A kubeconfig whose server URL carries userinfo, and a token.
    let server = rig.lab.kube_url();
    let kube_host = server.strip_prefix("http://").unwrap();
    let kubeconfig = write(
        &rig,
        "userinfo.kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: http://kube-user:{KUBE_USERINFO_PW}@{kube_host}\nusers:\n- name: lab\n  user:\n    token: {TOKEN}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\ncurrent-context: lab\n"
        ),
    );
    let (text, json, _) = run_both(
        &rig,
        &[("KUBECONFIG", kubeconfig.as_path())],
        &[],
        "an API server URL with userinfo",
    );
    // Whatever kube-rs makes of it (the migration already completed), it is one clean answer.
    assert_eq!(code(&text), code(&json), "{}", describe(&text));
}
