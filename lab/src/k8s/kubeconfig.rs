//! Writes a kubeconfig for the lab's API server.
//!
//! The file is JSON (a subset of YAML, which kubectl and kube-rs both read):
//! cluster `lab` at the server's URL, user `lab` with bearer token `lab-kube-bearer-token` (distinctive, so a test can search output for it),
//! context `lab`, current-context `lab`, mode 0600.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The file name [`write`] uses.
pub const FILE_NAME: &str = "ovn-migrate-lab.kubeconfig";

/// Returns the kubeconfig document for a server URL.
pub fn document(server: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": server}}],
        "users": [{"name": "lab", "user": {"token": "lab-kube-bearer-token"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
        "current-context": "lab",
        "preferences": {},
    })
}

/// Writes `dir/ovn-migrate-lab.kubeconfig` (mode 0600) and returns its path.
pub fn write(server: &str, dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    write_private(
        &path,
        &serde_json::to_string_pretty(&document(server)).expect("json"),
    )?;
    Ok(path)
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(contents.as_bytes())
}
