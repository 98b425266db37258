//! `[[defaults.container]]`, `[[group.container]]` and `[[group.node.container]]`: the containers of one
//! level, and what must hold once a node's levels are merged (known users, free ports, privileged ports,
//! one owner per pod, distinct service names, distinct user IDs).

use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::shown;
use crate::model::{
    AutoUpdate, CORE_USER, Container, ContainerLocations, ContainerOwner, HealthCheck,
    HealthFailureAction, Location, NodeSettings, PublishedPort, QuadletKeys, RestartPolicy, User,
};
use crate::raw::{RawContainer, RawContainerHealth, RawQuadlet};
use crate::read::{Field, Span};
use crate::values::{AutoUpdateName, HealthFailureName, QuadletValue, RestartName};

use super::checker::Checker;
use super::podman_objects;

/// Networks podman knows by these words; any other name is a network fleet writes as `NAME.network`.
pub(super) const NETWORK_MODES: &[&str] =
    &["host", "none", "pasta", "slirp4netns", "bridge", "private"];

/// The kernel argument that lets unprivileged users bind low ports (Linux 5.8 sets `sysctl.*` from the
/// command line before init runs).
const UNPRIVILEGED_PORT_START: &str = "sysctl.net.ipv4.ip_unprivileged_port_start=";

/// Quadlet keys fleet writes itself, by section, with the fleet key that sets each.
const MANAGED_KEYS: &[(&str, &str, &str)] = &[
    ("Container", "Image", "image"),
    ("Container", "ContainerName", "name"),
    ("Container", "PublishPort", "ports"),
    ("Container", "Volume", "volumes"),
    ("Container", "Environment", "environment"),
    ("Container", "EnvironmentFile", "environment_files"),
    ("Container", "Exec", "exec"),
    ("Container", "HealthCmd", "health.command"),
    ("Container", "HealthInterval", "health.interval"),
    ("Container", "HealthRetries", "health.retries"),
    ("Container", "HealthStartPeriod", "health.start_period"),
    ("Container", "HealthTimeout", "health.timeout"),
    ("Container", "HealthOnFailure", "health.on_failure"),
    ("Container", "Notify", "health"),
    ("Container", "AutoUpdate", "auto_update"),
    ("Container", "Pod", "pod"),
    ("Container", "Network", "network"),
    ("Service", "Restart", "restart"),
    (
        "Install",
        "WantedBy",
        "(fleet starts every container at boot)",
    ),
];

