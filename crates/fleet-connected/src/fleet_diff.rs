//! The diff `fleet diff` reports and `fleet deploy --plan` applies: deploy's own dry-run decision
//! per node, the fleet's domains the file no longer lists, and a digest of what was compared.
//!
//! There is no second comparison here: every node's action is the one `Session::deploy` decides
//! in a dry run (`fleet deploy --dry-run` shows the same). This module only names the actions as
//! a reviewer reads them and makes the result something a later run can check it still holds.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;
use fleet_libvirt::{Action, BackingImage, DeployOutcome, DeployReport, DesiredFleet, Field};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use fleet_cli::cmd::shared_args::TargetArgs;

use crate::views::is_host_failure;

/// The arguments a diff was made with: `fleet deploy --plan` runs with exactly these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DiffTarget {
    pub(crate) connect: Vec<String>,
    pub(crate) image: Option<String>,
    pub(crate) nodes: Vec<String>,
    /// The diff is of `fleet deploy --replace`: changed nodes are rebuilt.
    pub(crate) replace: bool,
    /// The diff is of `fleet deploy --prune`: the domains it lists as `remove` are removed.
    #[serde(default)]
    pub(crate) prune: bool,
}

impl DiffTarget {
    pub(crate) fn new(target: &TargetArgs, replace: bool, prune: bool) -> DiffTarget {
        DiffTarget {
            connect: target.connect.clone(),
            image: target
                .image
                .as_ref()
                .map(|image| image.display().to_string()),
            nodes: target.nodes.clone(),
            replace,
            prune,
        }
    }

    pub(crate) fn target_args(&self) -> TargetArgs {
        TargetArgs {
            connect: self.connect.clone(),
            image: self.image.as_ref().map(Into::into),
            nodes: self.nodes.clone(),
        }
    }
}

/// One way a node differs: `what` as the reviewer reads it, `from` what runs, `to` what the fleet
/// file wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DiffEntry {
    pub(crate) what: String,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// One node (or a domain of the fleet the file no longer lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeDiff {
    pub(crate) node: String,
    pub(crate) host: String,
    /// create, unchanged, change, remove; conflict or unknown when the node cannot be deployed
    /// (see `error`).
    pub(crate) action: String,
    pub(crate) differences: Vec<DiffEntry>,
    /// Fixes deploy makes in place (autostart, the Ignition volume, a reservation, …).
    pub(crate) repairs: Vec<String>,
    /// The change takes effect only by rebuilding the node (`--replace`).
    pub(crate) needs_replace: bool,
    pub(crate) error: Option<String>,
}

/// What `fleet deploy` would do, as `fleet diff` prints it and `--out` saves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FleetDiff {
    /// The fleet file, as given on the command line.
    pub(crate) fleet: String,
    /// sha256 of the fleet file's bytes, every selected node's rendered Ignition and the base
    /// image's path, size and modification time: anything that could change what deploy does.
    pub(crate) fleet_digest: String,
    /// Nodes whose action is not `unchanged` (removals included).
    pub(crate) changes: usize,
    /// Nodes that cannot be deployed (unreadable host, conflict).
    pub(crate) errors: usize,
    pub(crate) target: DiffTarget,
    /// Sorted by node name.
    pub(crate) nodes: Vec<NodeDiff>,
}

impl FleetDiff {
    /// The diff of a dry-run `report` of `desired`; `fleet_nodes` are every node the fleet file
    /// lists (selected or not): only the fleet's other domains are removals.
    pub(crate) fn new(
        fleet_file: &Path,
        target: DiffTarget,
        desired: &DesiredFleet,
        report: &DeployReport,
        fleet_nodes: &BTreeSet<&str>,
    ) -> anyhow::Result<FleetDiff> {
        let mut nodes: Vec<NodeDiff> = report.nodes.iter().map(node_diff).collect();
        nodes.extend(
            report
                .strays
                .iter()
                .filter(|stray| !fleet_nodes.contains(stray.domain.as_str()))
                .map(|stray| NodeDiff {
                    node: stray.domain.clone(),
                    host: stray.host.clone(),
                    action: "remove".to_owned(),
                    differences: Vec::new(),
                    repairs: Vec::new(),
                    needs_replace: false,
                    error: None,
                }),
        );
        nodes.sort_by(|left, right| (&left.node, &left.host).cmp(&(&right.node, &right.host)));
        Ok(FleetDiff {
            fleet: fleet_file.display().to_string(),
            fleet_digest: fleet_digest(fleet_file, desired)?,
            changes: nodes
                .iter()
                .filter(|node| node.error.is_none() && node.action != "unchanged")
                .count(),
            errors: nodes.iter().filter(|node| node.error.is_some()).count(),
            target,
            nodes,
        })
    }

