//! What must be unique across the whole fleet, checked once every group has expanded: node names,
//! hostnames, addresses and written MACs.

use std::net::Ipv4Addr;

use rustc_hash::FxHashMap;

use crate::diagnostics::shown;
use crate::expand::mac_key;
use crate::model::Node;
use crate::read::Span;

use super::checker::Checker;
use super::naming::Naming;
use super::nodes::NodeOrigin;

/// How many duplicates of one kind are listed before the rest are summed up in one line.
const DUPLICATES_LISTED: usize = 10;

/// Node names, hostnames, addresses and written MACs must each be unique across the fleet.
///
/// This runs once per node of fleets with 100,000 nodes, so it avoids work it can prove unneeded: names
/// are keyed by the node's UUID (a hash of the name, already computed), and a hostname that is just the
/// node's lowercase name plus the fleet's domain is unique exactly when the name is, so only the other
/// hostnames are compared, with each other and with the names.
pub(super) fn check(
    checker: &mut Checker<'_, '_>,
    naming: &mut Naming,
    nodes: &[Node],
    origins: &[NodeOrigin],
) {
    use std::collections::hash_map::Entry;

    let mut reporter = DuplicateReporter::default();
    // A fast hash matters here, resistance to crafted keys does not.
    let mut names: FxHashMap<u128, usize> =
        FxHashMap::with_capacity_and_hasher(nodes.len(), Default::default());
    let mut other_hostnames: Vec<usize> = Vec::new();
    let mut addresses: FxHashMap<Ipv4Addr, usize> = FxHashMap::default();
    let mut macs: FxHashMap<u64, usize> = FxHashMap::default();
    for (position, node) in nodes.iter().enumerate() {
        if node.name.is_empty() {
            continue;
        }
        match names.entry(node.uuid.as_u128()) {
            // Equal UUIDs mean equal names (the UUID is a hash of the name); the comparison only
            // guards against a SHA-1 collision.
            Entry::Occupied(first) if nodes[*first.get()].name == node.name => {
                let first = *first.get();
                let line = checker.location(origins[first].name).line;
                reporter.report(
                    checker,
                    "node names",
                    origins[position].name,
                    format!(
                        "duplicate node name `{}`: the first is on line {line}",
                        shown(&node.name)
                    ),
                );
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(vacant) => {
                vacant.insert(position);
            }
        }
        if origins[position].hostname_written
            || node.name.bytes().any(|byte| byte.is_ascii_uppercase())
        {
            other_hostnames.push(position);
        }
        if let Some(address) = node.address {
            match addresses.entry(address) {
                Entry::Occupied(first) => {
                    let first = *first.get();
                    let line = checker.location(origins[first].address).line;
                    reporter.report(
                        checker,
                        "addresses",
                        origins[position].address,
                        format!(
                            "duplicate address {address}: nodes `{}` and `{}` both get it (the first on line {line})",
                            shown(&nodes[first].name), shown(&node.name)
                        ),
                    );
                }
                Entry::Vacant(vacant) => {
                    vacant.insert(position);
                }
            }
        }
        if let Some(mac_span) = origins[position].mac {
            match macs.entry(mac_key(node.mac)) {
                Entry::Occupied(first) => {
                    let first = *first.get();
                    let line = origins[first]
                        .mac
                        .map(|span| checker.location(span).line)
                        .unwrap_or(0);
                    reporter.report(
                        checker,
                        "MAC addresses",
                        mac_span,
                        format!(
                            "duplicate MAC address {}: nodes `{}` and `{}` both use it (the first on line {line})",
                            node.mac, shown(&nodes[first].name), shown(&node.name)
                        ),
                    );
                }
                Entry::Vacant(vacant) => {
                    vacant.insert(position);
                }
            }
        }
    }

    // Hostnames that are not simply NAME.DOMAIN: compare them with each other, and with the plain
    // hostname of the node whose name they would be.
    let mut clashes: Vec<(usize, usize)> = Vec::new();
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    for &position in &other_hostnames {
        let key = nodes[position].hostname.to_ascii_lowercase();
        let plain_name = match &naming.domain {
            Some(domain) => key
                .strip_suffix(domain.as_str())
                .and_then(|rest| rest.strip_suffix('.')),
            None => Some(key.as_str()),
        };
        if let Some(plain_name) = plain_name {
            let uuid = naming.uuid_of(plain_name);
            if let Some(&other) = names.get(&uuid.as_u128())
                && other != position
                && nodes[other].name == plain_name
                && !origins[other].hostname_written
            {
                clashes.push((other.min(position), other.max(position)));
            }
        }
        match seen.entry(key) {
            Entry::Occupied(first) => clashes.push((*first.get(), position)),
            Entry::Vacant(vacant) => {
                vacant.insert(position);
            }
        }
    }
    // Each later node is reported once, against the first node with its hostname.
    clashes.sort_unstable_by_key(|&(first, position)| (position, first));
    clashes.dedup_by_key(|&mut (_, position)| position);
    clashes.sort_unstable();
    for (first, position) in clashes {
        // Two nodes of the same name already got an error.
        if nodes[first].name == nodes[position].name {
            continue;
        }
        let line = checker.location(origins[first].hostname).line;
        reporter.report(
            checker,
            "hostnames",
            origins[position].hostname,
            format!(
                "duplicate hostname `{}` (nodes `{}` and `{}`): the first is on line {line}",
                shown(&nodes[position].hostname),
                shown(&nodes[first].name),
                shown(&nodes[position].name)
            ),
        );
    }
    reporter.summarize(checker);
}

/// Lists the first few duplicates of each kind, then one line with how many more there are.
#[derive(Default)]
struct DuplicateReporter {
    counts: Vec<(&'static str, usize, Span)>,
}

impl DuplicateReporter {
    fn report(
        &mut self,
        checker: &mut Checker<'_, '_>,
        kind: &'static str,
        span: Span,
        message: String,
    ) {
        let entry = match self.counts.iter_mut().find(|(known, _, _)| *known == kind) {
            Some(entry) => entry,
            None => {
                self.counts.push((kind, 0, span));
                self.counts.last_mut().expect("just pushed")
            }
        };
        entry.1 += 1;
        if entry.1 <= DUPLICATES_LISTED {
            checker.error(span, message);
        } else if entry.1 == DUPLICATES_LISTED + 1 {
            entry.2 = span;
        }
    }

    fn summarize(self, checker: &mut Checker<'_, '_>) {
        for (kind, count, span) in self.counts {
            if count > DUPLICATES_LISTED {
                checker.error(
                    span,
                    format!(
                        "{} more duplicate {kind} from here on are not listed",
                        count - DUPLICATES_LISTED
                    ),
                );
            }
        }
    }
}
