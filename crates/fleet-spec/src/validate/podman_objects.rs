//! `[[...pod]]`, `[[...volume]]` and `[[...container_network]]`: the pods, named volumes and podman
//! networks one level declares, and, once a node's levels are merged, what the containers that name
//! them must agree with (the same user, ports on the pod rather than its containers, a pod's network
//! declared).

use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::shown;
use crate::model::{
    Container, ContainerNetwork, ContainerOwner, DeclarationLocations, Location, NamedVolume,
    NodeSettings, Pod,
};
use crate::raw::{RawContainerNetwork, RawPod, RawVolume};
use crate::read::{Field, Located, Span};

use super::checker::Checker;
use super::containers::{NETWORK_MODES, QuadletSections, check_unit_name, free_quadlet_keys};

/// Quadlet keys fleet writes itself in a `.pod`, with the pod key that sets each.
const POD_MANAGED_KEYS: &[(&str, &str, &str)] = &[
    ("Pod", "PodName", "name"),
    ("Pod", "PublishPort", "ports"),
    ("Pod", "Network", "network"),
    ("Pod", "UserNS", "userns"),
];

/// Quadlet keys fleet writes itself in a `.volume`, with the volume key that sets each.
const VOLUME_MANAGED_KEYS: &[(&str, &str, &str)] = &[
    ("Volume", "VolumeName", "name"),
    ("Volume", "Driver", "driver"),
    ("Volume", "Device", "device"),
    ("Volume", "Type", "filesystem"),
    ("Volume", "Options", "options"),
    ("Volume", "Copy", "copy"),
    ("Volume", "Label", "labels"),
];

/// Quadlet keys fleet writes itself in a `.network`, with the network key that sets each.
const NETWORK_MANAGED_KEYS: &[(&str, &str, &str)] = &[
    ("Network", "NetworkName", "name"),
    ("Network", "Driver", "driver"),
    ("Network", "Subnet", "subnet"),
    ("Network", "Gateway", "gateway"),
    ("Network", "IPRange", "ip_range"),
    ("Network", "Internal", "internal"),
    ("Network", "IPv6", "ipv6"),
    ("Network", "DNS", "dns"),
    ("Network", "Label", "labels"),
];

/// What every declaration has: a name (unique at its level) and an owner.
struct Header<'r> {
    name: &'r Located<String>,
    user: &'r Located<String>,
}

/// The name and user of one declaration, checked; `None` when either is unusable.
fn header<'r>(
    checker: &mut Checker<'_, '_>,
    seen: &mut HashMap<&'r str, Span>,
    (name, user, span): (&'r Field<String>, &'r Field<String>, Span),
    table_path: &str,
    kind: &str,
) -> Option<Header<'r>> {
    let name = checker.required(name, span, table_path, "name", "");
    let user = checker.required(
        user,
        span,
        table_path,
        "user",
        &format!(
            ": the fleet user whose rootless containers use the {kind} (`user = \"core\"`), or `root`"
        ),
    );
    if let Some(name) = name {
        if let Err(problem) = check_unit_name(&name.value) {
            checker.error(name.span, format!("{table_path}.name: {problem}"));
        }
        if let Some(first) = seen.insert(&name.value, name.span) {
            let line = checker.location(first).line;
            checker.error(
                name.span,
                format!(
                    "{table_path}.name: {kind} `{}` is listed twice at this level: the first is on line {line}",
                    shown(&name.value)
                ),
            );
        }
    }
    Some(Header {
        name: name?,
        user: user?,
    })
}

fn owner(user: &str) -> ContainerOwner {
    if user == "root" {
        ContainerOwner::Root
    } else {
        ContainerOwner::User(user.to_owned())
    }
}

fn locations(checker: &Checker<'_, '_>, header: &Header<'_>) -> DeclarationLocations {
    DeclarationLocations {
        table: checker.location(header.name.span),
        user: checker.location(header.user.span),
        ports: Vec::new(),
        network: None,
    }
}

/// A free-text value quadlet writes on one line: no control characters, not empty.
fn check_one_line(checker: &mut Checker<'_, '_>, field: &Field<String>, key_path: &str) {
    if let Some(written) = field.get()
        && (written.value.trim().is_empty() || written.value.chars().any(char::is_control))
    {
        checker.error(
            written.span,
            format!("{key_path}: write the value on one line, not empty"),
        );
    }
}

fn check_labels(
    checker: &mut Checker<'_, '_>,
    field: &Field<BTreeMap<String, String>>,
    table_path: &str,
) {
    let Some(labels) = field.get() else {
        return;
    };
    for (key, value) in &labels.value {
        let key_ok = !key.is_empty()
            && !key.contains('=')
            && !key.chars().any(|c| c.is_control() || c.is_whitespace());
        if !key_ok || value.chars().any(char::is_control) {
            checker.error(
                labels.span,
                format!(
                    "{table_path}.labels.{}: a label is a name without spaces or `=`, and a value on one line",
                    shown(key)
                ),
            );
        }
    }
}

