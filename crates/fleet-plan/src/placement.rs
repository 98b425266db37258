//! Host placement: every node on a host with room for it, no group with more than its max-unavailable
//! count on one host (or in one zone, when the group spreads over a label), and as few moves as possible
//! from a previous placement.
//!
//! Order of decisions (all deterministic): nodes pinned to a host; then nodes that keep their previous
//! host, in fleet order, while it still exists and has room; then every other node, group by group, on the
//! host that carries the fewest nodes of its group (then the fewest in its zone), the least loaded, the
//! first in fleet order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use fleet_spec::{Fleet, Host, HostCapacity, Node};

use crate::PlanError;

/// What a node needs or a host offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Resources {
    pub vcpus: u64,
    pub memory_mib: u64,
    pub disk_gib: u64,
}

impl Resources {
    pub fn of_node(node: &Node) -> Resources {
        Resources {
            vcpus: u64::from(node.settings.vcpus),
            memory_mib: node.settings.memory_mib,
            disk_gib: node.settings.disk_gib,
        }
    }

    fn plus(self, other: Resources) -> Resources {
        Resources {
            vcpus: self.vcpus.saturating_add(other.vcpus),
            memory_mib: self.memory_mib.saturating_add(other.memory_mib),
            disk_gib: self.disk_gib.saturating_add(other.disk_gib),
        }
    }

    fn component_min(self, other: Resources) -> Resources {
        Resources {
            vcpus: self.vcpus.min(other.vcpus),
            memory_mib: self.memory_mib.min(other.memory_mib),
            disk_gib: self.disk_gib.min(other.disk_gib),
        }
    }

    /// `2 vCPUs, 2048 MiB, 10 GiB`.
    pub fn describe(&self) -> String {
        format!(
            "{} vCPU{}, {} MiB, {} GiB",
            self.vcpus,
            if self.vcpus == 1 { "" } else { "s" },
            self.memory_mib,
            self.disk_gib
        )
    }
}

/// What the fleet may use on a host; `None` means unknown, and then unlimited for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    /// Physical vCPUs times the host's overcommit ratio, rounded down.
    pub vcpus: Option<u64>,
    pub memory_mib: Option<u64>,
    pub disk_gib: Option<u64>,
}

impl Capacity {
    fn fits(&self, used: Resources, more: Resources) -> bool {
        let within = |limit: Option<u64>, used: u64, more: u64| {
            limit.is_none_or(|limit| used.saturating_add(more) <= limit)
        };
        within(self.vcpus, used.vcpus, more.vcpus)
            && within(self.memory_mib, used.memory_mib, more.memory_mib)
            && within(self.disk_gib, used.disk_gib, more.disk_gib)
    }

    /// The fullest resource, in thousandths (unknown capacities count as empty).
    fn load_permille(&self, used: Resources) -> u64 {
        let ratio = |limit: Option<u64>, used: u64| match limit {
            Some(0) => 1000,
            Some(limit) => used.saturating_mul(1000) / limit,
            None => 0,
        };
        ratio(self.vcpus, used.vcpus)
            .max(ratio(self.memory_mib, used.memory_mib))
            .max(ratio(self.disk_gib, used.disk_gib))
    }

    /// Why `more` does not fit beside `used`, resource by resource.
    fn shortfall(&self, used: Resources, more: Resources) -> Vec<String> {
        let mut short = Vec::new();
        let mut check = |unit: &str, limit: Option<u64>, used: u64, more: u64| {
            if let Some(limit) = limit
                && used.saturating_add(more) > limit
            {
                short.push(format!(
                    "{} of {limit} {unit} free, {more} needed",
                    limit.saturating_sub(used)
                ));
            }
        };
        check("vCPUs", self.vcpus, used.vcpus, more.vcpus);
        check("MiB", self.memory_mib, used.memory_mib, more.memory_mib);
        check("GiB", self.disk_gib, used.disk_gib, more.disk_gib);
        short
    }
}

/// Which host each node runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    host_by_node: BTreeMap<String, String>,
}

impl Placement {
    pub fn new() -> Self {
        Placement::default()
    }

    pub fn insert(&mut self, node: impl Into<String>, host: impl Into<String>) {
        self.host_by_node.insert(node.into(), host.into());
    }

