//! What the fleet asks of a node, checked on what Ignition wrote: its hostname, a NetworkManager
//! keyfile of mode 0600 with its address when its group is static (and none otherwise), each user's
//! `authorized_keys` with exactly the fleet's keys, Zincati's settings equal to the plan's, the
//! health gate (docs/health.md) on exactly the nodes the plan calls health-gated, and each
//! container's quadlet where podman reads it (`containers.rs`).
//!
//! The expectations come from `fleet plan --format json` and `fleet nodes --format json` of the
//! fleet file and from what the test itself put in that file (static groups, users and keys), never
//! from a copy of the renderer's logic.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::CheckedManifest;
use super::expected::resolve_in_seed;
use super::manifest::{Entry, Owner};
use super::zincati::{PlannedZincati, effective_settings};
use crate::binary::run_fleet;

/// Where NetworkManager reads keyfiles; it ignores one that others can read.
const KEYFILE_DIRECTORY: &str = "/etc/NetworkManager/system-connections/";
const ZINCATI_FRAGMENTS: &str = "/etc/zincati/config.d/";
const HEALTH_DIRECTORY: &str = "/etc/fleet/health/";
/// What a health-gated node holds, with its mode: scripts run as `/bin/sh SCRIPT`, the check file
/// root's alone, units and drop-in as systemd reads them.
const HEALTH_GATE_FILES: &[(&str, u32)] = &[
    ("/etc/fleet/health/checks.conf", 0o600),
    ("/etc/fleet/health/common.sh", 0o644),
    ("/etc/fleet/health/health-check", 0o755),
    ("/etc/fleet/health/rollback", 0o755),
    ("/etc/systemd/system/fleet-health.service", 0o644),
    ("/etc/systemd/system/fleet-rollback.service", 0o644),
    (
        "/etc/systemd/system/zincati.service.d/50-fleet-health.conf",
        0o644,
    ),
];

/// A user the fleet file gives every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetUser {
    /// Exactly these keys, in this order.
    pub keys: Vec<String>,
    /// Supplementary groups, when the fleet sets them.
    pub groups: Option<Vec<String>>,
}

/// A quadlet the fleet file gives a node, for a container or a declared pod, volume or network: its
/// name, who runs it (`root` or a user's name) and its kind, the file's extension (`container`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetContainer {
    pub name: String,
    pub user: String,
    pub kind: String,
    /// The user ID a rootless container's user must have, when the fleet file fixes it (`uid`):
    /// the one in the quadlet directory's name.
    pub uid: Option<u32>,
}

/// One node's part of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeExpectations {
    pub node: String,
    pub group: String,
    /// The node's containers, whose quadlets and lingering files are checked (`containers.rs`).
    pub containers: Vec<FleetContainer>,
    pub hostname: String,
    /// The node's address when its group's addressing is static (a keyfile carries it).
    pub static_address: Option<String>,
    pub users: BTreeMap<String, FleetUser>,
    pub zincati: PlannedZincati,
    /// Whether `fleet plan` calls the node health-gated.
    pub health_gated: bool,
}

/// Every node's expectations.
#[derive(Debug, Clone, Default)]
pub struct FleetExpectations {
    pub nodes: BTreeMap<String, NodeExpectations>,
}

