//! The node's containers as podman quadlets: `NAME.container` (and the `POD.pod` and `NETWORK.network`
//! they name that fleet.toml does not declare; `podman_objects.rs` writes the declared ones) in `/etc/containers/systemd/` for root, or `/etc/containers/systemd/users/UID/` for the
//! one rootless user who runs them, with that user's lingering file so that the user's manager, and
//! so the containers, start at boot. Every file goes through the typed INI writer.
//!
//! Subordinate IDs are not written: on Fedora CoreOS `/etc/subuid` and `/etc/subgid` exist (with
//! `core`'s range), and useradd, which Ignition runs for each user it creates, gives every regular user
//! a range there; writing the files would race that allocation (docs/containers.md).

use std::collections::BTreeMap;

use fleet_spec::{
    AutoUpdate, CORE_UID, CORE_USER, Container, ContainerOwner, ContainerVolume, Node,
    NodeSettings, PodmanObjects, PublishedPort,
};

use crate::ini::{Dialect, IniFile};
use crate::render::RenderError;
use crate::render::payload::{NodePayload, PayloadFile};

/// Where root's quadlets go.
pub const ROOTFUL_QUADLET_DIRECTORY: &str = "/etc/containers/systemd";

/// Networks podman knows by name; any other is written as a `.network` quadlet.
pub(super) const NETWORK_MODES: &[&str] =
    &["host", "none", "pasta", "slirp4netns", "bridge", "private"];

/// The quadlets, lingering files and what a rootless user needs, added to `payload`.
pub(super) fn container_files(node: &Node, payload: &mut NodePayload) -> Result<(), RenderError> {
    let settings = &node.settings;
    let mut by_owner: BTreeMap<&ContainerOwner, Vec<&Container>> = BTreeMap::new();
    for container in &settings.containers {
        by_owner
            .entry(&container.owner)
            .or_default()
            .push(container);
    }
    for (owner, containers) in by_owner {
        let directory = quadlet_directory(settings, owner);
        let mut pods: BTreeMap<&str, Vec<PublishedPort>> = BTreeMap::new();
        let mut networks: Vec<&str> = Vec::new();
        for container in &containers {
            if let Some(pod) = &container.pod
                && settings.podman.pod(pod).is_none()
            {
                pods.entry(pod)
                    .or_default()
                    .extend(container.ports.iter().copied());
            }
            if let Some(network) = &container.network
                && !NETWORK_MODES.contains(&network.as_str())
                && settings.podman.network(network).is_none()
                && !networks.contains(&network.as_str())
            {
                networks.push(network);
            }
            let path = format!("{directory}/{}.container", container.name);
            let text = written(node, &path, container_quadlet(container, &settings.podman))?;
            payload.files.push(PayloadFile::new(path, 0o644, text));
        }
        for (pod, ports) in pods {
            let path = format!("{directory}/{pod}.pod");
            let text = written(node, &path, pod_quadlet(pod, &ports))?;
            payload.files.push(PayloadFile::new(path, 0o644, text));
        }
        for network in networks {
            let path = format!("{directory}/{network}.network");
            let text = written(node, &path, network_quadlet(network))?;
            payload.files.push(PayloadFile::new(path, 0o644, text));
        }
    }
    for owner in settings.quadlet_owners() {
        if let ContainerOwner::User(user) = owner {
            // systemd-logind starts a lingering user's manager at boot; the file's presence is all it reads.
            payload.files.push(PayloadFile::new(
                format!("/var/lib/systemd/linger/{user}"),
                0o644,
                Vec::new(),
            ));
        }
    }
    Ok(())
}

/// The rootless owner's user ID, as fleet-spec fixes it (`User::container_uid`).
pub(super) fn owner_uid(settings: &NodeSettings, user: &str) -> u32 {
    settings
        .users
        .iter()
        .find(|known| known.name == user)
        .map_or(if user == CORE_USER { CORE_UID } else { 0 }, |known| {
            known.container_uid()
        })
}

pub(super) fn quadlet_directory(settings: &NodeSettings, owner: &ContainerOwner) -> String {
    match owner {
        ContainerOwner::Root => ROOTFUL_QUADLET_DIRECTORY.to_owned(),
        ContainerOwner::User(user) => format!(
            "{ROOTFUL_QUADLET_DIRECTORY}/users/{}",
            owner_uid(settings, user)
        ),
    }
}

pub(super) fn written(node: &Node, path: &str, file: IniFile) -> Result<String, RenderError> {
    file.to_text().map_err(|problem| RenderError::Generated {
        node: node.name.clone(),
        path: path.to_owned(),
        problem: Box::new(problem),
    })
}

/// systemd expands `%` specifiers in the `ExecStart=` quadlet writes, and quadlet copies values
/// into it as they are: a literal `%` is written `%%`.
pub(super) fn literal(value: &str) -> String {
    value.replace('%', "%%")
}

