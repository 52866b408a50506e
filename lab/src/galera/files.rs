//! A mariadb pod's `/var/lib/mysql/` on the host: path mapping, and the
//! file commands (`sha256sum`, `stat`, `ls`, `cat`, `head`, `tail`, `rm`,
//! `test`) run by the host's coreutils, confined to the pod's directory.
//!
//! Each pod has a directory of its own ([`PodFiles::root`]): `/var/lib/mysql`
//! in an argument becomes that directory ([`PodFiles::map_arg`]) and the
//! directory in the output becomes `/var/lib/mysql` again
//! ([`PodFiles::unmap`]), so `sha256sum /var/lib/mysql/x.sql` prints what it
//! would in the pod. Every path a file command names must lie under
//! `/var/lib/mysql` (relative paths are taken from there, `..` is refused):
//! the lab runs these on the host, and nothing else of the host is the pod's.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::k8s::exec::{ExecEnd, ExecSink};

/// The pod's data directory, as the pod names it.
pub const POD_DIR: &str = "/var/lib/mysql";

/// The file commands a pod runs, by name.
pub const FILE_COMMANDS: &[&str] = &[
    "sha256sum",
    "stat",
    "ls",
    "cat",
    "head",
    "tail",
    "rm",
    "test",
];

/// One pod's `/var/lib/mysql/` on the host.
#[derive(Clone, Debug)]
pub struct PodFiles {
    root: PathBuf,
}