impl FleetExpectations {
    /// From `fleet plan` and `fleet nodes` of `fleet_toml` (the binary under test), plus what the
    /// test wrote into it: which groups are static and the users every node has.
    pub fn gather(
        fleet_toml: &Path,
        static_groups: &[&str],
        users: &BTreeMap<String, FleetUser>,
    ) -> Result<FleetExpectations> {
        let plan = fleet_json("plan", fleet_toml)?;
        let listing = fleet_json("nodes", fleet_toml)?;
        let addresses: BTreeMap<&str, (&str, Option<&str>)> = listing
            .as_array()
            .context("`fleet nodes --format json` printed no array")?
            .iter()
            .filter_map(|node| {
                Some((
                    node["name"].as_str()?,
                    (node["group"].as_str()?, node["address"].as_str()),
                ))
            })
            .collect();
        let mut nodes = BTreeMap::new();
        for node in plan["nodes"]
            .as_array()
            .context("`fleet plan --format json` has no nodes")?
        {
            let name = node["name"]
                .as_str()
                .context("a planned node without a name")?;
            let &(group, address) = addresses
                .get(name)
                .with_context(|| format!("`fleet nodes` does not list {name}"))?;
            let static_address = if static_groups.contains(&group) {
                Some(
                    address
                        .with_context(|| format!("{name} of static group {group} has no address"))?
                        .to_owned(),
                )
            } else {
                None
            };
            let expectations = NodeExpectations {
                node: name.to_owned(),
                group: group.to_owned(),
                containers: Vec::new(),
                hostname: node["hostname"]
                    .as_str()
                    .with_context(|| format!("the plan gives {name} no hostname"))?
                    .to_owned(),
                static_address,
                users: users.clone(),
                zincati: PlannedZincati::from_plan_node(node)?,
                health_gated: node["health_gated"].as_bool().with_context(|| {
                    format!("the plan does not say whether {name} is health-gated")
                })?,
            };
            nodes.insert(name.to_owned(), expectations);
        }
        ensure!(
            nodes.len() == addresses.len(),
            "`fleet plan` and `fleet nodes` list different nodes"
        );
        Ok(FleetExpectations { nodes })
    }

    /// What the fleet file gives the nodes of `group` beyond every node's: its own users and its
    /// containers.
    pub fn for_group(
        &mut self,
        group: &str,
        users: &BTreeMap<String, FleetUser>,
        containers: &[FleetContainer],
    ) {
        for node in self.nodes.values_mut().filter(|node| node.group == group) {
            node.users.extend(users.clone());
            node.containers.extend_from_slice(containers);
        }
    }

    pub fn node(&self, name: &str) -> Result<&NodeExpectations> {
        self.nodes
            .get(name)
            .with_context(|| format!("the plan has no node {name}"))
    }
}

fn fleet_json(subcommand: &str, fleet_toml: &Path) -> Result<Value> {
    let output = run_fleet([
        subcommand.as_ref(),
        fleet_toml.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])?;
    ensure!(
        output.status.success(),
        "fleet {subcommand} {} failed: {}",
        fleet_toml.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("fleet {subcommand} printed no JSON"))
}

