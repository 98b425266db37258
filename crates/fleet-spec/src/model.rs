//! The validated fleet: the plain data every other crate consumes, with every default and inheritance already resolved.
//!
//! Nothing here can be invalid once built by `parse`: names are unique, addresses are inside their
//! networks, time zones are known, windows are within Zincati's limits. Consumers never re-validate.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

mod containers;
mod podman_objects;

pub use containers::*;
pub use podman_objects::*;

pub use chrono::Weekday;
pub use chrono_tz::Tz;
pub use ipnet::Ipv4Net;
pub use uuid::Uuid;

mod health;

pub use health::*;

/// A whole fleet: its settings, hosts, groups and every concrete node.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    /// Fleet name, used in libvirt metadata and to derive stable node identities.
    pub name: String,
    /// The libvirt connection used when the fleet defines no `[[host]]` (default `qemu:///system`).
    pub connection: String,
    /// How domains are run: `auto` picks kvm only where it really boots.
    pub domain_type: DomainType,
    /// The Fedora CoreOS image every node's disk is an overlay of.
    pub image: BaseImage,
    /// Optional direct kernel boot (kernel, initrd, command line), mostly for test images.
    pub direct_kernel_boot: Option<DirectKernelBoot>,
    /// The directory storage pool that holds images, overlays and Ignition volumes.
    pub pool: StoragePool,
    /// The libvirt network every node's interface joins (default `default`).
    pub network: String,
    /// The Ignition spec version to emit, e.g. `3.4.0`; `None` means the newest the translator supports.
    pub ignition_version: Option<String>,
    /// Fleet-wide cap on nodes rebooting at the same instant, across all groups.
    pub max_concurrent_reboots: Option<u32>,
    /// Hypervisors to place nodes on; empty means the single `connection`.
    pub hosts: Vec<Host>,
    /// Groups in file order.
    pub groups: Vec<Group>,
    /// Every node, group by group in file order, each group's nodes in index order.
    pub nodes: Vec<Node>,
    /// Where the fleet file sets what messages about the whole fleet point at.
    pub declared_at: FleetLocations,
}

/// Where fleet-wide settings are written, for messages found after validation (by the planner or the
/// renderer) that must still name a line of the fleet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FleetLocations {
    /// The `[fleet]` table.
    pub fleet: Location,
    /// `max_concurrent_reboots` in `[maintenance]`, when set.
    pub max_concurrent_reboots: Option<Location>,
    /// `ignition_version` in `[fleet]`, when set.
    pub ignition_version: Option<Location>,
}

impl Fleet {
    /// The nodes of one group, in index order.
    pub fn group_nodes(&self, group: &Group) -> &[Node] {
        &self.nodes[group.nodes.clone()]
    }

    /// The group a node belongs to.
    pub fn group_of(&self, node: &Node) -> &Group {
        &self.groups[node.group]
    }

    /// Find a node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.name == name)
    }
}

/// How libvirt runs the domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainType {
    /// kvm where it really boots guests, otherwise qemu (TCG).
    Auto,
    Kvm,
    Qemu,
}

/// The base image and the stream it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    pub source: ImageSource,
    /// The Fedora CoreOS stream the image follows (`stable`, `testing`, `next`).
    pub stream: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A qcow2 file, relative to the fleet file's directory unless absolute; imported into the pool once.
    File(PathBuf),
    /// A volume that already exists in the fleet's pool.
    Volume(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectKernelBoot {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoragePool {
    pub name: String,
    /// The pool's directory on the host.
    pub path: PathBuf,
}

/// A hypervisor reachable through libvirt.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub connection: String,
    /// What the fleet may use on this host; fields left `None` are read from the host through libvirt.
    pub capacity: HostCapacity,
    /// How many virtual CPUs each physical one may carry (default 1.0).
    pub vcpu_overcommit: f64,
    /// Free-form labels such as `zone` or `rack`, used by groups that spread over a label.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCapacity {
    pub vcpus: Option<u32>,
    pub memory_mib: Option<u64>,
    pub disk_gib: Option<u64>,
}

/// A group of nodes that share settings and a rollout policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub rollout: RolloutPolicy,
    pub maintenance: MaintenancePolicy,
    /// The group's own schedule for container updates (`[container_updates]`), when it has one.
    pub container_updates: Option<ContainerUpdateSchedule>,
    pub addressing: Addressing,
    /// Spread the group's nodes over hosts with distinct values of this label (e.g. `zone`).
    pub spread_over: Option<String>,
    /// The group's nodes as a range of `Fleet::nodes`.
    pub nodes: Range<usize>,
    /// Where the fleet file declares the group (its `name`, else its `[[group]]` table), for messages
    /// about it found after validation, such as the planner's.
    pub declared_at: Location,
}

