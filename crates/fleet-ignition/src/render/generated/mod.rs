//! What the renderer generates for a node from the fleet file itself, one module per thing: the
//! hostname and time zone, the network keyfile of static addressing, users, kernel arguments, the
//! health gate, the containers' quadlets and those of the pods, volumes and networks fleet.toml declares.
//! Files, directories, links and units are generated as a [`NodePayload`] and placed with the
//! payload the CLI hands in; users and kernel arguments are Ignition sections of their own.

mod containers;
mod health;
mod hostname;
mod kernel_arguments;
mod network_keyfile;
mod podman_objects;
mod users;

use fleet_spec::{Fleet, Node};

use super::RenderError;
use super::payload::NodePayload;
use crate::ignition::{KernelArguments, PasswdUser};

pub use containers::{ROOTFUL_QUADLET_DIRECTORY, updates_without_health_check};
pub use health::{
    HEALTH_CHECK_FILE, HEALTH_CHECK_SCRIPT, HEALTH_COMMON_SCRIPT, HEALTH_DIRECTORY, HEALTH_SERVICE,
    ROLLBACK_SCRIPT, ROLLBACK_SERVICE, ZINCATI_HEALTH_DROPIN,
};
pub use hostname::{HOSTNAME_PATH, TIME_ZONE_PATH};
pub use network_keyfile::STATIC_KEYFILE_PATH;

/// What the fleet file generates for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Generated {
    /// Files, directories, links and units, placed before the CLI's payload.
    pub(super) payload: NodePayload,
    pub(super) users: Vec<PasswdUser>,
    pub(super) kernel_arguments: KernelArguments,
}

pub(super) fn generate(fleet: &Fleet, node: &Node) -> Result<Generated, RenderError> {
    let mut payload = NodePayload::default();
    payload.files.push(hostname::hostname_file(node));
    if let Some(keyfile) = network_keyfile::static_keyfile(fleet, node)? {
        payload.files.push(keyfile);
    }
    payload.links.extend(hostname::time_zone_link(node));
    if let Some(gate) = health::health_gate(node)? {
        payload.files.extend(gate.files);
        payload.units.extend(gate.units);
    }
    containers::container_files(node, &mut payload)?;
    podman_objects::declared_quadlets(node, &mut payload)?;
    Ok(Generated {
        payload,
        users: users::passwd_users(&node.settings),
        kernel_arguments: kernel_arguments::kernel_arguments(&node.settings),
    })
}
