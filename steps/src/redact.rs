//! Keeping secrets out of every output: URL userinfo, YAML parse errors, and
//! error chains written out whole.
//!
//! * [`userinfo`] replaces the `user:password@` of every URL in a text with
//!   `***@` (`http://admin:pw@keystone:5000/v3` → `http://***@keystone:5000/v3`).
//! * [`register`] remembers a secret this process loaded (a kubeconfig
//!   token or password, an OpenStack password or application credential
//!   secret, the userinfo of a configured URL), and [`text`] replaces every
//!   registered secret as well as URL userinfo. Libraries below us sometimes
//!   print an authority without its scheme (hyper's connection pool logs
//!   `user:pass@host:port`), which only the registry catches. Secrets
//!   shorter than [`MIN_SECRET_LEN`] are not registered: they would match
//!   ordinary words, and are no secret worth the name.
//!   [`text`] is applied where text leaves the process or is stored: the
//!   journal's target, step errors (which the journal records), the CLI's
//!   error messages, hints and stdout, every log line, and the status file.
//! * [`yaml_position`] describes a YAML parse error by its line and column
//!   only. A parser's message may quote the offending text (serde-saphyr
//!   renders a ±2-line snippet, and serde messages quote values such as
//!   `invalid type: string "…"`), and in a kubeconfig or clouds.yaml that
//!   text may be a token or a password.
//! * [`ini_secrets`] masks the value of every INI option whose name says it
//!   is a secret (`password`, `secret`, `token`, `credential`, `key` but not
//!   an id), for config files kept whole (the cleanup's snapshot of
//!   `kuryr.conf`): the journal is read by auditors and exported.
//! * [`chain`] writes an error and each of its sources, so a cause such as
//!   "No space left on device" is never dropped when an error is turned into
//!   text (the journal recorder does this to share one failure among a group).

use std::borrow::Cow;
use std::sync::RwLock;

/// What a URL's userinfo or a registered secret is replaced with.
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not registered.
pub const MIN_SECRET_LEN: usize = 4;

