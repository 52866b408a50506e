//! Where the OpenStack credentials come from, as the users' own tools take them.
//!
//! A cloud is named by `--os-cloud` or `OS_CLOUD` and read from `clouds.yaml`
//! (search order: `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`), with a
//! `secure.yaml` beside it merged over it; without a cloud name the `OS_*`
//! variables are used. Secrets live in [`Secret`], which neither serializes
//! nor prints its value, so they can never reach the journal or a log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Error;

/// Passwords and application credential secrets: the journal's type, which
/// cannot be serialised, so no event or export can ever carry one.
pub use journal::Secret;

/// How to authenticate to Keystone v3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `password` auth type: a user in a domain.
    Password {
        username: String,
        password: Secret,
        user_domain_name: Option<String>,
        user_domain_id: Option<String>,
    },
    /// `v3applicationcredential` auth type (already scoped to a project).
    ApplicationCredential { id: String, secret: Secret },
}

/// Everything needed to talk to one cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfig {
    /// The cloud's name in clouds.yaml, or `envvars`.
    pub name: String,
    /// Keystone's URL, with or without the trailing `/v3`.
    pub auth_url: String,
    /// The credentials.
    pub credentials: Credentials,
    /// Project scope by name (needs a project domain) …
    pub project_name: Option<String>,
    /// … or by ID.
    pub project_id: Option<String>,
    /// Domain of the project, by name.
    pub project_domain_name: Option<String>,
    /// Domain of the project, by ID.
    pub project_domain_id: Option<String>,
    /// Region of the endpoints to use (`None`: any).
    pub region_name: Option<String>,
    /// Endpoint interface: `public` (default), `internal` or `admin`.
    pub interface: String,
}

#[derive(Debug, Default, Deserialize)]
struct CloudsFile {
    #[serde(default)]
    clouds: BTreeMap<String, serde_json::Value>,
}

/// Returns the places searched for clouds.yaml, in order.
pub fn clouds_yaml_candidates(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = env("OS_CLIENT_CONFIG_FILE") {
        out.push(PathBuf::from(p));
    }
    out.push(PathBuf::from("clouds.yaml"));
    if let Some(home) = env("HOME") {
        out.push(Path::new(&home).join(".config/openstack/clouds.yaml"));
    }
    out.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    out
}

fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

impl CloudConfig {
    /// Returns the config for `cloud` (else `OS_CLOUD`, else the `OS_*` variables).
    pub fn load(cloud: Option<&str>) -> Result<Self, Error> {
        Self::load_with(cloud, &process_env)
    }

    /// Like [`CloudConfig::load`], reading variables through `env` (for tests).
    pub fn load_with(
        cloud: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let name = cloud.map(str::to_string).or_else(|| env("OS_CLOUD"));
        match name {
            Some(name) => {
                let candidates = clouds_yaml_candidates(env);
                let Some(path) = candidates.iter().find(|p| p.is_file()) else {
                    let searched = candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>();
                    return Err(Error::NoCloudsFile {
                        cloud: name,
                        searched: searched.join(", "),
                    });
                };
                Self::from_clouds_yaml(path, &name)
            }
            None => Self::from_env(env),
        }
    }

    /// Returns cloud `name` of the clouds.yaml at `path`, with `secure.yaml` beside it merged in.
    pub fn from_clouds_yaml(path: &Path, name: &str) -> Result<Self, Error> {
        let file = read_clouds(path)?;
        let Some(cloud) = file.clouds.get(name) else {
            let found = file.clouds.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(Error::CloudNotFound {
                cloud: name.into(),
                file: path.into(),
                found,
            });
        };
        let mut cloud = cloud.clone();
        let secure = path.with_file_name("secure.yaml");
        if secure.is_file()
            && let Some(over) = read_clouds(&secure)?.clouds.get(name)
        {
            merge(&mut cloud, over);
        }
        Self::from_value(name, &cloud, path)
    }