    pub fn host_of(&self, node: &str) -> Option<&str> {
        self.host_by_node.get(node).map(String::as_str)
    }

    /// (node, host) pairs, by node name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.host_by_node
            .iter()
            .map(|(node, host)| (node.as_str(), host.as_str()))
    }

    pub fn len(&self) -> usize {
        self.host_by_node.len()
    }

    pub fn is_empty(&self) -> bool {
        self.host_by_node.is_empty()
    }
}

impl<N: Into<String>, H: Into<String>> FromIterator<(N, H)> for Placement {
    fn from_iter<I: IntoIterator<Item = (N, H)>>(pairs: I) -> Self {
        Placement {
            host_by_node: pairs
                .into_iter()
                .map(|(node, host)| (node.into(), host.into()))
                .collect(),
        }
    }
}

/// What to do with a capacity that neither fleet.toml nor the measurements give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownCapacity {
    /// Plan as if the resource were unlimited (e.g. `fleet plan` without reaching the hosts).
    Unlimited,
    /// Refuse to place (e.g. before deploying).
    Refuse,
}

/// Inputs to placement besides the fleet.
#[derive(Debug, Clone, Copy)]
pub struct PlaceOptions<'a> {
    /// Where nodes ran before; a node stays on its host while the host exists, has room and the node's
    /// group stays within its bound there.
    pub previous: &'a Placement,
    /// Capacities read from the hosts (through libvirt) for what fleet.toml leaves out, by host name.
    /// fleet.toml's values win.
    pub measured: &'a BTreeMap<String, HostCapacity>,
    pub unknown_capacity: UnknownCapacity,
}

/// Why a node left its previous host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveReason {
    /// The host is no longer in the fleet.
    HostGone,
    /// The host has no room left for it.
    HostFull,
    /// Its group would exceed max_unavailable on the host or in its zone.
    GroupBound,
    /// The node is now pinned elsewhere.
    Pinned,
}

impl MoveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveReason::HostGone => "host gone",
            MoveReason::HostFull => "host full",
            MoveReason::GroupBound => "group bound",
            MoveReason::Pinned => "pinned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub node: String,
    pub from: String,
    pub to: String,
    pub reason: MoveReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUsage {
    pub name: String,
    pub nodes: usize,
    pub allocated: Resources,
    pub capacity: Capacity,
}

/// The result of placement. Fleets without `[[host]]` have an empty placement: every node runs on the
/// fleet's single connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlacementPlan {
    pub placement: Placement,
    /// Every host, in fleet order, with what is placed on it.
    pub hosts: Vec<HostUsage>,
    /// Nodes whose host differs from the previous placement, in fleet order.
    pub moves: Vec<Move>,
}

struct HostState<'a> {
    host: &'a Host,
    capacity: Capacity,
    used: Resources,
    nodes: usize,
}

/// The values one label takes across the hosts, as small integers.
struct LabelZones {
    label: String,
    /// Zone id of each host, `None` for hosts without the label.
    host_zone: Vec<Option<usize>>,
    names: Vec<String>,
}

/// What placement sorts hosts by, best first: fewest nodes of the group, least loaded, fleet order.
type HostKey = (usize, u64, usize);

/// Everything placement tracks while deciding.
struct Board<'a> {
    fleet: &'a Fleet,
    hosts: Vec<HostState<'a>>,
    /// Host index by name.
    host_index: BTreeMap<&'a str, usize>,
    /// `[group][host]`: nodes of the group on the host.
    group_on_host: Vec<Vec<usize>>,
    labels: Vec<LabelZones>,
    /// For each group that spreads over a label, that label's index in `labels`.
    group_label: Vec<Option<usize>>,
    /// `[group][zone]`: nodes of the group in each zone of its label (empty when it does not spread).
    group_in_zone: Vec<Vec<usize>>,
    bound: Vec<usize>,
    chosen: Vec<Option<usize>>,
}

impl<'a> Board<'a> {
    /// `None` when the group does not spread; `Some(None)` when the host lacks the group's label.
    fn zone_of(&self, group: usize, host: usize) -> Option<Option<usize>> {
        self.group_label[group].map(|label| self.labels[label].host_zone[host])
    }