/// The pods one level declares; `path` is the level's key path (`defaults`, `group[0]`, ...).
pub(super) fn validate_pods(
    checker: &mut Checker<'_, '_>,
    raw_pods: &[RawPod],
    path: &str,
) -> Vec<Pod> {
    let mut pods = Vec::with_capacity(raw_pods.len());
    let mut seen = HashMap::new();
    for (position, raw) in raw_pods.iter().enumerate() {
        let pod_path = format!("{path}.pod[{position}]");
        let header = header(
            checker,
            &mut seen,
            (&raw.name, &raw.user, raw.span),
            &pod_path,
            "pod",
        );
        if let Some(network) = raw.network.get()
            && !NETWORK_MODES.contains(&network.value.as_str())
            && let Err(problem) = check_unit_name(&network.value)
        {
            checker.error(network.span, format!("{pod_path}.network: {problem}"));
        }
        if let Some(userns) = raw.userns.get()
            && (userns.value.is_empty()
                || userns
                    .value
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace()))
        {
            checker.error(
                userns.span,
                format!("{pod_path}.userns: write one value as podman's `--userns` reads it, such as `auto` or `keep-id`"),
            );
        }
        let quadlet = raw
            .quadlet
            .value()
            .map(|quadlet| {
                free_quadlet_keys(
                    checker,
                    QuadletSections {
                        main: ("Pod", &quadlet.Pod),
                        service: &quadlet.Service,
                        unit: &quadlet.Unit,
                        install: &quadlet.Install,
                        table: quadlet.span,
                    },
                    POD_MANAGED_KEYS,
                    &pod_path,
                    "pod",
                )
            })
            .unwrap_or_default();
        let Some(header) = header else {
            continue;
        };
        let ports = raw
            .ports
            .value()
            .map(|ports| ports.0.as_slice())
            .unwrap_or(&[]);
        let mut declared_at = locations(checker, &header);
        declared_at.ports = ports
            .iter()
            .map(|port| checker.location(port.span))
            .collect();
        declared_at.network = raw.network.span().map(|span| checker.location(span));
        pods.push(Pod {
            name: header.name.value.clone(),
            owner: owner(&header.user.value),
            ports: ports.iter().map(|port| port.value.0).collect(),
            network: raw.network.value().cloned(),
            userns: raw.userns.value().cloned(),
            quadlet,
            declared_at,
        });
    }
    pods
}

/// The named volumes one level declares.
pub(super) fn validate_volumes(
    checker: &mut Checker<'_, '_>,
    raw_volumes: &[RawVolume],
    path: &str,
) -> Vec<NamedVolume> {
    let mut volumes = Vec::with_capacity(raw_volumes.len());
    let mut seen = HashMap::new();
    for (position, raw) in raw_volumes.iter().enumerate() {
        let volume_path = format!("{path}.volume[{position}]");
        let header = header(
            checker,
            &mut seen,
            (&raw.name, &raw.user, raw.span),
            &volume_path,
            "volume",
        );
        for (key, field) in [
            ("driver", &raw.driver),
            ("device", &raw.device),
            ("filesystem", &raw.filesystem),
            ("options", &raw.options),
        ] {
            check_one_line(checker, field, &format!("{volume_path}.{key}"));
        }
        if raw.device.is_missing() {
            for (key, field) in [("filesystem", &raw.filesystem), ("options", &raw.options)] {
                if let Some(written) = field.get() {
                    checker.error(
                        written.span,
                        format!("{volume_path}.{key}: mount options and a file system type are those of a `device`; add `device` (e.g. `device = \"tmpfs\"`) or remove `{key}`"),
                    );
                }
            }
        }
        check_labels(checker, &raw.labels, &volume_path);
        let quadlet = raw
            .quadlet
            .value()
            .map(|quadlet| {
                free_quadlet_keys(
                    checker,
                    QuadletSections {
                        main: ("Volume", &quadlet.Volume),
                        service: &quadlet.Service,
                        unit: &quadlet.Unit,
                        install: &quadlet.Install,
                        table: quadlet.span,
                    },
                    VOLUME_MANAGED_KEYS,
                    &volume_path,
                    "volume",
                )
            })
            .unwrap_or_default();
        let Some(header) = header else {
            continue;
        };
        volumes.push(NamedVolume {
            name: header.name.value.clone(),
            owner: owner(&header.user.value),
            driver: raw.driver.value().cloned(),
            device: raw.device.value().cloned(),
            filesystem: raw.filesystem.value().cloned(),
            options: raw.options.value().cloned(),
            copy: raw.copy.value().copied(),
            labels: raw.labels.value().cloned().unwrap_or_default(),
            quadlet,
            declared_at: locations(checker, &header),
        });
    }
    volumes
}