/// The secrets this process loaded, longest first (so a secret containing
/// another is replaced whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `secret`, so [`text`] replaces it wherever it appears.
pub fn register(secret: &str) {
    if secret.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut all = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !all.iter().any(|s| s == secret) {
        all.push(secret.to_string());
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Registers the userinfo of `url`, if it has one: the password after the
/// `:`, or the whole userinfo when it has none (a token).
pub fn register_userinfo(url: &str) {
    let Some((_, tail)) = url.split_once("://") else {
        return;
    };
    let authority = tail.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((info, _)) = authority.rsplit_once('@') {
        register(info.split_once(':').map(|(_, pw)| pw).unwrap_or(info));
    }
}

/// Returns `s` with URL userinfo and every registered secret redacted.
pub fn text(s: &str) -> Cow<'_, str> {
    let mut out = userinfo(s);
    let all = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    for secret in all.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// Returns `text` with the userinfo (`user[:password]@`) of every URL in it
/// replaced by [`REDACTED`].
pub fn userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first of these; userinfo is what precedes its last '@'.
        let end = tail
            .find(|c: char| {
                matches!(
                    c,
                    '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>' | ')' | ']' | ','
                ) || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str(REDACTED);
                out.push_str(&authority[i..]);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Returns where a YAML parse error is, as "line L, column C", never what
/// the parser said about the text there.
pub fn yaml_position(e: &serde_saphyr::Error) -> String {
    match e.location() {
        Some(at) if at.line() > 0 => format!("line {}, column {}", at.line(), at.column()),
        _ => "an unknown position".to_string(),
    }
}

/// Returns `e` followed by each of its sources not already in the text, joined by `": "`.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Returns `ini` with the value of every secret-looking option replaced by
/// [`REDACTED`]; every other line is kept as it is.
pub fn ini_secrets(ini: &str) -> Cow<'_, str> {
    fn secret_name(name: &str) -> bool {
        let n = name.trim().to_ascii_lowercase();
        let id = n.ends_with("_id") || n.ends_with("_name") || n.ends_with("_file");
        !id && ["password", "passwd", "secret", "token", "credential", "key"]
            .iter()
            .any(|w| n.contains(w))
    }
    let mut changed = false;
    let lines: Vec<Cow<'_, str>> = ini
        .split_inclusive('\n')
        .map(|line| {
            let body = line.trim_start();
            if body.starts_with('#') || body.starts_with(';') || body.starts_with('[') {
                return Cow::Borrowed(line);
            }
            match line.split_once(['=', ':']) {
                Some((name, value)) if secret_name(name) && !value.trim().is_empty() => {
                    changed = true;
                    let sep = &line[name.len()..name.len() + 1];
                    let end = if line.ends_with('\n') { "\n" } else { "" };
                    Cow::Owned(format!("{name}{sep} {REDACTED}{end}"))
                }
                _ => Cow::Borrowed(line),
            }
        })
        .collect();
    if changed {
        Cow::Owned(lines.concat())
    } else {
        Cow::Borrowed(ini)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted_in_every_url_and_nothing_else_changes() {
        assert_eq!(
            userinfo(
                "reach http://admin:pw@10.0.0.1:5000/v3 (error sending request for url (https://u:p@k:5000/v3/auth/tokens))"
            ),
            "reach http://***@10.0.0.1:5000/v3 (error sending request for url (https://***@k:5000/v3/auth/tokens))"
        );
        assert_eq!(userinfo("http://token@host"), "http://***@host");
        // An '@' in the password: everything up to the last '@' of the authority goes.
        assert_eq!(userinfo("\"http://a:b@c@host/x\""), "\"http://***@host/x\"");
        // Not userinfo: an '@' after the path starts, or no URL at all.
        for same in [
            "http://host/path@v2",
            "user@example.com",
            "no url here",
            "ssh core@{ip}",
            "http://127.0.0.1:6443",
        ] {
            assert!(matches!(userinfo(same), Cow::Borrowed(_)), "{same}");
        }
    }

    #[test]
    fn registered_secrets_are_redacted_anywhere() {
        register("reg-secret-3e1f");
        register("ab"); // too short to register
        register_userinfo("http://kube-user:reg-pw-77c0@127.0.0.1:6443/x");
        register_userinfo("https://reg-token-91aa@host");
        assert_eq!(
            text(
                "pooling (\"http\", kube-user:reg-pw-77c0@127.0.0.1:6443); reg-secret-3e1f; ab; reg-token-91aa"
            ),
            "pooling (\"http\", kube-user:***@127.0.0.1:6443); ***; ab; ***"
        );
        assert_eq!(text("http://u:p@h/"), "http://***@h/");
        assert!(matches!(text("nothing to hide"), Cow::Borrowed(_)));
    }

    #[test]
    fn yaml_errors_are_given_by_position_only() {
        let text = "clouds:\n  lab:\n    auth:\n      password: hunter2-secret\n     bad: [\n";
        let e = serde_saphyr::from_str::<serde_json::Value>(text).unwrap_err();
        assert!(
            e.to_string().contains("hunter2"),
            "the parser's own message quotes the source (else this test proves nothing): {e}"
        );
        let at = yaml_position(&e);
        assert!(at.starts_with("line "), "{at}");
        assert!(!at.contains("hunter2"));
    }

    #[test]
    fn chains_keep_the_os_error() {
        #[derive(Debug, thiserror::Error)]
        #[error("access the journal database at /j")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::from_raw_os_error(28));
        assert_eq!(
            chain(&e),
            "access the journal database at /j: No space left on device (os error 28)"
        );
    }

    #[test]
    fn ini_secrets_masks_secret_options_and_keeps_the_rest() {
        let ini = "[neutron]\nauth_url = https://keystone:5000/v3\npassword = s3cr3t-pw\nproject_id = p1\n\
                   application_credential_secret=abc123\n# password = in a comment\n\
                   [kubernetes]\napi_key: tok-xyz\nssl_key_file = /etc/k.pem\nempty_token =\n";
        let out = ini_secrets(ini);
        assert!(!out.contains("s3cr3t-pw"), "{out}");
        assert!(!out.contains("abc123"), "{out}");
        assert!(!out.contains("tok-xyz"), "{out}");
        assert!(out.contains("password = ***\n"), "{out}");
        assert!(out.contains("api_key: ***\n"), "{out}");
        for kept in [
            "auth_url = https://keystone:5000/v3\n",
            "project_id = p1\n",
            "# password = in a comment\n",
            "ssl_key_file = /etc/k.pem\n",
            "empty_token =\n",
        ] {
            assert!(out.contains(kept), "{kept:?} lost: {out}");
        }
        let plain = "[neutron]\nproject = p\n";
        assert!(matches!(ini_secrets(plain), Cow::Borrowed(_)));
    }
}
