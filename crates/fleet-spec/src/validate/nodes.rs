//! How a group becomes nodes: `count` nodes named by the `hostname` pattern (with `[[group.node]]` entries
//! changing some of them), or the `[[group.node]]` entries themselves; each node's name, hostname,
//! address, MAC, pins and settings, checked where they are written.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::diagnostics::shown;
use crate::expand::HostnamePattern;
use crate::model::{Addressing, Host, MacAddress, Node, NodeSettings, Role};
use crate::names::{check_hostname, check_node_name};
use crate::raw::{RawGroup, RawNode};
use crate::read::Span;
use crate::values::{MAX_FLEET_NODES, RoleName};

use super::checker::Checker;
use super::naming::Naming;
use super::network::{check_address, static_network};
use super::settings;

/// Where a node came from, for errors found after expansion (duplicates).
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeOrigin {
    pub(super) name: Span,
    pub(super) hostname: Span,
    pub(super) address: Span,
    /// Set when the MAC was written by the user.
    pub(super) mac: Option<Span>,
    /// The hostname was written by the user (not derived from the name).
    pub(super) hostname_written: bool,
}

/// What `expand` needs to know about the group being expanded.
pub(super) struct GroupExpansion<'a> {
    pub(super) group_index: usize,
    pub(super) group_name: &'a str,
    /// The group's name is valid: names made from `{group}` can be judged.
    pub(super) name_usable: bool,
    pub(super) path: &'a str,
    /// The group's settings, which nodes that change none of them share.
    pub(super) settings: &'a Arc<NodeSettings>,
    pub(super) addressing: &'a Addressing,
    pub(super) first_address: Option<(Ipv4Addr, Span)>,
    /// The group's network was read without problems; when false, nodes without an address are not
    /// reported (their sequential address would come from a broken network).
    pub(super) addresses_checkable: bool,
    pub(super) hosts: &'a [Host],
}

/// One node to add: its number, name, and the [[group.node]] entry (with its position) that shapes it.
struct NodeInput<'r> {
    index: u32,
    name: String,
    /// The name came from a pattern already checked for the whole group.
    name_checked: bool,
    raw: Option<(usize, &'r RawNode)>,
    /// Where errors about the node point when it has no entry of its own.
    origin_span: Span,
    sequential_address: Option<Ipv4Addr>,
}

