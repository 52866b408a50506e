//! P4: `mariadb-dump --single-transaction --databases neutron` into
//! `/var/lib/mysql/neutron-ovs-ovn-migration-<stamp>.sql` on the desynced
//! member, once.
//!
//! The file is found again by its name (the plan's, from the discovery's
//! time): a complete dump (`mariadb-dump`'s closing `-- Dump completed`
//! line) is done and never taken again. Its size and sha256, read back
//! through exec, are journaled with the observation and the outcome. A
//! partial file after a crash is re-dumped over (`--result-file`
//! truncates). The member must still be desynced to dump.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PrepareCx;
use super::exec::{CONTAINER, NOT_FOUND};
use super::galera::{DESYNCED, NAMESPACE, read_member};
use crate::engine::{Applied, Effect, Step, StepError, Verdict};
use journal::OperationSpec;

/// The last line `mariadb-dump` writes (with its comments on, the default).
pub const COMPLETED: &str = "-- Dump completed";

/// The step.
pub struct Dump {
    pub spec: OperationSpec,
    pub pod: String,
    pub path: String,
}

/// The dump file and the member, as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub pod: String,
    pub path: String,
    /// Its size in bytes, when it exists.
    pub size: Option<u64>,
    /// It ends with mariadb-dump's closing line (`None`: cannot be read, see `note`).
    pub complete: Option<bool>,
    /// Why completeness is unknown.
    pub note: Option<String>,
    /// Its sha256 (hex), when complete.
    pub sha256: Option<String>,
    /// The member's `wsrep_desync` is ON.
    pub desynced: bool,
    /// The member's `wsrep_local_state_comment`.
    pub state: String,
}

/// What the intent records: why the dump may not run now (empty: it may).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub refused: Option<String>,
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// The dump file as read through exec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileState {
    /// Its size, when it exists.
    pub size: Option<u64>,
    /// Whether it ends with the closing line; `None` when that cannot be
    /// read (no `tail` in the container), see `note`.
    pub complete: Option<bool>,
    /// Its sha256 (hex), when complete or when asked for.
    pub sha256: Option<String>,
    /// Why completeness is unknown.
    pub note: Option<String>,
}

async fn size_of(cx: &PrepareCx, pod: &str, path: &str) -> Result<Option<u64>, StepError> {
    let stat = cx
        .exec
        .run(
            NAMESPACE,
            pod,
            CONTAINER,
            &argv(&["stat", "-c", "%s", path]),
        )
        .await?;
    if stat.status != 0 && stat.stderr.contains("No such file") {
        return Ok(None);
    }
    let size = stat
        .ok(&format!("stat {path} on {pod}"))?
        .trim()
        .parse()
        .map_err(|e| StepError::fatal(format!("read the size of {path} on {pod}: {e}")))?;
    Ok(Some(size))
}

async fn sha256_of(cx: &PrepareCx, pod: &str, path: &str) -> Result<String, StepError> {
    let sum = cx
        .exec
        .run(NAMESPACE, pod, CONTAINER, &argv(&["sha256sum", path]))
        .await?
        .ok(&format!("checksum {path} on {pod}"))?;
    let hex = sum
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StepError::fatal(format!(
            "checksum {path} on {pod}: sha256sum printed {sum:?}"
        )));
    }
    Ok(hex)
}

/// Reads the dump file's size, completeness (its last bytes, with `tail`)
/// and, when complete, its checksum on the member.
pub async fn read_file(cx: &PrepareCx, pod: &str, path: &str) -> Result<FileState, StepError> {
    let Some(size) = size_of(cx, pod, path).await? else {
        return Ok(FileState::default());
    };
    let tail = cx
        .exec
        .run(
            NAMESPACE,
            pod,
            CONTAINER,
            &argv(&["tail", "-c", "256", path]),
        )
        .await?;
    if tail.status == NOT_FOUND {
        return Ok(FileState {
            size: Some(size),
            complete: None,
            sha256: None,
            note: Some(format!(
                "the container has no `tail`, so whether {path} is complete cannot be read"
            )),
        });
    }
    let complete = tail
        .ok(&format!("read the end of {path} on {pod}"))?
        .contains(COMPLETED);
    Ok(FileState {
        size: Some(size),
        complete: Some(complete),
        sha256: if complete {
            Some(sha256_of(cx, pod, path).await?)
        } else {
            None
        },
        note: None,
    })
}

