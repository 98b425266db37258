//! What the engine tells its caller: progress events while it works, and per-node reports when it is done.

use std::fmt;
use std::net::IpAddr;

use crate::domain_xml::Hypervisor;
use crate::error::Error;

/// One step of a node's deployment or teardown, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Looking at what exists for the node.
    Observe,
    /// Defining the domain. It comes first: the domain, marked as this fleet's node, is what shows
    /// later that the volumes it refers to are fleet's (see `volume_ownership`).
    Define,
    /// Creating the qcow2 overlay.
    Volume,
    /// Creating the Ignition volume and putting the rendered config into it.
    Ignition,
    /// Adding the DHCP host reservation.
    Reservation,
    /// Starting the domain.
    Start,
    /// The domain runs; fleet marks it complete.
    Running,
    /// Applying non-destructive repairs (autostart, metadata, a missing Ignition volume, a reservation).
    Repair,
    /// Stopping and undefining the domain (teardown, or the first half of a replace).
    Remove,
    /// Deleting the node's volumes and reservation (teardown).
    Cleanup,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Observe => "observe",
            Step::Volume => "volume",
            Step::Ignition => "ignition",
            Step::Reservation => "reservation",
            Step::Define => "define",
            Step::Start => "start",
            Step::Running => "running",
            Step::Repair => "repair",
            Step::Remove => "remove",
            Step::Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-host preparation before any node on it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostStep {
    /// Checking the network, the pool and the hypervisor type.
    Inspect,
    /// Defining, building and starting the storage pool.
    CreatePool,
    /// Uploading the base image into the pool (can take a while: the whole image crosses the wire).
    ImportImage,
    /// Listing the domains fleet owns on the host.
    Scan,
}

/// Progress, reported as it happens (from several threads: the callback must be `Sync`).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    HostStep {
        host: &'a str,
        step: HostStep,
    },
    /// A host is ready, or failed (then every node on it fails with the same reason).
    HostReady {
        host: &'a str,
        error: Option<&'a Error>,
    },
    /// Work on a node began; `action` is what fleet decided to do.
    NodeStarted {
        node: &'a str,
        host: &'a str,
        action: Option<&'a Action>,
    },
    NodeStep {
        node: &'a str,
        host: &'a str,
        step: Step,
    },
    NodeFinished {
        node: &'a str,
        host: &'a str,
    },
    NodeFailed {
        node: &'a str,
        host: &'a str,
        step: Step,
        error: &'a Error,
    },
}

/// A setting in which a node differs from what the fleet wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The rendered Ignition (compared by sha256).
    Ignition,
    Vcpus,
    MemoryMib,
    DiskGib,
    /// The overlay volume the domain boots from.
    Disk,
    /// The base image the overlay was made from (its backing file) is not the one the fleet names.
    Image,
    Mac,
    Network,
    DomainType,
    DirectKernelBoot,
    /// The node runs on another host than the one it is placed on.
    Host,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Ignition => "ignition",
            Field::Vcpus => "vcpus",
            Field::MemoryMib => "memory_mib",
            Field::DiskGib => "disk_gib",
            Field::Disk => "disk",
            Field::Image => "image",
            Field::Mac => "mac",
            Field::Network => "network",
            Field::DomainType => "domain_type",
            Field::DirectKernelBoot => "direct_kernel_boot",
            Field::Host => "host",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference: the field, what the fleet wants, what libvirt has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Difference {
    pub field: Field,
    pub desired: String,
    pub observed: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → {}", self.field, self.observed, self.desired)
    }
}

/// A non-destructive fix fleet applies to an otherwise unchanged node without `replace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Repair {
    /// Start a domain fleet defined but never saw started (a run interrupted before the start).
    Start,
    /// Turn autostart back on.
    Autostart,
    /// Make a transient domain persistent again.
    Persist,
    /// Create the overlay of a domain fleet defined but never saw started (a run interrupted
    /// between the definition and the disk).
    Overlay,
    /// Put the Ignition volume back (the domain cannot cold-start without its fw_cfg file).
    IgnitionVolume,
    /// Add or correct the node's DHCP host reservation.
    Reservation,
    /// Rewrite fleet's metadata (its settings hash is stale, every setting matches).
    Metadata,
}

