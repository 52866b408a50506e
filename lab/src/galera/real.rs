//! The real backend: a pod's `mariadb`/`mysql`/`mariadb-dump` run on the
//! host against its member of `lab/real/galera.sh` (pod N-1 ↔ member N).
//!
//! The argv is the pod's with three changes ([`rewrite`]): `--socket=<the
//! member's socket>` right after the program (after a leading
//! `--defaults-file`/`--no-defaults`, which must come first), because
//! Debian's `/etc/mysql/my.cnf` names a socket of its own and option files
//! beat `MYSQL_UNIX_PORT`; the openstack-helm admin options file
//! [`super::ADMIN_CNF`] mapped to the member's own (`[client] user = root`:
//! no password, the socket authenticates); and every `/var/lib/mysql/` path
//! mapped to the pod's directory ([`super::files::PodFiles`]). A dump's result file must lie
//! under `/var/lib/mysql/`. The client runs as the lab's user (root in CI:
//! `root@localhost` authenticates by unix socket, with or without a
//! password argument).

use std::path::{Path, PathBuf};

use super::files::{POD_DIR, PodFiles, run_mapped};
use crate::k8s::exec::{ExecEnd, ExecIo};

/// One member of the real cluster.
#[derive(Clone, Debug)]
pub struct RealMember {
    /// Its client socket (`$GALERA_DIR/nN/mysqld.sock`).
    pub socket: PathBuf,
    /// The host file that is the pod's [`super::ADMIN_CNF`].
    pub admin_cnf: PathBuf,
}

/// Returns the text of a member's admin options file (no secret in it).
pub fn admin_cnf_text(socket: &Path) -> String {
    format!(
        "# The lab's stand-in for openstack-helm's admin_user.cnf: root over the\n\
         # member's unix socket, which authenticates it (no password).\n\
         [client]\nuser = root\nsocket = {}\n",
        socket.display()
    )
}

/// Returns the host argv for a pod's SQL client or dump argv, or why it is refused.
pub fn rewrite(
    argv: &[String],
    member: &RealMember,
    files: &PodFiles,
) -> Result<Vec<String>, String> {
    let mut out = vec![argv[0].clone()];
    let mut rest = &argv[1..];
    if let Some(first) = rest.first()
        && (first.starts_with("--defaults-file")
            || first == "--no-defaults"
            || first.starts_with("--defaults-extra-file"))
    {
        match first.split_once('=') {
            Some((opt, super::ADMIN_CNF)) => {
                out.push(format!("{opt}={}", member.admin_cnf.display()))
            }
            _ => out.push(files.map_arg(first)),
        }
        rest = &rest[1..];
    }
    out.push(format!("--socket={}", member.socket.display()));
    let mut expect_result_file = false;
    for a in rest {
        let path = if expect_result_file {
            expect_result_file = false;
            Some(a.as_str())
        } else if let Some(p) = a.strip_prefix("--result-file=") {
            Some(p)
        } else if a == "-r" || a == "--result-file" {
            expect_result_file = true;
            None
        } else {
            None
        };
        if let Some(p) = path {
            let inside = if p.starts_with('/') {
                files.host_path(p).is_some()
            } else {
                !p.split('/').any(|c| c == "..")
            };
            if !inside {
                return Err(format!(
                    "{}: result file {p}: only {POD_DIR}/ is this pod's filesystem in the lab",
                    argv[0]
                ));
            }
        }
        out.push(files.map_arg(a));
    }
    Ok(out)
}

/// Runs a SQL client or dump argv against `member`.
pub async fn run(
    member: &RealMember,
    files: &PodFiles,
    argv: &[String],
    mut io: ExecIo,
) -> ExecEnd {
    let argv = match rewrite(argv, member, files) {
        Ok(a) => a,
        Err(msg) => {
            io.out.stderr(format!("{msg}\n")).await;
            return ExecEnd::Exited(1);
        }
    };
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(files.root());
    run_mapped(cmd, files, io.stdin.as_mut(), &io.out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_socket_comes_first_and_paths_are_mapped() {
        let d = tempfile::tempdir().unwrap();
        let files = PodFiles::new(d.path().join("p")).unwrap();
        let root = files.root().display().to_string();
        let sock = &RealMember {
            socket: PathBuf::from("/g/n3/mysqld.sock"),
            admin_cnf: PathBuf::from("/g/n3/etc-mysql/admin_user.cnf"),
        };
        let out = rewrite(
            &argv(&[
                "mariadb",
                "-N",
                "-B",
                "-e",
                "SHOW GLOBAL STATUS LIKE 'wsrep%'",
            ]),
            sock,
            &files,
        )
        .unwrap();
        assert_eq!(out[..2], ["mariadb", "--socket=/g/n3/mysqld.sock"]);
        assert_eq!(out[5], "SHOW GLOBAL STATUS LIKE 'wsrep%'");
        let out = rewrite(
            &argv(&[
                "mariadb-dump",
                "--single-transaction",
                "--databases",
                "neutron",
                "--result-file=/var/lib/mysql/neutron-1.sql",
            ]),
            sock,
            &files,
        )
        .unwrap();
        assert_eq!(out[5], format!("--result-file={root}/neutron-1.sql"));
        let out = rewrite(
            &argv(&["mysql", "--defaults-file=/etc/my.cnf", "-e", "SELECT 1"]),
            sock,
            &files,
        )
        .unwrap();
        assert_eq!(out[1], "--defaults-file=/etc/my.cnf");
        assert!(out[2].starts_with("--socket="));
        let out = rewrite(
            &argv(&[
                "mariadb",
                "--defaults-file=/etc/mysql/admin_user.cnf",
                "-e",
                "SELECT 1",
            ]),
            sock,
            &files,
        )
        .unwrap();
        assert_eq!(out[1], "--defaults-file=/g/n3/etc-mysql/admin_user.cnf");
    }

    #[test]
    fn result_files_outside_the_pod_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let files = PodFiles::new(d.path().join("p")).unwrap();
        let sock = &RealMember {
            socket: PathBuf::from("/s"),
            admin_cnf: PathBuf::from("/a"),
        };
        for bad in [
            argv(&["mariadb-dump", "--result-file=/etc/cron.d/x", "neutron"]),
            argv(&["mariadb-dump", "-r", "/tmp/x.sql", "neutron"]),
            argv(&["mariadb-dump", "-r", "../../x.sql", "neutron"]),
        ] {
            assert!(rewrite(&bad, sock, &files).is_err(), "{bad:?}");
        }
    }
}
