//! The pods, named volumes and podman networks fleet.toml declares (`[[...pod]]`, `[[...volume]]`,
//! `[[...container_network]]`) as `NAME.pod`, `NAME.volume` and `NAME.network` quadlets, in the same
//! directory as their user's containers. Each names podman's object after itself (`PodName=`,
//! `VolumeName=`, `NetworkName=`), so that a container's `data:/path` is the same volume whether or
//! not it is declared. Every file goes through the typed INI writer.

use std::collections::BTreeMap;

use fleet_spec::{ContainerNetwork, NamedVolume, Node, Pod, QuadletKeys};

use super::containers::{NETWORK_MODES, literal, quadlet_directory, written};
use crate::ini::{Dialect, IniFile, Section};
use crate::render::RenderError;
use crate::render::payload::{NodePayload, PayloadFile};

/// Every declared pod, volume and network of the node, used by a container or not, added to `payload`.
pub(super) fn declared_quadlets(node: &Node, payload: &mut NodePayload) -> Result<(), RenderError> {
    let settings = &node.settings;
    let declared = &settings.podman;
    let files = declared
        .pods
        .iter()
        .map(|pod| (&pod.owner, format!("{}.pod", pod.name), pod_quadlet(pod)))
        .chain(declared.volumes.iter().map(|volume| {
            (
                &volume.owner,
                format!("{}.volume", volume.name),
                volume_quadlet(volume),
            )
        }))
        .chain(declared.networks.iter().map(|network| {
            (
                &network.owner,
                format!("{}.network", network.name),
                network_quadlet(network),
            )
        }));
    for (owner, file_name, file) in files {
        let path = format!("{}/{file_name}", quadlet_directory(settings, owner));
        let text = written(node, &path, file)?;
        payload.files.push(PayloadFile::new(path, 0o644, text));
    }
    Ok(())
}

/// The file's comment and `[Unit]`, then its own section filled by `fill`, then the free keys.
fn declared_file(
    kind: &str,
    name: &str,
    section: &str,
    quadlet: &QuadletKeys,
    fill: impl FnOnce(&mut Section),
) -> IniFile {
    let mut file = IniFile::new(Dialect::Systemd);
    file.comment(format!(
        "Written by fleet from fleet.toml's {kind} `{name}`."
    ));
    let unit = file.section("Unit");
    unit.entry("Description", literal(&format!("fleet {kind} {name}")));
    free_keys(unit, &quadlet.unit);
    let own = file.section(section);
    fill(own);
    free_keys(own, &quadlet.main);
    for (section, keys) in [("Service", &quadlet.service), ("Install", &quadlet.install)] {
        if !keys.is_empty() {
            free_keys(file.section(section), keys);
        }
    }
    file
}

fn free_keys(section: &mut Section, keys: &BTreeMap<String, Vec<String>>) {
    for (key, values) in keys {
        for value in values {
            section.entry(key, value);
        }
    }
}

/// A declared network is named by its quadlet, a mode as it is.
fn network_reference(network: &str) -> String {
    if NETWORK_MODES.contains(&network) {
        network.to_owned()
    } else {
        format!("{network}.network")
    }
}

fn pod_quadlet(pod: &Pod) -> IniFile {
    declared_file("pod", &pod.name, "Pod", &pod.quadlet, |section| {
        section.entry("PodName", &pod.name);
        for port in &pod.ports {
            section.entry("PublishPort", port);
        }
        if let Some(network) = &pod.network {
            section.entry("Network", network_reference(network));
        }
        if let Some(userns) = &pod.userns {
            section.entry("UserNS", literal(userns));
        }
    })
}

fn volume_quadlet(volume: &NamedVolume) -> IniFile {
    declared_file(
        "volume",
        &volume.name,
        "Volume",
        &volume.quadlet,
        |section| {
            section.entry("VolumeName", &volume.name);
            for (key, value) in [
                ("Driver", &volume.driver),
                ("Device", &volume.device),
                ("Type", &volume.filesystem),
                ("Options", &volume.options),
            ] {
                if let Some(value) = value {
                    section.entry(key, literal(value));
                }
            }
            if let Some(copy) = volume.copy {
                section.entry("Copy", copy);
            }
            for (name, value) in &volume.labels {
                section.entry("Label", literal(&format!("{name}={value}")));
            }
        },
    )
}

fn network_quadlet(network: &ContainerNetwork) -> IniFile {
    declared_file(
        "network",
        &network.name,
        "Network",
        &network.quadlet,
        |section| {
            section.entry("NetworkName", &network.name);
            if let Some(driver) = &network.driver {
                section.entry("Driver", driver);
            }
            if let Some(subnet) = network.subnet {
                section.entry("Subnet", subnet);
            }
            if let Some(gateway) = network.gateway {
                section.entry("Gateway", gateway);
            }
            if let Some(range) = network.ip_range {
                section.entry("IPRange", range);
            }
            if network.internal {
                section.entry("Internal", true);
            }
            if network.ipv6 {
                section.entry("IPv6", true);
            }
            for server in &network.dns {
                section.entry("DNS", server);
            }
            for (name, value) in &network.labels {
                section.entry("Label", literal(&format!("{name}={value}")));
            }
        },
    )
}
