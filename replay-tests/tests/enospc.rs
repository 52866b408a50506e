//! A full disk: the run's error keeps its cause. The state directory is a
//! small tmpfs (this test mounts one, so it needs root, as `scripts/test.sh`
//! does), which the journal fills during the run; the error the operator sees
//! must say "No space left on device", not only which database failed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use replay_tests::{FAST, Rig, code, describe, output_within, small};

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            // 0700: a state directory must be private (it is never chmodded).
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs and needs root (run it as scripts/test.sh does): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_shows_its_os_error() {
    for json in [false, true] {
        let rig = Rig::start(small());
        // Enough to create the journal and start; a whole run needs about 1 MiB.
        let _fs = Tmpfs::mount(&rig.state, "256k");
        let mut args = vec!["kuryr", "run", "--yes", "--no-progress"];
        args.extend_from_slice(FAST);
        if json {
            args.extend_from_slice(&["--output", "json"]);
        }
        let out = output_within(
            rig.tool(Path::new(BIN), &args),
            "a run on a full disk",
            Duration::from_secs(180),
        );
        assert_eq!(code(&out), 1, "{}", describe(&out));
        // The error itself, not a log line beside it, names the cause.
        let message = if json {
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            doc["error"]["message"].as_str().unwrap().to_string()
        } else {
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            err.lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_else(|| panic!("no error line: {}", describe(&out)))
                .to_string()
        };
        assert!(
            message.contains("append to the journal")
                && message.contains("No space left on device"),
            "the cause is shown: {message}\n{}",
            describe(&out)
        );
    }
}
