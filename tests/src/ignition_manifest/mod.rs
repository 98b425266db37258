//! The one checker of what the real Ignition wrote, shared by the end-to-end guests and the host-side
//! twin (`tests/tests/ignition_apply.rs`): both run `tests/data/ignition/apply-and-list.sh`, whose
//! manifest this parses (`manifest`), compares with what the node's rendered config asks for
//! (`expected`, `compare`) and with what the fleet asks of the node (`fleet`, `zincati`).
//!
//! Later work extends it by adding expectations, not checkers: what a new kind of config entry makes
//! Ignition write goes into `expected.rs` (it refuses entries it does not know), what the fleet asks
//! of every node into `fleet.rs`.

mod compare;
mod containers;
mod contents;
pub mod expected;
pub mod fleet;
pub mod manifest;
pub mod zincati;

use std::fmt;

use anyhow::{Context, Result, bail};

pub use compare::describe;
pub use contents::resource_bytes;
pub use expected::{Expected, ExpectedWhat, expected_writes};
pub use fleet::{FleetContainer, FleetExpectations, FleetUser, NodeExpectations};
pub use manifest::{BEGIN_MARKER, END_MARKER, Entry, Manifest, Owner, find_manifest};

/// A manifest that matched its config exactly.
#[derive(Debug, Clone)]
pub struct CheckedManifest {
    pub manifest: Manifest,
    pub expected: Expected,
}

impl CheckedManifest {
    /// The bytes of a file Ignition wrote, as the config gave them (its sha256 matched the manifest's).
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        match &self.expected.entries.get(path)?.what {
            ExpectedWhat::File {
                contents: Some(contents),
                ..
            } => Some(contents),
            _ => None,
        }
    }

    /// The file at `path`, which must have been written with this mode and owner: its bytes.
    pub fn file(&self, path: &str, mode: u32, owner: Owner) -> Result<&[u8]> {
        match self.manifest.wrote.get(path) {
            Some(Entry::File {
                mode: found_mode,
                owner: found_owner,
                ..
            }) if *found_mode == mode && *found_owner == owner => {}
            Some(found) => bail!(
                "{path} is {}, the fleet needs a file {mode:04o} {owner}",
                describe(found)
            ),
            None => bail!("{path} was not written"),
        }
        self.contents(path)
            .with_context(|| format!("{path}: its bytes are not known"))
    }
}

/// Ignition succeeded and wrote exactly what `config` asks for, nothing else.
pub fn check_manifest(manifest: Manifest, config: &[u8]) -> Result<CheckedManifest> {
    manifest.ignition_succeeded()?;
    let expected = expected_writes(config, &manifest)?;
    let problems = compare::differences(&manifest, &expected);
    if !problems.is_empty() {
        bail!(
            "what Ignition wrote differs from what the config asks for:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(CheckedManifest { manifest, expected })
}

/// The whole check of one node: the manifest in `output` (a console log or the script's output)
/// against its rendered `config` and, when given, what the fleet asks of it.
pub fn check_node(
    output: &str,
    config: &[u8],
    fleet: Option<&NodeExpectations>,
) -> Result<NodeReport> {
    let manifest = find_manifest(output)
        .with_context(|| format!("no manifest between {BEGIN_MARKER} and {END_MARKER}"))??;
    let checked = check_manifest(manifest, config)?;
    let fleet_findings = match fleet {
        Some(node) => node.check(&checked)?,
        None => Vec::new(),
    };
    Ok(NodeReport {
        checked,
        fleet_findings,
    })
}

/// What a passing check saw, for the test's output.
#[derive(Debug, Clone)]
pub struct NodeReport {
    pub checked: CheckedManifest,
    pub fleet_findings: Vec<String>,
}

impl fmt::Display for NodeReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let manifest = &self.checked.manifest;
        let expected = &self.checked.expected;
        writeln!(
            formatter,
            "Ignition succeeded (stages {}); it wrote exactly what the config asks for:",
            manifest
                .stages
                .iter()
                .map(|stage| stage.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        let mut account_databases = Vec::new();
        for (path, entry) in &manifest.wrote {
            match expected.entries.get(path) {
                Some(wanted) => writeln!(
                    formatter,
                    "  {path}: {} ({})",
                    describe(entry),
                    wanted.because
                )?,
                None => account_databases.push(path.as_str()),
            }
        }
        if !account_databases.is_empty() {
            writeln!(
                formatter,
                "  rewritten by the shadow tools: {}",
                account_databases.join(" ")
            )?;
        }
        for (name, user) in &manifest.accounts.users {
            if manifest.seed.accounts.users.get(name) != Some(user) {
                writeln!(
                    formatter,
                    "  user {name}: uid {} gid {} home {} groups [{}] password {}",
                    user.uid,
                    user.gid,
                    user.home,
                    user.groups.join(","),
                    if user.password.starts_with("sha256:") {
                        "set"
                    } else {
                        "locked"
                    }
                )?;
            }
        }
        for (name, group) in &manifest.accounts.groups {
            if !manifest.seed.accounts.groups.contains_key(name) {
                writeln!(formatter, "  group {name}: gid {}", group.gid)?;
            }
        }
        for (file, line) in &manifest.presets {
            writeln!(formatter, "  preset {line} ({file})")?;
        }
        if !expected.not_applied.is_empty() {
            writeln!(
                formatter,
                "  not applied by these stages: {}",
                expected.not_applied.join(", ")
            )?;
        }
        for finding in &self.fleet_findings {
            writeln!(formatter, "  fleet: {finding}")?;
        }
        Ok(())
    }
}
