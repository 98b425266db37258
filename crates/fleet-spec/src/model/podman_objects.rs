//! Pods, named volumes and podman networks declared with tables of their own (`[[...pod]]`,
//! `[[...volume]]`, `[[...container_network]]`): what their `.pod`, `.volume` and `.network` quadlets say.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::{ContainerOwner, Location, NodeSettings, PublishedPort, QuadletKeys, VolumeSource};

/// A node's declared pods, volumes and networks, each merged by name across levels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodmanObjects {
    pub pods: Vec<Pod>,
    pub volumes: Vec<NamedVolume>,
    pub networks: Vec<ContainerNetwork>,
}

impl PodmanObjects {
    pub fn pod(&self, name: &str) -> Option<&Pod> {
        self.pods.iter().find(|pod| pod.name == name)
    }

    pub fn volume(&self, name: &str) -> Option<&NamedVolume> {
        self.volumes.iter().find(|volume| volume.name == name)
    }

    pub fn network(&self, name: &str) -> Option<&ContainerNetwork> {
        self.networks.iter().find(|network| network.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty() && self.volumes.is_empty() && self.networks.is_empty()
    }
}

/// Where a declaration's keys are written, for problems found once levels are merged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclarationLocations {
    /// The table (its `name`).
    pub table: Location,
    pub user: Location,
    /// Each entry of `ports` (pods), in order.
    pub ports: Vec<Location>,
    pub network: Option<Location>,
}

/// A pod (`NAME.pod`): its containers share its network namespace, and it publishes their ports.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub name: String,
    pub owner: ContainerOwner,
    pub ports: Vec<PublishedPort>,
    /// A network mode (`host`, ...) or the name of a declared network.
    pub network: Option<String>,
    /// podman's `--userns` value.
    pub userns: Option<String>,
    pub quadlet: QuadletKeys,
    pub declared_at: DeclarationLocations,
}

/// A named volume (`NAME.volume`), which podman creates with these options before a container uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedVolume {
    pub name: String,
    pub owner: ContainerOwner,
    pub driver: Option<String>,
    pub device: Option<String>,
    /// mount's `-t` for `device` (quadlet's `Type=`).
    pub filesystem: Option<String>,
    /// mount's `-o` for `device`.
    pub options: Option<String>,
    pub copy: Option<bool>,
    /// Labels, sorted by name.
    pub labels: BTreeMap<String, String>,
    pub quadlet: QuadletKeys,
    pub declared_at: DeclarationLocations,
}

/// A podman network (`NAME.network`), created with these options before a container joins it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerNetwork {
    pub name: String,
    pub owner: ContainerOwner,
    /// `bridge`, `macvlan` or `ipvlan`; `None` is podman's default (bridge).
    pub driver: Option<String>,
    pub subnet: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNet>,
    pub internal: bool,
    pub ipv6: bool,
    pub dns: Vec<IpAddr>,
    /// Labels, sorted by name.
    pub labels: BTreeMap<String, String>,
    pub quadlet: QuadletKeys,
    pub declared_at: DeclarationLocations,
}

impl NodeSettings {
    /// Everyone whose podman runs something of this node: the owners of its containers and of its
    /// declared pods, volumes and networks (each rootless one gets a fixed user ID and lingering).
    pub fn quadlet_owners(&self) -> BTreeSet<&ContainerOwner> {
        let podman = &self.podman;
        self.containers
            .iter()
            .map(|container| &container.owner)
            .chain(podman.pods.iter().map(|pod| &pod.owner))
            .chain(podman.volumes.iter().map(|volume| &volume.owner))
            .chain(podman.networks.iter().map(|network| &network.owner))
            .collect()
    }
}

impl VolumeSource {
    /// The name of a named volume; `None` for a host path.
    pub fn volume_name(&self) -> Option<&str> {
        match self {
            VolumeSource::Named(name) => Some(name),
            VolumeSource::HostPath(_) => None,
        }
    }
}