/// The podman networks one level declares.
pub(super) fn validate_networks(
    checker: &mut Checker<'_, '_>,
    raw_networks: &[RawContainerNetwork],
    path: &str,
) -> Vec<ContainerNetwork> {
    let mut networks = Vec::with_capacity(raw_networks.len());
    let mut seen = HashMap::new();
    for (position, raw) in raw_networks.iter().enumerate() {
        let network_path = format!("{path}.container_network[{position}]");
        let header = header(
            checker,
            &mut seen,
            (&raw.name, &raw.user, raw.span),
            &network_path,
            "network",
        );
        if let Some(name) = raw.name.get()
            && NETWORK_MODES.contains(&name.value.as_str())
        {
            checker.error(
                name.span,
                format!(
                    "{network_path}.name: `{}` is one of podman's network modes, which a container names without declaring it; give the network another name",
                    shown(&name.value)
                ),
            );
        }
        let subnet = raw.subnet.value().map(|subnet| subnet.0);
        for (key, written) in [
            (
                "gateway",
                raw.gateway
                    .get()
                    .map(|gateway| (gateway.span, None, gateway.value.0)),
            ),
            (
                "ip_range",
                raw.ip_range
                    .get()
                    .map(|range| (range.span, Some(range.value.0), range.value.0.addr())),
            ),
        ] {
            let Some((span, range, address)) = written else {
                continue;
            };
            let Some(subnet) = subnet else {
                if raw.subnet.is_missing() {
                    checker.error(
                        span,
                        format!("{network_path}.{key}: podman sets a gateway or an address range only with the network's `subnet`; add `subnet` (e.g. `subnet = \"10.89.1.0/24\"`)"),
                    );
                }
                continue;
            };
            let inside = match range {
                Some(range) => subnet.contains(&range),
                None => subnet.contains(&address),
            };
            if !inside {
                let written = range.map_or(address.to_string(), |range| range.to_string());
                checker.error(
                    span,
                    format!(
                        "{network_path}.{key}: `{written}` is not inside the network's subnet {subnet}"
                    ),
                );
            }
        }
        check_labels(checker, &raw.labels, &network_path);
        let quadlet = raw
            .quadlet
            .value()
            .map(|quadlet| {
                free_quadlet_keys(
                    checker,
                    QuadletSections {
                        main: ("Network", &quadlet.Network),
                        service: &quadlet.Service,
                        unit: &quadlet.Unit,
                        install: &quadlet.Install,
                        table: quadlet.span,
                    },
                    NETWORK_MANAGED_KEYS,
                    &network_path,
                    "network",
                )
            })
            .unwrap_or_default();
        let Some(header) = header else {
            continue;
        };
        networks.push(ContainerNetwork {
            name: header.name.value.clone(),
            owner: owner(&header.user.value),
            driver: raw.driver.value().map(|driver| driver.as_str().to_owned()),
            subnet,
            gateway: raw.gateway.value().map(|gateway| gateway.0),
            ip_range: raw.ip_range.value().map(|range| range.0),
            internal: raw.internal.value().copied().unwrap_or(false),
            ipv6: raw.ipv6.value().copied().unwrap_or(false),
            dns: raw
                .dns
                .value()
                .map(|servers| servers.iter().map(|server| server.0).collect())
                .unwrap_or_default(),
            labels: raw.labels.value().cloned().unwrap_or_default(),
            quadlet,
            declared_at: locations(checker, &header),
        });
    }
    networks
}

/// Who declares something of a node, and where, for the checks every owner gets (a user of the node,
/// distinct user IDs): `(what, owner, where its user is written)`, e.g. ("pod `data`", root, 12:8).
pub(super) fn declared_owners(
    settings: &NodeSettings,
) -> impl Iterator<Item = (String, &ContainerOwner, Location)> {
    let podman = &settings.podman;
    let pods = podman.pods.iter().map(|pod| {
        (
            format!("pod `{}`", shown(&pod.name)),
            &pod.owner,
            pod.declared_at.user,
        )
    });
    let volumes = podman.volumes.iter().map(|volume| {
        (
            format!("volume `{}`", shown(&volume.name)),
            &volume.owner,
            volume.declared_at.user,
        )
    });
    let networks = podman.networks.iter().map(|network| {
        (
            format!("network `{}`", shown(&network.name)),
            &network.owner,
            network.declared_at.user,
        )
    });
    pods.chain(volumes).chain(networks)
}

