//! Per-host preparation shared by a host's nodes: the hypervisor type, the network, the storage pool, the base image and the domains fleet already owns there.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{OnceLock, RwLock};

use fleet_spec::DomainType;
use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::base_image::{ImageInfo, open_regular_file};
use crate::desired::FleetTarget;
use crate::domain_xml::{FleetMetadata, Hypervisor, METADATA_NAMESPACE};
use crate::error::{Error, is_not_found};
use crate::network_xml::{DhcpHost, ObservedNetwork};
use crate::ops::{self, Payload, PoolAccess};
use crate::report::{HostStep, KeptReason, NodeState};
use crate::session::HostConnections;
use crate::storage_xml::{self, ObservedPool, ObservedVolume};
use crate::volume_ownership::{self, VolumeAt, VolumeUsers};
use crate::xml::Element;

/// Bytes of the base image written last and compared to tell a complete import from one cut short.
const IMAGE_HEAD_BYTES: u64 = 64 * 1024;

/// What preparation may do and what it must look at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preparation<'a> {
    /// Create the pool and import the image when missing (deploy without dry run).
    pub(crate) create_missing: bool,
    /// The base image to ensure (deploy) or predict (dry run); `None` for status and destroy.
    pub(crate) image: Option<&'a ImageInfo>,
    /// Resolve the hypervisor type (deploy and status compare it).
    pub(crate) resolve_hypervisor: bool,
    /// The network must exist (deploy and status); destroy only cleans up reservations.
    pub(crate) require_network: bool,
    /// List the domains fleet owns on the host (moves, strays, destroy).
    pub(crate) scan: bool,
    /// Refresh the pool first, so that files libvirt did not create (console logs) are volumes
    /// (deploy and destroy, which may delete them).
    pub(crate) refresh: bool,
}

/// A fleet domain found by the scan.
#[derive(Debug, Clone)]
pub(crate) struct ScannedDomain {
    pub(crate) domain: String,
    pub(crate) state: NodeState,
}

/// The pool as this run sees it.
#[derive(Debug, Clone)]
pub(crate) struct PoolState {
    /// The pool's directory on the host (from libvirt, or the fleet file's path when it is missing).
    pub(crate) path: String,
    pub(crate) exists: bool,
}

/// The network as this run sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkState {
    pub(crate) exists: bool,
    pub(crate) active: bool,
    pub(crate) persistent: bool,
    /// Reservations when preparation read them; nodes compare against this snapshot.
    pub(crate) dhcp_hosts: Vec<DhcpHost>,
}

/// Everything a host's nodes share during one run.
#[derive(Debug)]
pub(crate) struct HostContext<'s> {
    pub(crate) connections: &'s HostConnections,
    pub(crate) hypervisor: Option<Hypervisor>,
    pub(crate) pool: PoolState,
    /// Path of the base image volume (real, or predicted for a dry run).
    pub(crate) base_image_path: Option<String>,
    /// The release of that image, when its record matches the file deploy hashed.
    pub(crate) base_image_release: Option<String>,
    pub(crate) network: NetworkState,
    /// Uploads hold it shared, pool refreshes exclusively (see `ops::refresh_pool`).
    pub(crate) pool_gate: RwLock<()>,
    /// Set once the driver said it cannot upload (see `ops::PoolAccess`).
    pub(crate) upload_unsupported: AtomicBool,
    /// Fleet-owned domains by node name (filled when the preparation asked for a scan).
    pub(crate) fleet_domains: BTreeMap<String, ScannedDomain>,
    pub(crate) pool_created: bool,
    pub(crate) image_imported: bool,
    /// What every domain on the host refers to, read the first time a deletion needs it.
    volume_users: OnceLock<Result<VolumeUsers, String>>,
}

