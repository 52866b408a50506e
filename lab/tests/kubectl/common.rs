//! Running the real kubectl in the lab's tests (shared by `kubectl.rs` and
//! `kubectl_empty.rs`).

#![allow(dead_code)] // each test crate that includes this uses a subset

use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, Result, bail};

pub fn kubectl_binary() -> PathBuf {
    let fixed = PathBuf::from("/usr/bin/kubectl");
    if fixed.exists() {
        return fixed;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kubectl"))
                .find(|p| p.exists())
        })
        .expect(
            "kubectl is required by this test: install kubectl 1.32 (/usr/bin/kubectl or on PATH)",
        )
}

pub async fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<Output> {
    let out = tokio::process::Command::new(kubectl_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", kubeconfig.parent().expect("dir"))
        .output()
        .await
        .context("running kubectl")?;
    Ok(out)
}

pub async fn ok(kubeconfig: &Path, args: &[&str]) -> Result<String> {
    let out = kubectl(kubeconfig, args).await?;
    if !out.status.success() {
        bail!(
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub fn write(dir: &Path, name: &str, text: &str) -> Result<String> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p.to_string_lossy().into_owned())
}

pub async fn fails(kubeconfig: &Path, args: &[&str]) -> Result<String> {
    let out = kubectl(kubeconfig, args).await?;
    if out.status.success() {
        bail!(
            "kubectl {args:?} succeeded but should not have: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}
