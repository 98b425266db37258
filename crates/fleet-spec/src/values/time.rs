//! Time: IANA time zones, days of the week, times of day, and soak times (whole minutes or a duration).

use chrono::Weekday;
use chrono_tz::Tz;
use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::duration::{DurationError, parse_minutes};
use crate::model::WallTime;
use crate::read::{Context, FromToml, KeyPath};

use crate::read::describe;

/// An IANA time zone such as `Europe/Berlin` or `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeZone(pub(crate) Tz);

impl FromToml for TimeZone {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let name = String::from_toml(value, context, path)?;
        match name.parse::<Tz>() {
            Ok(zone) => Some(TimeZone(zone)),
            Err(_) => {
                let mut message = format!("{path}: unknown time zone `{}`", shown(&name));
                let names = || chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
                // IANA names are case-sensitive to Zincati too: `utc` is not `UTC`.
                let same_but_case = names().find(|zone| zone.eq_ignore_ascii_case(&name));
                let city = format!("/{}", name.to_lowercase());
                let by_city = || names().find(|zone| zone.to_lowercase().ends_with(&city));
                if let Some(zone) = same_but_case.or_else(by_city) {
                    message.push_str(&format!("; did you mean `{zone}`?"));
                } else if let Some(closest) = crate::hints::closest(&name, names()) {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                } else {
                    message.push_str("; use an IANA name such as `Europe/Berlin` or `UTC`");
                }
                context.error(value.span().into(), message);
                None
            }
        }
    }
}

impl JsonSchema for TimeZone {
    fn schema_name() -> Cow<'static, str> {
        "TimeZone".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .collect();
        json_schema!({
            "description": "An IANA time zone name, such as `Europe/Berlin` or `UTC`.",
            "type": "string",
            "enum": names,
        })
    }
}

/// A day of the week: `Mon`..`Sun` or the full name, in any case (as Zincati reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day(pub(crate) Weekday);

const DAY_NAMES: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Mon),
    ("tue", "tuesday", Weekday::Tue),
    ("wed", "wednesday", Weekday::Wed),
    ("thu", "thursday", Weekday::Thu),
    ("fri", "friday", Weekday::Fri),
    ("sat", "saturday", Weekday::Sat),
    ("sun", "sunday", Weekday::Sun),
];

pub(crate) fn parse_day(text: &str) -> Option<Weekday> {
    let lowered = text.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .find(|(short, long, _)| lowered == *short || lowered == *long)
        .map(|(_, _, day)| *day)
}

impl FromToml for Day {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let text = String::from_toml(value, context, path)?;
        if let Some(day) = parse_day(&text) {
            return Some(Day(day));
        }
        let short = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let long = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let mut message = format!(
            "{path}: unknown day `{text_shown}`; expected Mon, Tue, Wed, Thu, Fri, Sat or Sun",
            text_shown = shown(&text)
        );
        if let Some(closest) =
            crate::hints::closest(&text, short.iter().chain(long.iter()).copied())
        {
            let canonical = parse_day(closest)
                .map(|day| short[day.num_days_from_monday() as usize])
                .unwrap_or(closest);
            message.push_str(&format!("; did you mean `{canonical}`?"));
        }
        context.error(value.span().into(), message);
        None
    }
}

impl JsonSchema for Day {
    fn schema_name() -> Cow<'static, str> {
        "Day".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // JSON Schema regexes (ECMA-262) have no case-insensitive flag: spell each letter both ways.
        let any_case = |word: &str| -> String {
            word.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c))
                .collect()
        };
        let alternatives: Vec<String> = DAY_NAMES
            .iter()
            .map(|(short, long, _)| format!("{}({})?", any_case(short), any_case(&long[3..])))
            .collect();
        json_schema!({
            "description": "A day of the week: Mon, Tue, Wed, Thu, Fri, Sat or Sun (full names and any case are accepted too).",
            "type": "string",
            "pattern": format!("^({})$", alternatives.join("|")),
        })
    }
}

/// A wall-clock time `H:MM` (a string, or a TOML local time such as `22:00` or `22:00:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeOfDay(pub(crate) WallTime);

/// Reads `H:MM`, or says what is wrong with the text and how to write it.
pub(crate) fn parse_wall_time(text: &str) -> Result<WallTime, String> {
    let shown = shown(text);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let not_a_time = || format!("`{shown}` is not a time of day H:MM such as \"22:30\"");
    let parts: Vec<&str> = text.splitn(4, ':').collect();
    let (hour, minute) = match parts.as_slice() {
        [hour, minute] => (*hour, *minute),
        [hour, minute, second]
            if digits(hour)
                && hour.len() <= 2
                && digits(minute)
                && minute.len() == 2
                && digits(second) =>
        {
            return Err(format!(
                "`{shown}` has seconds, but reboot windows start on whole minutes: write \"{hour}:{minute}\""
            ));
        }
        _ => return Err(not_a_time()),
    };
    if !digits(hour) || hour.len() > 2 || !digits(minute) {
        return Err(not_a_time());
    }
    if minute.len() > 2 {
        return Err(not_a_time());
    }
    if minute.len() == 1 {
        return Err(format!(
            "`{shown}`: write the minutes with two digits, as in \"{hour}:{minute:0>2}\""
        ));
    }
    let hour: u8 = hour.parse().map_err(|_| not_a_time())?;
    let minute: u8 = minute.parse().map_err(|_| not_a_time())?;
    if hour > 23 {
        return Err(format!(
            "`{shown}`: the hour must be from 0 to 23 (midnight is \"0:00\")"
        ));
    }
    if minute > 59 {
        return Err(format!("`{shown}`: the minutes must be from 00 to 59"));
    }
    Ok(WallTime { hour, minute })
}