/// How many nodes of a group may be down at once, and how canaries lead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutPolicy {
    pub max_unavailable: MaxUnavailable,
    pub canaries: Canaries,
    /// Minimum time between the last canary's reboot and the first cautious node's.
    pub soak_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxUnavailable {
    /// At least 1.
    Count(u32),
    /// 1..=100 percent of the group, rounded down but never below one node.
    Percent(u32),
}

impl MaxUnavailable {
    /// The bound as a node count for a group of `group_size` nodes: percentages round down, never below one.
    pub fn resolve(self, group_size: usize) -> usize {
        match self {
            MaxUnavailable::Count(count) => count as usize,
            MaxUnavailable::Percent(percent) => (group_size * percent as usize / 100).max(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Canaries {
    /// An exact number of canaries (0 allowed: no canaries).
    Count(u32),
    /// A fraction of the group, 0.0..=1.0.
    Fraction(f64),
}

/// When a group's nodes may reboot and how Zincati decides to.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenancePolicy {
    /// The zone in which periods and windows are written and in which Zincati evaluates them.
    pub time_zone: Tz,
    /// The allowed maintenance periods of the week; never empty for the periodic strategy.
    pub periods: Vec<MaintenancePeriod>,
    /// The length of each node's own reboot window, `MIN_WINDOW_MINUTES..=MAX_WINDOW_MINUTES`.
    pub window_minutes: u32,
    /// Time a node counts as down after its window closes (default 10).
    pub reboot_allowance_minutes: u32,
    pub strategy: UpdateStrategy,
}

/// When a group's nodes update their auto-updated containers, apart from their reboots: each such node
/// gets one slot of `window_minutes` a week inside `periods` (docs/containers.md).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUpdateSchedule {
    /// The zone of the periods (default: the maintenance one); the nodes' timers run on its clock.
    pub time_zone: Tz,
    /// Never empty.
    pub periods: Vec<MaintenancePeriod>,
    /// How long one node's update is given (`MIN_WINDOW_MINUTES..=1440`, default 15).
    pub window_minutes: u32,
    /// Where the periods were written, for the planner's messages about them.
    pub declared_at: Location,
}

/// The default length of a node's container update slot.
pub const DEFAULT_CONTAINER_UPDATE_MINUTES: u32 = 15;

/// The shortest reboot window fleet accepts. Zincati re-checks a staged update every 300 s plus up to 10 %
/// jitter, so a window of fewer minutes (a window of N minutes admits N + 1 whole minutes) could pass
/// between two checks and the node would never reboot. The one place this rule is stated: `fleet check`
/// refuses shorter windows, so the planner never sees them.
pub const MIN_WINDOW_MINUTES: u32 = 5;

/// The longest reboot window: Zincati refuses windows longer than a week.
pub const MAX_WINDOW_MINUTES: u32 = 10_080;

/// A weekly recurring period: on each of `days`, from `start` for `length_minutes` (may cross midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenancePeriod {
    pub days: Vec<Weekday>,
    pub start: WallTime,
    pub length_minutes: u32,
}

/// A time of day on the wall clock of the policy's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime {
    pub hour: u8,
    pub minute: u8,
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Zincati's update strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateStrategy {
    /// Reboot only inside the node's own windows (the default).
    Periodic,
    /// Ask a FleetLock server (e.g. airlock) for a reboot slot.
    FleetLock { base_url: String },
    /// Reboot as soon as an update is staged.
    Immediate,
}

/// How a group's nodes get their addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressing {
    /// Plain DHCP from the libvirt network.
    Dhcp,
    /// DHCP host reservations (MAC to address and hostname) added to the libvirt network.
    Reserved(StaticNetwork),
    /// Addresses written into a NetworkManager keyfile by Ignition.
    Static(StaticNetwork),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticNetwork {
    /// The subnet the addresses come from, e.g. `10.0.10.0/24`.
    pub cidr: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub dns: Vec<IpAddr>,
}

