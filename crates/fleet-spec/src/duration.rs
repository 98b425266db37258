//! The one grammar of durations, read by fleet.toml (`soak_minutes = "1h30m"`) and by the command line
//! (`fleet plan --rollout-duration 1d12h`), so that a duration means the same wherever it is written.
//!
//! A duration is whole minutes written as one to three parts, each a number of ASCII digits followed by
//! its unit: `d` (a day of 24 hours), `h` (an hour) or `m` (a minute), in that order, each unit at most
//! once: `90m`, `2h`, `1h30m`, `1d`, `1d12h`, `0m`. Nothing else: no sign, no space, no fraction, no
//! other unit, and no bare number (fleet.toml's keys take a TOML integer of minutes for that). This is the
//! stricter of the two grammars fleet had (the command line also took `30m2h`, `1h1h` and `90`): one
//! spelling per duration, which the JSON Schema's pattern for such keys also describes. Text that is
//! close, with the units out of order, repeated, in capitals, spaced out, or a number without its unit,
//! is refused with the duration written the one way as a suggestion.

use std::fmt;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing like a duration: empty, a sign, a fraction, a unit fleet does not know, a unit without a
    /// number.
    #[error(
        "not a duration: write a number before each unit d, h or m, such as 90m, 2h, 1h30m or 1d"
    )]
    Malformed,
    /// A duration not written the one way (units out of order or repeated, capitals, spaces, a number
    /// without its unit); `suggestion` is the same length written the one way, `minutes` its length.
    #[error(
        "not a duration: write each unit d, h, m at most once, in that order, after its number; did you mean `{suggestion}`?"
    )]
    Misspelt { suggestion: String, minutes: u64 },
    /// Well formed, but more minutes than 64 bits count.
    #[error("the duration is too long to count in minutes")]
    TooLong,
}

/// The length of `text` in minutes, if it is a duration (see the module's documentation).
pub fn parse_minutes(text: &str) -> Result<u64, DurationError> {
    match read_strictly(text) {
        Ok(parts) => parts.total_minutes().ok_or(DurationError::TooLong),
        Err(StrictFailure::TooLong) => Err(DurationError::TooLong),
        Err(StrictFailure::NotTheOneForm) => {
            match read_leniently(text).and_then(|parts| Some((parts, parts.total_minutes()?))) {
                Some((parts, minutes)) => Err(DurationError::Misspelt {
                    suggestion: parts.to_string(),
                    minutes,
                }),
                None => Err(DurationError::Malformed),
            }
        }
    }
}

/// How many of each unit a duration has; `None` for a unit it does not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Parts {
    days: Option<u64>,
    hours: Option<u64>,
    minutes: Option<u64>,
}

impl Parts {
    fn total_minutes(self) -> Option<u64> {
        let mut total: u64 = 0;
        for (count, minutes_per_unit) in [(self.days, 1440), (self.hours, 60), (self.minutes, 1)] {
            total = total.checked_add(count.unwrap_or(0).checked_mul(minutes_per_unit)?)?;
        }
        Some(total)
    }

    fn slot(&mut self, unit: Unit) -> &mut Option<u64> {
        match unit {
            Unit::Day => &mut self.days,
            Unit::Hour => &mut self.hours,
            Unit::Minute => &mut self.minutes,
        }
    }
}

/// The one way to write these parts: what `parse_minutes` reads back to the same length.
impl fmt::Display for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (count, unit) in [(self.days, 'd'), (self.hours, 'h'), (self.minutes, 'm')] {
            if let Some(count) = count {
                write!(f, "{count}{unit}")?;
            }
        }
        Ok(())
    }
}

/// The units, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Day,
    Hour,
    Minute,
}

impl Unit {
    fn from_letter(letter: char) -> Option<Unit> {
        match letter {
            'd' => Some(Unit::Day),
            'h' => Some(Unit::Hour),
            'm' => Some(Unit::Minute),
            _ => None,
        }
    }
}

enum StrictFailure {
    NotTheOneForm,
    /// Written the one way, but a number has more digits than 64 bits hold.
    TooLong,
}

