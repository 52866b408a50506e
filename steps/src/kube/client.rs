//! Building a Kubernetes client the way `oc` and `kubectl` users expect.
//!
//! `--kubeconfig FILE` wins and must exist; otherwise `KUBECONFIG` is a
//! colon-separated list whose missing entries are skipped (client-go does the
//! same) and whose files merge first-wins; otherwise `~/.kube/config`.
//! `--context` picks a context, else the kubeconfig's current-context. Each
//! failure says what was wrong and what to do. Choosing files and the context
//! is pure ([`kubeconfig_paths`], [`select_context`]); reading and connecting
//! sit in [`connect`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::{Client, Config};

use super::error::KubeError;

/// What the user said about where the cluster is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// `--kubeconfig FILE`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context NAME`.
    pub context: Option<String>,
    /// Longest wait for connecting, sending a request or reading its answer
    /// (`None`: kube's defaults).
    pub timeout: Option<Duration>,
}

/// The kubeconfig files to read, and whether a missing one is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigPaths {
    /// Files in precedence order.
    pub paths: Vec<PathBuf>,
    /// True for `--kubeconfig`: the file must exist.
    pub required: bool,
}

/// Returns the files to read from the flag, the `KUBECONFIG` value and the home directory.
pub fn kubeconfig_paths(
    flag: Option<&Path>,
    env: Option<&OsStr>,
    home: Option<&Path>,
) -> KubeconfigPaths {
    if let Some(path) = flag {
        return KubeconfigPaths {
            paths: vec![path.to_path_buf()],
            required: true,
        };
    }
    if let Some(value) = env {
        let paths: Vec<PathBuf> = std::env::split_paths(value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return KubeconfigPaths {
                paths,
                required: false,
            };
        }
    }
    KubeconfigPaths {
        paths: home
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default(),
        required: false,
    }
}

/// Returns the context to use, or an error that lists the known contexts.
pub fn select_context(
    kubeconfig: &Kubeconfig,
    requested: Option<&str>,
) -> Result<String, KubeError> {
    let known: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let known_text = if known.is_empty() {
        "(none)".to_string()
    } else {
        known.join(", ")
    };
    let wanted = match requested.or(kubeconfig.current_context.as_deref()) {
        Some(name) if !name.is_empty() => name,
        _ => return Err(KubeError::NoCurrentContext { known: known_text }),
    };
    if known.contains(&wanted) {
        Ok(wanted.to_string())
    } else {
        Err(KubeError::ContextNotFound {
            context: wanted.to_string(),
            known: known_text,
        })
    }
}

/// Returns the server URL of `context`, for error messages.
pub fn server_of(kubeconfig: &Kubeconfig, context: &str) -> Option<String> {
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// Reads and merges the kubeconfig files (first file wins on conflicts).
pub fn read_kubeconfig(paths: &KubeconfigPaths) -> Result<Kubeconfig, KubeError> {
    let existing: Vec<&PathBuf> = paths.paths.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() || (paths.required && existing.len() != paths.paths.len()) {
        let tried = if paths.paths.is_empty() {
            "no path (HOME is not set)".to_string()
        } else {
            paths
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(KubeError::KubeconfigMissing { tried });
    }
    let mut merged: Option<Kubeconfig> = None;
    for path in existing {
        let unreadable = |source| KubeError::KubeconfigUnreadable {
            path: path.clone(),
            source,
        };
        let next = Kubeconfig::read_from(path).map_err(|e| match e {
            ::kube::config::KubeconfigError::Parse(e) => KubeError::KubeconfigParse {
                path: path.clone(),
                position: crate::redact::yaml_position(&e),
            },
            other => unreadable(other),
        })?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(unreadable)?,
        });
    }
    let merged = merged.unwrap_or_default();
    register_secrets(&merged);
    Ok(merged)
}

/// Registers the kubeconfig's tokens, passwords and server URL userinfo with
/// [`crate::redact`], so no output can carry them.
fn register_secrets(kubeconfig: &Kubeconfig) {
    for named in &kubeconfig.auth_infos {
        // Serializing is the one way to read kube's `SecretString`s without secrecy.
        let Some(info) = named
            .auth_info
            .as_ref()
            .and_then(|a| serde_json::to_value(a).ok())
        else {
            continue;
        };
        for key in ["token", "password"] {
            if let Some(secret) = info.get(key).and_then(serde_json::Value::as_str) {
                crate::redact::register(secret);
            }
        }
    }
    for named in &kubeconfig.clusters {
        if let Some(server) = named.cluster.as_ref().and_then(|c| c.server.as_deref()) {
            crate::redact::register_userinfo(server);
        }
    }
}

/// A connected client, with the context and server it talks to.
#[derive(Clone)]
pub struct KubeClient {
    /// The kube-rs client.
    pub client: Client,
    /// The context in use.
    pub context: String,
    /// The API server URL.
    pub server: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

/// Builds a client from the options and the environment, and checks that the server answers.
pub async fn connect(options: &ClientOptions) -> Result<KubeClient, KubeError> {
    let env = std::env::var_os("KUBECONFIG");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let paths = kubeconfig_paths(
        options.kubeconfig.as_deref(),
        env.as_deref(),
        home.as_deref(),
    );
    let kubeconfig = read_kubeconfig(&paths)?;
    let context = select_context(&kubeconfig, options.context.as_deref())?;
    let server = server_of(&kubeconfig, &context).unwrap_or_else(|| "(no server)".into());
    let kube_options = KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let client_config = |source| KubeError::ClientConfig {
        context: context.clone(),
        source,
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| client_config(::kube::Error::InferKubeconfig(e)))?;
    if let Some(t) = options.timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
        config.write_timeout = Some(t);
    }
    let client = Client::try_from(config).map_err(client_config)?;
    let kc = KubeClient {
        client,
        context,
        server,
    };
    check_reachable(&kc).await?;
    Ok(kc)
}

