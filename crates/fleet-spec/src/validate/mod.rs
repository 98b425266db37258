//! From raw tables to the validated model: defaults and inheritance resolved, groups expanded into nodes,
//! every cross-key rule checked, every problem recorded with its location.
//!
//! Each table has its own module, which takes its raw input and the shared `Checker` (where problems go,
//! locations, the files named) and returns its validated part; this module reads the document and wires
//! the parts together in the order their dependencies need. The validator always runs to the end, filling
//! in placeholders where a value is unusable, so that one mistake does not hide the next; the caller
//! discards the result whenever any problem was recorded.

mod checker;
mod container_update_schedule;
mod containers;
mod derived_macs;
mod duplicates;
mod fleet_table;
mod group;
mod health;
mod hosts;
mod image;
mod inherit;
mod maintenance;
mod naming;
mod network;
mod nodes;
mod podman_objects;
mod pool;
mod rollout;
mod settings;
mod users;

#[cfg(test)]
mod tests;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{Diagnostic, shown};
use crate::model::{Fleet, FleetLocations};
use crate::raw::{RawDocument, RawFleet};
use crate::read::{Context, FromToml, KeyPath, Span};

use checker::Checker;
pub(crate) use checker::FileRefs;
use container_update_schedule::ScheduleDraft;
use group::{ExpandedGroups, FleetLevel};
use maintenance::MaintenanceDraft;
use naming::Naming;

/// What `analyze` found: a fleet when there was no problem at all, and every problem otherwise.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) fleet: Option<Fleet>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) files: FileRefs,
}

const EMPTY_FILE: &str = "the file is empty: a fleet needs at least [fleet] name and one [[group]]";

pub(crate) fn analyze(file: &str, text: &str) -> Analysis {
    let mut context = Context::new(file, text);
    let mut files = FileRefs::default();
    let fleet = read_and_validate(&mut context, &mut files, text);
    let fleet = if context.has_errors() { None } else { fleet };
    Analysis {
        fleet,
        diagnostics: context.diagnostics,
        files,
    }
}

fn read_and_validate(context: &mut Context<'_>, files: &mut FileRefs, text: &str) -> Option<Fleet> {
    if text.trim().is_empty() {
        context.error(Span::default(), EMPTY_FILE);
        return None;
    }
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // A partly parsed document gives misleading follow-up errors: report the syntax alone.
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            let message = if error.message() == "duplicate key" {
                let key = text.get(span.clone()).unwrap_or("").trim();
                format!(
                    "invalid TOML: `{key_shown}` is defined twice; each key and table may be defined once",
                    key_shown = shown(key)
                )
            } else {
                format!("invalid TOML: {}", error.message())
            };
            context.error(span.into(), message);
        }
        return None;
    }
    let span = document.span();
    let table = document.into_inner();
    if table.is_empty() {
        context.error(Span::default(), EMPTY_FILE);
        return None;
    }
    let root = Spanned::new(span, DeValue::Table(table));
    let raw = RawDocument::from_toml(&root, context, &KeyPath::Root)?;
    let mut checker = Checker::new(context, files);
    Some(fleet(&mut checker, &raw))
}

/// The whole fleet: `[fleet]` and its image and pool, the inherited `[defaults]` and `[maintenance]`, the
/// hosts, then the groups (which need all of those), then what must hold across all their nodes.
fn fleet(checker: &mut Checker<'_, '_>, raw: &RawDocument) -> Fleet {
    let fleet_table = raw.fleet.value();
    if raw.fleet.is_missing() {
        checker.error(
            Span::default(),
            "missing [fleet] table: a fleet needs at least [fleet] name and one [[group]]",
        );
    }
    let default_fleet = RawFleet::default();
    let fleet_table = fleet_table.unwrap_or(&default_fleet);
    let table_known = !raw.fleet.is_missing() && !raw.fleet.is_invalid();

    let own = fleet_table::validate(checker, fleet_table, table_known);
    let (image, direct_kernel_boot) = image::validate(checker, fleet_table, table_known);
    let pool = pool::validate(checker, fleet_table.pool.value(), &own.name);

    let mut settings = settings::fleet_defaults();
    if let Some(defaults) = raw.defaults.value() {
        settings::apply_level(checker, &mut settings, defaults.settings(), "defaults");
    }
    let mut maintenance = MaintenanceDraft::fleet_defaults();
    let mut max_concurrent_reboots = None;
    if let Some(raw_maintenance) = raw.maintenance.value() {
        maintenance::apply(checker, &mut maintenance, &raw_maintenance.level());
        max_concurrent_reboots = raw_maintenance
            .max_concurrent_reboots
            .value()
            .map(|count| count.as_u32());
    }
    let mut container_updates = ScheduleDraft::fleet_defaults();
    if let Some(raw_schedule) = raw.container_updates.value() {
        container_update_schedule::apply(
            checker,
            &mut container_updates,
            raw_schedule,
            "container_updates",
        );
    }
    let hosts = raw
        .host
        .value()
        .map(|hosts| hosts::validate(checker, hosts))
        .unwrap_or_default();

    let fleet_level_span = if table_known {
        fleet_table.span
    } else {
        Span::default()
    };
    let fleet_level = FleetLevel {
        span: fleet_level_span,
        settings: &settings,
        maintenance: &maintenance,
        container_updates: &container_updates,
        hosts: &hosts,
    };
    let mut naming = Naming::new(own.name, own.domain);
    let ExpandedGroups {
        groups,
        mut nodes,
        origins,
    } = group::validate_all(checker, &mut naming, &raw.group, &fleet_level);

    duplicates::check(checker, &mut naming, &nodes, &origins);
    derived_macs::assign(&mut naming, &mut nodes, &origins);
    let declared_at = FleetLocations {
        fleet: checker.location(fleet_level_span),
        max_concurrent_reboots: raw
            .maintenance
            .value()
            .and_then(|maintenance| maintenance.max_concurrent_reboots.span())
            .map(|span| checker.location(span)),
        ignition_version: fleet_table
            .ignition_version
            .span()
            .map(|span| checker.location(span)),
    };

    Fleet {
        name: naming.fleet_name,
        connection: own.connection,
        domain_type: own.domain_type,
        image,
        direct_kernel_boot,
        pool,
        network: own.network,
        ignition_version: own.ignition_version,
        max_concurrent_reboots,
        hosts,
        groups,
        nodes,
        declared_at,
    }
}