/// What the node's containers and pods must agree with in the declarations they name: the same user,
/// ports published by a declared pod rather than its containers, a pod's network a mode or declared.
pub(super) fn check_references(checker: &mut Checker<'_, '_>, settings: &NodeSettings, node: &str) {
    let podman = &settings.podman;
    for container in &settings.containers {
        let named = |what: &str, name: &str, owner: &ContainerOwner, line: u32| {
            format!(
                "container `{}` runs as `{}` but {what} `{}` of node {node} is declared for `{}` on line {line}; a {what} belongs to one user's podman: run the container as `{}` or declare the {what} for `{}`",
                shown(&container.name),
                shown(container.owner.as_str()),
                shown(name),
                shown(owner.as_str()),
                shown(owner.as_str()),
                shown(container.owner.as_str()),
            )
        };
        if let Some(pod) = container.pod.as_deref().and_then(|name| podman.pod(name)) {
            let at = container
                .declared_at
                .pod
                .unwrap_or(container.declared_at.table);
            if pod.owner != container.owner {
                checker.error_at(
                    at,
                    named("pod", &pod.name, &pod.owner, pod.declared_at.table.line),
                );
            }
            if let Some(port) = container.declared_at.ports.first() {
                checker.error_at(
                    *port,
                    format!(
                        "container `{}` joins pod `{}`, declared on line {}, and the pod publishes its containers' ports: move the container's `ports` to the pod's table",
                        shown(&container.name),
                        shown(&pod.name),
                        pod.declared_at.table.line
                    ),
                );
            }
        }
        for volume in &container.volumes {
            if let Some(declared) = volume
                .source
                .volume_name()
                .and_then(|name| podman.volume(name))
                && declared.owner != container.owner
            {
                checker.error_at(
                    container.declared_at.table,
                    named(
                        "volume",
                        &declared.name,
                        &declared.owner,
                        declared.declared_at.table.line,
                    ),
                );
            }
        }
        if let Some(network) = container
            .network
            .as_deref()
            .and_then(|name| podman.network(name))
            && network.owner != container.owner
        {
            checker.error_at(
                container
                    .declared_at
                    .network
                    .unwrap_or(container.declared_at.table),
                named(
                    "network",
                    &network.name,
                    &network.owner,
                    network.declared_at.table.line,
                ),
            );
        }
    }
    for pod in &podman.pods {
        check_pod_network(checker, podman.networks.as_slice(), pod, node);
    }
}

/// A pod's network is a podman mode, or a network declared for the pod's user.
fn check_pod_network(
    checker: &mut Checker<'_, '_>,
    networks: &[ContainerNetwork],
    pod: &Pod,
    node: &str,
) {
    let Some(name) = pod.network.as_deref() else {
        return;
    };
    if NETWORK_MODES.contains(&name) {
        return;
    }
    let at = pod.declared_at.network.unwrap_or(pod.declared_at.table);
    match networks.iter().find(|network| network.name == name) {
        Some(network) if network.owner != pod.owner => checker.error_at(
            at,
            format!(
                "pod `{}` runs as `{}` but network `{}` of node {node} is declared for `{}` on line {}; declare the network for `{}`",
                shown(&pod.name),
                shown(pod.owner.as_str()),
                shown(name),
                shown(network.owner.as_str()),
                network.declared_at.table.line,
                shown(pod.owner.as_str()),
            ),
        ),
        Some(_) => {}
        None => {
            let mut message = format!(
                "pod `{}`: node {node} declares no network `{}`",
                shown(&pod.name),
                shown(name)
            );
            let known = networks
                .iter()
                .map(|network| network.name.as_str())
                .chain(NETWORK_MODES.iter().copied());
            match crate::hints::closest(name, known) {
                Some(closest) => message.push_str(&format!("; did you mean `{closest}`?")),
                None => message.push_str(&format!(
                    "; declare it with [[defaults.container_network]] name = \"{}\", or use a mode such as `bridge`",
                    shown(name)
                )),
            }
            checker.error_at(at, message);
        }
    }
}

/// The services the node's declarations make, per owner (`NAME-pod.service`, `NAME-volume.service`,
/// `NAME-network.service`), for the check that no container's service takes one.
pub(super) fn declared_services(
    settings: &NodeSettings,
) -> impl Iterator<Item = (&ContainerOwner, String)> {
    let podman = &settings.podman;
    let pods = podman
        .pods
        .iter()
        .map(|pod| (&pod.owner, format!("{}-pod", pod.name)));
    let volumes = podman
        .volumes
        .iter()
        .map(|volume| (&volume.owner, format!("{}-volume", volume.name)));
    let networks = podman
        .networks
        .iter()
        .map(|network| (&network.owner, format!("{}-network", network.name)));
    pods.chain(volumes).chain(networks)
}

/// A container of a declared pod: the pod, not the container, is where its ports and owner are checked.
pub(super) fn joins_declared_pod(settings: &NodeSettings, container: &Container) -> bool {
    container
        .pod
        .as_deref()
        .is_some_and(|name| settings.podman.pod(name).is_some())
}