/// Add the nodes of one group to `nodes` (and where each came from to `origins`).
pub(super) fn expand(
    checker: &mut Checker<'_, '_>,
    naming: &mut Naming,
    raw: &RawGroup,
    group: &GroupExpansion<'_>,
    nodes: &mut Vec<Node>,
    origins: &mut Vec<NodeOrigin>,
) {
    let path = group.path;
    let pattern = match raw.hostname.get() {
        Some(pattern) => match HostnamePattern::parse(&pattern.value) {
            Ok(parsed) => Some((parsed, pattern.span, true)),
            Err(problem) => {
                checker.error(pattern.span, format!("{path}.hostname: {problem}"));
                None
            }
        },
        None if raw.hostname.is_missing() => HostnamePattern::parse("{group}-{index}")
            .ok()
            .map(|parsed| (parsed, raw.span, false)),
        None => None,
    };
    let explicit_nodes: &[RawNode] = raw.node.value().map(Vec::as_slice).unwrap_or(&[]);

    if let Some(count) = raw.count.get() {
        let count_value = count.value.as_u32();
        if nodes.len() + count_value as usize > MAX_FLEET_NODES {
            checker.error(
                count.span,
                format!("{path}.count: the fleet would have more than {MAX_FLEET_NODES} nodes"),
            );
            return;
        }
        let Some((pattern, pattern_span, written)) = pattern else {
            return;
        };
        if !group.name_usable && pattern.uses_group() {
            // Every generated name would repeat the group name's problem, already reported.
            return;
        }
        if count_value > 1 && !pattern.has_index() {
            let sample = pattern.render(group.group_name, 1);
            checker.error(
                pattern_span,
                format!(
                    "{path}.hostname: the pattern has no {{index}}, so all {count_value} nodes would be named `{sample_shown}`; write e.g. \"{sample_shown}-{{index}}\"", sample_shown = shown(&sample)),
            );
            return;
        }
        // Only the digits vary between nodes, and the widest index gives the longest name:
        // checking that one name checks them all.
        let widest = pattern.render(group.group_name, count_value);
        let source = if written {
            "the pattern gives"
        } else {
            "the default pattern {group}-{index} gives"
        };
        let key = if written { "hostname" } else { "name" };
        if let Err(problem) = check_node_name(&widest) {
            checker.error(
                pattern_span,
                format!(
                    "{path}.{key_shown}: {source} `{widest_shown}`: {problem}",
                    key_shown = shown(key),
                    widest_shown = shown(&widest)
                ),
            );
            return;
        }
        if let Err(problem) = check_hostname(&naming.qualified(&widest)) {
            checker.error(
                pattern_span,
                format!(
                    "{path}.{key_shown}: {source} `{widest_shown}`: {problem}",
                    key_shown = shown(key),
                    widest_shown = shown(&widest)
                ),
            );
            return;
        }
        check_sequential_range(checker, group, count_value);

        let mut overrides: HashMap<&str, (usize, &RawNode)> = HashMap::new();
        for (position, node) in explicit_nodes.iter().enumerate() {
            match node.name.get() {
                Some(name) if overrides.insert(&name.value, (position, node)).is_some() => {
                    checker.error(
                        name.span,
                        format!("{path}.node[{position}].name: node `{}` is overridden twice", name.value),
                    );
                }
                Some(_) => {}
                None if node.name.is_missing() => checker.error(
                    node.span,
                    format!(
                        "{path}.node[{position}]: missing key `name`: in a group with `count`, each [[group.node]] changes the generated node of that name (e.g. \"{}\")",
                        shown(&pattern.render(group.group_name, 1))
                    ),
                ),
                None => {}
            }
        }
        for index in 1..=count_value {
            let name = pattern.render(group.group_name, index);
            let raw_node = if overrides.is_empty() {
                None
            } else {
                overrides.remove(name.as_str())
            };
            let origin_span = raw_node.map(|(_, node)| node.span).unwrap_or(count.span);
            let address = match (
                raw_node.and_then(|(_, node)| node.address.get()),
                group.first_address,
            ) {
                (Some(_), _) => None,
                (None, Some((first, _))) => {
                    Some(Ipv4Addr::from(u32::from(first).wrapping_add(index - 1)))
                }
                (None, None) => None,
            };
            let input = NodeInput {
                index,
                name,
                name_checked: true,
                raw: raw_node,
                origin_span,
                sequential_address: address,
            };
            push_node(checker, naming, group, input, nodes, origins);
        }
        let mut leftovers: Vec<(usize, &RawNode)> = overrides.into_values().collect();
        leftovers.sort_by_key(|(position, _)| *position);
        for (position, node) in leftovers {
            if let Some(name) = node.name.get() {
                let its_nodes = if count_value == 1 {
                    format!(
                        "its one node is {}",
                        shown(&pattern.render(group.group_name, 1))
                    )
                } else {
                    format!(
                        "its {count_value} nodes are {} to {}",
                        shown(&pattern.render(group.group_name, 1)),
                        shown(&pattern.render(group.group_name, count_value)),
                    )
                };
                checker.error(
                    name.span,
                    format!(
                        "{path}.node[{position}].name: group `{}` has no node `{}` to change: {its_nodes}",
                        shown(group.group_name),
                        shown(&name.value),
                    ),
                );
            }
        }
        return;
    }

    if explicit_nodes.is_empty() {
        if raw.count.is_missing() && !raw.node.is_invalid() {
            checker.error(
                raw.span,
                format!(
                    "{path}: group `{}` has no nodes: give `count` (with a `hostname` pattern such as \"web-{{index:02}}\") or list [[group.node]] entries",
                    shown(group.group_name)
                ),
            );
        }
        return;
    }
    if nodes.len() + explicit_nodes.len() > MAX_FLEET_NODES {
        checker.error(
            raw.span,
            format!("{path}: the fleet would have more than {MAX_FLEET_NODES} nodes"),
        );
        return;
    }
    for (position, node) in explicit_nodes.iter().enumerate() {
        let index = u32::try_from(position + 1).unwrap_or(u32::MAX);
        let node_path = format!("{path}.node[{position}]");
        let name = match node.name.get() {
            Some(name) => {
                if let Err(problem) = check_node_name(&name.value) {
                    checker.error(name.span, format!("{node_path}.name: {problem}"));
                }
                name.value.clone()
            }
            None => match (&pattern, node.name.is_missing()) {
                (Some((pattern, _, _)), true) => {
                    let name = pattern.render(group.group_name, index);
                    if (group.name_usable || !pattern.uses_group())
                        && let Err(problem) = check_node_name(&name)
                    {
                        checker.error(
                            node.span,
                            format!(
                                "{node_path}: the pattern gives `{name_shown}`: {problem}",
                                name_shown = shown(&name)
                            ),
                        );
                    }
                    name
                }
                _ => String::new(),
            },
        };
        let address = match (node.address.get(), group.first_address) {
            (Some(_), _) => None,
            (None, Some((first, span))) => {
                let address = Ipv4Addr::from(u32::from(first).wrapping_add(index - 1));
                if let Some(network) = static_network(group.addressing)
                    && let Err(problem) = check_address(network, address)
                {
                    checker.error(
                        span,
                        format!("{node_path}: node `{name_shown}` would get the address {address}, but {problem}", name_shown = shown(&name)),
                    );
                }
                Some(address)
            }
            (None, None) => {
                if static_network(group.addressing).is_some()
                    && group.addresses_checkable
                    && node.address.is_missing()
                {
                    checker.error(
                        node.span,
                        format!(
                            "{node_path}: node `{name_shown}` needs an `address` (or set first_address in [group.network])", name_shown = shown(&name)),
                    );
                }
                None
            }
        };
        let input = NodeInput {
            index,
            name,
            name_checked: false,
            raw: Some((position, node)),
            origin_span: node.span,
            sequential_address: address,
        };
        push_node(checker, naming, group, input, nodes, origins);
    }
}

