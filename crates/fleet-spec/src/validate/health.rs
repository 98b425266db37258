//! `[defaults.health]`, `[group.health]` and `[group.node.health]`: the health checks of one level,
//! checked and applied onto what the level inherits. Checks accumulate (`inherit::accumulate`: a
//! check an earlier level has is not added twice), settings follow `inherit::most_specific`.

use std::collections::HashMap;

use crate::diagnostics::shown;
use crate::model::{
    CommandCheck, DEFAULT_HTTP_STATUS, DEFAULT_HTTP_TIMEOUT_SECONDS, HealthChecks, HttpCheck,
};
use crate::raw::{RawHealth, RawHttpCheck};
use crate::read::Span;

use super::checker::Checker;
use super::inherit;

/// Apply one level's `health` table; `path` is the level's key path (`defaults`, `group[0]`, ...).
pub(super) fn apply(
    checker: &mut Checker<'_, '_>,
    inherited: &mut HealthChecks,
    raw: &RawHealth,
    path: &str,
) {
    let health_path = format!("{path}.health");
    if let Some(units) = raw.units.value() {
        let mut seen = Listed::default();
        let mut written = Vec::with_capacity(units.0.len());
        for unit in &units.0 {
            if let Some(why) = gate_unit(&unit.value.0) {
                checker.error(
                    unit.span,
                    format!(
                        "{health_path}.units: `{}` {why}; leave it out",
                        shown(&unit.value.0)
                    ),
                );
                continue;
            }
            if seen.first_time(checker, &health_path, "units", &unit.value.0, unit.span) {
                written.push(unit.value.0.clone());
            }
        }
        inherit::accumulate(&mut inherited.units, written, String::as_str);
    }
    if let Some(http) = raw.http.value() {
        let mut seen = Listed::default();
        let mut written = Vec::with_capacity(http.len());
        for (position, raw) in http.iter().enumerate() {
            if let Some((check, span)) = http_check(checker, raw, &health_path, position)
                && seen.first_time(checker, &health_path, "http", &check.url, span)
            {
                written.push(check);
            }
        }
        inherit::accumulate(&mut inherited.http, written, |check| check.url.as_str());
    }
    if let Some(commands) = raw.commands.value() {
        let mut seen = Listed::default();
        let mut written = Vec::with_capacity(commands.0.len());
        for command in &commands.0 {
            let arguments = &command.value.0;
            if seen.first_time(
                checker,
                &health_path,
                "commands",
                &format!("{arguments:?}"),
                command.span,
            ) {
                written.push(CommandCheck {
                    arguments: arguments.clone(),
                    declared_at: checker.location(command.span),
                });
            }
        }
        inherit::accumulate(&mut inherited.commands, written, |check| {
            check.arguments.as_slice()
        });
    }
    inherit::most_specific(
        &mut inherited.timeout_minutes,
        raw.timeout_minutes.value().map(|minutes| minutes.as_u32()),
    );
    inherit::most_specific(
        &mut inherited.retry_seconds,
        raw.retry_seconds.value().map(|seconds| seconds.as_u32()),
    );
    if let (Some(retry), Some(timeout)) = (raw.retry_seconds.get(), raw.timeout_minutes.value()) {
        let timeout_seconds = timeout.as_u32().saturating_mul(60);
        if retry.value.as_u32() >= timeout_seconds {
            checker.error(
                retry.span,
                format!(
                    "{health_path}.retry_seconds: {} seconds between tries leaves no second try within timeout_minutes = {} ({timeout_seconds} seconds); make it shorter",
                    retry.value.as_u32(),
                    timeout.as_u32()
                ),
            );
        }
    }
    inherit::most_specific(&mut inherited.rollback, raw.rollback.value().copied());
    inherit::most_specific(
        &mut inherited.max_rollbacks,
        raw.max_rollbacks.value().map(|count| count.as_u32()),
    );
}

/// Units the health gate itself orders: checking one would wait for itself.
fn gate_unit(unit: &str) -> Option<&'static str> {
    match unit {
        "zincati.service" => Some(
            "starts only after the health check passes, so the check would wait for it for ever",
        ),
        "fleet-health.service" | "fleet-rollback.service" => Some("is the health gate itself"),
        _ => None,
    }
}

fn http_check(
    checker: &mut Checker<'_, '_>,
    raw: &RawHttpCheck,
    health_path: &str,
    position: usize,
) -> Option<(HttpCheck, Span)> {
    let check_path = format!("{health_path}.http[{position}]");
    let url = checker.required(
        &raw.url,
        raw.span,
        &check_path,
        "url",
        ", e.g. url = \"http://127.0.0.1:8080/healthz\"",
    )?;
    let check = HttpCheck {
        url: url.value.0.clone(),
        status: raw
            .status
            .value()
            .map(|status| u16::try_from(status.0).unwrap_or(DEFAULT_HTTP_STATUS))
            .unwrap_or(DEFAULT_HTTP_STATUS),
        timeout_seconds: raw
            .timeout_seconds
            .value()
            .map(|seconds| seconds.as_u32())
            .unwrap_or(DEFAULT_HTTP_TIMEOUT_SECONDS),
        declared_at: checker.location(raw.span),
    };
    Some((check, url.span))
}

/// The checks one level lists, to refuse a check listed twice at the same level (across levels a
/// repeated check is simply inherited once).
#[derive(Default)]
struct Listed {
    first_at: HashMap<String, Span>,
}

impl Listed {
    fn first_time(
        &mut self,
        checker: &mut Checker<'_, '_>,
        health_path: &str,
        key: &str,
        check: &str,
        span: Span,
    ) -> bool {
        match self.first_at.get(check) {
            None => {
                self.first_at.insert(check.to_owned(), span);
                true
            }
            Some(first) => {
                let line = checker.location(*first).line;
                checker.error(
                    span,
                    format!(
                        "{health_path}.{key}: `{check_shown}` is listed twice at this level: the first is on line {line}",
                        check_shown = shown(check)
                    ),
                );
                false
            }
        }
    }
}
