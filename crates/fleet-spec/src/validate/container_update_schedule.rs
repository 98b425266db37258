//! `[container_updates]` and `[group.container_updates]`: a schedule of its own for container updates,
//! apart from the reboot windows. Inherited key by key like `[maintenance]`, its periods read and checked
//! by the maintenance period reader.

use chrono_tz::Tz;

use crate::diagnostics::shown;
use crate::model::{ContainerUpdateSchedule, DEFAULT_CONTAINER_UPDATE_MINUTES, MaintenancePeriod};
use crate::raw::RawContainerUpdates;
use crate::read::{Field, Span};

use super::checker::Checker;
use super::inherit;
use super::maintenance::{Origin, read_periods};

/// A schedule being inherited, with where each part was set (for error locations).
#[derive(Debug, Clone)]
pub(super) struct ScheduleDraft {
    /// `None`: the maintenance time zone.
    time_zone: Option<Tz>,
    window_minutes: u32,
    periods: Vec<MaintenancePeriod>,
    window_origin: Option<Origin>,
    periods_origin: Option<Origin>,
    /// The table that last changed the schedule; none: the fleet has no schedule.
    table_origin: Option<Origin>,
    /// Parts that could not be read (already reported): the rules that need them are skipped.
    window_unreadable: bool,
    periods_unreadable: bool,
}

impl ScheduleDraft {
    pub(super) fn fleet_defaults() -> Self {
        ScheduleDraft {
            time_zone: None,
            window_minutes: DEFAULT_CONTAINER_UPDATE_MINUTES,
            periods: Vec::new(),
            window_origin: None,
            periods_origin: None,
            table_origin: None,
            window_unreadable: false,
            periods_unreadable: false,
        }
    }
}

/// Apply one `container_updates` table (at `path`) onto the schedule it inherits: each key written
/// replaces the inherited one, the periods as a whole.
pub(super) fn apply(
    checker: &mut Checker<'_, '_>,
    draft: &mut ScheduleDraft,
    raw: &RawContainerUpdates,
    path: &str,
) {
    let origin = |span: Span, key: &str| Origin {
        span,
        path: format!("{path}.{key_shown}", key_shown = shown(key)),
    };
    draft.table_origin = Some(Origin {
        span: raw.span,
        path: path.to_owned(),
    });
    inherit::most_specific(
        &mut draft.time_zone,
        raw.time_zone.value().map(|zone| Some(zone.0)),
    );
    if let Some(window) = raw.window_minutes.get() {
        draft.window_minutes = window.value.as_u32();
        draft.window_origin = Some(origin(window.span, "window_minutes"));
    }
    draft.window_unreadable |= raw.window_minutes.is_invalid();
    match &raw.period {
        Field::Present(periods) => {
            let (converted, usable) = read_periods(checker, &periods.value, path);
            draft.periods = converted;
            draft.periods_origin = Some(origin(periods.span, "period"));
            draft.periods_unreadable = !usable;
        }
        Field::Invalid => draft.periods_unreadable = true,
        Field::Missing => {}
    }
}

/// Check a group's resolved schedule and turn it into the model's: none when no table sets one.
pub(super) fn schedule(
    checker: &mut Checker<'_, '_>,
    draft: &ScheduleDraft,
    maintenance_zone: Tz,
) -> Option<ContainerUpdateSchedule> {
    let table = draft.table_origin.as_ref()?;
    if draft.periods_unreadable {
        return None;
    }
    let Some(periods) = draft
        .periods_origin
        .as_ref()
        .filter(|_| !draft.periods.is_empty())
    else {
        checker.error(
            table.span,
            format!(
                "{}: a container update schedule needs at least one [[{}.period]], e.g. days = [\"Tue\", \"Thu\"], start = \"03:00\", length_minutes = 60",
                table.path, table.path
            ),
        );
        return None;
    };
    let longest = draft
        .periods
        .iter()
        .map(|period| period.length_minutes)
        .max()
        .unwrap_or(0);
    if !draft.window_unreadable && draft.window_minutes > longest {
        let window = draft.window_origin.as_ref().unwrap_or(periods);
        checker.error(
            window.span,
            format!(
                "{}: a node's container update slot of {} minutes does not fit in any container update period (the longest lasts {longest} minutes)",
                window.path, draft.window_minutes
            ),
        );
        return None;
    }
    Some(ContainerUpdateSchedule {
        time_zone: draft.time_zone.unwrap_or(maintenance_zone),
        periods: draft.periods.clone(),
        window_minutes: draft.window_minutes,
        declared_at: checker.location(periods.span),
    })
}
