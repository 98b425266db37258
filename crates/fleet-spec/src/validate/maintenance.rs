//! `[maintenance]` and `[group.maintenance]`: when nodes may reboot and how Zincati decides to. The
//! fleet's policy is inherited by every group, which may change single keys of it; each group's resolved
//! policy is then checked and becomes the model's.

use chrono_tz::Tz;

use crate::diagnostics::shown;
use crate::model::{MaintenancePeriod, MaintenancePolicy, UpdateStrategy};
use crate::raw::{RawGroupMaintenance, RawMaintenance, RawPeriod};
use crate::read::{Field, Span};
use crate::values::{HttpUrl, RebootAllowanceMinutes, StrategyName, TimeZone, WindowMinutes};

use super::checker::Checker;
use super::inherit;

/// A maintenance policy being inherited, with where each part was set (for error locations).
#[derive(Debug, Clone)]
pub(super) struct MaintenanceDraft {
    time_zone: Tz,
    strategy: StrategyName,
    fleet_lock_url: Option<String>,
    window_minutes: u32,
    reboot_allowance_minutes: u32,
    periods: Vec<MaintenancePeriod>,
    /// Where `strategy`, `window_minutes` and the periods were set, and the table that last changed the policy.
    strategy_origin: Option<Origin>,
    window_origin: Option<Origin>,
    periods_origin: Option<Origin>,
    table_origin: Option<Origin>,
    /// Parts that could not be read: rules that need them are skipped (the problem is already reported).
    strategy_unreadable: bool,
    window_unreadable: bool,
    periods_unreadable: bool,
}

/// Where a key was written: its span and its key path.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) span: Span,
    pub(super) path: String,
}

impl MaintenanceDraft {
    pub(super) fn fleet_defaults() -> Self {
        MaintenanceDraft {
            time_zone: Tz::UTC,
            strategy: StrategyName::Periodic,
            fleet_lock_url: None,
            window_minutes: 60,
            reboot_allowance_minutes: 10,
            periods: Vec::new(),
            strategy_origin: None,
            window_origin: None,
            periods_origin: None,
            table_origin: None,
            strategy_unreadable: false,
            window_unreadable: false,
            periods_unreadable: false,
        }
    }
}

/// The keys a maintenance table may set, shared by [maintenance] and [group.maintenance].
pub(super) struct MaintenanceLevel<'a> {
    path: &'a str,
    span: Span,
    time_zone: &'a Field<TimeZone>,
    strategy: &'a Field<StrategyName>,
    fleet_lock_url: &'a Field<HttpUrl>,
    window_minutes: &'a Field<WindowMinutes>,
    reboot_allowance_minutes: &'a Field<RebootAllowanceMinutes>,
    period: &'a Field<Vec<RawPeriod>>,
}

impl RawMaintenance {
    pub(super) fn level(&self) -> MaintenanceLevel<'_> {
        MaintenanceLevel {
            path: "maintenance",
            span: self.span,
            time_zone: &self.time_zone,
            strategy: &self.strategy,
            fleet_lock_url: &self.fleet_lock_url,
            window_minutes: &self.window_minutes,
            reboot_allowance_minutes: &self.reboot_allowance_minutes,
            period: &self.period,
        }
    }
}

impl RawGroupMaintenance {
    pub(super) fn level<'a>(&'a self, path: &'a str) -> MaintenanceLevel<'a> {
        MaintenanceLevel {
            path,
            span: self.span,
            time_zone: &self.time_zone,
            strategy: &self.strategy,
            fleet_lock_url: &self.fleet_lock_url,
            window_minutes: &self.window_minutes,
            reboot_allowance_minutes: &self.reboot_allowance_minutes,
            period: &self.period,
        }
    }
}

/// Apply one maintenance table onto the policy it inherits: each key written replaces the inherited one
/// (periods as a whole), remembering where it was written for the messages of `policy`.
pub(super) fn apply(
    checker: &mut Checker<'_, '_>,
    draft: &mut MaintenanceDraft,
    level: &MaintenanceLevel<'_>,
) {
    let origin = |span: Span, key: &str| Origin {
        span,
        path: format!("{}.{key_shown}", level.path, key_shown = shown(key)),
    };
    draft.table_origin = Some(Origin {
        span: level.span,
        path: level.path.to_owned(),
    });
    inherit::most_specific(
        &mut draft.time_zone,
        level.time_zone.value().map(|zone| zone.0),
    );
    if let Some(strategy) = level.strategy.get() {
        draft.strategy = strategy.value;
        draft.strategy_origin = Some(origin(strategy.span, "strategy"));
    }
    inherit::most_specific(
        &mut draft.fleet_lock_url,
        level.fleet_lock_url.value().map(|url| Some(url.0.clone())),
    );
    if let Some(window) = level.window_minutes.get() {
        draft.window_minutes = window.value.as_u32();
        draft.window_origin = Some(origin(window.span, "window_minutes"));
    }
    inherit::most_specific(
        &mut draft.reboot_allowance_minutes,
        level
            .reboot_allowance_minutes
            .value()
            .map(|allowance| allowance.as_u32()),
    );
    draft.strategy_unreadable |= level.strategy.is_invalid() || level.fleet_lock_url.is_invalid();
    draft.window_unreadable |= level.window_minutes.is_invalid();
    match level.period {
        Field::Present(periods) => {
            let (converted, usable) = read_periods(checker, &periods.value, level.path);
            draft.periods = converted;
            draft.periods_origin = Some(origin(periods.span, "period"));
            draft.periods_unreadable = !usable;
        }
        Field::Invalid => draft.periods_unreadable = true,
        Field::Missing => {}
    }
}

