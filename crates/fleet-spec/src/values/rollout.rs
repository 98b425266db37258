//! A group's rollout numbers: `max_unavailable` and `canaries` as counts, fractions or percentages.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::model::{Canaries, MaxUnavailable};
use crate::read::{Context, FromToml, KeyPath};

use crate::read::describe;

/// `max_unavailable`: a count of at least 1, or a percentage `"1%"`..=`"100%"` of the group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MaxUnavailableValue(pub(crate) MaxUnavailable);

/// Parses `"NN%"`; whole percentages only.
fn parse_percent(text: &str) -> Option<Result<u32, String>> {
    let digits = text.trim().strip_suffix('%')?.trim();
    Some(match digits.parse::<u32>() {
        Ok(percent) => Ok(percent),
        Err(_) => Err(format!(
            "`{text_shown}` is not a whole percentage such as \"25%\"",
            text_shown = shown(text)
        )),
    })
}

impl FromToml for MaxUnavailableValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let result = match value.get_ref() {
            DeValue::Integer(_) => {
                let count = i64::from_toml(value, context, path)?;
                if count >= 1 {
                    Ok(MaxUnavailable::Count(
                        u32::try_from(count).unwrap_or(u32::MAX),
                    ))
                } else {
                    Err(format!(
                        "must be at least 1 node (a group with 0 may never update), found {count}"
                    ))
                }
            }
            DeValue::String(text) => match parse_percent(text) {
                Some(Ok(percent)) if (1..=100).contains(&percent) => {
                    Ok(MaxUnavailable::Percent(percent))
                }
                Some(Ok(percent)) => Err(format!(
                    "the percentage must be from 1% to 100%, found {percent}%"
                )),
                Some(Err(problem)) => Err(problem),
                None => Err(format!(
                    "expected a node count such as 1 or a percentage such as \"25%\", found \"{text_shown}\"",
                    text_shown = shown(text)
                )),
            },
            _ => Err(format!(
                "expected a node count such as 1 or a percentage such as \"25%\", found {}",
                describe(value.get_ref())
            )),
        };
        match result {
            Ok(max) => Some(MaxUnavailableValue(max)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

impl JsonSchema for MaxUnavailableValue {
    fn schema_name() -> Cow<'static, str> {
        "MaxUnavailable".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node count (at least 1) or a percentage of the group such as \"25%\" (1% to 100%, rounded down, never below one node).",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^(100|[1-9][0-9]?)%$" }
            ]
        })
    }
}

/// `canaries`: a count (0 allowed), a fraction `0.0..=1.0`, or a percentage `"0%"..="100%"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CanariesValue(pub(crate) Canaries);

impl FromToml for CanariesValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let result = match value.get_ref() {
            DeValue::Integer(_) => {
                let count = i64::from_toml(value, context, path)?;
                u32::try_from(count)
                    .map(Canaries::Count)
                    .map_err(|_| format!("must be 0 or more nodes, found {count}"))
            }
            DeValue::Float(_) => {
                let fraction = f64::from_toml(value, context, path)?;
                if (0.0..=1.0).contains(&fraction) {
                    Ok(Canaries::Fraction(fraction))
                } else {
                    Err(format!(
                        "a fraction of the group must be from 0.0 to 1.0, found {fraction}"
                    ))
                }
            }
            DeValue::String(text) => match parse_percent(text) {
                Some(Ok(percent)) if percent <= 100 => {
                    Ok(Canaries::Fraction(f64::from(percent) / 100.0))
                }
                Some(Ok(percent)) => Err(format!(
                    "the percentage must be from 0% to 100%, found {percent}%"
                )),
                Some(Err(problem)) => Err(problem),
                None => Err(format!(
                    "expected a node count such as 1, a fraction such as 0.25 or a percentage such as \"25%\", found \"{text_shown}\"",
                    text_shown = shown(text)
                )),
            },
            _ => Err(format!(
                "expected a node count such as 1, a fraction such as 0.25 or a percentage such as \"25%\", found {}",
                describe(value.get_ref())
            )),
        };
        match result {
            Ok(canaries) => Some(CanariesValue(canaries)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

impl JsonSchema for CanariesValue {
    fn schema_name() -> Cow<'static, str> {
        "Canaries".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node count (0 for none), a fraction of the group from 0.0 to 1.0, or a percentage such as \"25%\".",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "number", "minimum": 0.0, "maximum": 1.0 },
                { "type": "string", "pattern": "^(100|[1-9]?[0-9])%$" }
            ]
        })
    }
}