/// Asks the server for its version: the cheapest call that proves reachability and auth.
pub async fn check_reachable(kc: &KubeClient) -> Result<(), KubeError> {
    match kc.client.apiserver_version().await {
        Ok(_) => Ok(()),
        Err(::kube::Error::Api(status)) => Err(KubeError::from_kube(
            "query",
            format!("the API server at {}", kc.server),
            ::kube::Error::Api(status),
        )),
        Err(source) => Err(KubeError::Unreachable {
            url: kc.server.clone(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "https://api.lab:6443"}
users:
- name: admin
  user: {token: abc}
contexts:
- name: admin@lab
  context: {cluster: lab, user: admin}
- name: other
  context: {cluster: lab, user: admin}
current-context: admin@lab
"#;

    #[test]
    fn flag_wins_and_is_required() {
        let p = kubeconfig_paths(
            Some(Path::new("/x")),
            Some(OsStr::new("/a:/b")),
            Some(Path::new("/h")),
        );
        assert_eq!(p.paths, vec![PathBuf::from("/x")]);
        assert!(p.required);
    }

    #[test]
    fn env_is_a_colon_list_and_home_is_the_fallback() {
        let p = kubeconfig_paths(None, Some(OsStr::new("/a::/b")), Some(Path::new("/h")));
        assert_eq!(p.paths, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        assert!(!p.required);
        let p = kubeconfig_paths(None, Some(OsStr::new("")), Some(Path::new("/h")));
        assert_eq!(p.paths, vec![PathBuf::from("/h/.kube/config")]);
    }

    #[test]
    fn contexts_are_selected_or_listed() {
        let kc = Kubeconfig::from_yaml(TWO_CONTEXTS).unwrap();
        assert_eq!(select_context(&kc, None).unwrap(), "admin@lab");
        assert_eq!(select_context(&kc, Some("other")).unwrap(), "other");
        let err = select_context(&kc, Some("prod")).unwrap_err().to_string();
        assert!(
            err.contains("\"prod\"") && err.contains("admin@lab, other"),
            "{err}"
        );
        assert_eq!(
            server_of(&kc, "other").as_deref(),
            Some("https://api.lab:6443")
        );
    }

    #[test]
    fn missing_current_context_is_explained() {
        let kc = Kubeconfig::from_yaml("apiVersion: v1\nkind: Config\ncontexts: []\n").unwrap();
        let err = select_context(&kc, None).unwrap_err().to_string();
        assert!(
            err.contains("no current-context") && err.contains("(none)"),
            "{err}"
        );
    }

    #[test]
    fn missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let paths = KubeconfigPaths {
            paths: vec![missing.clone()],
            required: true,
        };
        let err = read_kubeconfig(&paths).unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()) && err.contains("--kubeconfig"));
    }

    #[test]
    fn env_lists_skip_missing_files_and_merge_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, TWO_CONTEXTS).unwrap();
        let b = dir.path().join("b");
        std::fs::write(
            &b,
            "apiVersion: v1\nkind: Config\ncurrent-context: other\ncontexts:\n- name: third\n  context: {cluster: lab}\n",
        )
        .unwrap();
        let paths = KubeconfigPaths {
            paths: vec![dir.path().join("missing"), a, b],
            required: false,
        };
        let kc = read_kubeconfig(&paths).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("admin@lab"));
        assert_eq!(kc.contexts.len(), 3);
    }

    #[test]
    fn unparsable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("bad");
        std::fs::write(&a, "clusters: [ {").unwrap();
        let paths = KubeconfigPaths {
            paths: vec![a.clone()],
            required: true,
        };
        let err = read_kubeconfig(&paths).unwrap_err();
        assert!(matches!(err, KubeError::KubeconfigParse { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("bad: it is not a valid kubeconfig (YAML) at line 1"),
            "{err}"
        );
    }

    #[test]
    fn parse_errors_never_quote_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("config");
        let token = "sha256~k8s-token-that-must-not-leak";
        let text = format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {token}\n   oops: [\n"
        );
        std::fs::write(&a, text).unwrap();
        let paths = KubeconfigPaths {
            paths: vec![a.clone()],
            required: true,
        };
        let err = read_kubeconfig(&paths).unwrap_err();
        let shown = format!("{err} {err:?} {}", crate::redact::chain(&err));
        assert!(!shown.contains("k8s-token"), "{shown}");
        assert!(shown.contains("line "), "{shown}");
        // The same file as a wrong type (a string where a list belongs).
        std::fs::write(&a, format!("users: {token}\n")).unwrap();
        let err = read_kubeconfig(&paths).unwrap_err();
        let shown = format!("{err} {err:?} {}", crate::redact::chain(&err));
        assert!(!shown.contains("k8s-token"), "{shown}");
    }
}
