//! The crate's one error type, and the helpers that classify libvirt's own errors.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use virt::error::ErrorNumber;

use crate::report::KeptReason;

/// Everything that can go wrong while provisioning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libvirt refused to open the connection (daemon down, wrong URI, no permission).
    #[error("cannot connect to {uri}: {message}")]
    Connect { uri: String, message: String },

    /// The node's host could not be reached when the session opened, so nothing was done for it.
    #[error("host {host} is unreachable: {message}")]
    HostUnreachable { host: String, message: String },

    /// Preparing the node's host failed (network, pool, base image), so nothing was done for it.
    #[error("host {host} could not be prepared: {message}")]
    HostFailed { host: String, message: String },

    /// The base image file could not be read (it is hashed and imported from this machine).
    #[error("cannot read base image {}: {message}", path.display())]
    BaseImageUnreadable { path: PathBuf, message: String },

    /// A node names a host the session has no connection for.
    #[error("node {node} is placed on host {host}, which is not part of this session")]
    UnknownHost { node: String, host: String },

    /// A libvirt call failed; `operation` says what fleet was doing.
    #[error("{operation}: {message}")]
    Libvirt { operation: String, message: String },

    /// A deploy held to the actions of a reviewed plan found a node needing another one.
    #[error(
        "node {node} now needs {found}, but the reviewed plan says {expected}; nothing was done to it: review a new diff"
    )]
    NotAsReviewed {
        node: String,
        expected: String,
        found: String,
    },

    /// A domain with the node's name exists but fleet did not create it for this fleet.
    #[error(
        "domain {domain} already exists and is not managed by fleet {fleet}{}; rename the node or remove the domain by hand",
        owner.as_ref().map(|owner| format!(" (it belongs to fleet {owner})")).unwrap_or_default()
    )]
    ForeignDomain {
        domain: String,
        fleet: String,
        owner: Option<String>,
    },

    /// The address a node should get is already reserved for another MAC in the libvirt network.
    #[error("address {address} is already reserved for {mac} in network {network}")]
    AddressTaken {
        address: Ipv4Addr,
        mac: String,
        network: String,
    },

    /// The fleet's libvirt network does not exist on the host.
    #[error(
        "network {network} does not exist on host {host}; define it or set `network` in fleet.toml"
    )]
    NetworkMissing { network: String, host: String },

    /// The fleet's libvirt network exists but is not running, so domains on it cannot start.
    #[error("network {network} on host {host} is not active; start it (virsh net-start {network})")]
    NetworkInactive { network: String, host: String },

    /// The storage pool holds file volumes only for some pool types.
    #[error(
        "storage pool {pool} has type {kind}; fleet needs a directory-like pool (dir, fs or netfs)"
    )]
    UnsupportedPoolType { pool: String, kind: String },

    /// The base image is to be a pool volume that does not exist.
    #[error("base image volume {volume} does not exist in pool {pool}")]
    BaseVolumeMissing { volume: String, pool: String },

    /// The driver cannot upload and fleet cannot write the file itself because the host is remote.
    #[error(
        "cannot put {volume} on {uri}: the driver does not support volume upload and the host is not local"
    )]
    UploadUnsupported { volume: String, uri: String },

    /// The driver cannot download and fleet cannot read the file itself because the host is remote.
    #[error(
        "cannot read {volume} on {uri}: the driver does not support volume download and the host is not local"
    )]
    DownloadUnsupported { volume: String, uri: String },

    /// A local file (base image, or a pool file written on a local connection) could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// libvirt returned XML fleet could not read.
    #[error("cannot read the XML libvirt returned for {what}: {message}")]
    Xml { what: String, message: String },

    /// A volume fleet would replace or delete is not provably its own, or another domain uses it.
    #[error(
        "volume {volume} in pool {pool} is left alone: {reason}; {}",
        advice(reason, pool, volume)
    )]
    VolumeKept {
        volume: String,
        pool: String,
        reason: KeptReason,
    },

    /// A node started but libvirt reports it in another state.
    #[error("domain {domain} was started but is {state}")]
    NotRunning { domain: String, state: String },
}

impl Error {
    /// Wrap a libvirt error with what fleet was doing.
    pub(crate) fn libvirt(operation: impl Into<String>, error: &virt::error::Error) -> Self {
        Error::Libvirt {
            operation: operation.into(),
            message: libvirt_message(error),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// What the user can do about a volume fleet leaves alone.
fn advice(reason: &KeptReason, pool: &str, volume: &str) -> String {
    match reason {
        KeptReason::InUse { .. } | KeptReason::BacksVolumes { .. } => {
            "free it first, or rename the node".to_owned()
        }
        KeptReason::Unproven { .. }
        | KeptReason::NotThisFleetsImage { .. }
        | KeptReason::OtherContent => format!(
            "if nothing needs it, delete it (virsh vol-delete --pool {pool} {volume}), or rename the node"
        ),
    }
}

/// libvirt's message without the `[code=… domain=…]` decoration of `Display`.
pub(crate) fn libvirt_message(error: &virt::error::Error) -> String {
    error.message().to_owned()
}

/// The object looked up does not exist (domain, volume, pool, network, metadata).
pub(crate) fn is_not_found(error: &virt::error::Error) -> bool {
    error.code().is_any(vec![
        ErrorNumber::NoDomain,
        ErrorNumber::NoStorageVolume,
        ErrorNumber::NoStoragePool,
        ErrorNumber::NoNetwork,
        ErrorNumber::NoDomainMetadata,
    ])
}

/// The driver does not implement the call (the test driver has no upload, download or physical size).
pub(crate) fn is_unsupported(error: &virt::error::Error) -> bool {
    error.code().is_any(vec![
        ErrorNumber::NoSupport,
        ErrorNumber::OperationUnsupported,
    ])
}

/// The driver rejected a flag it does not know (the test driver's undefine has no NVRAM flag).
pub(crate) fn is_unsupported_flag(error: &virt::error::Error) -> bool {
    is_unsupported(error)
        || (error.code().is(ErrorNumber::InvalidArg)
            && error.message().contains("unsupported flags"))
}

/// A pool refresh or volume operation collided with an upload in flight.
pub(crate) fn is_pool_busy(error: &virt::error::Error) -> bool {
    error.message().contains("asynchronous jobs running")
}

/// The domain was not running when fleet tried to stop it.
pub(crate) fn is_not_running(error: &virt::error::Error) -> bool {
    error.code().is(ErrorNumber::OperationInvalid) && error.message().contains("not running")
}