impl HostContext<'_> {
    pub(crate) fn uri(&self) -> &str {
        &self.connections.target.uri
    }

    /// The pool on a connection, when it exists.
    pub(crate) fn pool_on(
        &self,
        connect: &Connect,
        pool_name: &str,
    ) -> Result<Option<StoragePool>, Error> {
        if !self.pool.exists {
            return Ok(None);
        }
        ops::lookup_pool(connect, pool_name)
    }

    /// How node work writes into the pool.
    pub(crate) fn access(&self) -> PoolAccess<'_> {
        PoolAccess {
            connection_uri: self.uri(),
            gate: &self.pool_gate,
            upload_unsupported: &self.upload_unsupported,
        }
    }

    /// What every domain on the host refers to (read once per run, on first use): no volume
    /// another domain uses is ever deleted.
    pub(crate) fn volume_users(&self) -> Result<&VolumeUsers, Error> {
        self.volume_users
            .get_or_init(|| {
                VolumeUsers::read(self.connections.get()).map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|message| Error::Libvirt {
                operation: "reading which volumes the host's domains use".to_owned(),
                message: message.clone(),
            })
    }

    /// Where a volume of the pool lives on the host.
    pub(crate) fn volume_path(&self, volume: &str) -> String {
        Path::new(&self.pool.path)
            .join(volume)
            .to_string_lossy()
            .into_owned()
    }
}

