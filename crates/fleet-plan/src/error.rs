//! Everything that can make planning, Zincati fragments or placement fail, with the numbers and the remedy.

/// The planner's one error type. Messages are lowercase, name the group or node, give the numbers and say
/// what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("invalid rollout: {0}")]
    InvalidRollout(String),

    #[error("group {group}: the periodic strategy needs at least one maintenance period")]
    NoMaintenancePeriod { group: String },

    #[error(
        "group {group}: window_minutes {window_minutes} is shorter than Zincati's re-check of a staged \
         update (every 5.5 minutes), so a window could pass unseen; use windows of at least 5 minutes"
    )]
    WindowTooShort { group: String, window_minutes: u32 },

    #[error("{0}")]
    NotEnoughWindows(Box<WindowShortage>),

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
    },

    #[error(
        "max_concurrent_reboots {cap} leaves no room for windows: groups that reboot outside windows may \
         already have {unwindowed} nodes down at once ({detail}); raise max_concurrent_reboots or move \
         those groups to the periodic strategy"
    )]
    FleetCapTooSmall {
        cap: u32,
        unwindowed: u64,
        detail: String,
    },

    #[error(
        "group {group}: the fleet-wide max_concurrent_reboots {cap} leaves room for {placed} of the \
         {needed} windows it needs beside the groups planned before it ({earlier}); raise \
         max_concurrent_reboots, give the groups different maintenance periods or lower max_unavailable"
    )]
    FleetCapExceeded {
        group: String,
        cap: u32,
        placed: usize,
        needed: usize,
        earlier: String,
    },

    #[error("{0}")]
    SoakImpossible(Box<SoakShortage>),

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
    },

    #[error("node {node} is pinned to host {host} but {reason}")]
    PinnedHostConflict {
        node: String,
        host: String,
        reason: String,
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

    /// Every single problem, flattening `Several`.
    pub fn problems(&self) -> Vec<&PlanError> {
        match self {
            PlanError::Several(errors) => errors.iter().flat_map(PlanError::problems).collect(),
            single => vec![single],
        }
    }
}

/// A group needs more disjoint windows than its maintenance periods hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "group {group}: {nodes} nodes at max_unavailable {max_unavailable} need {needed} disjoint \
     windows{canary_note}; {periods} with {window_minutes}-minute windows and a {allowance_minutes}-minute \
     allowance {hold} {available}{left_out_note}; widen the period, shorten the windows or raise max_unavailable"
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
}
