//! Instants as `fleet plan` writes them in JSON and CSV: RFC 3339, UTC, to the second. RFC 3339
//! has exactly four digits for the year, so a prediction that reaches past 9999 is refused with
//! the range instead of being written as chrono's `+10000-…`, which no RFC 3339 reader accepts.

use chrono::{DateTime, Datelike as _, SecondsFormat, Utc};
use fleet_plan::Prediction;

/// `2025-06-03T14:00:00Z`.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Years RFC 3339 can write.
const YEARS: std::ops::RangeInclusive<i32> = 0..=9999;

/// A prediction reaching a year RFC 3339 cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the predicted rollout reaches the year {year}, but times are written as RFC 3339, which has \
     the years {:04} to {}; give a --rollout-start (or --now) and a --rollout-duration that end \
     by 9999-12-31",
    YEARS.start(),
    YEARS.end()
)]
pub struct UnwritableYear {
    pub year: i32,
}

/// Every instant the prediction holds can be written as RFC 3339; otherwise an error that says
/// which year the rollout reaches, the range, and what to change.
pub fn check_writable(prediction: &Prediction) -> Result<(), UnwritableYear> {
    let instants = std::iter::once(prediction.rollout.start)
        .chain(
            prediction
                .nodes
                .iter()
                .flat_map(|node| [node.eligible_at, node.reboot_at]),
        )
        .chain(prediction.groups.iter().flat_map(|group| {
            [
                group.soak_ends_at,
                group.first_reboot_at,
                group.last_reboot_at,
            ]
            .into_iter()
            .flatten()
        }))
        .chain(
            prediction
                .warnings
                .iter()
                .flat_map(|warning| [warning.soak_ends_at, warning.earliest_reboot_at]),
        );
    let Some(outside) = instants
        .filter(|instant| !YEARS.contains(&instant.year()))
        .max_by_key(|instant| instant.year().abs())
    else {
        return Ok(());
    };
    Err(UnwritableYear {
        year: outside.year(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use fleet_plan::{NodePrediction, Rollout};

    fn prediction_until(last: DateTime<Utc>) -> Prediction {
        let start = Utc.with_ymd_and_hms(9999, 12, 28, 14, 0, 0).unwrap();
        Prediction {
            rollout: Rollout {
                start,
                duration_minutes: 2880,
                start_fraction: 0.0,
            },
            staging_allowance_minutes: 15,
            groups: Vec::new(),
            nodes: vec![NodePrediction {
                name: "n".to_owned(),
                eligible_at: start,
                reboot_at: last,
            }],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn the_last_second_of_9999_is_writable_and_the_next_is_not() {
        let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(rfc3339(last), "9999-12-31T23:59:59Z");
        assert!(check_writable(&prediction_until(last)).is_ok());
        let error = check_writable(&prediction_until(last + chrono::Duration::seconds(1)))
            .unwrap_err()
            .to_string();
        assert!(error.contains("the year 10000"), "{error}");
        assert!(error.contains("0000 to 9999"), "{error}");
    }
}
