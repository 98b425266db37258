//! The rollout planner: canary and cautious roles, Zincati reboot windows that bound unavailability, reboot prediction and host placement. Pure: no clock, no I/O, no libvirt.
//!
//! [`plan`] turns a validated [`fleet_spec::Fleet`] into a [`Plan`] (what every node receives, from the fleet
//! alone); [`predict`] says what a plan means in one [`Rollout`]; [`zincati_fragments`] writes a node's plan
//! as Zincati configuration fragments; [`place`] puts nodes on hosts.
//! docs/planner.md explains every rule.

// A library reports through return values and event callbacks; only the binaries print
// (docs/ARCHITECTURE.md; tests/tests/architecture.rs runs clippy with these lints denied).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod container_update_schedule;
mod container_updates;
mod error;
mod name_index;
mod placement;
mod planner;
mod prediction;
mod reboot_load;
mod roles;
mod rollout;
mod slots;
mod typical;
mod week;
mod zincati;
mod zone;

pub use container_updates::ContainerUpdateTime;
pub use error::{
    ContainerSlotShortage, PlanError, SoakShortage, SoakWindowShortage, WindowShortage,
};
pub use fleet_spec::MIN_WINDOW_MINUTES;
pub use placement::{
    Capacity, HostUsage, Move, MoveReason, PlaceOptions, Placement, PlacementPlan, Resources,
    UnknownCapacity, place,
};
pub use planner::{
    CANARY_WARINESS, CAUTIOUS_MIN_WARINESS, DEFAULT_STAGING_ALLOWANCE_MINUTES,
    ELIGIBILITY_LEAD_MINUTES, GroupPlan, NodePlan, Plan, PlannedStrategy, WINDOW_ALIGNMENT_MINUTES,
    ZINCATI_RECHECK_MINUTES, plan,
};
pub use prediction::{
    GroupPrediction, NodePrediction, PredictOptions, Prediction, RolloutWarning, predict,
};
pub use roles::{assign_roles, canary_count};
pub use rollout::{
    Rollout, TYPICAL_ROLLOUT_DURATION_MINUTES, TYPICAL_ROLLOUT_HOUR_UTC, TYPICAL_ROLLOUT_WEEKDAY,
};
pub use typical::{HORIZON_FIRST_YEAR, HORIZON_YEARS};
pub use week::{ZincatiWindow, day_abbreviation, days_label};
pub use zincati::{
    AirlockOptions, GROUP_FRAGMENT, STRATEGY_FRAGMENT, WARINESS_FRAGMENT, ZINCATI_CONFIG_DIR,
    ZincatiFragment, airlock_config, zincati_fragments,
};
