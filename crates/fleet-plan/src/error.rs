//! Everything that can make planning, Zincati fragments or placement fail, with the numbers, the remedy
//! and, for problems a line of the fleet file causes, where that line is.

use fleet_spec::Location;

/// The planner's one error type. Messages are lowercase, name the group or node, give the numbers and say
/// what to change. Problems caused by the fleet file carry the location of the group (or the key) that
/// causes them, taken from the validated fleet (`Group::declared_at`, `Fleet::declared_at`): see
/// [`PlanError::location`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("invalid rollout: {0}")]
    InvalidRollout(String),

    #[error("group {group}: the periodic strategy needs at least one maintenance period")]
    NoMaintenancePeriod { group: String, at: Location },

    #[error("{0}")]
    NotEnoughWindows(Box<WindowShortage>),

    #[error("{0}")]
    NotEnoughWindowsAfterSoak(Box<SoakWindowShortage>),

    #[error(
        "group {group}: the {strategy} strategy reboots a node as soon as its update is staged, so nothing \
         keeps its {nodes} nodes within max_unavailable {max_unavailable}; use strategy periodic or \
         fleet_lock, or set max_unavailable to {nodes}"
    )]
    UnboundedStrategy {
        group: String,
        strategy: &'static str,
        nodes: usize,
        max_unavailable: usize,
        at: Location,
    },

    #[error(
        "max_concurrent_reboots {cap} leaves no room for windows: groups that reboot outside windows may \
         already have {} down at once ({detail}); raise max_concurrent_reboots or move those groups to the \
         periodic strategy",
        count_of(*unwindowed, "node", "nodes")
    )]
    FleetCapTooSmall {
        cap: u32,
        unwindowed: u64,
        detail: String,
        /// Where `max_concurrent_reboots` is set.
        at: Location,
    },

    #[error(
        "group {group}: the fleet-wide max_concurrent_reboots {cap} leaves room for {placed} of the \
         {} it needs beside the groups planned before it ({earlier}); raise max_concurrent_reboots, give \
         the groups different maintenance periods or lower max_unavailable",
        count_of(*needed as u64, "window", "windows")
    )]
    FleetCapExceeded {
        group: String,
        cap: u32,
        placed: usize,
        needed: usize,
        earlier: String,
        at: Location,
    },

    #[error("{0}")]
    SoakImpossible(Box<SoakShortage>),

    #[error("{0}")]
    NotEnoughContainerUpdateSlots(Box<ContainerSlotShortage>),

    #[error(
        "node {node}: its pinned rollout_wariness {wariness} lets it see the release at {eligible}, before \
         the canaries of group {group} finish soaking at {soak_end}, in a typical rollout (Tuesday 14:00 UTC \
         over 48 hours); raise it to at least {minimum} or remove the pin"
    )]
    PinnedWarinessTooEager {
        node: String,
        group: String,
        wariness: f64,
        eligible: String,
        soak_end: String,
        minimum: f64,
        /// The node's group.
        at: Location,
    },

    #[error("node {node}: Zincati would reject its configuration: {reason}")]
    ZincatiWouldReject { node: String, reason: String },

    #[error("no group uses the fleet_lock strategy, so there is no airlock configuration to write")]
    NoFleetLockGroup,

    #[error(
        "groups using fleet_lock name different base_url values ({urls}); one airlock configuration serves \
         one URL: give them the same base_url"
    )]
    SeveralFleetLockUrls { urls: String },

    #[error("fleet_lock base_url {url:?} is not an http:// or https:// URL with a host")]
    InvalidFleetLockUrl { url: String },

    #[error(
        "node {node} is pinned to host {host}, which the fleet does not define (hosts: {known})"
    )]
    UnknownHost {
        node: String,
        host: String,
        known: String,
        /// The node's group.
        at: Location,
    },

    #[error(
        "host {host}: its {resource} capacity is not in fleet.toml and was not read from the host; set \
         capacity.{resource} under [[host]] or let fleet read it through libvirt"
    )]
    UnknownCapacity {
        host: String,
        resource: &'static str,
    },

    #[error("node {node} ({needs}) fits on no host: {reasons}; {remedy}")]
    DoesNotFit {
        node: String,
        needs: String,
        reasons: String,
        remedy: String,
        /// The node's group.
        at: Location,
    },

    #[error("node {node} is pinned to host {host} but {reason}")]
    PinnedHostConflict {
        node: String,
        host: String,
        reason: String,
        /// The node's group.
        at: Location,
    },

    #[error("{}", join_lines(.0))]
    Several(Vec<PlanError>),
}