    fn from_value(name: &str, v: &serde_json::Value, path: &Path) -> Result<Self, Error> {
        let s = |ptr: &str| v.pointer(ptr).and_then(scalar);
        let missing = |what: &str| Error::ParseConfig {
            path: path.into(),
            message: format!("cloud {name:?} has no {what}"),
        };
        let auth_type = s("/auth_type").unwrap_or_else(|| "password".into());
        let credentials = if auth_type.contains("applicationcredential")
            || s("/auth/application_credential_id").is_some()
        {
            Credentials::ApplicationCredential {
                id: s("/auth/application_credential_id")
                    .ok_or_else(|| missing("auth.application_credential_id"))?,
                secret: Secret::new(
                    s("/auth/application_credential_secret")
                        .ok_or_else(|| missing("auth.application_credential_secret"))?,
                ),
            }
        } else {
            Credentials::Password {
                username: s("/auth/username").ok_or_else(|| missing("auth.username"))?,
                password: Secret::new(s("/auth/password").ok_or_else(|| {
                    missing("auth.password (put it in secure.yaml beside clouds.yaml)")
                })?),
                user_domain_name: s("/auth/user_domain_name").or_else(|| s("/auth/domain_name")),
                user_domain_id: s("/auth/user_domain_id").or_else(|| s("/auth/domain_id")),
            }
        };
        Ok(CloudConfig {
            name: name.into(),
            auth_url: s("/auth/auth_url").ok_or_else(|| missing("auth.auth_url"))?,
            credentials,
            project_name: s("/auth/project_name").or_else(|| s("/auth/tenant_name")),
            project_id: s("/auth/project_id").or_else(|| s("/auth/tenant_id")),
            project_domain_name: s("/auth/project_domain_name"),
            project_domain_id: s("/auth/project_domain_id"),
            region_name: s("/region_name"),
            interface: s("/interface")
                .or_else(|| s("/endpoint_type"))
                .unwrap_or_else(|| "public".into()),
        }
        .registered())
    }

    /// Returns the config given by `OS_AUTH_URL`, `OS_USERNAME`, … variables.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let Some(auth_url) = env("OS_AUTH_URL") else {
            return Err(Error::MissingConfig(
                "no cloud given and OS_AUTH_URL is not set: pass --os-cloud (or set OS_CLOUD) to use clouds.yaml, or source an openrc file".into(),
            ));
        };
        let auth_type = env("OS_AUTH_TYPE").unwrap_or_else(|| "password".into());
        let credentials = if auth_type.contains("applicationcredential")
            || env("OS_APPLICATION_CREDENTIAL_ID").is_some()
        {
            let (Some(id), Some(secret)) = (
                env("OS_APPLICATION_CREDENTIAL_ID"),
                env("OS_APPLICATION_CREDENTIAL_SECRET"),
            ) else {
                return Err(Error::MissingConfig(
                    "application credential auth needs OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET".into(),
                ));
            };
            Credentials::ApplicationCredential {
                id,
                secret: Secret::new(secret),
            }
        } else {
            let (Some(username), Some(password)) = (env("OS_USERNAME"), env("OS_PASSWORD")) else {
                return Err(Error::MissingConfig(
                    "OS_AUTH_URL is set but OS_USERNAME or OS_PASSWORD is not".into(),
                ));
            };
            Credentials::Password {
                username,
                password: Secret::new(password),
                user_domain_name: env("OS_USER_DOMAIN_NAME"),
                user_domain_id: env("OS_USER_DOMAIN_ID"),
            }
        };
        Ok(CloudConfig {
            name: "envvars".into(),
            auth_url,
            credentials,
            project_name: env("OS_PROJECT_NAME").or_else(|| env("OS_TENANT_NAME")),
            project_id: env("OS_PROJECT_ID").or_else(|| env("OS_TENANT_ID")),
            project_domain_name: env("OS_PROJECT_DOMAIN_NAME"),
            project_domain_id: env("OS_PROJECT_DOMAIN_ID"),
            region_name: env("OS_REGION_NAME"),
            interface: env("OS_INTERFACE")
                .unwrap_or_else(|| "public".into())
                .trim_end_matches("URL")
                .into(),
        }
        .registered())
    }

    /// Registers this config's secrets (password or application credential
    /// secret, auth URL userinfo) with [`crate::redact`], so no output can carry them.
    fn registered(self) -> Self {
        match &self.credentials {
            Credentials::Password { password, .. } => crate::redact::register(password.expose()),
            Credentials::ApplicationCredential { secret, .. } => {
                crate::redact::register(secret.expose())
            }
        }
        crate::redact::register_userinfo(&self.auth_url);
        self
    }

    /// Returns who authenticates, for messages (never the secret).
    pub fn who(&self) -> String {
        match &self.credentials {
            Credentials::Password { username, .. } => format!(
                "user {username:?} (project {:?})",
                self.project_name
                    .as_deref()
                    .or(self.project_id.as_deref())
                    .unwrap_or("unscoped")
            ),
            Credentials::ApplicationCredential { id, .. } => {
                format!("application credential {id:?}")
            }
        }
    }
}

