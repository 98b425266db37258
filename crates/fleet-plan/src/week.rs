//! Minute-of-week arithmetic on Zincati's weekly calendar (Monday 00:00 = 0), and the windows written to Zincati.

use fleet_spec::{WallTime, Weekday};

pub(crate) const MINUTES_PER_HOUR: i64 = 60;
pub(crate) const MINUTES_PER_DAY: i64 = 24 * MINUTES_PER_HOUR;
pub(crate) const MINUTES_PER_WEEK: i64 = 7 * MINUTES_PER_DAY;

/// The Unix epoch (1970-01-01) was a Thursday: three days after a Monday.
const EPOCH_DAYS_AFTER_MONDAY: i64 = 3;

/// The minute of the week of a wall-clock time given as minutes since 1970-01-01 00:00 on that wall clock.
pub(crate) fn minute_of_week(local_minutes_since_epoch: i64) -> i64 {
    (local_minutes_since_epoch + EPOCH_DAYS_AFTER_MONDAY * MINUTES_PER_DAY)
        .rem_euclid(MINUTES_PER_WEEK)
}

/// A span on the weekly circle: `length` minutes from `start`, wrapping from Sunday night to Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WeekSpan {
    /// 0..MINUTES_PER_WEEK.
    pub(crate) start: i64,
    /// 1..=MINUTES_PER_WEEK (longer spans are clamped: they cover the whole week).
    pub(crate) length: i64,
}

impl WeekSpan {
    pub(crate) fn new(start: i64, length: i64) -> Self {
        WeekSpan {
            start: start.rem_euclid(MINUTES_PER_WEEK),
            length: length.clamp(1, MINUTES_PER_WEEK),
        }
    }

    pub(crate) fn contains(&self, minute: i64) -> bool {
        (minute - self.start).rem_euclid(MINUTES_PER_WEEK) < self.length
    }

    /// Minutes from `minute` until this span next opens (0 when it opens at `minute`).
    pub(crate) fn minutes_until_start(&self, minute: i64) -> i64 {
        (self.start - minute).rem_euclid(MINUTES_PER_WEEK)
    }

    /// Two spans on a circle intersect exactly when one of them starts inside the other.
    #[cfg(test)]
    pub(crate) fn intersects(&self, other: &WeekSpan) -> bool {
        self.contains(other.start) || other.contains(self.start)
    }
}

/// The minute of the week at which `day` starts.
pub(crate) fn day_start(day: Weekday) -> i64 {
    i64::from(day.num_days_from_monday()) * MINUTES_PER_DAY
}

pub(crate) fn weekday_of(minute_of_week: i64) -> Weekday {
    match minute_of_week.rem_euclid(MINUTES_PER_WEEK) / MINUTES_PER_DAY {
        0 => Weekday::Mon,
        1 => Weekday::Tue,
        2 => Weekday::Wed,
        3 => Weekday::Thu,
        4 => Weekday::Fri,
        5 => Weekday::Sat,
        _ => Weekday::Sun,
    }
}

pub(crate) fn wall_time_of(minute_of_week: i64) -> WallTime {
    let minute_of_day = minute_of_week.rem_euclid(MINUTES_PER_DAY);
    WallTime {
        hour: u8::try_from(minute_of_day / MINUTES_PER_HOUR).unwrap_or(0),
        minute: u8::try_from(minute_of_day % MINUTES_PER_HOUR).unwrap_or(0),
    }
}

pub(crate) fn minute_of_day(time: WallTime) -> i64 {
    i64::from(time.hour) * MINUTES_PER_HOUR + i64::from(time.minute)
}

/// The three-letter English name Zincati accepts (it rejects the full name "Tuesday").
pub fn day_abbreviation(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

/// One `[[updates.periodic.window]]` entry exactly as written to Zincati: on each of `days`, from `start`
/// (wall clock of the node's `time_zone`) for `length_minutes`. Zincati admits the whole closing minute too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZincatiWindow {
    /// Sorted Monday first, without duplicates.
    pub days: Vec<Weekday>,
    pub start: WallTime,
    pub length_minutes: u32,
}

