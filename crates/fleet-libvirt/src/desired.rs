//! What the caller wants on libvirt: the fleet's shared settings, its hosts and every node with its rendered Ignition, host and deploy wave.
//!
//! These are plain inputs built by the CLI from the validated model (`fleet_spec::Fleet`), the
//! planner's placement and the rendered Ignition; this crate needs neither the planner's nor the
//! renderer's types.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use fleet_spec::{
    Addressing, DirectKernelBoot, DomainType, Fleet, ImageSource, MacAddress, Node, Uuid,
};
use sha2::{Digest, Sha256};

/// The settings every node of a fleet shares.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetTarget {
    /// Written into every domain's metadata; two fleets never touch each other's domains.
    pub name: String,
    pub domain_type: DomainType,
    pub image: BackingImage,
    /// Kernel and initrd paths are paths on the hypervisor host.
    pub direct_kernel_boot: Option<DirectKernelBoot>,
    /// The directory pool for images, overlays, Ignition files and console logs.
    pub pool_name: String,
    /// Where fleet creates the pool when it is missing.
    pub pool_path: PathBuf,
    /// The libvirt network every node joins.
    pub network: String,
    /// The release the image file is, by the record `fleet image pull` wrote beside it: stored in
    /// each domain created from it, when the file's sha256 is the record's.
    pub image_release: Option<ImageRelease>,
}

/// What a pulled image's record says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRelease {
    /// The Fedora CoreOS release, e.g. `43.20251110.3.1`.
    pub release: String,
    /// sha256 (hex) of the image file the record describes.
    pub uncompressed_sha256: String,
}

/// Where the nodes' disks come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackingImage {
    /// A qcow2 file on this machine, imported into each host's pool once (by content).
    File(PathBuf),
    /// A volume that already exists in each host's pool; fleet never deletes it.
    Volume(String),
}

/// One hypervisor: a name for reports and a libvirt URI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostTarget {
    pub name: String,
    pub uri: String,
}

/// One node as it should exist.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredNode {
    /// The libvirt domain name.
    pub name: String,
    pub hostname: String,
    pub uuid: Uuid,
    pub mac: MacAddress,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    /// Name of the `HostTarget` the node runs on.
    pub host: String,
    /// Deploy order: every node of a lower wave is deployed before any node of a higher one
    /// (canaries are wave 0).
    pub wave: u32,
    /// A DHCP host reservation (MAC → address, hostname) to add to the libvirt network.
    pub reserved_address: Option<Ipv4Addr>,
    /// The rendered Ignition config, handed to the guest unchanged.
    pub ignition: Vec<u8>,
}

/// A whole fleet as it should exist.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredFleet {
    pub target: FleetTarget,
    /// In deploy order; reports keep this order.
    pub nodes: Vec<DesiredNode>,
}

impl FleetTarget {
    /// The shared settings of a validated fleet; relative image and kernel paths are resolved
    /// against `fleet_directory` (the directory of fleet.toml).
    pub fn from_spec(fleet: &Fleet, fleet_directory: &Path) -> FleetTarget {
        let image = match &fleet.image.source {
            ImageSource::File(path) => BackingImage::File(fleet_directory.join(path)),
            ImageSource::Volume(volume) => BackingImage::Volume(volume.clone()),
        };
        let direct_kernel_boot = fleet
            .direct_kernel_boot
            .as_ref()
            .map(|boot| DirectKernelBoot {
                kernel: fleet_directory.join(&boot.kernel),
                initrd: fleet_directory.join(&boot.initrd),
                cmdline: boot.cmdline.clone(),
            });
        FleetTarget {
            name: fleet.name.clone(),
            domain_type: fleet.domain_type,
            image,
            direct_kernel_boot,
            pool_name: fleet.pool.name.clone(),
            pool_path: fleet.pool.path.clone(),
            network: fleet.network.clone(),
            image_release: None,
        }
    }
}