/// The grammar itself: one to three parts, NUMBER UNIT, units in the order d, h, m, each at most once.
fn read_strictly(text: &str) -> Result<Parts, StrictFailure> {
    if text.is_empty() {
        return Err(StrictFailure::NotTheOneForm);
    }
    let mut parts = Parts::default();
    let mut previous: Option<Unit> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next().and_then(Unit::from_letter);
        let Some(unit) = unit.filter(|_| digits > 0) else {
            return Err(StrictFailure::NotTheOneForm);
        };
        if previous.is_some_and(|previous| previous >= unit) {
            return Err(StrictFailure::NotTheOneForm);
        }
        previous = Some(unit);
        let count = rest[..digits]
            .parse::<u64>()
            .map_err(|_| StrictFailure::TooLong)?;
        *parts.slot(unit) = Some(count);
        // The unit is one ASCII letter.
        rest = &rest[digits + 1..];
    }
    Ok(parts)
}

/// What someone who wrote `text` most likely meant, for the suggestion: spaces dropped, units in any case,
/// order and number of times (repeats add up), and a last number without a unit taken as minutes.
fn read_leniently(text: &str) -> Option<Parts> {
    let cleaned: String = text
        .chars()
        .filter(|character| !character.is_whitespace())
        .map(|character| character.to_ascii_lowercase())
        .collect();
    let mut parts = Parts::default();
    let mut rest = cleaned.as_str();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let count = rest[..digits].parse::<u64>().ok()?;
        let (unit, unit_length) = match rest[digits..].chars().next() {
            None => (Unit::Minute, 0),
            Some(letter) => (Unit::from_letter(letter)?, letter.len_utf8()),
        };
        let slot = parts.slot(unit);
        *slot = Some(slot.unwrap_or(0).checked_add(count)?);
        rest = &rest[digits + unit_length..];
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn durations_read_days_hours_minutes() {
        assert_eq!(parse_minutes("90m"), Ok(90));
        assert_eq!(parse_minutes("2h"), Ok(120));
        assert_eq!(parse_minutes("1h30m"), Ok(90));
        assert_eq!(parse_minutes("1d"), Ok(1440));
        assert_eq!(parse_minutes("1d12h"), Ok(2160));
        assert_eq!(parse_minutes("2d3h4m"), Ok(2 * 1440 + 3 * 60 + 4));
        assert_eq!(parse_minutes("0m"), Ok(0));
        assert_eq!(parse_minutes("007h"), Ok(420));
        assert_eq!(parse_minutes("4294967295m"), Ok(4_294_967_295));
    }

    #[test]
    fn misspelt_durations_are_refused_with_the_one_spelling() {
        let suggestion = |text: &str| match parse_minutes(text) {
            Err(DurationError::Misspelt {
                suggestion,
                minutes,
            }) => (suggestion, minutes),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(suggestion("30m2h"), ("2h30m".to_owned(), 150));
        assert_eq!(suggestion("1h1h"), ("2h".to_owned(), 120));
        assert_eq!(suggestion("90"), ("90m".to_owned(), 90));
        assert_eq!(suggestion("1h30"), ("1h30m".to_owned(), 90));
        assert_eq!(suggestion(" 2h "), ("2h".to_owned(), 120));
        assert_eq!(suggestion("1d 12h"), ("1d12h".to_owned(), 2160));
        assert_eq!(suggestion("2H"), ("2h".to_owned(), 120));
        assert_eq!(suggestion("12h1d"), ("1d12h".to_owned(), 2160));
        assert_eq!(suggestion("0"), ("0m".to_owned(), 0));
    }

    #[test]
    fn what_is_nothing_like_a_duration_says_how_to_write_one() {
        for bad in [
            "", " ", "h", "m30", "-5m", "+5m", "1.5h", "1x", "2 hours", "1w", "1hh", "1s", "½h",
            "１h",
        ] {
            assert_eq!(parse_minutes(bad), Err(DurationError::Malformed), "{bad:?}");
        }
        assert_eq!(
            parse_minutes("99999999999999999999m"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_minutes("307445734561825861h"),
            Err(DurationError::TooLong),
            "the number fits, its minutes do not"
        );
    }

    #[test]
    fn what_fleet_toml_refused_before_stays_refused() {
        for bad in ["", "h", "1", "30m1h", "1x", "1h1h", "-1h"] {
            assert!(parse_minutes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn messages_say_what_to_write() {
        assert_eq!(
            DurationError::Malformed.to_string(),
            "not a duration: write a number before each unit d, h or m, such as 90m, 2h, 1h30m or 1d"
        );
        assert_eq!(
            parse_minutes("30m2h").unwrap_err().to_string(),
            "not a duration: write each unit d, h, m at most once, in that order, after its number; did you mean `2h30m`?"
        );
        assert_eq!(
            DurationError::TooLong.to_string(),
            "the duration is too long to count in minutes"
        );
    }

    /// Parts as the grammar writes them: each unit present or not, at least one.
    fn any_parts() -> impl Strategy<Value = Parts> {
        let count = || prop::option::of(0u64..1_000_000);
        (count(), count(), count())
            .prop_filter("at least one unit", |(days, hours, minutes)| {
                days.is_some() || hours.is_some() || minutes.is_some()
            })
            .prop_map(|(days, hours, minutes)| Parts {
                days,
                hours,
                minutes,
            })
    }

    proptest! {
        /// What the one spelling writes reads back to the same parts and length.
        #[test]
        fn the_one_spelling_reads_back(parts in any_parts()) {
            let text = parts.to_string();
            prop_assert_eq!(read_strictly(&text).ok(), Some(parts));
            prop_assert_eq!(parse_minutes(&text), Ok(parts.total_minutes().unwrap_or(0)));
        }

        /// A duration with a unit repeated or out of order is refused, and the suggestion is the same
        /// length written the one way.
        #[test]
        fn misordered_parts_get_a_suggestion_of_the_same_length(
            parts in prop::collection::vec((0u64..1000, prop::sample::select(vec!['d', 'h', 'm'])), 2..5)
        ) {
            let units: Vec<char> = parts.iter().map(|(_, unit)| *unit).collect();
            let in_order = units.windows(2).all(|pair| "dhm".find(pair[0]) < "dhm".find(pair[1]));
            prop_assume!(!in_order);
            let text: String = parts.iter().map(|(count, unit)| format!("{count}{unit}")).collect();
            let minutes: u64 = parts
                .iter()
                .map(|(count, unit)| count * match unit { 'd' => 1440, 'h' => 60, _ => 1 })
                .sum();
            match parse_minutes(&text) {
                Err(DurationError::Misspelt { suggestion, minutes: suggested }) => {
                    prop_assert_eq!(suggested, minutes);
                    prop_assert_eq!(parse_minutes(&suggestion), Ok(minutes));
                }
                other => prop_assert!(false, "{text}: {other:?}"),
            }
        }

        /// Any text: no panic; what is accepted has the shape of the schema's pattern
        /// `^([0-9]+d)?([0-9]+h)?([0-9]+m)?$` and is not empty; every suggestion is accepted.
        #[test]
        fn any_text_is_read_or_refused_and_suggestions_are_accepted(text in "[0-9dhmDHM .x-]{0,12}") {
            match parse_minutes(&text) {
                Ok(_) => {
                    prop_assert!(!text.is_empty());
                    let mut rest = text.as_str();
                    for unit in ['d', 'h', 'm'] {
                        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                        if digits > 0 && rest[digits..].starts_with(unit) {
                            rest = &rest[digits + 1..];
                        }
                    }
                    prop_assert!(rest.is_empty(), "{text:?} was accepted");
                }
                Err(DurationError::Misspelt { suggestion, minutes }) => {
                    prop_assert_eq!(parse_minutes(&suggestion), Ok(minutes));
                }
                Err(DurationError::Malformed | DurationError::TooLong) => {}
            }
        }
    }
}