impl PodFiles {
    /// Returns the mapping onto `root` (created if missing).
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(PodFiles { root })
    }

    /// Returns the host directory that is the pod's `/var/lib/mysql`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the host path of a pod path (`/var/lib/mysql/x` → `<root>/x`).
    pub fn host_path(&self, pod_path: &str) -> Option<PathBuf> {
        let rest = pod_path.strip_prefix(POD_DIR)?;
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        if !pod_path[POD_DIR.len()..].is_empty() && !pod_path[POD_DIR.len()..].starts_with('/') {
            return None;
        }
        if rest.split('/').any(|c| c == "..") {
            return None;
        }
        Some(if rest.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rest)
        })
    }

    /// Returns `arg` with every `/var/lib/mysql` (followed by `/` or the end)
    /// replaced by the host directory.
    pub fn map_arg(&self, arg: &str) -> String {
        let root = self.root.to_string_lossy();
        let mut out = String::with_capacity(arg.len());
        let mut rest = arg;
        while let Some(i) = rest.find(POD_DIR) {
            let after = &rest[i + POD_DIR.len()..];
            out.push_str(&rest[..i]);
            if after.is_empty() || after.starts_with('/') {
                out.push_str(&root);
            } else {
                out.push_str(POD_DIR);
            }
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// Returns `bytes` with the host directory written as `/var/lib/mysql`.
    pub fn unmap(&self, bytes: &[u8]) -> Vec<u8> {
        let root = self.root.to_string_lossy();
        let needle = root.as_bytes();
        if needle.is_empty() {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(POD_DIR.as_bytes());
                i += needle.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    /// Returns the argv with its paths mapped, or why a path is not the pod's.
    pub fn confine(&self, argv: &[String]) -> Result<Vec<String>, String> {
        let mut out = vec![argv[0].clone()];
        for a in &argv[1..] {
            if a.starts_with('-') && !a.contains('/') {
                out.push(a.clone());
                continue;
            }
            // `stat -c %s`, `tail -c 256`, `head -n 5`: a value, not a path.
            if out.last().is_some_and(|p| {
                matches!(p.as_str(), "-c" | "--format" | "-n" | "--bytes" | "--lines")
            }) {
                out.push(a.clone());
                continue;
            }
            let path = a.split_once('=').map(|(_, v)| v).unwrap_or(a);
            let inside = if path.starts_with('/') {
                self.host_path(path).is_some()
            } else {
                !path.split('/').any(|c| c == "..")
            };
            if !inside {
                return Err(format!(
                    "{}: {a}: only {POD_DIR}/ is this pod's filesystem in the lab",
                    argv[0]
                ));
            }
            out.push(self.map_arg(a));
        }
        Ok(out)
    }

    /// Runs a file command (one of [`FILE_COMMANDS`]) with its output mapped back.
    pub async fn run(&self, argv: &[String], out: &ExecSink) -> ExecEnd {
        let argv = match self.confine(argv) {
            Ok(a) => a,
            Err(msg) => {
                out.stderr(format!("{msg}\n")).await;
                return ExecEnd::Exited(1);
            }
        };
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(&self.root);
        run_mapped(cmd, self, None, out).await
    }
}

/// Runs `cmd`, streaming its stdout and stderr line by line with the pod's
/// directory unmapped, feeding it `stdin` when given; returns its exit.
pub async fn run_mapped(
    mut cmd: tokio::process::Command,
    files: &PodFiles,
    stdin: Option<&mut tokio::sync::mpsc::Receiver<Vec<u8>>>,
    out: &ExecSink,
) -> ExecEnd {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .kill_on_drop(false);
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ExecEnd::CannotRun {
                reason: "InternalError".into(),
                message: format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: \
                     exec: {program:?}: {e} (is it installed on the lab's machine?)"
                ),
            };
        }
    };
    let feed = async {
        if let (Some(rx), Some(mut w)) = (stdin, child.stdin.take()) {
            use tokio::io::AsyncWriteExt;
            while let Some(chunk) = rx.recv().await {
                if w.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            drop(w);
        }
    };
    let pump = |r: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>, err: bool| async move {
        let Some(r) = r else { return };
        let mut r = BufReader::new(r);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let mapped = files.unmap(&line);
                    if err {
                        out.stderr(mapped).await;
                    } else {
                        out.stdout(mapped).await;
                    }
                }
            }
        }
    };
    let so = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
    let se = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
    tokio::join!(feed, pump(so, false), pump(se, true));
    match child.wait().await {
        Ok(status) => ExecEnd::Exited(status.code().unwrap_or(128 + 9)),
        Err(e) => ExecEnd::CannotRun {
            reason: "InternalError".into(),
            message: format!("waiting for {program:?} failed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (tempfile::TempDir, PodFiles) {
        let d = tempfile::tempdir().unwrap();
        let f = PodFiles::new(d.path().join("pod-2")).unwrap();
        (d, f)
    }

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_map_both_ways() {
        let (_d, f) = files();
        let root = f.root().to_string_lossy().into_owned();
        assert_eq!(
            f.map_arg("--result-file=/var/lib/mysql/neutron.sql"),
            format!("--result-file={root}/neutron.sql")
        );
        assert_eq!(f.map_arg("/var/lib/mysql"), root);
        assert_eq!(f.map_arg("/var/lib/mysqlx/a"), "/var/lib/mysqlx/a");
        let line = format!("abc  {root}/neutron.sql\n");
        assert_eq!(
            f.unmap(line.as_bytes()),
            b"abc  /var/lib/mysql/neutron.sql\n"
        );
        assert_eq!(
            f.host_path("/var/lib/mysql/a.sql"),
            Some(f.root().join("a.sql"))
        );
        assert_eq!(f.host_path("/var/lib/mysql/../etc"), None);
        assert_eq!(f.host_path("/var/lib/mysqlx"), None);
        assert_eq!(f.host_path("/etc/passwd"), None);
    }

    #[test]
    fn file_commands_stay_in_the_pod_directory() {
        let (_d, f) = files();
        assert!(f.confine(&argv(&["cat", "/etc/shadow"])).is_err());
        assert!(
            f.confine(&argv(&["rm", "-f", "/var/lib/mysql/../../x"]))
                .is_err()
        );
        assert!(f.confine(&argv(&["ls", "../.."])).is_err());
        let ok = f
            .confine(&argv(&["stat", "-c", "%s", "/var/lib/mysql/a.sql"]))
            .unwrap();
        assert_eq!(ok[2], "%s");
        assert!(ok[3].ends_with("/pod-2/a.sql"), "{ok:?}");
        assert_eq!(f.confine(&argv(&["ls", "-l"])).unwrap(), ["ls", "-l"]);
    }
}