impl Step for Dump {
    type Cx = PrepareCx;
    type Observation = Observed;

    fn spec(&self) -> OperationSpec {
        self.spec.clone()
    }

    async fn observe(&self, cx: &PrepareCx) -> Result<Observed, StepError> {
        let vars = read_member(cx, &self.pod).await?;
        let f = read_file(cx, &self.pod, &self.path).await?;
        Ok(Observed {
            pod: self.pod.clone(),
            path: self.path.clone(),
            size: f.size,
            complete: f.complete,
            sha256: f.sha256,
            note: f.note,
            desynced: vars
                .get("wsrep_desync")
                .is_some_and(|v| v.eq_ignore_ascii_case("ON")),
            state: vars
                .get("wsrep_local_state_comment")
                .cloned()
                .unwrap_or_default(),
        })
    }
}

impl Effect for Dump {
    type Params = Params;

    fn params(&self, o: &Observed) -> Params {
        Params {
            refused: (!o.desynced || o.state != DESYNCED).then(|| {
                format!(
                    "{} is not desynced (wsrep_desync {}, state {}): the dump runs only on a desynced member",
                    o.pod,
                    if o.desynced { "ON" } else { "OFF" },
                    o.state
                )
            }),
        }
    }

    fn classify(&self, o: &Observed, _intent: Option<&Params>) -> Verdict {
        match (o.size, o.complete, &o.sha256) {
            (Some(size), Some(true), Some(sum)) if size > 0 => Verdict::Done(format!(
                "{} on {} is complete: {size} bytes, sha256 {sum}",
                o.path, o.pod
            )),
            (Some(size), None, _) => Verdict::NotDone(format!(
                "{} on {} ({size} bytes) may be incomplete ({}): it is taken again",
                o.path,
                o.pod,
                o.note.as_deref().unwrap_or("completeness unknown")
            )),
            (Some(size), ..) => Verdict::NotDone(format!(
                "{} on {} is incomplete ({size} bytes, no closing line): it is taken again",
                o.path, o.pod
            )),
            (None, ..) => Verdict::NotDone(format!("{} on {} does not exist", o.path, o.pod)),
        }
    }

