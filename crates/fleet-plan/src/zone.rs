//! A time zone's UTC offsets over a bounded horizon, for reasoning about real instants while Zincati
//! evaluates windows on the local wall clock (skipped minutes at spring-forward, a repeated hour at fall-back).
//!
//! Times are whole minutes since the Unix epoch: `utc` on the real timeline, `local` on the zone's wall clock.

use chrono::{DateTime, Offset, TimeZone};
use fleet_spec::Tz;

use crate::week::{MINUTES_PER_HOUR, WeekSpan, minute_of_week};

/// From this offset on (in UTC minutes), the zone's wall clock is `utc + offset_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start_utc: i64,
    offset_minutes: i64,
}

/// One change of offset: at `utc` the wall clock jumps from `utc + before` to `utc + after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) utc: i64,
    pub(crate) before: i64,
    pub(crate) after: i64,
}

/// The offsets of one zone between two instants; before the first and after the last known change the
/// outermost offsets are assumed to hold.
#[derive(Debug, Clone)]
pub(crate) struct ZoneTable {
    pub(crate) zone: Tz,
    /// Never empty; the first segment extends to the distant past, the last to the distant future.
    segments: Vec<Segment>,
}

/// How far apart the zone database is sampled when looking for offset changes. No zone changes its offset
/// twice within a day (rules put changes weeks or months apart; a unit test checks the zones with the most
/// unusual rules hour by hour), and a change between two samples is found to the minute by bisection.
const SCAN_STEP_MINUTES: i64 = 24 * MINUTES_PER_HOUR;

impl ZoneTable {
    /// Scan `zone` between `from_utc` and `to_utc`, pinning every change to its minute.
    pub(crate) fn build(zone: Tz, from_utc: i64, to_utc: i64) -> Self {
        Self::build_with_step(zone, from_utc, to_utc, SCAN_STEP_MINUTES)
    }

    fn build_with_step(zone: Tz, from_utc: i64, to_utc: i64, step_minutes: i64) -> Self {
        let mut segments = vec![Segment {
            start_utc: i64::MIN,
            offset_minutes: offset_at(zone, from_utc),
        }];
        let mut previous_time = from_utc;
        let mut previous_offset = segments[0].offset_minutes;
        let mut time = from_utc;
        while time < to_utc {
            time = (time + step_minutes).min(to_utc);
            let offset = offset_at(zone, time);
            if offset != previous_offset {
                // The change lies in (previous_time, time]: find its first minute.
                let (mut low, mut high) = (previous_time, time);
                while high - low > 1 {
                    let middle = low + (high - low) / 2;
                    if offset_at(zone, middle) == previous_offset {
                        low = middle;
                    } else {
                        high = middle;
                    }
                }
                segments.push(Segment {
                    start_utc: high,
                    offset_minutes: offset,
                });
                previous_offset = offset;
            }
            previous_time = time;
        }
        ZoneTable { zone, segments }
    }

    pub(crate) fn offset_at(&self, utc: i64) -> i64 {
        self.segments[self.segment_index(utc)].offset_minutes
    }

    fn segment_index(&self, utc: i64) -> usize {
        self.segments
            .partition_point(|segment| segment.start_utc <= utc)
            .saturating_sub(1)
    }