    fn zone_name(&self, group: usize, zone: usize) -> &str {
        self.group_label[group]
            .and_then(|label| self.labels[label].names.get(zone))
            .map_or("", String::as_str)
    }

    /// Why node `node` (of `group`) cannot go on `host`, or `None` when it can.
    fn refusal(&self, node: usize, group: usize, host: usize) -> Option<Refusal> {
        let needs = Resources::of_node(&self.fleet.nodes[node]);
        let state = &self.hosts[host];
        if self.group_on_host[group][host] >= self.bound[group] {
            return Some(Refusal::GroupOnHost);
        }
        match self.zone_of(group, host) {
            Some(None) => return Some(Refusal::NoZoneLabel),
            Some(Some(zone)) if self.group_in_zone[group][zone] >= self.bound[group] => {
                return Some(Refusal::GroupInZone);
            }
            _ => {}
        }
        if !state.capacity.fits(state.used, needs) {
            return Some(Refusal::Full);
        }
        None
    }

    fn put(&mut self, node: usize, group: usize, host: usize) {
        let needs = Resources::of_node(&self.fleet.nodes[node]);
        let state = &mut self.hosts[host];
        state.used = state.used.plus(needs);
        state.nodes += 1;
        self.group_on_host[group][host] += 1;
        if let Some(Some(zone)) = self.zone_of(group, host) {
            self.group_in_zone[group][zone] += 1;
        }
        self.chosen[node] = Some(host);
    }

    fn host_key(&self, group: usize, host: usize) -> HostKey {
        let state = &self.hosts[host];
        (
            self.group_on_host[group][host],
            state.capacity.load_permille(state.used),
            host,
        )
    }

    /// Nodes of the group in the partition (zone) `partition`; 0 for groups that do not spread.
    fn partition_count(&self, group: usize, partition: usize) -> usize {
        self.group_in_zone[group]
            .get(partition)
            .copied()
            .unwrap_or(0)
    }
}