/// Sequential addresses of a count group must fit in the network and skip the gateway.
fn check_sequential_range(checker: &mut Checker<'_, '_>, group: &GroupExpansion<'_>, count: u32) {
    let (Some(network), Some((first, span))) =
        (static_network(group.addressing), group.first_address)
    else {
        return;
    };
    let path = group.path;
    let cidr = network.cidr;
    let last_usable = if cidr.prefix_len() >= 31 {
        u32::from(cidr.broadcast())
    } else {
        u32::from(cidr.broadcast()).saturating_sub(1)
    };
    let first_number = u32::from(first);
    let last_number = first_number.checked_add(count - 1);
    match last_number {
        Some(last_number) if last_number <= last_usable => {
            let gateway = u32::from(network.gateway);
            if (first_number..=last_number).contains(&gateway) && first_number != gateway {
                checker.error(
                    span,
                    format!(
                        "{path}.network: the addresses {first} to {} of group `{}` include the gateway {}; start first_address after the gateway",
                        Ipv4Addr::from(last_number),
                        shown(group.group_name),
                        network.gateway
                    ),
                );
            }
        }
        _ => checker.error(
            span,
            format!(
                "{path}.network: group `{}` needs {count} addresses from {first}, but the last usable address of {cidr} is {}",
                shown(group.group_name),
                Ipv4Addr::from(last_usable)
            ),
        ),
    }
}