fn join_lines(errors: &[PlanError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlanError {
    /// One error for one problem, `Several` for more.
    pub(crate) fn from_list(mut errors: Vec<PlanError>) -> Option<PlanError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(PlanError::Several(errors)),
        }
    }

    /// One error for one problem, `Several` for more (callers pass at least one).
    pub(crate) fn all(mut errors: Vec<PlanError>) -> PlanError {
        if errors.len() == 1
            && let Some(error) = errors.pop()
        {
            return error;
        }
        PlanError::Several(errors)
    }

    /// Every single problem, flattening `Several`.
    pub fn problems(&self) -> Vec<&PlanError> {
        match self {
            PlanError::Several(errors) => errors.iter().flat_map(PlanError::problems).collect(),
            single => vec![single],
        }
    }

    /// Where in the fleet file the problem comes from: the group (or the fleet-wide key) that causes it.
    /// `None` for problems of the command line (a rollout, an airlock file) and for `Several`.
    pub fn location(&self) -> Option<Location> {
        match self {
            PlanError::NoMaintenancePeriod { at, .. }
            | PlanError::UnboundedStrategy { at, .. }
            | PlanError::FleetCapTooSmall { at, .. }
            | PlanError::FleetCapExceeded { at, .. }
            | PlanError::PinnedWarinessTooEager { at, .. }
            | PlanError::UnknownHost { at, .. }
            | PlanError::DoesNotFit { at, .. }
            | PlanError::PinnedHostConflict { at, .. } => Some(*at),
            PlanError::NotEnoughWindows(shortage) => Some(shortage.at),
            PlanError::NotEnoughWindowsAfterSoak(shortage) => Some(shortage.at),
            PlanError::SoakImpossible(shortage) => Some(shortage.at),
            PlanError::NotEnoughContainerUpdateSlots(shortage) => Some(shortage.at),
            PlanError::InvalidRollout(_)
            | PlanError::ZincatiWouldReject { .. }
            | PlanError::NoFleetLockGroup
            | PlanError::SeveralFleetLockUrls { .. }
            | PlanError::InvalidFleetLockUrl { .. }
            | PlanError::UnknownCapacity { .. }
            | PlanError::Several(_) => None,
        }
    }
}

/// `1 node`, `2 nodes`: a count with its noun, singular or plural.
pub(crate) fn count_of(count: impl Into<u64>, singular: &str, plural: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// A group needs more disjoint windows than its maintenance periods hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "group {group}: {} at max_unavailable {max_unavailable} need{} {} {}{canary_note}; {periods} with \
     {window_minutes}-minute windows and a {allowance_minutes}-minute allowance {hold} {available}{left_out_note}; \
     widen the period, shorten the windows or raise max_unavailable",
    count_of(*nodes as u64, "node", "nodes"),
    if *nodes == 1 { "s" } else { "" },
    needed,
    if *needed == 1 { "window" } else { "disjoint windows" }
)]
pub struct WindowShortage {
    pub group: String,
    pub nodes: usize,
    pub max_unavailable: usize,
    pub needed: usize,
    /// Explains why canaries need windows of their own, or empty.
    pub canary_note: String,
    /// `the maintenance period Tue–Thu 01:00–05:00 (Europe/Berlin)` or `the maintenance periods ...`.
    pub periods: String,
    pub window_minutes: u32,
    pub allowance_minutes: u32,
    /// `holds` or `hold`.
    pub hold: &'static str,
    pub available: usize,
    /// Names the daylight-saving spans left out, or empty.
    pub left_out_note: String,
    /// The group.
    pub at: Location,
}

/// Enough windows in all, but too few of them open after the canaries have soaked for every cautious node
/// to reboot after that.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "group {group}: the canaries are back and have soaked by {soak_end} in a typical rollout (Tuesday 14:00 \
     UTC over 48 hours), and only {safe} of the group's windows open after that before the next rollout; \
     its {} at max_unavailable {max_unavailable} need {}; widen the maintenance periods, shorten \
     soak_minutes or window_minutes, or raise max_unavailable",
    count_of(*cautious as u64, "cautious node", "cautious nodes"),
    count_of(*needed as u64, "window", "windows")
)]
pub struct SoakWindowShortage {
    pub group: String,
    pub soak_end: String,
    /// Windows (or same-time window classes) that open after the soak.
    pub safe: usize,
    pub cautious: usize,
    pub max_unavailable: usize,
    pub needed: usize,
    /// The group.
    pub at: Location,
}

/// In a typical rollout the canaries' soak ends after the last moment the rollout can hold cautious nodes back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "group {group}: the cautious nodes cannot wait out the canaries' soak in a typical rollout (Tuesday \
     14:00 UTC over 48 hours): the canaries are back by {canaries_back} and soak {soak_minutes} minutes until \
     {soak_end}, but even at rollout_wariness 1.0 a node sees the release at {latest_eligible}{window_note}; \
     {remedy}"
)]
pub struct SoakShortage {
    pub group: String,
    pub canaries_back: String,
    pub soak_minutes: u32,
    pub soak_end: String,
    pub latest_eligible: String,
    /// For window-based groups, why no window helps; otherwise empty.
    pub window_note: String,
    /// What to change.
    pub remedy: &'static str,
    /// The group.
    pub at: Location,
}

/// A group's container update schedule holds too few slots for its nodes with auto-updated containers
/// under its bound, canaries first and the soak before the cautious nodes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "group {group}: {} with auto-updated containers at max_unavailable {max_unavailable} need {} \
     ({canary_slots} for canaries, then the {soak_minutes}-minute soak, then {cautious_slots} for cautious \
     nodes); {periods} with {window_minutes}-minute slots {hold} {available}{after_soak_note}; widen the \
     periods, shorten window_minutes or soak_minutes, or raise max_unavailable",
    count_of(*nodes as u64, "node", "nodes"),
    count_of(*needed as u64, "container update slot", "disjoint container update slots")
)]
pub struct ContainerSlotShortage {
    pub group: String,
    pub nodes: usize,
    pub max_unavailable: usize,
    pub needed: usize,
    pub canary_slots: usize,
    pub cautious_slots: usize,
    pub soak_minutes: u32,
    /// `the container update period Tue,Thu 03:00–04:00 (Europe/Berlin)` or `... periods ...`.
    pub periods: String,
    pub window_minutes: u32,
    /// `holds` or `hold`.
    pub hold: &'static str,
    pub available: usize,
    /// How many slots start after the soak, when that is what is short; or empty.
    pub after_soak_note: String,
    /// Where the schedule's periods are written.
    pub at: Location,
}