pub(crate) fn prepare<'s>(
    connections: &'s HostConnections,
    target: &FleetTarget,
    preparation: Preparation<'_>,
    on_step: &dyn Fn(HostStep),
) -> Result<HostContext<'s>, Error> {
    let connect = connections.get();
    let host_name = connections.target.name.as_str();
    on_step(HostStep::Inspect);

    let hypervisor = if preparation.resolve_hypervisor {
        Some(resolve_hypervisor(connect, target.domain_type)?)
    } else {
        None
    };
    let network = inspect_network(connect, &target.network)?;
    if preparation.require_network {
        if !network.exists {
            return Err(Error::NetworkMissing {
                network: target.network.clone(),
                host: host_name.to_owned(),
            });
        }
        if !network.active && preparation.create_missing {
            return Err(Error::NetworkInactive {
                network: target.network.clone(),
                host: host_name.to_owned(),
            });
        }
    }

    let mut pool_created = false;
    let pool_gate = RwLock::new(());
    let upload_unsupported = AtomicBool::new(false);
    let (pool, pool_state) = match ops::lookup_pool(connect, &target.pool_name)? {
        Some(pool) => {
            let state = start_existing_pool(&pool, &target.pool_name, preparation.create_missing)?;
            (Some(pool), state)
        }
        None if preparation.create_missing => {
            on_step(HostStep::CreatePool);
            let pool = create_pool(connect, target)?;
            pool_created = true;
            let state = read_pool(&pool, &target.pool_name)?;
            (Some(pool), state)
        }
        None => {
            pool_created = preparation.image.is_some();
            (
                None,
                PoolState {
                    path: target.pool_path.to_string_lossy().into_owned(),
                    exists: false,
                },
            )
        }
    };
    if let Some(pool) = &pool
        && preparation.refresh
        && pool_state.exists
    {
        // Files created outside libvirt (an earlier run's console logs) become volumes.
        ops::refresh_pool(pool, &target.pool_name, &pool_gate)?;
    }

    let mut image_imported = false;
    let base_image_path = match (preparation.image, &pool) {
        (None, _) => None,
        (Some(image), Some(pool)) if pool_state.exists => {
            let access = PoolAccess {
                connection_uri: &connections.target.uri,
                gate: &pool_gate,
                upload_unsupported: &upload_unsupported,
            };
            let (path, imported) = ensure_base_image(
                connect,
                access,
                pool,
                &target.pool_name,
                image,
                preparation.create_missing,
                on_step,
            )?;
            image_imported = imported;
            Some(path)
        }
        (Some(image), _) => {
            if let ImageInfo::Volume(volume) = image
                && preparation.create_missing
            {
                return Err(Error::BaseVolumeMissing {
                    volume: volume.clone(),
                    pool: target.pool_name.clone(),
                });
            }
            image_imported = matches!(image, ImageInfo::File { .. });
            Some(
                Path::new(&pool_state.path)
                    .join(image.volume_name())
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    };

    let fleet_domains = if preparation.scan {
        on_step(HostStep::Scan);
        scan_fleet_domains(connect, &target.name)?
    } else {
        BTreeMap::new()
    };

    Ok(HostContext {
        connections,
        hypervisor,
        pool: pool_state,
        base_image_release: base_image_release(preparation.image, target),
        base_image_path,
        network,
        pool_gate,
        upload_unsupported,
        fleet_domains,
        pool_created,
        image_imported,
        volume_users: OnceLock::new(),
    })
}

/// `auto` picks kvm when libvirt offers kvm for x86_64 guests *and* the host CPU it reports is
/// not a virtual machine without hardware virtualisation. A nested hypervisor that exposes
/// /dev/kvm but not `vmx`/`svm` (paravirtual nesting such as PVM) makes libvirt advertise kvm
/// although normal guest kernels hang there; the CPUID `hypervisor` bit without `vmx`/`svm` in
/// libvirt's host CPU description identifies that case, remotely too. When in doubt fleet picks
/// qemu: slower, but it boots. `domain_type = "kvm"` forces kvm.
fn resolve_hypervisor(connect: &Connect, domain_type: DomainType) -> Result<Hypervisor, Error> {
    match domain_type {
        DomainType::Kvm => Ok(Hypervisor::Kvm),
        DomainType::Qemu => Ok(Hypervisor::Qemu),
        DomainType::Auto => {
            let capabilities = connect
                .capabilities()
                .map_err(|error| Error::libvirt("reading host capabilities", &error))?;
            Ok(hypervisor_from_capabilities(&capabilities))
        }
    }
}

pub(crate) fn hypervisor_from_capabilities(capabilities: &str) -> Hypervisor {
    let Ok(root) = Element::parse(capabilities) else {
        return Hypervisor::Qemu;
    };
    let kvm_offered = root.all("guest").any(|guest| {
        guest.first("os_type").map(Element::text_content).as_deref() == Some("hvm")
            && guest.all("arch").any(|arch| {
                arch.attribute("name") == Some("x86_64")
                    && arch
                        .all("domain")
                        .any(|domain| domain.attribute("type") == Some("kvm"))
            })
    });
    let features: Vec<&str> = root
        .path(&["host", "cpu"])
        .into_iter()
        .flat_map(|cpu| cpu.all("feature"))
        .filter_map(|feature| feature.attribute("name"))
        .collect();
    let virtualised = features.contains(&"hypervisor");
    let hardware_virtualisation = features.contains(&"vmx") || features.contains(&"svm");
    if kvm_offered && (hardware_virtualisation || !virtualised) {
        Hypervisor::Kvm
    } else {
        Hypervisor::Qemu
    }
}

fn inspect_network(connect: &Connect, name: &str) -> Result<NetworkState, Error> {
    let Some(network) = ops::lookup_network(connect, name)? else {
        return Ok(NetworkState::default());
    };
    let read =
        |error: virt::error::Error| Error::libvirt(format!("reading network {name}"), &error);
    let active = network.is_active().map_err(read)?;
    let persistent = network.is_persistent().map_err(read)?;
    let xml = network.xml_desc(0).map_err(read)?;
    let observed = ObservedNetwork::parse(&xml).map_err(|message| Error::Xml {
        what: format!("network {name}"),
        message,
    })?;
    Ok(NetworkState {
        exists: true,
        active,
        persistent,
        dhcp_hosts: observed.dhcp_hosts,
    })
}

fn read_pool(pool: &StoragePool, name: &str) -> Result<PoolState, Error> {
    let xml = pool
        .xml_desc(0)
        .map_err(|error| Error::libvirt(format!("reading storage pool {name}"), &error))?;
    let observed = ObservedPool::parse(&xml).map_err(|message| Error::Xml {
        what: format!("storage pool {name}"),
        message,
    })?;
    if !matches!(observed.kind.as_str(), "dir" | "fs" | "netfs") {
        return Err(Error::UnsupportedPoolType {
            pool: name.to_owned(),
            kind: observed.kind,
        });
    }
    Ok(PoolState {
        path: observed.path,
        exists: true,
    })
}

/// An existing pool must run for its volumes to be used; starting it is the only change fleet
/// makes to a pool it finds (and only when it may change things).
fn start_existing_pool(
    pool: &StoragePool,
    name: &str,
    may_start: bool,
) -> Result<PoolState, Error> {
    let state = read_pool(pool, name)?;
    let active = pool
        .is_active()
        .map_err(|error| Error::libvirt(format!("reading storage pool {name}"), &error))?;
    if !active {
        if !may_start {
            // Volumes of an inactive pool cannot be listed: treat it as empty.
            return Ok(PoolState {
                exists: false,
                ..state
            });
        }
        pool.create(0)
            .map_err(|error| Error::libvirt(format!("starting storage pool {name}"), &error))?;
    }
    Ok(state)
}

fn create_pool(connect: &Connect, target: &FleetTarget) -> Result<StoragePool, Error> {
    let name = &target.pool_name;
    let pool = connect
        .define_storage_pool_xml(&storage_xml::directory_pool(name, &target.pool_path), 0)
        .map_err(|error| Error::libvirt(format!("defining storage pool {name}"), &error))?;
    let setup = || -> Result<(), virt::error::Error> {
        pool.build(0)?;
        pool.create(0)?;
        pool.set_autostart(true)
    };
    if let Err(error) = setup() {
        // Leave nothing half-made: the next run defines it again.
        let _ = pool.destroy();
        let _ = pool.undefine();
        return Err(Error::libvirt(
            format!("building and starting storage pool {name}"),
            &error,
        ));
    }
    Ok(pool)
}

/// Make sure the base image volume exists and is complete; `(path, imported)`.
///
/// A file image is imported under a content-derived name (`fleet-base-<sha256 prefix>.qcow2`),
/// so an identical image is never uploaded twice and a changed file becomes a new volume while
/// existing overlays keep their backing file. The upload writes the image's head last; a volume
/// whose head differs from the file's was cut short and is imported again.
fn ensure_base_image(
    connect: &Connect,
    access: PoolAccess<'_>,
    pool: &StoragePool,
    pool_name: &str,
    image: &ImageInfo,
    may_import: bool,
    on_step: &dyn Fn(HostStep),
) -> Result<(String, bool), Error> {
    let connection_uri = access.connection_uri;
    let volume_name = image.volume_name();
    let existing = ops::lookup_volume(pool, &volume_name)?;
    let (path, length, sha256) = match image {
        ImageInfo::Volume(volume) => {
            let Some(existing) = existing else {
                return Err(Error::BaseVolumeMissing {
                    volume: volume.clone(),
                    pool: pool_name.to_owned(),
                });
            };
            return Ok((ops::volume_path(&existing, &volume_name)?, false));
        }
        ImageInfo::File {
            path,
            length,
            sha256,
        } => (path, *length, sha256),
    };
    if let Some(existing) = existing {
        let head = image_volume_head(connect, connection_uri, &existing, &volume_name, path)?;
        let volume_path = ops::volume_path(&existing, &volume_name)?;
        match head {
            ImageHead::Complete => return Ok((volume_path, false)),
            ImageHead::CutShort => {}
            ImageHead::Other => {
                return Err(Error::VolumeKept {
                    volume: volume_name,
                    pool: pool_name.to_owned(),
                    reason: KeptReason::OtherContent,
                });
            }
        }
        tracing::info!(volume = %volume_name, "base image volume is incomplete; importing it again");
        if !may_import {
            return Ok((volume_path, true));
        }
        // fleet's own unfinished import (its name is this image's digest, its head still the
        // zeros fleet writes last), but a domain or an overlay may use it all the same.
        let users = VolumeUsers::read(connect)?;
        let at = VolumeAt {
            name: &volume_name,
            pool: pool_name,
            path: &volume_path,
        };
        let verdict = match volumes_backed_by(pool, &volume_path)? {
            volumes if !volumes.is_empty() => Err(KeptReason::BacksVolumes { volumes }),
            _ => volume_ownership::may_delete_unused(at, &users, ""),
        };
        if let Err(reason) = verdict {
            return Err(Error::VolumeKept {
                volume: volume_name,
                pool: pool_name.to_owned(),
                reason,
            });
        }
        ops::delete_volume(&existing, &volume_name, connection_uri)?;
    } else if !may_import {
        let predicted = Path::new(&read_pool(pool, pool_name)?.path)
            .join(&volume_name)
            .to_string_lossy()
            .into_owned();
        return Ok((predicted, true));
    }
    on_step(HostStep::ImportImage);
    tracing::info!(volume = %volume_name, sha256 = %sha256, bytes = length, "importing base image");
    let volume = ops::create_volume(
        pool,
        &volume_name,
        &storage_xml::raw_volume(&volume_name, length, false),
    )?;
    let payload = Payload::FileHeadLast {
        path,
        length,
        head: IMAGE_HEAD_BYTES,
    };
    if let Err(error) = ops::put_volume(connect, access, &volume, &volume_name, &payload, false) {
        let _ = ops::delete_volume(&volume, &volume_name, connection_uri);
        return Err(error);
    }
    Ok((ops::volume_path(&volume, &volume_name)?, true))
}

/// Volumes of the pool whose backing store is the file at `path`, sorted.
fn volumes_backed_by(pool: &StoragePool, path: &str) -> Result<Vec<String>, Error> {
    let names = pool
        .list_volumes()
        .map_err(|error| Error::libvirt("listing the volumes of the pool", &error))?;
    let mut backed = Vec::new();
    for name in names {
        let Some(volume) = ops::lookup_volume(pool, &name)? else {
            continue;
        };
        let backing = volume
            .xml_desc(0)
            .ok()
            .and_then(|xml| ObservedVolume::parse(&xml).ok())
            .and_then(|observed| observed.backing_path);
        if backing.as_deref() == Some(path) {
            backed.push(name);
        }
    }
    backed.sort();
    Ok(backed)
}

/// What the head of an existing base image volume says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageHead {
    /// It equals the image's: the import finished (the head is written last).
    Complete,
    /// Still zeros where the image has data: an import fleet did not finish.
    CutShort,
    /// Anything else: not something fleet made from this image.
    Other,
}

