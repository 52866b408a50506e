//! M1: back up the network config, once: into the journal (a blob referenced
//! by a `SnapshotRecorded` event) and to a file the user can keep. The backup
//! is the config as discovered before any change, so a resumed run writes the
//! same bytes; a backup file with other contents is never overwritten.
//!
//! The journal comes first: the snapshot is durable before the file is
//! renamed into place, so a crash in between leaves a journaled backup and no
//! file (the resumed run writes the file), never a file the journal does not
//! know. The step is done only when both are there.

use std::io::Write;
use std::path::PathBuf;

use journal::{BlobRef, Event, OperationSpec};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::MigrationCx;
use crate::engine::{Applied, Effect, Step, StepError, Verdict};

/// The label of the backup's `SnapshotRecorded` event.
pub const LABEL: &str = "network-config-backup";

/// M1.
pub struct Backup {
    pub spec: OperationSpec,
}

/// What M1 sees of its two copies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupObservation {
    pub path: PathBuf,
    /// blake3 of the discovered config's backup bytes.
    pub want: String,
    /// blake3 of the file, if it exists.
    pub file: Option<String>,
    /// Hashes of the backups the journal records.
    pub journaled: Vec<String>,
}

/// What the intent records: whether the journal already had the backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupParams {
    pub journaled: bool,
}

fn bytes(cx: &MigrationCx) -> Vec<u8> {
    serde_json::to_vec_pretty(&cx.discovered.config_network).unwrap_or_default()
}

fn journaled_backups(cx: &MigrationCx) -> Result<Vec<String>, StepError> {
    let mut out = Vec::new();
    for r in cx.recorder.journal().iter(1) {
        let r = r.map_err(|e| StepError::fatal(format!("read the journal: {e}")))?;
        if let Event::SnapshotRecorded { label, blobs, .. } = r.event
            && label == LABEL
        {
            out.extend(blobs.iter().map(|b| b.hash.to_string()));
        }
    }
    Ok(out)
}

impl Step for Backup {
    type Cx = MigrationCx;
    type Observation = BackupObservation;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<BackupObservation, StepError> {
        let want = journal::BlobHash::of(&bytes(cx)).to_string();
        let file = match std::fs::read(&cx.backup_path) {
            Ok(have) => Some(journal::BlobHash::of(&have).to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StepError::fatal(format!(
                    "read the backup {}: {e}",
                    cx.backup_path.display()
                )));
            }
        };
        Ok(BackupObservation {
            path: cx.backup_path.clone(),
            want,
            file,
            journaled: journaled_backups(cx)?,
        })
    }
}

impl Effect for Backup {
    type Params = BackupParams;

    fn params(&self, o: &BackupObservation) -> BackupParams {
        BackupParams {
            journaled: o.journaled.contains(&o.want),
        }
    }

    /// Done when the journal has the backup and the file holds it; ambiguous
    /// when the file holds something else.
    fn classify(&self, o: &BackupObservation, _intent: Option<&BackupParams>) -> Verdict {
        let journaled = o.journaled.contains(&o.want);
        match (&o.file, journaled) {
            (Some(f), _) if f != &o.want => Verdict::Ambiguous(format!(
                "{} exists with other contents; move it away to let this run write its backup",
                o.path.display()
            )),
            (Some(_), true) => Verdict::Done("the backup is journaled and in its file".into()),
            (Some(_), false) => {
                Verdict::NotDone("the file exists but the journal lacks the backup".into())
            }
            (None, true) => Verdict::NotDone("journaled; the file is not written yet".into()),
            (None, false) => Verdict::NotDone("no backup yet".into()),
        }
    }

    /// Journals the blob (durable), then writes the file (temp, fsync, rename, fsync dir).
    async fn act(&self, cx: &MigrationCx, p: &BackupParams) -> Result<Applied, StepError> {
        let data = bytes(cx);
        let jerr = |e: journal::Error| StepError::fatal(format!("journal the backup: {e}"));
        let hash = cx.recorder.put_blob(data.clone()).await.map_err(jerr)?;
        if !p.journaled {
            cx.recorder
                .append(Event::SnapshotRecorded {
                    label: LABEL.into(),
                    blobs: vec![BlobRef {
                        kind: "networks.config.openshift.io".into(),
                        name: "cluster".into(),
                        hash,
                    }],
                })
                .await
                .map_err(jerr)?;
        }
        let path = cx.backup_path.clone();
        write_file(&path, &data)?;
        Ok(Applied {
            http_status: None,
            observed: json!({"path": path, "blob": hash.to_string()}),
        })
    }
}

fn write_file(path: &std::path::Path, data: &[u8]) -> Result<(), StepError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("json.tmp");
    let io =
        |e: std::io::Error| StepError::fatal(format!("write the backup {}: {e}", path.display()));
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
    f.write_all(data).and_then(|_| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(file: Option<&str>, journaled: &[&str]) -> BackupObservation {
        BackupObservation {
            path: "/s/r.network-config.json".into(),
            want: "aa".into(),
            file: file.map(String::from),
            journaled: journaled.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn step() -> Backup {
        Backup {
            spec: super::super::test_spec("M1"),
        }
    }

    #[test]
    fn done_only_when_journaled_and_written() {
        let s = step();
        assert!(matches!(
            s.classify(&obs(Some("aa"), &["aa"]), None),
            Verdict::Done(_)
        ));
        // The file alone (a crash of an older version between rename and journal) is not done.
        assert!(matches!(
            s.classify(&obs(Some("aa"), &[]), None),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(None, &["aa"]), None),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(Some("bb"), &["aa"]), None),
            Verdict::Ambiguous(_)
        ));
    }

    #[test]
    fn a_journaled_backup_is_not_journaled_twice() {
        assert!(step().params(&obs(None, &["aa"])).journaled);
        assert!(!step().params(&obs(None, &["bb"])).journaled);
    }
}
