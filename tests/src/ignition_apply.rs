//! The host-side twin of the end-to-end guest: the same Ignition binary and the same script
//! (`tests/data/ignition/apply-and-list.sh`) apply a config into a scratch root, with `-platform file`
//! instead of the guest's `-platform qemu`, and print the same manifest.
//!
//! The binary is the one `cargo xtask` fetches for the guest: `FLEET_IGNITION_BIN` (set by
//! `cargo xtask test`), else `<target>/ignition/ignition`. Without it, or without root (Ignition's
//! files stage runs useradd and chown), a test skips with a message on a developer box and fails in
//! CI, like the end-to-end gate.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::e2e::{in_ci, say, target_dir};

/// The script both the guest and the twin run.
pub const APPLY_SCRIPT: &str = include_str!("../data/ignition/apply-and-list.sh");

/// The Ignition binary the twin runs.
#[derive(Debug, Clone)]
pub struct HostIgnition {
    pub binary: PathBuf,
}

/// Ignition for the test `test_name`, or `None` when it is to be skipped (never in CI).
pub fn host_ignition(test_name: &str) -> Option<HostIgnition> {
    let binary = match std::env::var_os("FLEET_IGNITION_BIN") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "test `{test_name}`: FLEET_IGNITION_BIN={} is not a file",
                path.display()
            );
            path
        }
        None => target_dir().join("ignition").join("ignition"),
    };
    let missing = if !binary.is_file() {
        Some(format!(
            "needs the real Ignition at {} (`cargo xtask guest` fetches it; `cargo xtask test` does \
             before it runs the tests)",
            binary.display()
        ))
    } else if !running_as_root() {
        Some("needs root: Ignition's files stage runs useradd and chown".to_owned())
    } else {
        None
    };
    match missing {
        None => Some(HostIgnition { binary }),
        Some(reason) if in_ci() => {
            panic!("test `{test_name}` cannot be skipped in CI: it {reason}")
        }
        Some(reason) => {
            say(&format!("SKIPPED test `{test_name}`: it {reason}"));
            None
        }
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|process| process.uid() == 0)
}

/// Apply `config` into `scratch/root` (state in `scratch/run`); `scratch` must not exist yet and every
/// directory above it must be searchable by anyone (Ignition writes the new users' keys as them).
/// Returns what the script printed: Ignition's log, then the manifest.
pub fn apply_on_host(ignition: &HostIgnition, config: &Path, scratch: &Path) -> Result<String> {
    let root = scratch.join("root");
    let run = scratch.join("run");
    for directory in [scratch, &root, &run] {
        std::fs::create_dir(directory)
            .with_context(|| format!("cannot create {}", directory.display()))?;
        std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o755))?;
    }
    let config = std::path::absolute(config)?;
    let output = Command::new("sh")
        .arg("-c")
        .arg(APPLY_SCRIPT)
        .arg("apply-and-list.sh")
        .args(["file".as_ref(), root.as_os_str(), run.as_os_str()])
        .env("IGNITION", &ignition.binary)
        .env("IGNITION_CONFIG_FILE", &config)
        .output()
        .context("cannot run sh")?;
    let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        !printed.is_empty() || stderr.is_empty(),
        "the script printed nothing ({}); stderr:\n{stderr}",
        output.status
    );
    if !stderr.is_empty() {
        printed.push_str("\nstderr:\n");
        printed.push_str(&stderr);
    }
    Ok(printed)
}