/// The containers one level writes, checked; `path` is the level's key path (`defaults`, `group[0]`, ...).
/// How they combine with the inherited ones is `inherit::merge_by_name`.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    raw_containers: &[RawContainer],
    path: &str,
) -> Vec<Container> {
    let mut containers = Vec::with_capacity(raw_containers.len());
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (position, raw) in raw_containers.iter().enumerate() {
        let container_path = format!("{path}.container[{position}]");
        let name = checker.required(&raw.name, raw.span, &container_path, "name", "");
        let image = checker.required(
            &raw.image,
            raw.span,
            &container_path,
            "image",
            ", e.g. `image = \"docker.io/library/nginx:1.27\"`",
        );
        let user = checker.required(
            &raw.user,
            raw.span,
            &container_path,
            "user",
            ": `user = \"core\"` (or another fleet user) runs it rootless, `user = \"root\"` rootful",
        );
        if let Some(name) = name {
            if let Err(problem) = check_unit_name(&name.value) {
                checker.error(name.span, format!("{container_path}.name: {problem}"));
            }
            if let Some(first) = seen.insert(&name.value, name.span) {
                let line = checker.location(first).line;
                checker.error(
                    name.span,
                    format!(
                        "{container_path}.name: container `{}` is listed twice at this level: the first is on line {line}",
                        shown(&name.value)
                    ),
                );
            }
        }
        let auto_update = match raw.auto_update.value() {
            Some(AutoUpdateName::Registry) => AutoUpdate::Registry,
            Some(AutoUpdateName::Local) => AutoUpdate::Local,
            Some(AutoUpdateName::Off) | None => AutoUpdate::Off,
        };
        if let (Some(image), AutoUpdate::Registry) = (image, auto_update)
            && let Err(problem) = check_registry_updatable(&image.value.0)
        {
            checker.error(image.span, format!("{container_path}.image: {problem}"));
        }
        for (key, value) in raw.environment.value().into_iter().flatten() {
            if !is_environment_name(key) {
                checker.error(
                    raw.environment.span().unwrap_or(raw.span),
                    format!(
                        "{container_path}.environment: `{}` is not a variable name: use letters, digits and `_`, not starting with a digit",
                        shown(key)
                    ),
                );
            }
            if value.chars().any(char::is_control) {
                checker.error(
                    raw.environment.span().unwrap_or(raw.span),
                    format!(
                        "{container_path}.environment.{}: the value holds a control character (a line break?); put multi-line values in a file named by `environment_files`",
                        shown(key)
                    ),
                );
            }
        }
        for file in raw.environment_files.value().into_iter().flatten() {
            if !file.starts_with('/') || file.chars().any(char::is_control) {
                checker.error(
                    raw.environment_files.span().unwrap_or(raw.span),
                    format!(
                        "{container_path}.environment_files: `{}` must be an absolute path on the node, such as `/etc/web/env`",
                        shown(file)
                    ),
                );
            }
        }
        if let Some(exec) = raw.exec.get()
            && exec.value.chars().any(char::is_control)
        {
            checker.error(
                exec.span,
                format!("{container_path}.exec: the command holds a control character (a line break?); write it on one line"),
            );
        }
        for (key, field) in [("pod", &raw.pod), ("network", &raw.network)] {
            if let Some(written) = field.get()
                && !(key == "network" && NETWORK_MODES.contains(&written.value.as_str()))
                && let Err(problem) = check_unit_name(&written.value)
            {
                checker.error(written.span, format!("{container_path}.{key}: {problem}"));
            }
        }
        if let (false, Some(network)) = (raw.pod.is_missing(), raw.network.get()) {
            checker.error(
                network.span,
                format!("{container_path}.network: a container in a pod uses the pod's network; remove `network` or `pod`"),
            );
        }
        let health = raw
            .health
            .get()
            .and_then(|health| health_check(checker, &health.value, &container_path));
        let quadlet = raw
            .quadlet
            .value()
            .map(|quadlet| quadlet_keys(checker, quadlet, &container_path))
            .unwrap_or_default();

        let (Some(name), Some(image), Some(user)) = (name, image, user) else {
            continue;
        };
        let owner = if user.value == "root" {
            ContainerOwner::Root
        } else {
            ContainerOwner::User(user.value.clone())
        };
        let ports = raw
            .ports
            .value()
            .map(|ports| ports.0.as_slice())
            .unwrap_or(&[]);
        containers.push(Container {
            name: name.value.clone(),
            image: image.value.0.clone(),
            owner,
            ports: ports.iter().map(|port| port.value.0).collect(),
            volumes: raw
                .volumes
                .value()
                .map(|volumes| volumes.0.iter().map(|volume| volume.0.clone()).collect())
                .unwrap_or_default(),
            environment: raw.environment.value().cloned().unwrap_or_default(),
            environment_files: raw.environment_files.value().cloned().unwrap_or_default(),
            exec: raw.exec.value().cloned(),
            health,
            auto_update,
            pod: raw.pod.value().cloned(),
            network: raw.network.value().cloned(),
            memory: raw.memory.value().map(|memory| memory.0.clone()),
            cpus: raw.cpus.value().map(|cpus| cpus.0),
            restart: restart_policy(raw.restart.value()),
            quadlet,
            declared_at: ContainerLocations {
                table: checker.location(name.span),
                user: checker.location(user.span),
                ports: ports
                    .iter()
                    .map(|port| checker.location(port.span))
                    .collect(),
                pod: raw.pod.span().map(|span| checker.location(span)),
                network: raw.network.span().map(|span| checker.location(span)),
            },
        });
    }
    containers
}

fn restart_policy(written: Option<&RestartName>) -> RestartPolicy {
    match written {
        None | Some(RestartName::Always) => RestartPolicy::Always,
        Some(RestartName::No) => RestartPolicy::No,
        Some(RestartName::OnSuccess) => RestartPolicy::OnSuccess,
        Some(RestartName::OnFailure) => RestartPolicy::OnFailure,
        Some(RestartName::OnAbnormal) => RestartPolicy::OnAbnormal,
        Some(RestartName::OnAbort) => RestartPolicy::OnAbort,
        Some(RestartName::OnWatchdog) => RestartPolicy::OnWatchdog,
    }
}