    pub(crate) fn transitions(&self) -> impl Iterator<Item = Transition> + '_ {
        self.segments.windows(2).map(|pair| Transition {
            utc: pair[1].start_utc,
            before: pair[0].offset_minutes,
            after: pair[1].offset_minutes,
        })
    }

    /// The distinct offsets the zone takes within the horizon.
    #[cfg(test)]
    pub(crate) fn offsets(&self) -> Vec<i64> {
        let mut offsets: Vec<i64> = self
            .segments
            .iter()
            .map(|segment| segment.offset_minutes)
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }

    /// The first minute at or after `from_utc` whose wall-clock minute lies in one of `spans`,
    /// exactly as Zincati decides (it converts "now" to the zone's wall clock and looks the minute up).
    pub(crate) fn first_admitted_minute(&self, spans: &[WeekSpan], from_utc: i64) -> Option<i64> {
        if spans.is_empty() {
            return None;
        }
        let mut index = self.segment_index(from_utc);
        let mut time = from_utc;
        loop {
            let segment = self.segments[index];
            let segment_end = self
                .segments
                .get(index + 1)
                .map_or(i64::MAX, |next| next.start_utc);
            let wall_minute = minute_of_week(time + segment.offset_minutes);
            let wait = spans
                .iter()
                .map(|span| {
                    if span.contains(wall_minute) {
                        0
                    } else {
                        span.minutes_until_start(wall_minute)
                    }
                })
                .min()
                .unwrap_or(0);
            let candidate = time.saturating_add(wait);
            if candidate < segment_end {
                return Some(candidate);
            }
            index += 1;
            time = segment_end;
        }
    }

    /// Whether Zincati would let the node reboot at minute `utc`.
    pub(crate) fn admits(&self, spans: &[WeekSpan], utc: i64) -> bool {
        let wall_minute = minute_of_week(utc + self.offset_at(utc));
        spans.iter().any(|span| span.contains(wall_minute))
    }

    /// The first minute at or after `from_utc` that Zincati does not admit (`None` if it admits every minute).
    pub(crate) fn first_unadmitted_minute(&self, spans: &[WeekSpan], from_utc: i64) -> Option<i64> {
        let mut time = from_utc;
        // Each step leaves one span occurrence or crosses one offset change; a week of steps is plenty.
        for _ in 0..(4 * spans.len() + 16) {
            if !self.admits(spans, time) {
                return Some(time);
            }
            let index = self.segment_index(time);
            let segment_end = self
                .segments
                .get(index + 1)
                .map_or(i64::MAX, |next| next.start_utc);
            let wall_minute = minute_of_week(time + self.segments[index].offset_minutes);
            let leave = spans
                .iter()
                .filter(|span| span.contains(wall_minute))
                .map(|span| {
                    span.length
                        - (wall_minute - span.start).rem_euclid(crate::week::MINUTES_PER_WEEK)
                })
                .min()
                .unwrap_or(1)
                .max(1);
            time = time.saturating_add(leave).min(segment_end);
        }
        None
    }

    /// The first minute at or after `from_utc` at which one of `spans` opens on the wall clock: admitted,
    /// with the minute before it not admitted. A node staged before this minute reboots in that window.
    pub(crate) fn first_opening_minute(&self, spans: &[WeekSpan], from_utc: i64) -> Option<i64> {
        let first = self.first_admitted_minute(spans, from_utc)?;
        if first > from_utc || !self.admits(spans, first - 1) {
            return Some(first);
        }
        let after = self.first_unadmitted_minute(spans, first)?;
        self.first_admitted_minute(spans, after)
    }

    /// The wall-clock spans of the week that a transition makes unsafe: the minutes skipped at a
    /// spring-forward and the hour repeated at a fall-back, on the weekday they fall on.
    ///
    /// A reboot window whose down-time (window plus allowance) touches none of these spans occurs exactly
    /// once a week, keeps its wall-clock order with every other such window and is never pulled closer to
    /// another one in real time, so wall-clock reasoning about overlaps stays true on real instants.
    pub(crate) fn unsafe_spans(&self) -> Vec<WeekSpan> {
        let mut spans: Vec<WeekSpan> = self
            .transitions()
            .map(|transition| {
                let wall_at_change = transition.utc + transition.before;
                if transition.after > transition.before {
                    WeekSpan::new(
                        minute_of_week(wall_at_change),
                        transition.after - transition.before,
                    )
                } else {
                    let repeated = transition.before - transition.after;
                    WeekSpan::new(minute_of_week(wall_at_change - repeated), repeated)
                }
            })
            .collect();
        spans.sort_unstable();
        spans.dedup();
        spans
    }
}

