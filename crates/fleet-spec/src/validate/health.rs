//! `[defaults.health]`, `[group.health]` and `[group.node.health]`: the health checks of one level,
//! checked and applied onto what the level inherits. Checks accumulate (`inherit::accumulate`: a
//! check an earlier level has is not added twice), settings follow `inherit::most_specific`. Once a
//! node's levels are merged, every container a check names must be one of the node's
//! (`check_node_containers`).

use std::collections::HashMap;

use crate::diagnostics::shown;
use crate::model::{
    CommandCheck, ContainerCheck, DEFAULT_HTTP_STATUS, DEFAULT_HTTP_TIMEOUT_SECONDS, HealthChecks,
    HttpCheck, NodeSettings,
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
    if let Some(containers) = raw.containers.value() {
        let mut seen = Listed::default();
        let mut written = Vec::with_capacity(containers.0.len());
        for container in &containers.0 {
            if seen.first_time(
                checker,
                &health_path,
                "containers",
                &container.value,
                container.span,
            ) {
                written.push(ContainerCheck {
                    name: container.value.clone(),
                    declared_at: checker.location(container.span),
                });
            }
        }
        inherit::accumulate(&mut inherited.containers, written, |check| {
            check.name.as_str()
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

/// Every container a node's health checks name is a container of the node, once its levels are
/// merged (called once per distinct composition of settings, as the containers' own node checks).
pub(super) fn check_node_containers(
    checker: &mut Checker<'_, '_>,
    settings: &NodeSettings,
    node: &str,
) {
    for check in &settings.health.containers {
        let containers = &settings.containers;
        if containers
            .iter()
            .any(|container| container.name == check.name)
        {
            continue;
        }
        let mut message = format!(
            "health.containers: node {node} has no container `{}`",
            shown(&check.name)
        );
        let names = containers.iter().map(|container| container.name.as_str());
        match crate::hints::closest(&check.name, names.clone()) {
            Some(closest) => message.push_str(&format!("; did you mean `{closest}`?")),
            None if containers.is_empty() => message.push_str(&format!(
                "; it runs no containers: add a [[group.container]] named `{}`, or leave the check out",
                shown(&check.name)
            )),
            None => message.push_str(&format!(
                "; its containers are {}",
                names
                    .map(|name| format!("`{}`", shown(name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        checker.error_at(check.declared_at, message);
    }
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