fn push_node(
    checker: &mut Checker<'_, '_>,
    naming: &mut Naming,
    group: &GroupExpansion<'_>,
    input: NodeInput<'_>,
    nodes: &mut Vec<Node>,
    origins: &mut Vec<NodeOrigin>,
) {
    let NodeInput {
        index,
        name,
        name_checked,
        raw,
        origin_span,
        sequential_address,
    } = input;
    let node_path = || match raw {
        Some((position, _)) => format!("{}.node[{position}]", group.path),
        None => group.path.to_owned(),
    };
    let raw = raw.map(|(_, node)| node);
    let name_span = raw.and_then(|node| node.name.span()).unwrap_or(origin_span);
    let hostname_written = raw.is_some_and(|node| node.hostname.get().is_some());
    let (hostname, hostname_span) = match raw.and_then(|node| node.hostname.get()) {
        Some(hostname) => {
            let qualified = naming.qualified_hostname(&hostname.value);
            if let Err(problem) = check_hostname(&qualified) {
                checker.error(
                    hostname.span,
                    format!("{}.hostname: {problem}", node_path()),
                );
            }
            (qualified, hostname.span)
        }
        None => {
            let qualified = naming.qualified(&name);
            if !name_checked
                && !name.is_empty()
                && check_node_name(&name).is_ok()
                && let Err(problem) = check_hostname(&qualified)
            {
                checker.error(
                    name_span,
                    format!("{}: the node's hostname would be `{qualified_shown}`: {problem}; set `hostname`", node_path(), qualified_shown = shown(&qualified)),
                );
            }
            (qualified, name_span)
        }
    };
    let (address, address_span) = match raw.and_then(|node| node.address.get()) {
        // The network could not be read: the address cannot be judged (the cause is reported).
        Some(address)
            if !group.addresses_checkable && static_network(group.addressing).is_none() =>
        {
            (Some(address.value.0), address.span)
        }
        Some(address) => {
            match static_network(group.addressing) {
                Some(network) => {
                    if let Err(problem) = check_address(network, address.value.0) {
                        checker.error(address.span, format!("{}.address: {problem}", node_path()));
                    }
                }
                None => checker.error(
                    address.span,
                    format!(
                        "{}.address: addresses need [group.network] mode = \"reserved\" or \"static\" (the group uses DHCP)",
                        node_path()
                    ),
                ),
            }
            (Some(address.value.0), address.span)
        }
        None => (
            sequential_address.filter(|_| static_network(group.addressing).is_some()),
            group
                .first_address
                .map(|(_, span)| span)
                .unwrap_or(origin_span),
        ),
    };
    let mac = raw.and_then(|node| node.mac.get());
    let pinned_host = raw.and_then(|node| node.host.get()).map(|host| {
        if !group.hosts.iter().any(|known| known.name == host.value) {
            let message = if group.hosts.is_empty() {
                format!(
                    "{}.host: the node is pinned to host `{}`, but the fleet has no [[host]]",
                    node_path(),
                    shown(&host.value)
                )
            } else {
                let mut message = format!(
                    "{}.host: there is no [[host]] named `{}`",
                    node_path(),
                    shown(&host.value)
                );
                if let Some(closest) = crate::hints::closest(
                    &host.value,
                    group.hosts.iter().map(|known| known.name.as_str()),
                ) {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                }
                message
            };
            checker.error(host.span, message);
        }
        host.value.clone()
    });
    let settings = match raw {
        Some(node) if !node.settings().is_empty() => {
            let mut own = NodeSettings::clone(group.settings);
            let settings_path = node_path();
            settings::apply_level(checker, &mut own, node.settings(), &settings_path);
            Arc::new(own)
        }
        _ => Arc::clone(group.settings),
    };
    let uuid = naming.uuid_of(&name);
    nodes.push(Node {
        hostname,
        group: group.group_index,
        index,
        mac: mac.map(|mac| mac.value.0).unwrap_or(MacAddress([0; 6])),
        uuid,
        address,
        pinned_role: raw
            .and_then(|node| node.role.value())
            .map(|role| match role {
                RoleName::Canary => Role::Canary,
                RoleName::Cautious => Role::Cautious,
            }),
        pinned_wariness: raw
            .and_then(|node| node.rollout_wariness.value())
            .map(|wariness| wariness.0),
        pinned_host,
        settings,
        name,
    });
    origins.push(NodeOrigin {
        name: name_span,
        hostname: hostname_span,
        address: address_span,
        mac: mac.map(|mac| mac.span),
        hostname_written,
    });
}