/// One word as quadlet splits `Environment=` (systemd's quoting): in double quotes, `\` and `"` escaped.
fn quoted_word(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for character in literal(value).chars() {
        if matches!(character, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

fn container_quadlet(container: &Container, declared: &PodmanObjects) -> IniFile {
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet from fleet.toml's container `{}`.",
        container.name
    ));
    file.section("Unit").entry(
        "Description",
        literal(&format!("fleet container {}", container.name)),
    );
    for (key, values) in &container.quadlet.unit {
        let section = file.section("Unit");
        for value in values {
            section.entry(key, value);
        }
    }
    let section = file.section("Container");
    section
        .entry("Image", literal(&container.image))
        .entry("ContainerName", &container.name);
    if container.pod.is_none() {
        for port in &container.ports {
            section.entry("PublishPort", port);
        }
    }
    for volume in &container.volumes {
        section.entry("Volume", literal(&volume_entry(volume, declared)));
    }
    for (name, value) in &container.environment {
        section.entry("Environment", quoted_word(&format!("{name}={value}")));
    }
    for environment_file in &container.environment_files {
        section.entry("EnvironmentFile", literal(environment_file));
    }
    if let Some(exec) = &container.exec {
        section.entry("Exec", literal(exec));
    }
    if let Some(health) = &container.health {
        section.entry("HealthCmd", literal(&health.command));
        if let Some(interval) = &health.interval {
            section.entry("HealthInterval", interval);
        }
        if let Some(retries) = health.retries {
            section.entry("HealthRetries", retries);
        }
        if let Some(start_period) = &health.start_period {
            section.entry("HealthStartPeriod", start_period);
        }
        if let Some(timeout) = &health.timeout {
            section.entry("HealthTimeout", timeout);
        }
        section.entry("HealthOnFailure", health.on_failure.as_str());
        // Ready only once healthy: what lets `podman auto-update` see a broken update and roll it back.
        section.entry("Notify", "healthy");
    }
    match container.auto_update {
        AutoUpdate::Off => {}
        policy => {
            section.entry("AutoUpdate", policy.as_str());
        }
    }
    if let Some(pod) = &container.pod {
        section.entry("Pod", format!("{pod}.pod"));
    }
    if let Some(network) = &container.network {
        if NETWORK_MODES.contains(&network.as_str()) {
            section.entry("Network", network);
        } else {
            section.entry("Network", format!("{network}.network"));
        }
    }
    // Quadlet 5.4 has no `Memory=` or `Cpus=`: podman's own options carry the limits.
    if let Some(memory) = &container.memory {
        section.entry("PodmanArgs", format!("--memory={memory}"));
    }
    if let Some(cpus) = container.cpus {
        section.entry("PodmanArgs", format!("--cpus={cpus}"));
    }
    for (key, values) in &container.quadlet.main {
        for value in values {
            section.entry(key, value);
        }
    }
    let service = file.section("Service");
    service.entry("Restart", container.restart.as_str());
    for (key, values) in &container.quadlet.service {
        for value in values {
            service.entry(key, value);
        }
    }
    let install = file.section("Install");
    // Rootful services start with the system, rootless ones with the (lingering) user's manager.
    let target = match container.owner {
        ContainerOwner::Root => "multi-user.target",
        ContainerOwner::User(_) => "default.target",
    };
    install.entry("WantedBy", target);
    for (key, values) in &container.quadlet.install {
        for value in values {
            install.entry(key, value);
        }
    }
    file
}

/// A volume as quadlet's `Volume=` reads it: a declared named volume by its quadlet (`NAME.volume:PATH`),
/// so that podman creates it from that file, with its options, before the container starts.
fn volume_entry(volume: &ContainerVolume, declared: &PodmanObjects) -> String {
    match volume
        .source
        .volume_name()
        .filter(|name| declared.volume(name).is_some())
    {
        Some(name) => {
            let mut entry = format!("{name}.volume:{}", volume.container_path);
            if !volume.options.is_empty() {
                entry.push(':');
                entry.push_str(&volume.options.join(","));
            }
            entry
        }
        None => volume.to_string(),
    }
}

/// A pod publishes its containers' ports: podman refuses ports on a container that joins a pod.
fn pod_quadlet(pod: &str, ports: &[PublishedPort]) -> IniFile {
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet for the containers of fleet.toml that name pod `{pod}`."
    ));
    let section = file.section("Pod");
    section.entry("PodName", pod);
    for port in ports {
        section.entry("PublishPort", port);
    }
    file
}

fn network_quadlet(network: &str) -> IniFile {
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet for the containers of fleet.toml that name network `{network}`."
    ));
    file.section("Network").entry("NetworkName", network);
    file
}

/// Containers whose updates `podman auto-update` could not roll back: on, and no health check.
pub fn updates_without_health_check(settings: &NodeSettings) -> impl Iterator<Item = &Container> {
    settings
        .containers
        .iter()
        .filter(|container| container.auto_update != AutoUpdate::Off && container.health.is_none())
}
