//! The settings every node inherits and each level may change: the keys of `[defaults]`, which
//! `[[group]]` and `[[group.node]]` may write again (sizes, snippets, users, time zone, kernel arguments,
//! health checks, containers and their declared pods, volumes and networks).
//!
//! Each key names its rule from `inherit`; a new inherited setting is a key in `raw::settings_level!`, a
//! field of `NodeSettings` and one line here.

use crate::model::{HealthChecks, KernelArguments, NodeSettings, PodmanObjects, SnippetRef};
use crate::raw::SettingsLevel;

use super::checker::Checker;
use super::{containers, health, inherit, podman_objects, users};

/// What a node has when no level says otherwise.
pub(super) fn fleet_defaults() -> NodeSettings {
    NodeSettings {
        vcpus: 2,
        memory_mib: 2048,
        disk_gib: 10,
        butane: Vec::new(),
        users: Vec::new(),
        time_zone: None,
        kernel_arguments: KernelArguments::default(),
        health: HealthChecks::default(),
        containers: Vec::new(),
        podman: PodmanObjects::default(),
    }
}

/// Apply one level's settings onto what it inherits; `path` is the level's key path (`defaults`,
/// `group[0]`, `group[0].node[1]`).
pub(super) fn apply_level(
    checker: &mut Checker<'_, '_>,
    inherited: &mut NodeSettings,
    level: SettingsLevel<'_>,
    path: &str,
) {
    inherit::most_specific(
        &mut inherited.vcpus,
        level.vcpus.value().map(|vcpus| vcpus.as_u32()),
    );
    inherit::most_specific(
        &mut inherited.memory_mib,
        level.memory_mib.value().map(|memory| memory.as_u64()),
    );
    inherit::most_specific(
        &mut inherited.disk_gib,
        level.disk_gib.value().map(|disk| disk.as_u64()),
    );
    if let Some(snippets) = level.butane.value() {
        // Every mention is read and located, also a repeated one; the node uses each snippet once.
        let named = snippets.0.iter().map(|snippet| {
            let declared_at = checker.location(snippet.span);
            checker.snippet_named(snippet.value.0.clone(), declared_at);
            SnippetRef {
                path: snippet.value.0.clone(),
                declared_at,
            }
        });
        inherit::accumulate(&mut inherited.butane, named, |snippet| &snippet.path);
    }
    if let Some(raw_users) = level.users.value() {
        let written = users::validate(checker, raw_users, path);
        inherit::merge_by_name(&mut inherited.users, written, |user| &user.name);
    }
    inherit::most_specific(
        &mut inherited.time_zone,
        level.time_zone.value().map(|zone| Some(zone.0)),
    );
    if let Some(raw_containers) = level.container.value() {
        let written = containers::validate(checker, raw_containers, path);
        inherit::merge_by_name(&mut inherited.containers, written, |container| {
            &container.name
        });
    }
    let declared = &mut inherited.podman;
    if let Some(raw_pods) = level.pod.value() {
        let written = podman_objects::validate_pods(checker, raw_pods, path);
        inherit::merge_by_name(&mut declared.pods, written, |pod| &pod.name);
    }
    if let Some(raw_volumes) = level.volume.value() {
        let written = podman_objects::validate_volumes(checker, raw_volumes, path);
        inherit::merge_by_name(&mut declared.volumes, written, |volume| &volume.name);
    }
    if let Some(raw_networks) = level.container_network.value() {
        let written = podman_objects::validate_networks(checker, raw_networks, path);
        inherit::merge_by_name(&mut declared.networks, written, |network| &network.name);
    }
    if let Some(arguments) = level.kernel_arguments.value() {
        let merged = &mut inherited.kernel_arguments;
        inherit::accumulate_against(
            &mut merged.should_exist,
            &mut merged.should_not_exist,
            &arguments.0.should_exist,
        );
        inherit::accumulate_against(
            &mut merged.should_not_exist,
            &mut merged.should_exist,
            &arguments.0.should_not_exist,
        );
    }
    if let Some(raw_health) = level.health.value() {
        health::apply(checker, &mut inherited.health, raw_health, path);
    }
}