fn read_clouds(path: &Path) -> Result<CloudsFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
        path: path.into(),
        source,
    })?;
    // Only the position: the parser's message may quote a password.
    serde_saphyr::from_str::<CloudsFile>(&text).map_err(|e| Error::ParseConfig {
        path: path.into(),
        message: format!(
            "it is not a valid clouds file (YAML) at {}; fix the file there (the parser's message \
             is not shown because it may quote a password)",
            crate::redact::yaml_position(&e)
        ),
    })
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn merge(base: &mut serde_json::Value, over: &serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn clouds_yaml_with_secure_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "clouds.yaml",
            "clouds:\n  lab:\n    auth:\n      auth_url: http://k/v3\n      username: u\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: R1\n",
        );
        write(
            dir.path(),
            "secure.yaml",
            "clouds:\n  lab:\n    auth:\n      password: s3cret\n",
        );
        let c = CloudConfig::from_clouds_yaml(&p, "lab").unwrap();
        assert_eq!(c.region_name.as_deref(), Some("R1"));
        assert_eq!(c.interface, "public");
        let Credentials::Password { password, .. } = &c.credentials else {
            panic!("password auth")
        };
        assert_eq!(password.expose(), "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
        let err = CloudConfig::from_clouds_yaml(&p, "nope")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[lab]") && err.contains("clouds.yaml"),
            "{err}"
        );
    }

    #[test]
    fn parse_errors_of_clouds_and_secure_yaml_never_quote_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = "clouds:\n  lab:\n    auth:\n      auth_url: http://k/v3\n      username: u\n";
        for (clouds, secure) in [
            (
                "clouds:\n  lab:\n    auth:\n      password: pw-that-must-not-leak\n     x: [\n",
                None,
            ),
            ("clouds: pw-that-must-not-leak\n", None),
            (
                good,
                Some("clouds:\n  lab:\n    auth:\n      password: pw-that-must-not-leak\n   - [\n"),
            ),
        ] {
            let p = write(dir.path(), "clouds.yaml", clouds);
            let _ = std::fs::remove_file(dir.path().join("secure.yaml"));
            if let Some(s) = secure {
                write(dir.path(), "secure.yaml", s);
            }
            let err = CloudConfig::from_clouds_yaml(&p, "lab").unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("pw-that"), "{shown}");
            assert!(
                shown.contains(".yaml: it is not a valid clouds file (YAML) at line "),
                "{shown}"
            );
        }
    }

    #[test]
    fn env_vars_and_missing_cloud_file() {
        let vars: BTreeMap<&str, &str> = [
            ("OS_AUTH_URL", "http://k:5000"),
            ("OS_APPLICATION_CREDENTIAL_ID", "ac"),
            ("OS_APPLICATION_CREDENTIAL_SECRET", "xx"),
            ("OS_INTERFACE", "internalURL"),
        ]
        .into();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let c = CloudConfig::load_with(None, &env).unwrap();
        assert_eq!(c.interface, "internal");
        assert!(matches!(
            c.credentials,
            Credentials::ApplicationCredential { .. }
        ));
        let none = |k: &str| {
            (k == "OS_CLIENT_CONFIG_FILE").then(|| "/nonexistent/clouds.yaml".to_string())
        };
        let err = CloudConfig::load_with(Some("x"), &none).unwrap_err();
        assert!(matches!(err, Error::NoCloudsFile { .. }), "{err}");
        assert!(matches!(
            CloudConfig::load_with(None, &|_| None),
            Err(Error::MissingConfig(_))
        ));
    }
}