fn image_volume_head(
    connect: &Connect,
    connection_uri: &str,
    volume: &StorageVol,
    volume_name: &str,
    file: &Path,
) -> Result<ImageHead, Error> {
    let mut expected = Vec::new();
    open_regular_file(file)
        .and_then(|(file, _)| file.take(IMAGE_HEAD_BYTES).read_to_end(&mut expected))
        .map_err(|error| Error::io("reading base image", file, error))?;
    match ops::read_volume_head(
        connect,
        connection_uri,
        volume,
        volume_name,
        expected.len() as u64,
    )? {
        Some(head) if head == expected => Ok(ImageHead::Complete),
        Some(head) if head.len() == expected.len() && head.iter().all(|byte| *byte == 0) => {
            Ok(ImageHead::CutShort)
        }
        Some(_) => Ok(ImageHead::Other),
        // Nothing to compare with (a remote driver without download, or a test-driver volume
        // without a file): the content-derived name is all there is to trust.
        None => Ok(ImageHead::Complete),
    }
}

/// Domains whose metadata names this fleet, by node name.
pub(crate) fn scan_fleet_domains(
    connect: &Connect,
    fleet: &str,
) -> Result<BTreeMap<String, ScannedDomain>, Error> {
    let domains = connect
        .list_all_domains(0)
        .map_err(|error| Error::libvirt("listing domains", &error))?;
    let mut found = BTreeMap::new();
    for domain in domains {
        let Ok(name) = domain.name() else { continue };
        let metadata = match domain.metadata(
            sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            Some(METADATA_NAMESPACE),
            0,
        ) {
            Ok(metadata) => metadata,
            Err(error) if is_not_found(&error) => continue,
            Err(error) => {
                return Err(Error::libvirt(
                    format!("reading metadata of domain {name}"),
                    &error,
                ));
            }
        };
        let Some(metadata) = parse_metadata_element(&metadata) else {
            continue;
        };
        if metadata.fleet != fleet {
            continue;
        }
        let state = crate::node::domain_state(&domain);
        found.insert(
            metadata.node,
            ScannedDomain {
                domain: name,
                state,
            },
        );
    }
    Ok(found)
}