impl NodeExpectations {
    /// Check the fleet's part on a manifest already checked against the node's config (so every
    /// file's bytes are known); returns what was found, one line each, for the report.
    pub fn check(&self, checked: &CheckedManifest) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut problems = Vec::new();
        let mut record = |result: Result<String>| match result {
            Ok(line) => found.push(line),
            Err(error) => problems.push(format!("{error:#}")),
        };
        record(self.check_hostname(checked));
        record(self.check_keyfiles(checked));
        record(self.check_users(checked));
        record(self.check_zincati(checked));
        record(self.check_health_gate(checked));
        record(self.check_containers(checked));
        if problems.is_empty() {
            Ok(found)
        } else {
            bail!(
                "{} does not hold what the fleet asks of it:\n  {}",
                self.node,
                problems.join("\n  ")
            )
        }
    }

    fn check_hostname(&self, checked: &CheckedManifest) -> Result<String> {
        let path = "/etc/hostname";
        let contents = checked.file(path, 0o644, Owner::ROOT)?;
        let hostname = String::from_utf8_lossy(contents);
        ensure!(
            hostname.trim_end_matches('\n') == self.hostname,
            "{path} holds {hostname:?}, the plan's hostname is {:?}",
            self.hostname
        );
        Ok(format!("hostname {}", self.hostname))
    }

    fn check_keyfiles(&self, checked: &CheckedManifest) -> Result<String> {
        let keyfiles: Vec<&String> = checked
            .manifest
            .wrote
            .keys()
            .filter(|path| path.starts_with(KEYFILE_DIRECTORY) && path.ends_with(".nmconnection"))
            .collect();
        for path in &keyfiles {
            checked.file(path, 0o600, Owner::ROOT)?;
        }
        match &self.static_address {
            None => {
                ensure!(
                    keyfiles.is_empty(),
                    "{keyfiles:?} written, but the node's group is not static"
                );
                Ok("no keyfile (not static)".to_owned())
            }
            Some(address) => {
                let [keyfile] = keyfiles.as_slice() else {
                    bail!(
                        "a static node needs one keyfile in {KEYFILE_DIRECTORY}, found {keyfiles:?}"
                    );
                };
                let contents =
                    String::from_utf8_lossy(checked.contents(keyfile).unwrap_or_default());
                let prefix = format!("addresses={address}/");
                ensure!(
                    contents.lines().any(|line| line.starts_with(&prefix)),
                    "{keyfile} has no `{prefix}...` line:\n{contents}"
                );
                Ok(format!("keyfile {keyfile} 0600 with {address}"))
            }
        }
    }

    fn check_users(&self, checked: &CheckedManifest) -> Result<String> {
        let manifest = &checked.manifest;
        let mut summaries = Vec::new();
        for (name, wanted) in &self.users {
            let user = manifest
                .accounts
                .users
                .get(name)
                .with_context(|| format!("user {name} is missing"))?;
            let home = resolve_in_seed(&manifest.seed, &user.home);
            let path = format!("{home}/.ssh/authorized_keys.d/ignition");
            let owner = Owner {
                uid: user.uid,
                gid: user.gid,
            };
            if wanted.keys.is_empty() {
                ensure!(
                    !manifest.wrote.contains_key(&path),
                    "{path} was written, but the fleet gives {name} no key"
                );
                summaries.push(format!("{name} without keys"));
                continue;
            }
            let contents = String::from_utf8_lossy(checked.file(&path, 0o600, owner)?);
            let keys: Vec<&str> = contents.lines().collect();
            ensure!(
                keys == wanted.keys,
                "{path} holds the keys {keys:?}, the fleet's are {:?}",
                wanted.keys
            );
            if let Some(groups) = &wanted.groups {
                let mut sorted = groups.clone();
                sorted.sort();
                ensure!(
                    user.groups == sorted,
                    "user {name} is in {:?}, the fleet says {sorted:?}",
                    user.groups
                );
            }
            let plural = if keys.len() == 1 { "" } else { "s" };
            summaries.push(format!("{name} with {} key{plural}", keys.len()));
        }
        // Nobody else was created or changed.
        for (name, user) in &manifest.accounts.users {
            let seeded = manifest.seed.accounts.users.get(name);
            ensure!(
                self.users.contains_key(name) || seeded == Some(user),
                "user {name} was created or changed, but the fleet has no such user"
            );
        }
        Ok(format!("users {}", summaries.join(", ")))
    }

    fn check_zincati(&self, checked: &CheckedManifest) -> Result<String> {
        let fragments: Vec<(String, Vec<u8>)> = checked
            .manifest
            .wrote
            .iter()
            .filter(|(path, entry)| {
                path.starts_with(ZINCATI_FRAGMENTS) && matches!(entry, Entry::File { .. })
            })
            .filter_map(|(path, _)| {
                let name = path.strip_prefix(ZINCATI_FRAGMENTS)?.to_owned();
                Some((name, checked.contents(path)?.to_vec()))
            })
            .collect();
        let effective = effective_settings(&fragments)?;
        let problems = self.zincati.differences(&effective);
        ensure!(problems.is_empty(), "{}", problems.join("; "));
        Ok(format!(
            "zincati {} from {}",
            self.zincati,
            fragments
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    fn check_health_gate(&self, checked: &CheckedManifest) -> Result<String> {
        if !self.health_gated {
            let files: Vec<&String> = checked
                .manifest
                .wrote
                .iter()
                .filter(|(path, entry)| {
                    matches!(entry, Entry::File { .. })
                        && (path.starts_with(HEALTH_DIRECTORY)
                            || HEALTH_GATE_FILES.iter().any(|(gate, _)| gate == path))
                })
                .map(|(path, _)| path)
                .collect();
            ensure!(
                files.is_empty(),
                "{files:?} written, but the plan says the node is not health-gated"
            );
            return Ok("no health gate".to_owned());
        }
        for (path, mode) in HEALTH_GATE_FILES {
            checked.file(path, *mode, Owner::ROOT)?;
        }
        ensure!(
            checked
                .expected
                .presets
                .iter()
                .any(|line| line == "enable fleet-health.service"),
            "fleet-health.service is not enabled: presets {:?}",
            checked.expected.presets
        );
        Ok(format!(
            "health gate: {} files, fleet-health.service enabled",
            HEALTH_GATE_FILES.len()
        ))
    }
}
