//! The health gate as a rendered Ignition config carries it (files under `/etc/fleet/health/`, the
//! units and Zincati's drop-in), taken out of the config, and the real tools the harness runs it
//! with: busybox's `sh` (the test guest's shell) and Debian's `shellcheck`.
//!
//! The tools are the ones `cargo xtask test` fetches (xtask `health_tools`): `FLEET_BUSYBOX_BIN` and
//! `FLEET_SHELLCHECK_BIN`, else `<target>/health-tools/`. Without them a test skips loudly on a
//! developer box and fails in CI, as the Ignition twin does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::e2e::{in_ci, say, target_dir};
use crate::ignition_manifest::resource_bytes;

/// Where the gate's files live on the node.
pub const HEALTH_DIRECTORY: &str = "/etc/fleet/health/";

/// What a config writes for the health gate.
#[derive(Debug, Clone, Default)]
pub struct HealthGate {
    /// Files below `/etc/fleet/health/` by path, with their mode and bytes.
    pub files: BTreeMap<String, (u32, Vec<u8>)>,
    /// systemd unit files by name (`fleet-health.service`), and drop-ins as `UNIT.d/NAME`.
    pub units: BTreeMap<String, String>,
}

impl HealthGate {
    /// The bytes of the file at `path`.
    pub fn file(&self, path: &str) -> Result<&[u8]> {
        self.files
            .get(path)
            .map(|(_, bytes)| bytes.as_slice())
            .with_context(|| format!("the config writes no {path}"))
    }
}

/// The health gate of a rendered config (empty when the node has no checks).
pub fn health_gate_of(config: &[u8]) -> Result<HealthGate> {
    let config: Value = serde_json::from_slice(config).context("the config is not JSON")?;
    let mut gate = HealthGate::default();
    for file in config["storage"]["files"].as_array().into_iter().flatten() {
        let path = file["path"].as_str().unwrap_or_default();
        if !path.starts_with(HEALTH_DIRECTORY) {
            continue;
        }
        let source = file["contents"]["source"]
            .as_str()
            .with_context(|| format!("{path} has no contents"))?;
        let bytes = resource_bytes(source, file["contents"]["compression"].as_str())
            .with_context(|| path.to_owned())?;
        let mode = file["mode"].as_u64().unwrap_or(0o644) as u32;
        gate.files.insert(path.to_owned(), (mode, bytes));
    }
    for unit in config["systemd"]["units"].as_array().into_iter().flatten() {
        let name = unit["name"].as_str().unwrap_or_default();
        if !(name.starts_with("fleet-") || name == "zincati.service") {
            continue;
        }
        if let Some(contents) = unit["contents"].as_str() {
            gate.units.insert(name.to_owned(), contents.to_owned());
        }
        for dropin in unit["dropins"].as_array().into_iter().flatten() {
            if let (Some(dropin_name), Some(contents)) =
                (dropin["name"].as_str(), dropin["contents"].as_str())
            {
                gate.units
                    .insert(format!("{name}.d/{dropin_name}"), contents.to_owned());
            }
        }
    }
    Ok(gate)
}

/// A tool the harness runs: from `variable`, else `<target>/health-tools/NAME`; `None` when the
/// test `test_name` is to be skipped (never in CI).
pub fn health_tool(variable: &str, name: &str, test_name: &str) -> Option<PathBuf> {
    let path = match std::env::var_os(variable) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "test `{test_name}`: {variable}={} is not a file",
                path.display()
            );
            path
        }
        None => target_dir().join("health-tools").join(name),
    };
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "needs Debian's {name} at {} (`cargo xtask test` fetches it, or set {variable})",
        path.display()
    );
    if in_ci() {
        panic!("test `{test_name}` cannot be skipped in CI: it {reason}");
    }
    say(&format!("SKIPPED test `{test_name}`: it {reason}"));
    None
}
