//! M1: back up the network config, once: into the journal (a blob referenced
//! by a `SnapshotRecorded` event) and to a file the user can keep. The backup
//! is the config as discovered before any change, so a resumed run writes the
//! same bytes; an existing backup file is never overwritten.

use std::io::Write;

use journal::{BlobRef, Event};
use serde_json::{Value, json};

use super::MigrationCx;
use crate::engine::{Effect, StepError, Verdict};

fn bytes(cx: &MigrationCx) -> Vec<u8> {
    serde_json::to_vec_pretty(&cx.discovered.config_network).unwrap_or_default()
}

/// Reads whether the backup file exists and what it holds.
pub async fn observe(cx: &MigrationCx) -> Result<Value, StepError> {
    let want = blake3::hash(&bytes(cx)).to_hex().to_string();
    match std::fs::read(&cx.backup_path) {
        Ok(have) => Ok(
            json!({"exists": true, "matches": blake3::hash(&have).to_hex().to_string() == want,
                              "path": cx.backup_path}),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(json!({"exists": false, "path": cx.backup_path}))
        }
        Err(e) => Err(StepError::fatal(format!(
            "read the backup {}: {e}",
            cx.backup_path.display()
        ))),
    }
}

/// Done when the file holds the discovered config; ambiguous when it holds something else.
pub fn classify(live: &Value) -> Verdict {
    match (live["exists"].as_bool(), live["matches"].as_bool()) {
        (Some(true), Some(true)) => Verdict::Done("the backup file exists".into()),
        (Some(true), _) => Verdict::Ambiguous(format!(
            "{} exists with other contents; move it away to let this run write its backup",
            live["path"]
        )),
        _ => Verdict::NotDone("no backup yet".into()),
    }
}

/// Writes the file (temp, fsync, rename, fsync dir) and records the blob.
pub async fn act(cx: &MigrationCx) -> Result<Effect, StepError> {
    let data = bytes(cx);
    let path = cx.backup_path.clone();
    let tmp = path.with_extension("json.tmp");
    let io =
        |e: std::io::Error| StepError::fatal(format!("write the backup {}: {e}", path.display()));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        // 0600 also when the temp file was left with other permissions.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        f.write_all(&data).and_then(|_| f.sync_all()).map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    let hash = cx
        .recorder
        .put_blob(data)
        .await
        .map_err(|e| StepError::fatal(e.to_string()))?;
    cx.recorder
        .append(Event::SnapshotRecorded {
            label: "network-config-backup".into(),
            blobs: vec![BlobRef {
                kind: "networks.config.openshift.io".into(),
                name: "cluster".into(),
                hash,
            }],
        })
        .await
        .map_err(|e| StepError::fatal(e.to_string()))?;
    Ok(Effect {
        http_status: None,
        observed: json!({"path": path, "blob": hash.to_string()}),
    })
}
