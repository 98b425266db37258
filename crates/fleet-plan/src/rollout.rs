//! A release rollout as the Fedora CoreOS update server throttles it, and when a node with a given
//! `rollout_wariness` first sees the release.
//!
//! The server (fedora-coreos-cincinnati `commons/src/policy.rs`) computes at second `t` the throttle
//! `p0 + (1 - p0) * (t - T0) / (60 D)` (0 before `T0`, 1 after `T0 + 60 D`) and hides the release from a
//! node while its wariness is greater than the throttle.

use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};

use crate::PlanError;

/// A rollout: start `T0`, duration `D` and start fraction `p0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollout {
    pub start: DateTime<Utc>,
    /// At least 1 (the server treats 0 as 1).
    pub duration_minutes: u32,
    /// The share of nodes offered the release at `start` (0.0..=1.0, "start_percentage" upstream).
    pub start_fraction: f64,
}

/// Most Fedora CoreOS stable rollouts start on Tuesday at 14:00 UTC and last 48 hours.
pub const TYPICAL_ROLLOUT_WEEKDAY: Weekday = Weekday::Tue;
pub const TYPICAL_ROLLOUT_HOUR_UTC: u32 = 14;
pub const TYPICAL_ROLLOUT_DURATION_MINUTES: u32 = 48 * 60;