/// Place the group's waiting nodes one by one. Hosts are partitioned by the zone the group spreads over
/// (one partition when it does not spread); each partition keeps its hosts in a heap, and a heap of
/// partitions picks the zone with the fewest of the group's nodes, then its best host. A placement
/// changes one host and one zone, so at most one heap entry goes stale per node.
fn place_group(board: &mut Board<'_>, group: usize, waiting: &[usize]) -> Result<(), PlanError> {
    let fleet = board.fleet;
    let smallest = waiting
        .iter()
        .map(|&index| Resources::of_node(&fleet.nodes[index]))
        .reduce(Resources::component_min)
        .unwrap_or_default();
    let bound = board.bound[group];
    let partition_total = board.group_in_zone[group].len().max(1);
    let mut partitions: Vec<BinaryHeap<Reverse<HostKey>>> =
        vec![BinaryHeap::new(); partition_total];
    for host in 0..board.hosts.len() {
        if board.group_on_host[group][host] >= bound {
            continue;
        }
        let partition = match board.zone_of(group, host) {
            None => 0,
            Some(Some(zone)) => zone,
            Some(None) => continue,
        };
        let key = board.host_key(group, host);
        partitions[partition].push(Reverse(key));
    }
    let mut zones: BinaryHeap<Reverse<(usize, HostKey, usize)>> = BinaryHeap::new();
    let refile = |board: &Board<'_>,
                  partitions: &[BinaryHeap<Reverse<HostKey>>],
                  zones: &mut BinaryHeap<Reverse<(usize, HostKey, usize)>>,
                  partition: usize| {
        let count = board.partition_count(group, partition);
        if count < bound
            && let Some(Reverse(top)) = partitions[partition].peek()
        {
            zones.push(Reverse((count, *top, partition)));
        }
    };
    for partition in 0..partition_total {
        refile(board, &partitions, &mut zones, partition);
    }
    for &node in waiting {
        let mut aside: Vec<(usize, usize)> = Vec::new();
        let mut placed = None;
        while let Some(Reverse((count, top, partition))) = zones.pop() {
            let current_count = board.partition_count(group, partition);
            let Some(&Reverse(current_top)) = partitions[partition].peek() else {
                continue;
            };
            if current_count >= bound {
                continue;
            }
            if (count, top) != (current_count, current_top) {
                zones.push(Reverse((current_count, current_top, partition)));
                continue;
            }
            partitions[partition].pop();
            let host = top.2;
            match board.refusal(node, group, host) {
                None => {
                    placed = Some((partition, host));
                    break;
                }
                Some(Refusal::Full) => {
                    let state = &board.hosts[host];
                    if state.capacity.fits(state.used, smallest) {
                        aside.push((partition, host));
                    }
                }
                // The group's bound on this host only tightens: drop the host for this group.
                Some(_) => {}
            }
            refile(board, &partitions, &mut zones, partition);
        }
        let Some((partition, host)) = placed else {
            return Err(does_not_fit(board, node, group));
        };
        board.put(node, group, host);
        if board.group_on_host[group][host] < bound {
            let key = board.host_key(group, host);
            partitions[partition].push(Reverse(key));
        }
        let mut touched = vec![partition];
        for (aside_partition, aside_host) in aside {
            let key = board.host_key(group, aside_host);
            partitions[aside_partition].push(Reverse(key));
            touched.push(aside_partition);
        }
        touched.sort_unstable();
        touched.dedup();
        for partition in touched {
            refile(board, &partitions, &mut zones, partition);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    GroupOnHost,
    GroupInZone,
    NoZoneLabel,
    Full,
}

/// Place every node of `fleet` on one of its hosts.
pub fn place(fleet: &Fleet, options: &PlaceOptions<'_>) -> Result<PlacementPlan, PlanError> {
    if fleet.hosts.is_empty() {
        return Ok(PlacementPlan::default());
    }
    let mut errors = Vec::new();
    let mut hosts = Vec::with_capacity(fleet.hosts.len());
    for host in &fleet.hosts {
        match effective_capacity(
            host,
            options.measured.get(&host.name),
            options.unknown_capacity,
        ) {
            Ok(capacity) => hosts.push(HostState {
                host,
                capacity,
                used: Resources::default(),
                nodes: 0,
            }),
            Err(error) => errors.push(error),
        }
    }
    if let Some(error) = PlanError::from_list(errors) {
        return Err(error);
    }
    let host_index: BTreeMap<&str, usize> = fleet
        .hosts
        .iter()
        .enumerate()
        .map(|(index, host)| (host.name.as_str(), index))
        .collect();
    let mut labels: Vec<LabelZones> = Vec::new();
    let mut group_label = Vec::with_capacity(fleet.groups.len());
    for group in &fleet.groups {
        let Some(label) = &group.spread_over else {
            group_label.push(None);
            continue;
        };
        if let Some(index) = labels.iter().position(|known| &known.label == label) {
            group_label.push(Some(index));
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        let host_zone = fleet
            .hosts
            .iter()
            .map(|host| {
                host.labels.get(label).map(|value| {
                    names
                        .iter()
                        .position(|name| name == value)
                        .unwrap_or_else(|| {
                            names.push(value.clone());
                            names.len() - 1
                        })
                })
            })
            .collect();
        labels.push(LabelZones {
            label: label.clone(),
            host_zone,
            names,
        });
        group_label.push(Some(labels.len() - 1));
    }
    let group_in_zone = group_label
        .iter()
        .map(|label| label.map_or_else(Vec::new, |label: usize| vec![0; labels[label].names.len()]))
        .collect();
    let mut board = Board {
        fleet,
        hosts,
        host_index,
        group_on_host: vec![vec![0; fleet.hosts.len()]; fleet.groups.len()],
        labels,
        group_label,
        group_in_zone,
        bound: fleet
            .groups
            .iter()
            .map(|group| {
                let size = group.nodes.len();
                group
                    .rollout
                    .max_unavailable
                    .resolve(size)
                    .clamp(1, size.max(1))
            })
            .collect(),
        chosen: vec![None; fleet.nodes.len()],
    };

    // 1. Pinned nodes go where they are pinned, or placement fails (after placing the others, so that every
    // problem is reported at once).
    let mut errors = Vec::new();
    for (index, node) in fleet.nodes.iter().enumerate() {
        let Some(pinned) = &node.pinned_host else {
            continue;
        };
        let Some(&host) = board.host_index.get(pinned.as_str()) else {
            errors.push(PlanError::UnknownHost {
                node: node.name.clone(),
                host: pinned.clone(),
                known: fleet
                    .hosts
                    .iter()
                    .map(|host| host.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                at: fleet.group_of(node).declared_at,
            });
            continue;
        };
        match board.refusal(index, node.group, host) {
            None => board.put(index, node.group, host),
            Some(refusal) => errors.push(PlanError::PinnedHostConflict {
                node: node.name.clone(),
                host: pinned.clone(),
                reason: describe_refusal(&board, index, node.group, host, refusal),
                at: fleet.group_of(node).declared_at,
            }),
        }
    }

    // 2. Nodes keep their previous host while they may.
    let mut reasons: BTreeMap<usize, MoveReason> = BTreeMap::new();
    for (index, node) in fleet.nodes.iter().enumerate() {
        let Some(previous) = options.previous.host_of(&node.name) else {
            continue;
        };
        if let Some(pinned) = &node.pinned_host {
            if pinned != previous {
                reasons.insert(index, MoveReason::Pinned);
            }
            continue;
        }
        let Some(&host) = board.host_index.get(previous) else {
            reasons.insert(index, MoveReason::HostGone);
            continue;
        };
        match board.refusal(index, node.group, host) {
            None => board.put(index, node.group, host),
            Some(Refusal::Full) => {
                reasons.insert(index, MoveReason::HostFull);
            }
            Some(_) => {
                reasons.insert(index, MoveReason::GroupBound);
            }
        }
    }

    // 3. Everyone else, group by group (pinned nodes are placed or reported by now).
    for (group_index, group) in fleet.groups.iter().enumerate() {
        let waiting: Vec<usize> = group
            .nodes
            .clone()
            .filter(|&index| {
                board.chosen[index].is_none() && fleet.nodes[index].pinned_host.is_none()
            })
            .collect();
        if waiting.is_empty() {
            continue;
        }
        if let Err(error) = place_group(&mut board, group_index, &waiting) {
            errors.push(error);
        }
    }
    if let Some(error) = PlanError::from_list(errors) {
        return Err(error);
    }

    let mut placement = Placement::new();
    let mut moves = Vec::new();
    for (index, node) in fleet.nodes.iter().enumerate() {
        let Some(host) = board.chosen[index] else {
            continue;
        };
        let host_name = &fleet.hosts[host].name;
        placement.insert(node.name.clone(), host_name.clone());
        if let Some(previous) = options.previous.host_of(&node.name)
            && previous != host_name
        {
            moves.push(Move {
                node: node.name.clone(),
                from: previous.to_owned(),
                to: host_name.clone(),
                reason: reasons.get(&index).copied().unwrap_or(MoveReason::HostFull),
            });
        }
    }
    let hosts = board
        .hosts
        .iter()
        .map(|state| HostUsage {
            name: state.host.name.clone(),
            nodes: state.nodes,
            allocated: state.used,
            capacity: state.capacity,
        })
        .collect();
    Ok(PlacementPlan {
        placement,
        hosts,
        moves,
    })
}

fn effective_capacity(
    host: &Host,
    measured: Option<&HostCapacity>,
    unknown: UnknownCapacity,
) -> Result<Capacity, PlanError> {
    let pick = |given: Option<u64>,
                read: Option<u64>,
                resource: &'static str|
     -> Result<Option<u64>, PlanError> {
        match (given.or(read), unknown) {
            (Some(value), _) => Ok(Some(value)),
            (None, UnknownCapacity::Unlimited) => Ok(None),
            (None, UnknownCapacity::Refuse) => Err(PlanError::UnknownCapacity {
                host: host.name.clone(),
                resource,
            }),
        }
    };
    let physical = pick(
        host.capacity.vcpus.map(u64::from),
        measured.and_then(|capacity| capacity.vcpus).map(u64::from),
        "vcpus",
    )?;
    let overcommit = if host.vcpu_overcommit.is_finite() && host.vcpu_overcommit > 0.0 {
        host.vcpu_overcommit
    } else {
        1.0
    };
    Ok(Capacity {
        vcpus: physical.map(|vcpus| (vcpus as f64 * overcommit + 1e-9).floor() as u64),
        memory_mib: pick(
            host.capacity.memory_mib,
            measured.and_then(|capacity| capacity.memory_mib),
            "memory_mib",
        )?,
        disk_gib: pick(
            host.capacity.disk_gib,
            measured.and_then(|capacity| capacity.disk_gib),
            "disk_gib",
        )?,
    })
}

fn describe_refusal(
    board: &Board<'_>,
    node: usize,
    group: usize,
    host: usize,
    refusal: Refusal,
) -> String {
    let group_name = &board.fleet.groups[group].name;
    let bound = board.bound[group];
    match refusal {
        Refusal::GroupOnHost => format!(
            "{} already carries {bound} node{} of group {group_name}, its max_unavailable",
            board.hosts[host].host.name,
            if bound == 1 { "" } else { "s" }
        ),
        Refusal::GroupInZone => {
            let label = board.fleet.groups[group]
                .spread_over
                .as_deref()
                .unwrap_or("zone");
            let zone = board
                .zone_of(group, host)
                .flatten()
                .map_or("", |zone| board.zone_name(group, zone));
            format!(
                "{label} {zone} already carries {bound} node{} of group {group_name}, its max_unavailable",
                if bound == 1 { "" } else { "s" }
            )
        }
        Refusal::NoZoneLabel => format!(
            "{} has no {} label, which group {group_name} spreads over",
            board.hosts[host].host.name,
            board.fleet.groups[group]
                .spread_over
                .as_deref()
                .unwrap_or_default()
        ),
        Refusal::Full => {
            let state = &board.hosts[host];
            format!(
                "{} has {}",
                state.host.name,
                state
                    .capacity
                    .shortfall(state.used, Resources::of_node(&board.fleet.nodes[node]))
                    .join(", ")
            )
        }
    }
}

fn does_not_fit(board: &Board<'_>, node: usize, group: usize) -> PlanError {
    const LISTED: usize = 6;
    let refusals: Vec<(usize, Refusal)> = (0..board.hosts.len())
        .filter_map(|host| {
            board
                .refusal(node, group, host)
                .map(|refusal| (host, refusal))
        })
        .collect();
    let reasons: Vec<String> = refusals
        .iter()
        .map(|&(host, refusal)| describe_refusal(board, node, group, host, refusal))
        .collect();
    let mut listed = reasons
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if reasons.len() > LISTED {
        listed.push_str(&format!("; and {} more hosts", reasons.len() - LISTED));
    }
    let group_spec = &board.fleet.groups[group];
    let bound = board.bound[group];
    let size = group_spec.nodes.len();
    let needed_places = size.div_ceil(bound.max(1));
    let (places, kind) = match &group_spec.spread_over {
        Some(label) => {
            let zones: std::collections::BTreeSet<&str> = board
                .hosts
                .iter()
                .filter_map(|state| state.host.labels.get(label).map(String::as_str))
                .collect();
            (zones.len(), format!("different {label} values"))
        }
        None => (board.hosts.len(), "hosts".to_owned()),
    };
    let remedy = if places < needed_places {
        format!(
            "group {} ({size} node{} at max_unavailable {bound}) needs at least {needed_places} {kind}, the \
             fleet has {places}: add hosts or raise max_unavailable",
            group_spec.name,
            if size == 1 { "" } else { "s" },
        )
    } else {
        let mut remedies = Vec::new();
        if refusals
            .iter()
            .any(|(_, refusal)| *refusal == Refusal::Full)
        {
            remedies.push("add hosts or capacity");
        }
        if refusals
            .iter()
            .any(|(_, refusal)| matches!(refusal, Refusal::GroupOnHost | Refusal::GroupInZone))
        {
            remedies.push("raise max_unavailable");
        }
        if refusals
            .iter()
            .any(|(_, refusal)| *refusal == Refusal::NoZoneLabel)
        {
            remedies.push("label more hosts");
        }
        remedies.join(", or ")
    };
    PlanError::DoesNotFit {
        node: board.fleet.nodes[node].name.clone(),
        needs: Resources::of_node(&board.fleet.nodes[node]).describe(),
        reasons: listed,
        remedy,
        at: group_spec.declared_at,
    }
}
