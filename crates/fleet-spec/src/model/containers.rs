//! Containers a node runs under systemd through podman's quadlet generator: the validated form of
//! `[[defaults.container]]`, `[[group.container]]` and `[[group.node.container]]`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::Location;

/// One container, merged by `name` across levels: what a `.container` quadlet says.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// The quadlet's file name without `.container`, and the systemd unit's (`NAME.service`).
    pub name: String,
    /// The image reference as written, e.g. `docker.io/library/nginx:1.27`.
    pub image: String,
    /// Who runs it: root (a rootful container) or a fleet user (rootless, in that user's systemd).
    pub owner: ContainerOwner,
    pub ports: Vec<PublishedPort>,
    pub volumes: Vec<ContainerVolume>,
    /// Environment variables, sorted by name.
    pub environment: BTreeMap<String, String>,
    /// Files of environment variables on the node, absolute paths.
    pub environment_files: Vec<String>,
    /// The command and its arguments, as quadlet's `Exec=` reads them (after the image's entrypoint).
    pub exec: Option<String>,
    pub health: Option<HealthCheck>,
    pub auto_update: AutoUpdate,
    /// The pod the container joins; fleet writes one `NAME.pod` per pod and owner.
    pub pod: Option<String>,
    /// `host`, `none`, `pasta`, `slirp4netns`, `bridge`, or a named network fleet writes as `NAME.network`.
    pub network: Option<String>,
    /// A memory limit as podman reads it (`512m`, `2g`).
    pub memory: Option<String>,
    /// A CPU limit in CPUs, e.g. `1.5`.
    pub cpus: Option<f64>,
    /// systemd's `Restart=` for the service (default `always`: a container that exits is started again).
    pub restart: RestartPolicy,
    /// Any other quadlet key, per section, passed through unchanged.
    pub quadlet: QuadletKeys,
    pub declared_at: ContainerLocations,
}

/// Where a container's keys are written, for problems found once levels are merged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerLocations {
    /// The `[[...container]]` table (its `name`).
    pub table: Location,
    pub user: Location,
    /// Each entry of `ports`, in order.
    pub ports: Vec<Location>,
    pub pod: Option<Location>,
    pub network: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerOwner {
    /// `user = "root"`: the system's podman, quadlets in `/etc/containers/systemd/`.
    Root,
    /// A fleet user of the node: rootless, quadlets in `/etc/containers/systemd/users/UID/`.
    User(String),
}

impl ContainerOwner {
    pub fn as_str(&self) -> &str {
        match self {
            ContainerOwner::Root => "root",
            ContainerOwner::User(name) => name,
        }
    }
}

/// A published port: `[IP:]HOST:CONTAINER[/PROTOCOL]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishedPort {
    /// The host address it listens on; `None` is every address.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: PortProtocol,
}

impl PublishedPort {
    /// Whether two published ports would claim the same socket on the host.
    pub fn collides_with(&self, other: &PublishedPort) -> bool {
        self.host_port == other.host_port
            && self.protocol == other.protocol
            && match (self.host_ip, other.host_ip) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            }
    }
}

/// The form podman's `--publish` and quadlet's `PublishPort=` read.
impl fmt::Display for PublishedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V4(address)) => write!(f, "{address}:")?,
            Some(IpAddr::V6(address)) => write!(f, "[{address}]:")?,
            None => {}
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port,
            self.container_port,
            self.protocol.as_str()
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortProtocol {
    Tcp,
    Udp,
}

impl PortProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        }
    }
}

/// A volume: `SOURCE:PATH[:OPTIONS]`, the source a named volume or an absolute host path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerVolume {
    pub source: VolumeSource,
    /// Where it appears in the container, absolute.
    pub container_path: String,
    /// Mount options as written (`ro`, `Z`, `U`, ...), in order.
    pub options: Vec<String>,
}

impl fmt::Display for ContainerVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            VolumeSource::Named(name) => name,
            VolumeSource::HostPath(path) => path,
        };
        write!(f, "{source}:{}", self.container_path)?;
        if !self.options.is_empty() {
            write!(f, ":{}", self.options.join(","))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A podman named volume, created on first use.
    Named(String),
    /// A directory or file of the node.
    HostPath(String),
}

/// A health check; with one, the service is ready only once the check passes (`Notify=healthy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub command: String,
    /// Durations as podman reads them (`30s`, `1m30s`).
    pub interval: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub timeout: Option<String>,
    pub on_failure: HealthFailureAction,
}

/// What podman does when the health check fails (`HealthOnFailure=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFailureAction {
    None,
    /// The default: the container is killed, systemd sees the service fail and restarts it, and
    /// `podman auto-update` sees a broken update and rolls it back.
    Kill,
    Restart,
    Stop,
}

impl HealthFailureAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthFailureAction::None => "none",
            HealthFailureAction::Kill => "kill",
            HealthFailureAction::Restart => "restart",
            HealthFailureAction::Stop => "stop",
        }
    }
}

/// podman's auto-update policy (`AutoUpdate=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoUpdate {
    /// No updates (the default).
    Off,
    /// Pull the image's tag from its registry and restart when its digest changed.
    Registry,
    /// Restart when the image in local storage changed.
    Local,
}

impl AutoUpdate {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoUpdate::Off => "off",
            AutoUpdate::Registry => "registry",
            AutoUpdate::Local => "local",
        }
    }
}

/// systemd's `Restart=` for the container's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    OnAbort,
    OnWatchdog,
}

impl RestartPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::OnSuccess => "on-success",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::OnAbnormal => "on-abnormal",
            RestartPolicy::OnAbort => "on-abort",
            RestartPolicy::OnWatchdog => "on-watchdog",
        }
    }
}

/// Quadlet keys fleet does not model, per section, written after fleet's own; a key with several
/// values is written once per value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuadletKeys {
    /// The keys of the file's own section: `[Container]`, `[Pod]`, `[Volume]` or `[Network]`.
    pub main: BTreeMap<String, Vec<String>>,
    pub service: BTreeMap<String, Vec<String>>,
    pub unit: BTreeMap<String, Vec<String>>,
    pub install: BTreeMap<String, Vec<String>>,
}
