//! The rollouts a plan is made for: the typical Fedora CoreOS rollout of every week of a fixed horizon, and,
//! per time zone, the few of them that stand for all the others.
//!
//! The assignment (roles, windows, wariness) must not depend on when fleet runs, so it is designed for the
//! typical rollout of every week at once. Two weeks whose rollouts see the zone at the same UTC offsets at
//! the same moments relative to the rollout start give the same reboot times relative to that start (the
//! throttle is the same function of the time since the start, and a window opens at the same relative
//! minute under the same offsets), so one week stands for every week of its class. docs/planner.md has the
//! argument in full.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone, Utc};

use crate::rollout::{Rollout, TYPICAL_ROLLOUT_DURATION_MINUTES};
use crate::week::MINUTES_PER_DAY;
use crate::zone::ZoneTable;

/// The first year whose weeks the assignment is made for.
pub const HORIZON_FIRST_YEAR: i32 = 2025;

/// How many years, from `HORIZON_FIRST_YEAR`, the assignment is made for. The zone database gives every
/// change explicitly to 2099; within 20 years a daylight-saving rule tied to a date rather than a weekday
/// has fallen on every weekday, so every position of a change relative to Tuesday 14:00 UTC occurs.
pub const HORIZON_YEARS: i32 = 20;

/// After a rollout starts, offsets matter this long beyond the latest eligibility and staging: a reboot
/// waits at most a week for its window, and the opening after a window already open at most another.
const LOOKAHEAD_MINUTES: i64 = 15 * MINUTES_PER_DAY;

/// The planning horizon in UTC minutes: from the start of `HORIZON_FIRST_YEAR` for `HORIZON_YEARS` years.
pub(crate) fn horizon() -> (i64, i64) {
    let year_start = |year: i32| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map_or(0, |start| Utc.from_utc_datetime(&start).timestamp() / 60)
    };
    (
        year_start(HORIZON_FIRST_YEAR),
        year_start(HORIZON_FIRST_YEAR + HORIZON_YEARS),
    )
}

/// The zone tables of the assignment cover the horizon and every rollout that starts in it.
pub(crate) fn zone_table_span(staging_minutes: i64) -> (i64, i64) {
    let (start, end) = horizon();
    (
        start - 8 * MINUTES_PER_DAY,
        end + relevant_minutes(staging_minutes) + 8 * MINUTES_PER_DAY,
    )
}

/// How long after a typical rollout's start the zone's offsets decide any reboot time.
fn relevant_minutes(staging_minutes: i64) -> i64 {
    i64::from(TYPICAL_ROLLOUT_DURATION_MINUTES) + staging_minutes.max(0) + LOOKAHEAD_MINUTES
}

/// The typical rollout of the horizon's first week: it stands for every week where no zone matters.
pub(crate) fn reference_week() -> Rollout {
    Rollout::typical_after(crate::rollout::minute_to_time(horizon().0 - 1))
}

/// The typical rollout of every week of the horizon, in order.
pub(crate) fn every_week() -> impl Iterator<Item = Rollout> {
    let (_, end) = horizon();
    let first = reference_week();
    let week_seconds = 7 * MINUTES_PER_DAY * 60;
    (0..)
        .map(move |week| Rollout {
            start: first.start + chrono::Duration::seconds(week * week_seconds),
            ..first
        })
        .take_while(move |rollout| rollout.start.timestamp() / 60 < end)
}

/// The offsets a rollout sees: the offset at its start and every change (minutes after the start, new
/// offset) within the minutes that matter.
type OffsetHistory = (i64, Vec<(i64, i64)>);

/// One rollout per class of weeks with the same offset history in `zone`, in the order their first week
/// comes; every week of the horizon has the history of one of them.
pub(crate) fn representative_weeks(zone: &ZoneTable, staging_minutes: i64) -> Vec<Rollout> {
    let relevant = relevant_minutes(staging_minutes);
    let transitions: Vec<(i64, i64)> = zone
        .transitions()
        .map(|transition| (transition.utc, transition.after))
        .collect();
    let mut seen: HashMap<OffsetHistory, ()> = HashMap::new();
    let mut representatives = Vec::new();
    for rollout in every_week() {
        let start = rollout.start_minute();
        let first_after = transitions.partition_point(|(utc, _)| *utc <= start);
        let changes: Vec<(i64, i64)> = transitions[first_after..]
            .iter()
            .take_while(|(utc, _)| *utc <= start + relevant)
            .map(|(utc, after)| (utc - start, *after))
            .collect();
        let history = (zone.offset_at(start), changes);
        if seen.insert(history, ()).is_none() {
            representatives.push(rollout);
        }
    }
    representatives
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    #[test]
    fn every_week_is_a_tuesday_afternoon_rollout() {
        let weeks: Vec<Rollout> = every_week().collect();
        // 20 years hold 1043 or 1044 Tuesdays.
        assert!((1043..=1044).contains(&weeks.len()), "{}", weeks.len());
        assert_eq!(
            weeks[0].start.to_rfc3339(),
            "2025-01-07T14:00:00+00:00",
            "the first Tuesday of 2025"
        );
        for rollout in &weeks {
            assert_eq!(rollout.start.weekday(), Weekday::Tue);
            assert_eq!(rollout.start.hour(), 14);
            assert_eq!(rollout.duration_minutes, 2880);
            assert_eq!(rollout.start_fraction, 0.0);
        }
        assert!(weeks.last().is_some_and(|last| last.start.year() == 2044));
    }

    #[test]
    fn berlin_has_summer_winter_and_weeks_with_a_change_inside() {
        let (from, to) = zone_table_span(15);
        let berlin = ZoneTable::build("Europe/Berlin".parse().unwrap(), from, to);
        let weeks = representative_weeks(&berlin, 15);
        let starts: Vec<String> = weeks
            .iter()
            .map(|rollout| rollout.start.format("%Y-%m-%d").to_string())
            .collect();
        // Winter; the spring change 11 days and then 4 days after the start; summer; the same in autumn.
        assert_eq!(
            starts,
            vec![
                "2025-01-07",
                "2025-03-18",
                "2025-03-25",
                "2025-04-01",
                "2025-10-14",
                "2025-10-21"
            ]
        );
        let utc = ZoneTable::build("UTC".parse().unwrap(), from, to);
        assert_eq!(representative_weeks(&utc, 15).len(), 1);
    }
}