/// One concrete machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique in the fleet; the libvirt domain name.
    pub name: String,
    /// The node's hostname (`/etc/hostname`).
    pub hostname: String,
    /// Index into `Fleet::groups`.
    pub group: usize,
    /// The node's number in its group (the `{index}` of the hostname pattern).
    pub index: u32,
    pub mac: MacAddress,
    /// Stable libvirt UUID derived from fleet and node names.
    pub uuid: Uuid,
    /// The node's address for `Reserved` and `Static` addressing (prefix length from the group's CIDR).
    pub address: Option<Ipv4Addr>,
    pub pinned_role: Option<Role>,
    /// A `rollout_wariness` fixed by the user, 0.0..=1.0.
    pub pinned_wariness: Option<f64>,
    /// A host the node must be placed on.
    pub pinned_host: Option<String>,
    /// Resolved settings, shared between the nodes that have the same ones.
    pub settings: Arc<NodeSettings>,
}

/// A node's role in a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Updates first, with an eager wariness.
    Canary,
    /// Updates after the group's canaries have soaked.
    Cautious,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Canary => "canary",
            Role::Cautious => "cautious",
        }
    }
}

/// Settings inherited fleet → group → node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSettings {
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    /// Butane snippets in merge order: the fleet's, then the group's, then the node's own.
    pub butane: Vec<SnippetRef>,
    /// Users, merged by name across levels (a later level's entry replaces an earlier one).
    pub users: Vec<User>,
    /// The node's system time zone (`/etc/localtime`); `None` keeps the image default (UTC).
    pub time_zone: Option<Tz>,
    pub kernel_arguments: KernelArguments,
    /// Checks that gate every boot; none by default.
    pub health: HealthChecks,
    /// Containers, merged by name across levels, in the order they were first written.
    pub containers: Vec<Container>,
    /// Pods, named volumes and podman networks declared with their own tables, each merged by name.
    pub podman: PodmanObjects,
}

/// A Butane snippet named by the fleet file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetRef {
    /// As written, relative to the fleet file's directory.
    pub path: PathBuf,
    /// Where the fleet file names it, for errors about the file itself.
    pub declared_at: Location,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelArguments {
    pub should_exist: Vec<String>,
    pub should_not_exist: Vec<String>,
}

/// A user account written into every node that inherits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// Keys written inline, then keys read from `ssh_key_files` by the loader, in order.
    pub ssh_authorized_keys: Vec<String>,
    /// Files of keys, relative to the fleet file's directory; emptied by the loader once read.
    pub ssh_key_files: Vec<FileRef>,
    pub password_hash: Option<Secret>,
    pub groups: Vec<String>,
    /// The user ID written by the fleet file, if any.
    pub uid: Option<u32>,
}

impl User {
    /// The user ID the user has on every node where the user runs a rootless container: rootless
    /// quadlets live under `/etc/containers/systemd/users/UID/`, so the ID is fixed in Ignition's
    /// passwd. `core` is 1000 on Fedora CoreOS; otherwise the written `uid`, else
    /// `derived_container_uid`. Part of the file format: changing it moves every rootless quadlet.
    pub fn container_uid(&self) -> u32 {
        match (self.name.as_str(), self.uid) {
            (_, Some(uid)) => uid,
            (CORE_USER, None) => CORE_UID,
            (name, None) => derived_container_uid(name),
        }
    }
}

/// Fedora CoreOS's default user, which exists on every node.
pub const CORE_USER: &str = "core";
/// `core`'s user ID on Fedora CoreOS.
pub const CORE_UID: u32 = 1000;

/// 10000 plus the 32-bit FNV-1a hash of the name modulo 50000: in 10000..59999, above the IDs
/// useradd hands out in order from 1001 to users created without one, below login.defs' UID_MAX.
pub fn derived_container_uid(name: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    10_000 + hash % 50_000
}

/// A file the fleet file names, with where it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub path: PathBuf,
    pub declared_at: Location,
}

/// A value that must never reach logs or plan output: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must write it (the rendered Ignition).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A unicast MAC address; fleet derives them in the `52:54:00` prefix libvirt uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress(pub [u8; 6]);

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}