    async fn act(&self, cx: &PrepareCx, p: &Params) -> Result<Applied, StepError> {
        if let Some(why) = &p.refused {
            return Err(StepError::fatal(format!(
                "dump Neutron's database: {why}; resume desyncs it again first"
            )));
        }
        let result_file = format!("--result-file={}", self.path);
        let mut dump = vec!["mariadb-dump".to_string()];
        dump.extend(
            cx.mysql_defaults
                .iter()
                .map(|f| format!("--defaults-file={f}")),
        );
        dump.extend(argv(&[
            "--single-transaction",
            "--databases",
            "neutron",
            &result_file,
        ]));
        cx.exec
            .run(NAMESPACE, &self.pod, CONTAINER, &dump)
            .await?
            .ok(&format!("dump database neutron on {}", self.pod))?;
        // mariadb-dump exited 0: the file is complete; its closing line is
        // checked too where the container can read it.
        let f = read_file(cx, &self.pod, &self.path).await?;
        let size = f.size.unwrap_or(0);
        if size == 0 || f.complete == Some(false) {
            return Err(StepError::fatal(format!(
                "dump database neutron on {}: mariadb-dump succeeded but {} is {} without its closing line; look at the member's disk (df -h /var/lib/mysql)",
                self.pod,
                self.path,
                f.size
                    .map(|s| format!("{s} bytes"))
                    .unwrap_or_else(|| "missing".into())
            )));
        }
        let sha256 = match f.sha256 {
            Some(s) => s,
            None => sha256_of(cx, &self.pod, &self.path).await?,
        };
        Ok(Applied {
            http_status: None,
            observed: json!({"pod": self.pod, "path": self.path, "size": size, "sha256": sha256}),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::exec::ExecOut;
    use super::super::exec::fake::FakeExec;
    use super::*;

    fn obs(size: Option<u64>, complete: bool, sum: Option<&str>) -> Observed {
        Observed {
            pod: "mariadb-server-2".into(),
            path: "/var/lib/mysql/n.sql".into(),
            size,
            complete: size.map(|_| complete),
            sha256: sum.map(String::from),
            note: None,
            desynced: true,
            state: DESYNCED.into(),
        }
    }

    fn step() -> Dump {
        Dump {
            spec: super::super::test_spec("p4-dump"),
            pod: "mariadb-server-2".into(),
            path: "/var/lib/mysql/n.sql".into(),
        }
    }

    #[test]
    fn only_a_complete_non_empty_dump_is_done() {
        let s = step();
        let sum = "a".repeat(64);
        assert!(matches!(
            s.classify(&obs(Some(10), true, Some(&sum)), None),
            Verdict::Done(_)
        ));
        assert!(matches!(
            s.classify(&obs(Some(10), false, None), None),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(Some(0), true, Some(&sum)), None),
            Verdict::NotDone(_)
        ));
        assert!(matches!(
            s.classify(&obs(None, false, None), None),
            Verdict::NotDone(_)
        ));
    }

    #[test]
    fn a_member_that_is_not_desynced_refuses_the_dump() {
        let s = step();
        assert_eq!(s.params(&obs(None, false, None)).refused, None);
        let mut o = obs(None, false, None);
        o.desynced = false;
        o.state = "Synced".into();
        assert!(
            s.params(&o)
                .refused
                .unwrap()
                .contains("wsrep_desync OFF, state Synced")
        );
    }

    fn cx_with(exec: FakeExec) -> PrepareCx {
        super::super::session::tests::cx(Arc::new(exec))
    }

    #[tokio::test]
    async fn the_file_is_read_back_absent_partial_complete_or_unknown() {
        let sum = "0123456789abcdef".repeat(4);
        let body = Arc::new(std::sync::Mutex::new(None::<String>));
        let no_tail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (b, nt) = (body.clone(), no_tail.clone());
        let s2 = sum.clone();
        let exec = FakeExec::new(move |_, argv| {
            let f = b.lock().unwrap().clone();
            let out = |stdout: String| {
                Ok(ExecOut {
                    stdout,
                    stderr: String::new(),
                    status: 0,
                })
            };
            match (argv[0].as_str(), f) {
                (_, None) => Ok(ExecOut {
                    stdout: String::new(),
                    stderr: "stat: cannot statx '/x': No such file or directory".into(),
                    status: 1,
                }),
                ("tail", Some(_)) if nt.load(std::sync::atomic::Ordering::SeqCst) => Ok(ExecOut {
                    stdout: String::new(),
                    stderr: "executable file not found".into(),
                    status: NOT_FOUND,
                }),
                ("stat", Some(f)) => out(format!("{}\n", f.len())),
                ("tail", Some(f)) => out(f),
                ("sha256sum", Some(_)) => out(format!("{s2}  /var/lib/mysql/n.sql\n")),
                _ => panic!("{argv:?}"),
            }
        });
        let cx = cx_with(exec);
        let path = "/var/lib/mysql/n.sql";
        assert_eq!(
            read_file(&cx, "p", path).await.unwrap(),
            FileState::default()
        );
        *body.lock().unwrap() = Some("CREATE TABLE".into());
        let f = read_file(&cx, "p", path).await.unwrap();
        assert_eq!(
            (f.size, f.complete, f.sha256),
            (Some(12), Some(false), None)
        );
        *body.lock().unwrap() = Some("x\n-- Dump completed on 2026-12-02\n".into());
        let f = read_file(&cx, "p", path).await.unwrap();
        assert_eq!(
            (f.size, f.complete, f.sha256),
            (Some(34), Some(true), Some(sum))
        );
        no_tail.store(true, std::sync::atomic::Ordering::SeqCst);
        let f = read_file(&cx, "p", path).await.unwrap();
        assert_eq!((f.size, f.complete), (Some(34), None));
        assert!(f.note.unwrap().contains("no `tail`"));
    }
}