    /// Why `now` (the same diff made again) is not what was reviewed, one line per node that
    /// differs; empty when it is the same.
    pub(crate) fn changed_since(&self, now: &FleetDiff) -> Vec<String> {
        let mut lines = Vec::new();
        let key = |node: &NodeDiff| (node.node.clone(), node.host.clone());
        let before: std::collections::BTreeMap<_, _> =
            self.nodes.iter().map(|node| (key(node), node)).collect();
        let after: std::collections::BTreeMap<_, _> =
            now.nodes.iter().map(|node| (key(node), node)).collect();
        for (key, node) in &before {
            match after.get(key) {
                None => lines.push(format!(
                    "{} on {}: was {}, is no longer in the diff",
                    key.0, key.1, node.action
                )),
                Some(current) if current != node => lines.push(format!(
                    "{} on {}: was {}, now {}",
                    key.0,
                    key.1,
                    summary(node),
                    summary(current)
                )),
                Some(_) => {}
            }
        }
        for (key, node) in &after {
            if !before.contains_key(key) {
                lines.push(format!(
                    "{} on {}: new in the diff ({})",
                    key.0,
                    key.1,
                    summary(node)
                ));
            }
        }
        lines
    }
}

impl NodeDiff {
    /// What differs, what is repaired and what failed, one phrase each (`vcpus: 2 → 4`).
    pub(crate) fn details(&self) -> Vec<String> {
        let mut details: Vec<String> = self
            .differences
            .iter()
            .map(|entry| format!("{}: {} → {}", entry.what, entry.from, entry.to))
            .collect();
        details.extend(self.repairs.iter().map(|repair| format!("repair {repair}")));
        details.extend(self.error.iter().cloned());
        details
    }
}

/// A node's entry in one phrase: its action and what differs.
fn summary(node: &NodeDiff) -> String {
    let details = node.details();
    if details.is_empty() {
        node.action.clone()
    } else {
        format!("{} ({})", node.action, details.join(", "))
    }
}

fn node_diff(report: &fleet_libvirt::NodeReport) -> NodeDiff {
    let mut diff = NodeDiff {
        node: report.node.clone(),
        host: report.host.clone(),
        action: "unknown".to_owned(),
        differences: Vec::new(),
        repairs: Vec::new(),
        needs_replace: false,
        error: None,
    };
    if let DeployOutcome::Failed { error, .. } = &report.outcome {
        diff.error = Some(if is_host_failure(error) {
            format!("host {} cannot be read: {error}", report.host)
        } else {
            error.to_string()
        });
    }
    let Some(action) = &report.action else {
        return diff;
    };
    diff.action = match action {
        Action::Create => "create",
        Action::Unchanged => "unchanged",
        Action::Repair(_) | Action::Changed(_) | Action::Replace(_) => "change",
        Action::Conflict => "conflict",
    }
    .to_owned();
    match action {
        Action::Repair(repairs) => {
            diff.repairs = repairs
                .iter()
                .map(|repair| repair.as_str().to_owned())
                .collect();
        }
        Action::Changed(differences) | Action::Replace(differences) => {
            // Deploy changes nothing of a running node in place: every difference it sees takes a
            // new node (Ignition runs only on first boot; sizes, image and host are its disk and
            // definition).
            diff.needs_replace = true;
            diff.differences = differences
                .iter()
                .map(|difference| DiffEntry {
                    what: what(difference.field).to_owned(),
                    from: difference.observed.clone(),
                    to: difference.desired.clone(),
                })
                .collect();
        }
        Action::Create | Action::Unchanged | Action::Conflict => {}
    }
    diff
}

/// A difference's name as the diff shows it.
fn what(field: Field) -> &'static str {
    match field {
        Field::MemoryMib => "memory",
        Field::DiskGib => "disk",
        Field::Disk => "disk_path",
        other => other.as_str(),
    }
}

/// sha256 of everything a deploy of `desired` depends on besides what runs: the fleet file's bytes,
/// each node's name, host and rendered Ignition, and the base image (a file by its path, size and
/// modification time, which any rewrite changes; a volume by name).
fn fleet_digest(fleet_file: &Path, desired: &DesiredFleet) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let mut part = |name: &str, bytes: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    let fleet_bytes = std::fs::read(fleet_file)
        .with_context(|| format!("cannot read {}", fleet_file.display()))?;
    part("fleet-diff-digest 1", b"");
    part("fleet file", &fleet_bytes);
    for node in &desired.nodes {
        part("node", node.name.as_bytes());
        part("host", node.host.as_bytes());
        part("ignition", &node.ignition);
    }
    match &desired.target.image {
        BackingImage::File(path) => {
            part("image file", path.as_os_str().as_encoded_bytes());
            let metadata = std::fs::metadata(path)
                .with_context(|| format!("cannot read the image {}", path.display()))?;
            part("image size", &metadata.len().to_le_bytes());
            let modified = metadata
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |since| since.as_nanos());
            part("image modified", &modified.to_le_bytes());
        }
        BackingImage::Volume(volume) => part("image volume", volume.as_bytes()),
    }
    let digest = hasher.finalize();
    Ok(format!(
        "sha256:{}",
        digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    ))
}