impl ZincatiWindow {
    /// `start_time` as Zincati reads it (`H:M`, written zero-padded).
    pub fn start_time(&self) -> String {
        self.start.to_string()
    }

    /// The spans of the week during which Zincati lets the node reboot (closing minute included).
    pub(crate) fn admitted_spans(&self) -> impl Iterator<Item = WeekSpan> + '_ {
        let start_of_day = minute_of_day(self.start);
        self.days.iter().map(move |day| {
            WeekSpan::new(
                day_start(*day) + start_of_day,
                i64::from(self.length_minutes) + 1,
            )
        })
    }

    /// Days written compactly for people: runs of three or more consecutive days as `Tue–Thu`, others with commas.
    pub fn days_label(&self) -> String {
        days_label(&self.days)
    }
}

/// `Mon`, `Sat,Sun`, `Tue–Thu`, `Mon,Wed–Fri`: runs of three or more days joined with an en dash.
pub fn days_label(days: &[Weekday]) -> String {
    let mut indices: Vec<u32> = days.iter().map(|day| day.num_days_from_monday()).collect();
    indices.sort_unstable();
    indices.dedup();
    let mut parts = Vec::new();
    let mut run_start = 0;
    while run_start < indices.len() {
        let mut run_end = run_start;
        while run_end + 1 < indices.len() && indices[run_end + 1] == indices[run_end] + 1 {
            run_end += 1;
        }
        let name = |index: u32| day_abbreviation(weekday_of(i64::from(index) * MINUTES_PER_DAY));
        if run_end - run_start >= 2 {
            parts.push(format!(
                "{}–{}",
                name(indices[run_start]),
                name(indices[run_end])
            ));
        } else {
            for index in &indices[run_start..=run_end] {
                parts.push(name(*index).to_owned());
            }
        }
        run_start = run_end + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_was_a_thursday() {
        assert_eq!(weekday_of(minute_of_week(0)), Weekday::Thu);
        assert_eq!(minute_of_week(0), 3 * MINUTES_PER_DAY);
        // 1970-01-05 was a Monday.
        assert_eq!(minute_of_week(4 * MINUTES_PER_DAY), 0);
        assert_eq!(minute_of_week(-1), 3 * MINUTES_PER_DAY - 1);
    }

    #[test]
    fn spans_wrap_over_the_week_end() {
        let sunday_night = WeekSpan::new(MINUTES_PER_WEEK - 30, 60);
        assert!(sunday_night.contains(MINUTES_PER_WEEK - 1));
        assert!(sunday_night.contains(0));
        assert!(sunday_night.contains(29));
        assert!(!sunday_night.contains(30));
        assert!(sunday_night.intersects(&WeekSpan::new(10, 5)));
        assert!(!sunday_night.intersects(&WeekSpan::new(30, 5)));
        assert_eq!(sunday_night.minutes_until_start(0), MINUTES_PER_WEEK - 30);
    }

    #[test]
    fn whole_week_span_contains_everything() {
        let week = WeekSpan::new(100, MINUTES_PER_WEEK + 5);
        assert!((0..MINUTES_PER_WEEK).all(|minute| week.contains(minute)));
    }

    #[test]
    fn day_labels_compress_runs() {
        use Weekday::*;
        assert_eq!(days_label(&[Tue, Wed, Thu]), "Tue–Thu");
        assert_eq!(days_label(&[Sat, Sun]), "Sat,Sun");
        assert_eq!(days_label(&[Mon, Wed, Thu, Fri]), "Mon,Wed–Fri");
        assert_eq!(days_label(&[Sun, Mon]), "Mon,Sun");
    }

    #[test]
    fn zincati_includes_the_closing_minute() {
        let window = ZincatiWindow {
            days: vec![Weekday::Mon],
            start: WallTime {
                hour: 22,
                minute: 30,
            },
            length_minutes: 60,
        };
        let spans: Vec<_> = window.admitted_spans().collect();
        assert_eq!(spans, vec![WeekSpan::new(22 * 60 + 30, 61)]);
        assert!(spans[0].contains(23 * 60 + 30));
        assert!(!spans[0].contains(23 * 60 + 31));
    }
}