impl Repair {
    pub fn as_str(self) -> &'static str {
        match self {
            Repair::Start => "start",
            Repair::Autostart => "autostart",
            Repair::Persist => "persist",
            Repair::Overlay => "overlay",
            Repair::IgnitionVolume => "ignition volume",
            Repair::Reservation => "dhcp reservation",
            Repair::Metadata => "metadata",
        }
    }
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What deploy decided for a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing (or only a half-made piece of an earlier run) exists: create it.
    Create,
    /// Exists as desired: leave it alone.
    Unchanged,
    /// Exists as desired apart from things fixed in place.
    Repair(Vec<Repair>),
    /// Differs from what the fleet wants; left alone because `replace` was not asked for.
    Changed(Vec<Difference>),
    /// Differs and is rebuilt (teardown, then create) because `replace` was asked for.
    Replace(Vec<Difference>),
    /// A domain of the same name exists that fleet does not own: nothing is touched.
    Conflict,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Unchanged => "unchanged",
            Action::Repair(_) => "repair",
            Action::Changed(_) => "changed",
            Action::Replace(_) => "replace",
            Action::Conflict => "conflict",
        }
    }

    /// Whether carrying out the action modifies libvirt.
    pub fn modifies(&self) -> bool {
        matches!(
            self,
            Action::Create | Action::Repair(_) | Action::Replace(_)
        )
    }
}

/// How a node's action ended.
#[derive(Debug)]
pub enum DeployOutcome {
    /// Dry run: the action was decided, nothing was done.
    Planned,
    /// The action was carried out (or there was nothing to do).
    Done,
    /// The action failed at `step`; what the node's run had created was removed again.
    Failed { step: Step, error: Error },
}

impl DeployOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, DeployOutcome::Failed { .. })
    }
}

/// One node's line in a deploy report.
#[derive(Debug)]
pub struct NodeReport {
    pub node: String,
    pub host: String,
    /// `None` when the node could not even be observed (its host is unreachable).
    pub action: Option<Action>,
    pub outcome: DeployOutcome,
}

/// What happened on one host before its nodes were handled.
#[derive(Debug)]
pub struct HostReport {
    pub host: String,
    pub uri: String,
    /// The hypervisor domains are defined with on this host (`auto` resolved).
    pub hypervisor: Option<Hypervisor>,
    /// The pool was missing (and, unless dry run, has been created).
    pub pool_created: bool,
    /// The base image was missing or incomplete (and, unless dry run, has been imported).
    pub image_imported: bool,
    pub error: Option<Error>,
}

/// The result of `deploy`.
#[derive(Debug)]
pub struct DeployReport {
    pub dry_run: bool,
    pub hosts: Vec<HostReport>,
    /// In the order of the desired nodes.
    pub nodes: Vec<NodeReport>,
    /// This fleet's domains no desired node accounts for, sorted by host, then domain; deploy
    /// never touches them. Listed when the hosts were scanned (several hosts, or a dry run).
    pub strays: Vec<StrayDomain>,
}

impl DeployReport {
    pub fn failed_nodes(&self) -> usize {
        self.nodes
            .iter()
            .filter(|node| node.outcome.is_failure())
            .count()
    }
}

/// A domain's run state as libvirt reports it, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// No domain with the node's name on its host.
    Missing,
    Running,
    Paused,
    ShutOff,
    ShuttingDown,
    Crashed,
    Suspended,
    Other,
    /// A domain with the node's name exists but is not this fleet's.
    Foreign,
    /// The host could not be reached or read.
    Unknown,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Missing => "missing",
            NodeState::Running => "running",
            NodeState::Paused => "paused",
            NodeState::ShutOff => "shut off",
            NodeState::ShuttingDown => "shutting down",
            NodeState::Crashed => "crashed",
            NodeState::Suspended => "suspended",
            NodeState::Other => "other",
            NodeState::Foreign => "foreign",
            NodeState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a node's address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressSource {
    /// The libvirt network's DHCP lease for the node's MAC.
    Lease,
    /// The DHCP host reservation fleet made (the guest may not have asked for it yet).
    Reservation,
}