fn health_check(
    checker: &mut Checker<'_, '_>,
    raw: &RawContainerHealth,
    container_path: &str,
) -> Option<HealthCheck> {
    let health_path = format!("{container_path}.health");
    let command = checker.required(
        &raw.command,
        raw.span,
        &health_path,
        "command",
        ", e.g. `command = \"curl -fs http://localhost/ || exit 1\"`",
    )?;
    if command.value.chars().any(char::is_control) || command.value.trim().is_empty() {
        checker.error(
            command.span,
            format!("{health_path}.command: write the command on one line, not empty"),
        );
    }
    Some(HealthCheck {
        command: command.value.clone(),
        interval: raw.interval.value().map(|duration| duration.0.clone()),
        retries: raw.retries.value().map(|retries| retries.as_u32()),
        start_period: raw.start_period.value().map(|duration| duration.0.clone()),
        timeout: raw.timeout.value().map(|duration| duration.0.clone()),
        on_failure: match raw.on_failure.value() {
            None | Some(HealthFailureName::Kill) => HealthFailureAction::Kill,
            Some(HealthFailureName::None) => HealthFailureAction::None,
            Some(HealthFailureName::Restart) => HealthFailureAction::Restart,
            Some(HealthFailureName::Stop) => HealthFailureAction::Stop,
        },
    })
}

/// The free quadlet keys of a container's sections.
fn quadlet_keys(
    checker: &mut Checker<'_, '_>,
    raw: &RawQuadlet,
    container_path: &str,
) -> QuadletKeys {
    free_quadlet_keys(
        checker,
        QuadletSections {
            main: ("Container", &raw.Container),
            service: &raw.Service,
            unit: &raw.Unit,
            install: &raw.Install,
            table: raw.span,
        },
        MANAGED_KEYS,
        container_path,
        "container",
    )
}

/// The passthrough sections of one quadlet table: its own section (name and keys) and the common ones.
pub(super) struct QuadletSections<'r> {
    pub(super) main: (&'static str, &'r Field<BTreeMap<String, QuadletValue>>),
    pub(super) service: &'r Field<BTreeMap<String, QuadletValue>>,
    pub(super) unit: &'r Field<BTreeMap<String, QuadletValue>>,
    pub(super) install: &'r Field<BTreeMap<String, QuadletValue>>,
    pub(super) table: Span,
}

/// The free quadlet keys of each section, refusing keys fleet writes itself (`managed`: section, key,
/// the fleet key that sets it) and malformed ones; `kind` names the table in messages (`container`).
pub(super) fn free_quadlet_keys(
    checker: &mut Checker<'_, '_>,
    sections: QuadletSections<'_>,
    managed: &[(&str, &str, &str)],
    table_path: &str,
    kind: &str,
) -> QuadletKeys {
    let mut section = |name: &str, field: &Field<BTreeMap<String, QuadletValue>>| {
        let mut keys = BTreeMap::new();
        let span = field.span().unwrap_or(sections.table);
        for (key, value) in field.value().into_iter().flatten() {
            let key_path = format!("{table_path}.quadlet.{name}.{key}");
            if let Some((_, _, fleet_key)) =
                managed.iter().find(|(managed_section, managed_key, _)| {
                    *managed_section == name && managed_key == key
                })
            {
                checker.error(
                    span,
                    format!("{key_path}: fleet writes `{key}` itself from the {kind}'s `{fleet_key}`; set that instead"),
                );
                continue;
            }
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                checker.error(
                    span,
                    format!("{key_path}: `{}` is not a quadlet key: use letters, digits and `-`, as in `AddCapability`", shown(key)),
                );
                continue;
            }
            if value
                .0
                .iter()
                .any(|item| item.chars().any(char::is_control))
            {
                checker.error(
                    span,
                    format!("{key_path}: a value holds a control character (a line break?)"),
                );
                continue;
            }
            keys.insert(key.clone(), value.0.clone());
        }
        keys
    };
    QuadletKeys {
        main: section(sections.main.0, sections.main.1),
        service: section("Service", sections.service),
        unit: section("Unit", sections.unit),
        install: section("Install", sections.install),
    }
}