/// The release the fleet's image record names, trusted only for the file whose sha256 it records
/// (the digest deploy computed for this run): a record left beside a replaced file says nothing.
fn base_image_release(image: Option<&ImageInfo>, target: &FleetTarget) -> Option<String> {
    let (Some(ImageInfo::File { sha256, .. }), Some(release)) = (image, &target.image_release)
    else {
        return None;
    };
    (*sha256 == release.uncompressed_sha256).then(|| release.release.clone())
}

/// The element `virDomainGetMetadata` returns (already selected by namespace, without prefix).
fn parse_metadata_element(xml: &str) -> Option<FleetMetadata> {
    FleetMetadata::from_element(&Element::parse(xml).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capabilities(features: &[&str], domain_types: &[&str]) -> String {
        let mut cpu = Element::new("cpu").text_child("arch", "x86_64");
        for feature in features {
            cpu = cpu.child(Element::new("feature").attr("name", *feature));
        }
        let mut arch = Element::new("arch").attr("name", "x86_64");
        for kind in domain_types {
            arch = arch.child(Element::new("domain").attr("type", *kind));
        }
        Element::new("capabilities")
            .child(Element::new("host").child(cpu))
            .child(
                Element::new("guest")
                    .text_child("os_type", "hvm")
                    .child(arch),
            )
            .to_xml()
    }

    #[test]
    fn auto_picks_kvm_only_where_hardware_virtualisation_is_visible() {
        let cases = [
            // Bare metal: no hypervisor bit.
            (
                capabilities(&["pdpe1gb"], &["qemu", "kvm"]),
                Hypervisor::Kvm,
            ),
            // Nested with vmx exposed.
            (
                capabilities(&["hypervisor", "vmx"], &["qemu", "kvm"]),
                Hypervisor::Kvm,
            ),
            // Nested without vmx/svm (PVM-style /dev/kvm): kvm advertised but does not boot.
            (
                capabilities(&["hypervisor"], &["qemu", "kvm"]),
                Hypervisor::Qemu,
            ),
            // No kvm at all.
            (capabilities(&["vmx"], &["qemu"]), Hypervisor::Qemu),
            ("not xml".to_owned(), Hypervisor::Qemu),
        ];
        for (xml, expected) in cases {
            assert_eq!(hypervisor_from_capabilities(&xml), expected, "{xml}");
        }
    }

    #[test]
    fn metadata_element_from_get_metadata_parses() {
        let parsed = parse_metadata_element(
            "<node fleet=\"demo\" node=\"web-01\" ignition-sha256=\"aa\" settings-sha256=\"bb\"/>",
        )
        .unwrap();
        assert_eq!(parsed.node, "web-01");
        assert_eq!(parse_metadata_element("<node/>"), None);
    }
}