/// One node in a status report.
#[derive(Debug)]
pub struct NodeStatus {
    pub node: String,
    pub host: String,
    pub state: NodeState,
    /// Empty when the node is as desired (or missing).
    pub drift: Vec<Difference>,
    /// Fixes the next deploy would apply in place.
    pub repairs: Vec<Repair>,
    pub address: Option<(IpAddr, AddressSource)>,
    /// The Fedora CoreOS release the node's domain was created from, when fleet knew it then (the
    /// image had the record `fleet image pull` writes).
    pub release: Option<String>,
    /// Why the node could not be fully read.
    pub error: Option<Error>,
    /// The last line of the node's serial console log that holds `StatusOptions::console_marker`
    /// (`None`: no such line, or no log yet), or why the log could not be read. One line, not the
    /// log: a million nodes' status stays small.
    pub console_line: Result<Option<String>, Error>,
}

/// A domain of this fleet that no desired node accounts for (removed from fleet.toml, or moved away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayDomain {
    pub host: String,
    pub domain: String,
    pub state: NodeState,
}

/// The result of `status`.
#[derive(Debug)]
pub struct StatusReport {
    pub hosts: Vec<HostReport>,
    /// In the order of the desired nodes.
    pub nodes: Vec<NodeStatus>,
    /// Sorted by host, then domain.
    pub strays: Vec<StrayDomain>,
}

/// What destroy did for one node (or stray domain) on one host.
#[derive(Debug)]
pub struct TeardownReport {
    pub node: String,
    pub host: String,
    /// A domain existed and was removed.
    pub removed_domain: bool,
    /// Volumes deleted (overlay, Ignition, console log).
    pub deleted_volumes: Vec<String>,
    pub removed_reservation: bool,
    /// `None` on success. A foreign domain of the node's name is reported here and left alone.
    pub error: Option<Error>,
}

/// The result of `destroy`.
#[derive(Debug)]
pub struct DestroyReport {
    pub hosts: Vec<HostReport>,
    /// Desired nodes in order, then strays sorted by host and name.
    pub nodes: Vec<TeardownReport>,
    /// Base images deleted with `purge_image`, as (host, volume).
    pub purged_images: Vec<(String, String)>,
    /// Volumes named for the fleet (or, with `purge_image`, base images) that destroy left alone,
    /// and why: fleet deletes only what it can prove it made and nothing another domain uses.
    pub kept_volumes: Vec<KeptVolume>,
    /// Pools removed because a whole-fleet purge left them empty, as (host, pool).
    pub removed_pools: Vec<(String, String)>,
}

impl DestroyReport {
    pub fn failed_nodes(&self) -> usize {
        self.nodes
            .iter()
            .filter(|node| node.error.is_some())
            .count()
            + self
                .hosts
                .iter()
                .filter(|host| host.error.is_some())
                .count()
    }
}

/// A volume destroy did not delete although its name looks like fleet's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptVolume {
    pub host: String,
    pub volume: String,
    pub reason: KeptReason,
}

/// Why fleet leaves a volume alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptReason {
    /// Domains other than the node's own refer to it.
    InUse { domains: Vec<String> },
    /// No domain of the fleet refers to it, so nothing shows that fleet made it.
    Unproven { fleet: String },
    /// A base image other volumes are still backed by.
    BacksVolumes { volumes: Vec<String> },
    /// A base image that is neither the fleet's image nor one its destroyed nodes were made from.
    NotThisFleetsImage { fleet: String },
    /// Named for an image fleet imports, but holding other bytes and not left half-imported by fleet.
    OtherContent,
}

impl fmt::Display for KeptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeptReason::InUse { domains } => write!(
                f,
                "domain{} {} use{} it",
                if domains.len() == 1 { "" } else { "s" },
                domains.join(", "),
                if domains.len() == 1 { "s" } else { "" }
            ),
            KeptReason::Unproven { fleet } => write!(
                f,
                "no domain of fleet {fleet} refers to it, so fleet cannot tell that it made it"
            ),
            KeptReason::BacksVolumes { volumes } => {
                write!(f, "it is the base image of {}", volumes.join(", "))
            }
            KeptReason::NotThisFleetsImage { fleet } => write!(
                f,
                "it is neither the image fleet {fleet} names nor one its destroyed nodes were made from"
            ),
            KeptReason::OtherContent => write!(
                f,
                "its first bytes are neither the image's nor the zeros of an import fleet left unfinished"
            ),
        }
    }
}