/// What must hold for the containers (and declared pods, volumes and networks) a node ends up with:
/// every owner a user of the node, no host port claimed twice, no low port for a rootless container or
/// pod unless the kernel allows it, the containers of a pod run by one owner, one service per name and
/// owner, distinct user IDs for rootless owners, and what `podman_objects::check_references` checks.
pub(super) fn check_node(checker: &mut Checker<'_, '_>, settings: &NodeSettings, node: &str) {
    let containers = &settings.containers;
    if containers.is_empty() && settings.podman.is_empty() {
        return;
    }
    let unprivileged_port_start = unprivileged_port_start(settings);
    let mut owners: BTreeMap<&str, (&User, Location)> = BTreeMap::new();
    let container_owners = containers.iter().map(|container| {
        (
            format!("container `{}`", shown(&container.name)),
            &container.owner,
            container.declared_at.user,
        )
    });
    for (what, owner, user_location) in
        container_owners.chain(podman_objects::declared_owners(settings))
    {
        let ContainerOwner::User(user_name) = owner else {
            continue;
        };
        match settings.users.iter().find(|user| &user.name == user_name) {
            Some(user) => {
                owners.entry(user_name).or_insert((user, user_location));
            }
            None if user_name == CORE_USER => {}
            None => {
                let known = settings
                    .users
                    .iter()
                    .map(|user| user.name.as_str())
                    .chain([CORE_USER, "root"]);
                let mut message = format!("{what}: node {node} has no user `{}`", shown(user_name));
                match crate::hints::closest(user_name, known) {
                    Some(closest) => message.push_str(&format!("; did you mean `{closest}`?")),
                    None => message.push_str(&format!(
                        "; add it to the node's `users` (e.g. [[defaults.users]] name = \"{}\"), or set its `user` to `core` or `root`",
                        shown(user_name)
                    )),
                }
                checker.error_at(user_location, message);
            }
        }
    }
    let publishers = publishers(settings);
    for publisher in &publishers {
        let ContainerOwner::User(user_name) = publisher.owner else {
            continue;
        };
        for (port, location) in publisher.ports.iter().zip(publisher.locations) {
            if u32::from(port.host_port) < unprivileged_port_start {
                checker.error_at(
                    *location,
                    format!(
                        "{} runs rootless as `{}` and cannot listen on host port {} (below {unprivileged_port_start}, which only root may bind); publish a port of 1024 or more, run it as `root`, or let users bind it with the kernel argument `{UNPRIVILEGED_PORT_START}{}`",
                        publisher.what,
                        shown(user_name),
                        port.host_port,
                        port.host_port
                    ),
                );
            }
        }
    }
    check_ports(checker, &publishers, node);
    check_pods_and_services(checker, settings, node);
    podman_objects::check_references(checker, settings, node);
    check_user_ids(checker, &owners, node);
}

/// Something of a node that publishes host ports: a container, or a declared pod for its containers.
struct Publisher<'s> {
    /// `container `site`` or `pod `data``, as messages name it.
    what: String,
    owner: &'s ContainerOwner,
    ports: &'s [PublishedPort],
    locations: &'s [Location],
}

fn publishers(settings: &NodeSettings) -> Vec<Publisher<'_>> {
    let containers = settings.containers.iter().map(|container| Publisher {
        what: format!("container `{}`", shown(&container.name)),
        owner: &container.owner,
        ports: &container.ports,
        locations: &container.declared_at.ports,
    });
    let pods = settings.podman.pods.iter().map(|pod| Publisher {
        what: format!("pod `{}`", shown(&pod.name)),
        owner: &pod.owner,
        ports: &pod.ports,
        locations: &pod.declared_at.ports,
    });
    containers.chain(pods).collect()
}

/// The lowest port users may bind: 1024, or what the node's kernel arguments set.
fn unprivileged_port_start(settings: &NodeSettings) -> u32 {
    settings
        .kernel_arguments
        .should_exist
        .iter()
        .rev()
        .find_map(|argument| argument.strip_prefix(UNPRIVILEGED_PORT_START)?.parse().ok())
        .unwrap_or(1024)
}