impl Rollout {
    /// The typical rollout: the first Tuesday 14:00 UTC strictly after `after`, lasting 48 hours, from 0.
    pub fn typical_after(after: DateTime<Utc>) -> Rollout {
        let mut day = after.date_naive();
        loop {
            if day.weekday() == TYPICAL_ROLLOUT_WEEKDAY
                && let Some(start) = day.and_hms_opt(TYPICAL_ROLLOUT_HOUR_UTC, 0, 0)
            {
                let start = Utc.from_utc_datetime(&start);
                if start > after {
                    return Rollout {
                        start,
                        duration_minutes: TYPICAL_ROLLOUT_DURATION_MINUTES,
                        start_fraction: 0.0,
                    };
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => {
                    return Rollout {
                        start: after,
                        duration_minutes: TYPICAL_ROLLOUT_DURATION_MINUTES,
                        start_fraction: 0.0,
                    };
                }
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), PlanError> {
        if self.duration_minutes == 0 {
            return Err(PlanError::InvalidRollout(
                "the rollout duration must be at least one minute".to_owned(),
            ));
        }
        if !(0.0..=1.0).contains(&self.start_fraction) {
            return Err(PlanError::InvalidRollout(format!(
                "the rollout start fraction {} is outside 0.0..=1.0",
                self.start_fraction
            )));
        }
        Ok(())
    }

    fn start_second(&self) -> i64 {
        self.start.timestamp()
    }

    fn duration_seconds(&self) -> i64 {
        i64::from(self.duration_minutes.max(1)) * 60
    }

    /// The server's throttle at second `t`, computed as the server computes it.
    fn throttle_at(&self, second: i64) -> f64 {
        let start = self.start_second();
        let end = start + self.duration_seconds();
        if second < start {
            0.0
        } else if second > end {
            1.0
        } else {
            let rate = (1.0 - self.start_fraction) / self.duration_seconds() as f64;
            self.start_fraction + rate * (second - start) as f64
        }
    }

    /// The first second at which a node with `wariness` sees the release, assuming the release is
    /// published at the rollout's start (a node at 0.0 would otherwise see it at publication).
    pub(crate) fn eligible_second(&self, wariness: f64) -> i64 {
        // Zincati refuses anything outside 0.0..=1.0; never loop on it here.
        let wariness = if wariness.is_nan() {
            1.0
        } else {
            wariness.clamp(0.0, 1.0)
        };
        let start = self.start_second();
        let end = start + self.duration_seconds();
        if wariness <= self.throttle_at(start) {
            return start;
        }
        // The throttle grows linearly: estimate, then settle on the exact first visible second.
        let rate = (1.0 - self.start_fraction) / self.duration_seconds() as f64;
        let estimate = if rate > 0.0 {
            start + ((wariness - self.start_fraction) / rate).ceil() as i64
        } else {
            end
        };
        let mut second = estimate.clamp(start, end + 1);
        while second > start && wariness <= self.throttle_at(second - 1) {
            second -= 1;
        }
        while wariness > self.throttle_at(second) {
            second += 1;
        }
        second
    }

    pub fn eligible_at(&self, wariness: f64) -> DateTime<Utc> {
        DateTime::from_timestamp(self.eligible_second(wariness), 0).unwrap_or(self.start)
    }

    /// The smallest wariness, in steps of 0.001, that keeps a node from seeing the release before
    /// `not_before` (a second); 1.0 when even the most cautious node sees it earlier.
    pub(crate) fn wariness_not_before(&self, not_before: i64) -> f64 {
        let start = self.start_second();
        if not_before <= start {
            return 0.0;
        }
        let rate = (1.0 - self.start_fraction) / self.duration_seconds() as f64;
        let exact = self.start_fraction + rate * (not_before - start) as f64;
        let mut thousandths = round_up_thousandths(exact);
        while thousandths < 1000 && self.eligible_second(thousandths as f64 / 1000.0) < not_before {
            thousandths += 1;
        }
        thousandths.min(1000) as f64 / 1000.0
    }

    /// The last second at which a node can still become eligible (wariness 1.0).
    pub(crate) fn latest_eligible_second(&self) -> i64 {
        self.eligible_second(1.0)
    }

    pub(crate) fn start_minute(&self) -> i64 {
        self.start_second().div_euclid(60)
    }
}

/// `value` rounded up to thousandths, ignoring floating-point noise below 1e-9.
pub(crate) fn round_up_thousandths(value: f64) -> i64 {
    let scaled = value * 1000.0;
    let floor = scaled.floor();
    if scaled - floor < 1e-6 {
        floor as i64
    } else {
        floor as i64 + 1
    }
}

/// Add whole minutes to a time, for presenting.
pub(crate) fn minute_to_time(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn seconds_to_minute_ceiling(second: i64) -> i64 {
    second.div_euclid(60) + i64::from(second.rem_euclid(60) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn typical_rollout_is_next_tuesday_afternoon() {
        let monday = at("2025-06-02T09:00:00Z");
        assert_eq!(
            Rollout::typical_after(monday).start,
            at("2025-06-03T14:00:00Z")
        );
        let tuesday_morning = at("2025-06-03T13:59:59Z");
        assert_eq!(
            Rollout::typical_after(tuesday_morning).start,
            at("2025-06-03T14:00:00Z")
        );
        let tuesday_at_two = at("2025-06-03T14:00:00Z");
        assert_eq!(
            Rollout::typical_after(tuesday_at_two).start,
            at("2025-06-10T14:00:00Z")
        );
        assert_eq!(Rollout::typical_after(monday).duration_minutes, 2880);
    }

    #[test]
    fn eligibility_follows_the_server_formula() {
        let rollout = Rollout {
            start: at("2025-06-03T14:00:00Z"),
            duration_minutes: 2880,
            start_fraction: 0.0,
        };
        assert_eq!(rollout.eligible_at(0.0), at("2025-06-03T14:00:00Z"));
        assert_eq!(rollout.eligible_at(0.5), at("2025-06-04T14:00:00Z"));
        assert_eq!(rollout.eligible_at(1.0), at("2025-06-05T14:00:00Z"));
        assert_eq!(rollout.eligible_at(0.25), at("2025-06-04T02:00:00Z"));
        // Out-of-range values (refused elsewhere) still terminate.
        assert_eq!(rollout.eligible_at(7.0), at("2025-06-05T14:00:00Z"));
        assert_eq!(rollout.eligible_at(f64::NAN), at("2025-06-05T14:00:00Z"));
        assert_eq!(rollout.eligible_at(-1.0), rollout.start);
    }

    #[test]
    fn nodes_at_or_below_the_start_fraction_see_it_at_once() {
        let rollout = Rollout {
            start: at("2025-06-03T14:00:00Z"),
            duration_minutes: 1440,
            start_fraction: 0.2,
        };
        assert_eq!(rollout.eligible_at(0.2), rollout.start);
        assert_eq!(rollout.eligible_at(0.6), at("2025-06-04T02:00:00Z"));
    }

    #[test]
    fn wariness_not_before_is_the_smallest_sufficient_thousandth() {
        let rollout = Rollout {
            start: at("2025-06-03T14:00:00Z"),
            duration_minutes: 2880,
            start_fraction: 0.0,
        };
        let target = at("2025-06-04T14:00:00Z").timestamp();
        assert_eq!(rollout.wariness_not_before(target), 0.5);
        let just_after = target + 1;
        let wariness = rollout.wariness_not_before(just_after);
        assert_eq!(wariness, 0.501);
        assert!(rollout.eligible_second(wariness) >= just_after);
        assert!(rollout.eligible_second(wariness - 0.001) < just_after);
        assert_eq!(
            rollout.wariness_not_before(at("2025-06-09T00:00:00Z").timestamp()),
            1.0
        );
    }
}