impl HostTarget {
    /// The fleet's hosts, or its single connection when it lists none. The single connection's
    /// host is named after its URI. `connect_override` (`--connect`) replaces the single
    /// connection; with `[[host]]` entries it is ignored.
    pub fn for_fleet(fleet: &Fleet, connect_override: Option<&str>) -> Vec<HostTarget> {
        if fleet.hosts.is_empty() {
            let uri = connect_override.unwrap_or(&fleet.connection).to_owned();
            return vec![HostTarget {
                name: uri.clone(),
                uri,
            }];
        }
        fleet
            .hosts
            .iter()
            .map(|host| HostTarget {
                name: host.name.clone(),
                uri: host.connection.clone(),
            })
            .collect()
    }
}

impl DesiredNode {
    /// A node of a validated fleet, placed on `host`, deployed in `wave`, with its rendered Ignition.
    pub fn from_spec(
        fleet: &Fleet,
        node: &Node,
        host: &str,
        wave: u32,
        ignition: Vec<u8>,
    ) -> DesiredNode {
        let reserved_address = match fleet.group_of(node).addressing {
            Addressing::Reserved(_) => node.address,
            Addressing::Dhcp | Addressing::Static(_) => None,
        };
        DesiredNode {
            name: node.name.clone(),
            hostname: node.hostname.clone(),
            uuid: node.uuid,
            mac: node.mac,
            vcpus: node.settings.vcpus,
            memory_mib: node.settings.memory_mib,
            disk_gib: node.settings.disk_gib,
            host: host.to_owned(),
            wave,
            reserved_address,
            ignition,
        }
    }

    /// sha256 (lowercase hex) of the rendered Ignition.
    pub fn ignition_sha256(&self) -> String {
        sha256_hex(&self.ignition)
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Names of everything fleet creates for a node in the pool. They derive from fleet and node
/// names alone, so a run killed midway leaves pieces the next run finds again and adopts or
/// replaces: nothing is orphaned under a random name.
pub mod names {
    /// Prefix of every per-node volume of a fleet (`demo.`): node names cannot contain dots.
    pub fn fleet_volume_prefix(fleet: &str) -> String {
        format!("{fleet}.")
    }

    /// The node's qcow2 overlay.
    pub fn overlay_volume(fleet: &str, node: &str) -> String {
        format!("{fleet}.{node}.qcow2")
    }

    /// The node's rendered Ignition.
    pub fn ignition_volume(fleet: &str, node: &str) -> String {
        format!("{fleet}.{node}.ign")
    }

    /// The node's serial console log; it lives in the pool so that teardown can delete it through
    /// libvirt on remote hosts too.
    pub fn console_log_volume(fleet: &str, node: &str) -> String {
        format!("{fleet}.{node}.console.log")
    }

    /// Prefix of imported base images, shared by every fleet using the pool.
    pub const BASE_IMAGE_PREFIX: &str = "fleet-base-";

    /// An imported base image, named by content (first 16 hex digits of its sha256).
    pub fn base_image_volume(image_sha256: &str) -> String {
        let short = image_sha256.get(..16).unwrap_or(image_sha256);
        format!("{BASE_IMAGE_PREFIX}{short}.qcow2")
    }
}

/// A stable digest of the settings that shape a node's domain and disk, stored in the domain's
/// metadata. Listed field by field (not the XML) so that a newer fleet writing slightly different
/// XML does not make every existing node look changed.
pub(crate) fn settings_sha256(
    node: &DesiredNode,
    target: &FleetTarget,
    hypervisor: &str,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |key: &str, value: &str| {
        hasher.update(key.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    };
    field("version", "1");
    field("vcpus", &node.vcpus.to_string());
    field("memory_mib", &node.memory_mib.to_string());
    field("disk_gib", &node.disk_gib.to_string());
    field("mac", &node.mac.to_string());
    field("network", &target.network);
    field("type", hypervisor);
    field("machine", "q35");
    if let Some(boot) = &target.direct_kernel_boot {
        field("kernel", &boot.kernel.to_string_lossy());
        field("initrd", &boot.initrd.to_string_lossy());
        field("cmdline", &boot.cmdline);
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn base_image_names_are_short_and_content_derived() {
        assert_eq!(
            names::base_image_volume("0123456789abcdef0123"),
            "fleet-base-0123456789abcdef.qcow2"
        );
        assert_eq!(names::base_image_volume("ab"), "fleet-base-ab.qcow2");
    }
}