fn offset_at(zone: Tz, utc_minute: i64) -> i64 {
    let Some(instant) = DateTime::from_timestamp(utc_minute.saturating_mul(60), 0) else {
        return 0;
    };
    let seconds = zone
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc();
    i64::from(seconds).div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::week::MINUTES_PER_DAY;

    fn minutes(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp() / 60
    }

    fn berlin_2025() -> ZoneTable {
        ZoneTable::build(
            "Europe/Berlin".parse().unwrap(),
            minutes("2025-01-01T00:00:00Z"),
            minutes("2026-01-01T00:00:00Z"),
        )
    }

    #[test]
    fn finds_both_berlin_transitions_to_the_minute() {
        let table = berlin_2025();
        let transitions: Vec<_> = table.transitions().collect();
        assert_eq!(
            transitions,
            vec![
                Transition {
                    utc: minutes("2025-03-30T01:00:00Z"),
                    before: 60,
                    after: 120
                },
                Transition {
                    utc: minutes("2025-10-26T01:00:00Z"),
                    before: 120,
                    after: 60
                },
            ]
        );
        assert_eq!(table.offsets(), vec![60, 120]);
    }

    #[test]
    fn unsafe_spans_are_sunday_two_to_three() {
        let sunday_two = 6 * MINUTES_PER_DAY + 2 * 60;
        assert_eq!(
            berlin_2025().unsafe_spans(),
            vec![WeekSpan::new(sunday_two, 60)]
        );
    }

    #[test]
    fn daily_samples_find_every_change_an_hourly_scan_finds() {
        // Zones with unusual rules: changes tied to Ramadan, to Saturdays or Fridays, by half an hour or two
        // hours, at local midnight, or far south; over the assignment's horizon.
        let (from, to) = crate::typical::zone_table_span(15);
        for name in [
            "Africa/Casablanca",
            "Asia/Gaza",
            "Asia/Jerusalem",
            "America/Santiago",
            "America/Asuncion",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
            "Pacific/Chatham",
            "America/Havana",
            "Europe/Dublin",
        ] {
            let zone: Tz = name.parse().unwrap();
            let daily: Vec<Transition> = ZoneTable::build(zone, from, to).transitions().collect();
            let hourly: Vec<Transition> =
                ZoneTable::build_with_step(zone, from, to, MINUTES_PER_HOUR)
                    .transitions()
                    .collect();
            assert_eq!(daily, hourly, "{name}");
        }
    }

    #[test]
    fn lord_howe_moves_by_half_an_hour() {
        let table = ZoneTable::build(
            "Australia/Lord_Howe".parse().unwrap(),
            minutes("2025-01-01T00:00:00Z"),
            minutes("2026-01-01T00:00:00Z"),
        );
        assert_eq!(table.offsets(), vec![630, 660]);
        let sunday = 6 * MINUTES_PER_DAY;
        // Fall-back at 02:00 to 01:30 repeats 01:30–02:00; spring-forward at 02:00 skips 02:00–02:30.
        assert_eq!(
            table.unsafe_spans(),
            vec![
                WeekSpan::new(sunday + 90, 30),
                WeekSpan::new(sunday + 120, 30)
            ]
        );
    }

    #[test]
    fn openings_skip_the_window_already_open() {
        let table = berlin_2025();
        // Wednesday 03:00 Berlin for 30 minutes (admitted through 03:30:59), in June (UTC+2).
        let spans = [WeekSpan::new(2 * MINUTES_PER_DAY + 180, 31)];
        let inside = minutes("2025-06-04T01:10:00Z");
        assert_eq!(table.first_admitted_minute(&spans, inside), Some(inside));
        assert_eq!(
            table.first_unadmitted_minute(&spans, inside),
            Some(minutes("2025-06-04T01:31:00Z"))
        );
        assert_eq!(
            table.first_opening_minute(&spans, inside),
            Some(minutes("2025-06-11T01:00:00Z"))
        );
        let before = minutes("2025-06-04T00:10:00Z");
        assert_eq!(
            table.first_opening_minute(&spans, before),
            Some(minutes("2025-06-04T01:00:00Z"))
        );
        assert_eq!(
            table.first_opening_minute(&spans, minutes("2025-06-04T01:00:00Z")),
            Some(minutes("2025-06-04T01:00:00Z"))
        );
    }

    #[test]
    fn skipped_minutes_never_match_and_repeated_ones_match_twice() {
        let table = berlin_2025();
        let sunday = 6 * MINUTES_PER_DAY;
        // A window Sunday 02:10–02:20 (admitted through 02:20:59).
        let spans = [WeekSpan::new(sunday + 130, 11)];
        // Spring-forward Sunday 2025-03-30: 02:10 never happens; the next match is a week later.
        assert_eq!(
            table.first_admitted_minute(&spans, minutes("2025-03-29T12:00:00Z")),
            Some(minutes("2025-04-06T00:10:00Z"))
        );
        // Fall-back Sunday 2025-10-26: 02:10 CEST, then again 02:10 CET an hour later.
        assert_eq!(
            table.first_admitted_minute(&spans, minutes("2025-10-25T12:00:00Z")),
            Some(minutes("2025-10-26T00:10:00Z"))
        );
        assert_eq!(
            table.first_admitted_minute(&spans, minutes("2025-10-26T00:30:00Z")),
            Some(minutes("2025-10-26T01:10:00Z"))
        );
    }
}
