//! What fleet writes wins over what a snippet writes, and says so: a snippet's file, directory or
//! link at a path fleet writes is removed before the two are merged, a unit's contents or drop-in
//! fleet writes replace a snippet's of the same name (Ignition's merge, child over parent), and a
//! snippet writing into a directory fleet speaks for (Zincati's fragments) is warned about.

use std::collections::{BTreeMap, BTreeSet};

use fleet_spec::SnippetRef;

use super::RenderWarning;
use super::payload::{ClaimedDirectory, NodePayload};
use crate::ignition::{Config, Unit};

/// What fleet lays over a node's snippets, as far as precedence is concerned.
pub(super) struct Precedence<'a> {
    paths: BTreeSet<&'a str>,
    units: BTreeMap<&'a str, &'a Unit>,
    claimed: Vec<&'a ClaimedDirectory>,
}

impl<'a> Precedence<'a> {
    /// `laid_over` is the placed config of `payloads`.
    pub(super) fn new(
        laid_over: &'a Config,
        payloads: impl Iterator<Item = &'a NodePayload>,
    ) -> Precedence<'a> {
        Precedence {
            paths: storage_paths(laid_over).collect(),
            units: laid_over
                .systemd
                .units
                .iter()
                .map(|unit| (unit.name.as_str(), unit))
                .collect(),
            claimed: payloads
                .flat_map(|payload| &payload.claimed_directories)
                .collect(),
        }
    }

    /// The warnings about what `snippet` (translated) loses to fleet on `node`.
    pub(super) fn warn(
        &self,
        node: &str,
        snippet_ref: &SnippetRef,
        translated: &Config,
        warnings: &mut Vec<RenderWarning>,
    ) {
        let snippet = snippet_ref.path.display();
        let mut warn = |message: String| {
            warnings.push(RenderWarning {
                // Where the fleet file adds the snippet: the line to change to settle it.
                at: Some(snippet_ref.declared_at),
                node: Some(node.to_owned()),
                message,
            });
        };
        for path in storage_paths(translated).filter(|path| self.paths.contains(path)) {
            warn(replaced(path, &snippet));
        }
        for unit in &translated.systemd.units {
            let Some(ours) = self.units.get(unit.name.as_str()) else {
                continue;
            };
            if unit.contents.is_some() && ours.contents.is_some() {
                warn(replaced(&format!("unit {}", unit.name), &snippet));
            }
            for dropin in &unit.dropins {
                if ours.dropins.iter().any(|own| own.name == dropin.name) {
                    warn(replaced(
                        &format!("drop-in {} of unit {}", dropin.name, unit.name),
                        &snippet,
                    ));
                }
            }
        }
        for file in &translated.storage.files {
            let path = file.node.path.as_str();
            if self.paths.contains(path) {
                continue;
            }
            for claim in self
                .claimed
                .iter()
                .filter(|claim| path.starts_with(claim.path.as_str()))
            {
                warn(format!(
                    "{snippet} writes {} {path}, {}",
                    claim.what, claim.why
                ));
            }
        }
    }

    /// Remove the snippets' files, directories and links at paths fleet writes.
    pub(super) fn remove_replaced(&self, merged: &mut Config) {
        let storage = &mut merged.storage;
        storage
            .files
            .retain(|file| !self.paths.contains(file.node.path.as_str()));
        storage
            .directories
            .retain(|directory| !self.paths.contains(directory.node.path.as_str()));
        storage
            .links
            .retain(|link| !self.paths.contains(link.node.path.as_str()));
    }
}

fn replaced(what: &str, snippet: &impl std::fmt::Display) -> String {
    format!("{what} from {snippet} is replaced by what fleet.toml generates for this node")
}

/// The paths of every file, directory and link of a config (one key space in Ignition).
fn storage_paths(config: &Config) -> impl Iterator<Item = &str> {
    let storage = &config.storage;
    storage
        .files
        .iter()
        .map(|file| file.node.path.as_str())
        .chain(
            storage
                .directories
                .iter()
                .map(|directory| directory.node.path.as_str()),
        )
        .chain(storage.links.iter().map(|link| link.node.path.as_str()))
}