impl FromToml for TimeOfDay {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let parsed = match value.get_ref() {
            DeValue::String(text) => parse_wall_time(text),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
                (None, Some(time), None)
                    if time.second.unwrap_or(0) == 0 && time.nanosecond.unwrap_or(0) == 0 =>
                {
                    Ok(WallTime {
                        hour: time.hour,
                        minute: time.minute,
                    })
                }
                (None, Some(time), None) => Err(format!(
                    "`{datetime}` has seconds, but reboot windows start on whole minutes: write {:02}:{:02}",
                    time.hour, time.minute
                )),
                _ => Err(format!(
                    "`{datetime}` is a date or a time with an offset; write only the time of day, such as \"22:30\" (the zone is the maintenance time_zone)"
                )),
            },
            _ => {
                context.error(
                    value.span().into(),
                    format!(
                        "{path}: expected a time of day such as \"22:30\", found {}",
                        describe(value.get_ref())
                    ),
                );
                return None;
            }
        };
        match parsed {
            Ok(time) => Some(TimeOfDay(time)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

impl JsonSchema for TimeOfDay {
    fn schema_name() -> Cow<'static, str> {
        "TimeOfDay".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A wall-clock time H:MM, from 0:00 to 23:59.",
            "type": "string",
            "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
        })
    }
}

/// Soak time: whole minutes, or a duration (`crate::duration`) such as `"90m"`, `"2h"`, `"1h30m"` or `"1d"`;
/// at most 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SoakMinutes(pub(crate) u32);

const MAX_SOAK_MINUTES: i64 = 30 * 24 * 60;

impl FromToml for SoakMinutes {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let minutes = match value.get_ref() {
            DeValue::Integer(_) => i64::from_toml(value, context, path)?,
            DeValue::String(text) => {
                let refused = format!(
                    "{path}: `{text_shown}` is not a duration such as \"90m\", \"2h\", \"1h30m\" or \"1d\"",
                    text_shown = shown(text)
                );
                // Beyond i64 is beyond any range a key allows; it was never a duration here.
                let message = match parse_minutes(text).map(i64::try_from) {
                    Ok(Ok(minutes)) => Ok(minutes),
                    Err(DurationError::Misspelt { suggestion, .. }) => {
                        Err(format!("{refused}; did you mean `{suggestion}`?"))
                    }
                    Ok(Err(_)) | Err(DurationError::Malformed | DurationError::TooLong) => {
                        Err(refused)
                    }
                };
                match message {
                    Ok(minutes) => minutes,
                    Err(message) => {
                        context.error(value.span().into(), message);
                        return None;
                    }
                }
            }
            _ => {
                context.error(
                    value.span().into(),
                    format!(
                        "{path}: expected minutes such as 120 or a duration such as \"2h\", found {}",
                        describe(value.get_ref())
                    ),
                );
                return None;
            }
        };
        if (0..=MAX_SOAK_MINUTES).contains(&minutes) {
            Some(SoakMinutes(u32::try_from(minutes).unwrap_or(0)))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be between 0 and {MAX_SOAK_MINUTES} minutes (30 days), found {minutes}"),
            );
            None
        }
    }
}

impl JsonSchema for SoakMinutes {
    fn schema_name() -> Cow<'static, str> {
        "SoakTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Minutes (0 to 43200), or a duration such as \"90m\", \"2h\", \"1h30m\" or \"1d\".",
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": MAX_SOAK_MINUTES },
                { "type": "string", "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_are_h_mm() {
        assert_eq!(parse_wall_time("1:00"), Ok(WallTime { hour: 1, minute: 0 }));
        assert_eq!(
            parse_wall_time("23:59"),
            Ok(WallTime {
                hour: 23,
                minute: 59
            })
        );
        for bad in [
            "24:00",
            "1:5",
            "12:60",
            "12",
            "aa:bb",
            ":30",
            "001:00",
            "1:00:00",
            "1:00:00:00",
        ] {
            assert!(parse_wall_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_time_names_the_value_and_why() {
        let problem = |text: &str| parse_wall_time(text).expect_err(text);
        assert_eq!(
            problem("22:30:15"),
            "`22:30:15` has seconds, but reboot windows start on whole minutes: write \"22:30\""
        );
        assert_eq!(
            problem("24:00"),
            "`24:00`: the hour must be from 0 to 23 (midnight is \"0:00\")"
        );
        assert_eq!(problem("7:60"), "`7:60`: the minutes must be from 00 to 59");
        assert_eq!(
            problem("7:5"),
            "`7:5`: write the minutes with two digits, as in \"7:05\""
        );
        assert_eq!(
            problem("noon"),
            "`noon` is not a time of day H:MM such as \"22:30\""
        );
    }
    #[test]
    fn days_accept_short_and_full_names_in_any_case() {
        assert_eq!(parse_day("Tue"), Some(Weekday::Tue));
        assert_eq!(parse_day("TUESDAY"), Some(Weekday::Tue));
        assert_eq!(parse_day("sun"), Some(Weekday::Sun));
        assert_eq!(parse_day("Tues"), None);
    }
}