/// Read `[[PATH.period]]` tables; also the container update schedule's. The periods read, and whether
/// every one could be.
pub(super) fn read_periods(
    checker: &mut Checker<'_, '_>,
    raw_periods: &[RawPeriod],
    path: &str,
) -> (Vec<MaintenancePeriod>, bool) {
    let mut periods = Vec::with_capacity(raw_periods.len());
    let mut usable = true;
    for (position, raw) in raw_periods.iter().enumerate() {
        let period_path = format!("{path}.period[{position}]");
        let days = checker.required(
            &raw.days,
            raw.span,
            &period_path,
            "days",
            ": list the days the period starts on, e.g. days = [\"Sat\", \"Sun\"]",
        );
        let days = days.and_then(|days| {
            if days.value.is_empty() {
                checker.error(
                    days.span,
                    format!("{period_path}.days: list at least one day, e.g. [\"Sat\"]"),
                );
                return None;
            }
            let mut unique = Vec::with_capacity(days.value.len());
            for day in &days.value {
                if unique.contains(&day.0) {
                    checker.error(
                        days.span,
                        format!("{period_path}.days: {} is listed twice", day.0),
                    );
                    return None;
                }
                unique.push(day.0);
            }
            Some(unique)
        });
        let start = checker
            .required(
                &raw.start,
                raw.span,
                &period_path,
                "start",
                ": the time the period opens, e.g. start = \"22:00\"",
            )
            .map(|start| start.value.0);
        let length = match (raw.length_minutes.get(), raw.end.get()) {
            (Some(_), Some(end)) => {
                checker.error(
                    end.span,
                    format!("{period_path}: give either `length_minutes` or `end`, not both"),
                );
                None
            }
            (Some(length), None) => Some(length.value.as_u32()),
            (None, Some(end)) => start.and_then(|start| {
                let start_minute = u32::from(start.hour) * 60 + u32::from(start.minute);
                let end_minute = u32::from(end.value.0.hour) * 60 + u32::from(end.value.0.minute);
                let length = (end_minute + 24 * 60 - start_minute) % (24 * 60);
                if length == 0 {
                    checker.error(
                        end.span,
                        format!("{period_path}.end: the period ends when it starts; for a whole day write length_minutes = 1440"),
                    );
                    None
                } else {
                    Some(length)
                }
            }),
            (None, None) => {
                if raw.length_minutes.is_missing() && raw.end.is_missing() {
                    checker.error(
                        raw.span,
                        format!("{period_path}: missing key `length_minutes` or `end`, e.g. length_minutes = 120"),
                    );
                }
                None
            }
        };
        match (days, start, length) {
            (Some(days), Some(start), Some(length_minutes)) => periods.push(MaintenancePeriod {
                days,
                start,
                length_minutes,
            }),
            _ => usable = false,
        }
    }
    (periods, usable)
}

/// Check a group's resolved maintenance policy and turn it into the model's.
pub(super) fn policy(
    checker: &mut Checker<'_, '_>,
    draft: &MaintenanceDraft,
    unwritten: &Origin,
) -> MaintenancePolicy {
    let policy = draft
        .strategy_origin
        .as_ref()
        .or(draft.periods_origin.as_ref())
        .or(draft.table_origin.as_ref())
        .unwrap_or(unwritten)
        .clone();
    let strategy = match draft.strategy {
        StrategyName::Periodic => {
            if !draft.strategy_unreadable && !draft.periods_unreadable && draft.periods.is_empty() {
                checker.error(
                    policy.span,
                    format!(
                        "{}: the periodic strategy needs at least one [[maintenance.period]], e.g. days = [\"Sat\"], start = \"02:00\", length_minutes = 120; or set strategy = \"immediate\"",
                        policy.path
                    ),
                );
            }
            let longest = draft
                .periods
                .iter()
                .map(|period| period.length_minutes)
                .max();
            if let Some(longest) = longest
                && !draft.window_unreadable
                && !draft.periods_unreadable
                && draft.window_minutes > longest
            {
                let window = draft.window_origin.as_ref().unwrap_or(&policy);
                checker.error(
                    window.span,
                    format!(
                        "{}: a node's window of {} minutes does not fit in any maintenance period (the longest lasts {longest} minutes)",
                        window.path, draft.window_minutes
                    ),
                );
            }
            UpdateStrategy::Periodic
        }
        StrategyName::FleetLock => match &draft.fleet_lock_url {
            Some(url) => UpdateStrategy::FleetLock {
                base_url: url.clone(),
            },
            None => {
                if !draft.strategy_unreadable {
                    checker.error(
                        policy.span,
                        format!(
                            "{}: strategy = \"fleet_lock\" needs fleet_lock_url, the FleetLock server (e.g. airlock) such as \"http://airlock.example.com:3333\"",
                            policy.path
                        ),
                    );
                }
                UpdateStrategy::FleetLock {
                    base_url: String::new(),
                }
            }
        },
        StrategyName::Immediate => UpdateStrategy::Immediate,
    };
    MaintenancePolicy {
        time_zone: draft.time_zone,
        periods: draft.periods.clone(),
        window_minutes: draft.window_minutes,
        reboot_allowance_minutes: draft.reboot_allowance_minutes,
        strategy,
    }
}