fn check_ports(checker: &mut Checker<'_, '_>, publishers: &[Publisher<'_>], node: &str) {
    let mut claimed: Vec<(&str, PublishedPort, Location)> = Vec::new();
    for publisher in publishers {
        for (port, location) in publisher.ports.iter().zip(publisher.locations) {
            if let Some((first, first_location)) = claimed
                .iter()
                .find(|(_, claimed_port, _)| port.collides_with(claimed_port))
                .map(|(what, _, location)| (*what, *location))
            {
                checker.error_at(
                    *location,
                    format!(
                        "{}: host port {}/{} is already published on node {node} by {first} on line {}; give one of them another host port",
                        publisher.what,
                        port.host_port,
                        port.protocol.as_str(),
                        first_location.line
                    ),
                );
            } else {
                claimed.push((publisher.what.as_str(), *port, *location));
            }
        }
    }
}

/// The services quadlet makes: `NAME.service` for a container, `POD-pod.service` for a pod,
/// `VOLUME-volume.service` for a declared volume and `NETWORK-network.service` for a network, per
/// owner; and an undeclared pod belongs to one owner (a declared one to its `user`).
fn check_pods_and_services(checker: &mut Checker<'_, '_>, settings: &NodeSettings, node: &str) {
    let mut pod_owners: HashMap<&str, &Container> = HashMap::new();
    let mut services: HashMap<(&ContainerOwner, String), String> = HashMap::new();
    for (owner, service) in podman_objects::declared_services(settings) {
        let what = service
            .rsplit_once('-')
            .map_or("declaration", |(_, kind)| kind);
        let description = format!("the declared {what}");
        services.entry((owner, service)).or_insert(description);
    }
    for container in &settings.containers {
        if let Some(pod) = &container.pod
            && !podman_objects::joins_declared_pod(settings, container)
        {
            match pod_owners.get(pod.as_str()) {
                Some(first) if first.owner != container.owner => checker.error_at(
                    container.declared_at.pod.unwrap_or(container.declared_at.table),
                    format!(
                        "container `{}` runs as `{}` but pod `{}` on node {node} already has container `{}`, run as `{}`; the containers of a pod share one user",
                        shown(&container.name),
                        shown(container.owner.as_str()),
                        shown(pod),
                        shown(&first.name),
                        shown(first.owner.as_str())
                    ),
                ),
                Some(_) => {}
                None => {
                    pod_owners.insert(pod, container);
                }
            }
        }
        let own = (&container.owner, container.name.clone());
        if let Some(first) = services.get(&own) {
            checker.error_at(
                container.declared_at.table,
                format!(
                    "container `{}`: its service `{}.service` on node {node} is also the service of {first}; rename one of them",
                    shown(&container.name),
                    shown(&own.1),
                ),
            );
        } else {
            services.insert(own, format!("container `{}`", shown(&container.name)));
        }
        let mut names = Vec::new();
        if let Some(pod) = &container.pod {
            names.push(format!("{pod}-pod"));
        }
        if let Some(network) = container
            .network
            .as_ref()
            .filter(|network| !NETWORK_MODES.contains(&network.as_str()))
        {
            names.push(format!("{network}-network"));
        }
        for service in names {
            services
                .entry((&container.owner, service))
                .or_insert_with(|| {
                    format!("container `{}`'s pod or network", shown(&container.name))
                });
        }
    }
}

/// Rootless owners get fixed user IDs; two of them must not share one.
fn check_user_ids(
    checker: &mut Checker<'_, '_>,
    owners: &BTreeMap<&str, (&User, Location)>,
    node: &str,
) {
    let mut by_uid: BTreeMap<u32, &str> = BTreeMap::new();
    for (name, (user, location)) in owners {
        let uid = user.container_uid();
        if let Some(first) = by_uid.insert(uid, name) {
            checker.error_at(
                *location,
                format!(
                    "users `{}` and `{}` of node {node} would both get user ID {uid} for their rootless containers; give one of them its own `uid` (1000..60000) in its users entry",
                    shown(first),
                    shown(name)
                ),
            );
        }
    }
}

/// Container, pod and network names become file and unit names.
pub(super) fn check_unit_name(name: &str) -> Result<(), String> {
    const RULE: &str = "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters";
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{}` is not a valid name: {RULE}", shown(name)))
    }
}

fn is_environment_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `podman auto-update` with the registry policy compares the image's tag in its registry, so the image
/// must name its registry and must not be pinned by digest.
fn check_registry_updatable(image: &str) -> Result<(), String> {
    let registry = image.split_once('/').map(|(first, _)| first);
    let fully_qualified = registry.is_some_and(|registry| {
        registry.contains('.') || registry.contains(':') || registry == "localhost"
    });
    if !fully_qualified {
        return Err(format!(
            "`{}` is a short name, and `auto_update = \"registry\"` needs a fully qualified image: podman resolves short names through a search list, and auto-update refuses them; write the registry and the repository, such as `docker.io/library/{}`",
            shown(image),
            shown(image.rsplit('/').next().unwrap_or(image))
        ));
    }
    if image.contains('@') {
        return Err(format!(
            "`{}` is pinned by digest, so `auto_update = \"registry\"` would never find a newer image; name a tag (`:1.27`) instead",
            shown(image)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_updates_need_a_registry_and_a_tag() {
        assert!(check_registry_updatable("docker.io/library/nginx:1.27").is_ok());
        assert!(check_registry_updatable("localhost/site:latest").is_ok());
        assert!(check_registry_updatable("registry.local:5000/site").is_ok());
        assert!(
            check_registry_updatable("nginx:1.27")
                .unwrap_err()
                .contains("docker.io/library/nginx:1.27")
        );
        assert!(check_registry_updatable("library/nginx").is_err());
        assert!(
            check_registry_updatable("quay.io/a/b@sha256:00")
                .unwrap_err()
                .contains("digest")
        );
    }
}
