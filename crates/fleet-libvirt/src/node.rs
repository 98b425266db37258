//! One node on one host: observe what exists, decide what to do, carry it out, and take back what a failed attempt created.

use std::net::{IpAddr, Ipv4Addr};

use virt::connect::Connect;
use virt::domain::{Domain, DomainState};
use virt::network::Network;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::desired::{DesiredNode, FleetTarget, names, settings_sha256};
use crate::domain_xml::{
    DomainDefinition, FleetMetadata, Hypervisor, METADATA_NAMESPACE, METADATA_PREFIX,
    ObservedDomain,
};
use crate::error::{Error, is_not_running};
use crate::host::HostContext;
use crate::network_xml::{DhcpHost, ObservedNetwork};
use crate::ops::{self, Payload};
use crate::report::{
    Action, AddressSource, Difference, Field, KeptReason, NodeState, Repair, Step,
};
use crate::storage_xml::{self, ObservedVolume};
use crate::volume_ownership::{self, OwningDomain, VolumeAt};

/// A node on its host, with the values derived from it once (digests, volume names).
#[derive(Debug)]
pub(crate) struct NodeOnHost<'a> {
    pub(crate) target: &'a FleetTarget,
    pub(crate) node: &'a DesiredNode,
    pub(crate) hypervisor: Hypervisor,
    pub(crate) ignition_sha256: String,
    pub(crate) settings_sha256: String,
    pub(crate) overlay_name: String,
    pub(crate) ignition_name: String,
}

impl<'a> NodeOnHost<'a> {
    pub(crate) fn new(
        target: &'a FleetTarget,
        node: &'a DesiredNode,
        hypervisor: Hypervisor,
    ) -> Self {
        NodeOnHost {
            target,
            node,
            hypervisor,
            ignition_sha256: node.ignition_sha256(),
            settings_sha256: settings_sha256(node, target, hypervisor.as_str()),
            overlay_name: names::overlay_volume(&target.name, &node.name),
            ignition_name: names::ignition_volume(&target.name, &node.name),
        }
    }

    /// fleet's mark for the node's domain; `release` is that of the image it is (or was) made from.
    fn metadata(&self, release: Option<String>) -> FleetMetadata {
        FleetMetadata {
            fleet: self.target.name.clone(),
            node: self.node.name.clone(),
            ignition_sha256: self.ignition_sha256.clone(),
            settings_sha256: self.settings_sha256.clone(),
            release,
        }
    }

    /// The node's domain, referring to its volumes at the paths the pool gives them.
    fn definition_xml(&self, context: &HostContext<'_>) -> String {
        let node = self.node;
        let metadata = self.metadata(context.base_image_release.clone());
        let disk_path = context.volume_path(&self.overlay_name);
        let ignition_path = context.volume_path(&self.ignition_name);
        let console_log_path =
            context.volume_path(&names::console_log_volume(&self.target.name, &node.name));
        DomainDefinition {
            name: &node.name,
            uuid: node.uuid,
            hypervisor: self.hypervisor,
            memory_mib: node.memory_mib,
            vcpus: node.vcpus,
            disk_path: &disk_path,
            ignition_path: &ignition_path,
            mac: node.mac,
            network: &self.target.network,
            console_log_path: &console_log_path,
            direct_kernel_boot: self.target.direct_kernel_boot.as_ref(),
            metadata: &metadata,
        }
        .to_xml()
    }

    fn wanted_reservation(&self) -> Option<DhcpHost> {
        self.node
            .reserved_address
            .map(|address| DhcpHost::new(&self.node.mac.to_string(), address, &self.node.hostname))
    }
}

/// A domain fleet owns, as observed.
#[derive(Debug)]
pub(crate) struct OwnedDomain {
    pub(crate) domain: Domain,
    pub(crate) observed: ObservedDomain,
    pub(crate) metadata: FleetMetadata,
    pub(crate) state: NodeState,
    pub(crate) persistent: bool,
    pub(crate) autostart: bool,
}

impl OwnedDomain {
    /// Defined by fleet but never seen running to the end of a create: autostart is the last
    /// thing fleet sets, and the domain is down (see `repairs`).
    pub(crate) fn is_unfinished(&self) -> bool {
        self.persistent
            && !self.autostart
            && matches!(self.state, NodeState::ShutOff | NodeState::Crashed)
    }

    /// The domain as the proof of ownership sees it (see `volume_ownership`).
    pub(crate) fn as_owner(&self) -> OwningDomain<'_> {
        OwningDomain {
            name: &self.metadata.node,
            references: &self.observed.references,
        }
    }
}

#[derive(Debug)]
pub(crate) enum DomainObservation {
    Missing,
    Foreign { owner: Option<String> },
    Owned(Box<OwnedDomain>),
}

/// The node's DHCP reservation compared with the network's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReservationState {
    NotWanted,
    Present,
    Missing,
    /// An entry for the node's MAC with another address or name (fleet's own, from an older fleet file).
    Different(DhcpHost),
    /// The address is reserved for a MAC that is not the node's.
    Taken {
        mac: String,
    },
}

#[derive(Debug)]
pub(crate) struct Observation {
    pub(crate) domain: DomainObservation,
    pub(crate) overlay: Option<ObservedVolume>,
    pub(crate) ignition_volume: Option<ObservedVolume>,
    pub(crate) reservation: ReservationState,
    /// Other hosts where this fleet has a domain for the node.
    pub(crate) elsewhere: Vec<String>,
}

pub(crate) fn domain_state(domain: &Domain) -> NodeState {
    match domain.state() {
        Ok((state, _reason)) => match state.known() {
            Some(DomainState::Running | DomainState::Blocked) => NodeState::Running,
            Some(DomainState::Paused) => NodeState::Paused,
            Some(DomainState::Shutdown) => NodeState::ShuttingDown,
            Some(DomainState::Shutoff) => NodeState::ShutOff,
            Some(DomainState::Crashed) => NodeState::Crashed,
            Some(DomainState::PMSuspended) => NodeState::Suspended,
            Some(DomainState::NoState) | None => NodeState::Other,
        },
        Err(_) => NodeState::Unknown,
    }
}

fn read_domain_xml(domain: &Domain, name: &str) -> Result<ObservedDomain, Error> {
    let xml = domain
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        .map_err(|error| Error::libvirt(format!("reading domain {name}"), &error))?;
    ObservedDomain::parse(&xml).map_err(|message| Error::Xml {
        what: format!("domain {name}"),
        message,
    })
}

/// Look at the domain of this name and tell whether fleet owns it.
pub(crate) fn observe_domain(
    connect: &Connect,
    fleet: &str,
    name: &str,
) -> Result<DomainObservation, Error> {
    let Some(domain) = ops::lookup_domain(connect, name)? else {
        return Ok(DomainObservation::Missing);
    };
    let observed = read_domain_xml(&domain, name)?;
    let Some(metadata) = observed.metadata.clone() else {
        return Ok(DomainObservation::Foreign { owner: None });
    };
    if metadata.fleet != fleet {
        return Ok(DomainObservation::Foreign {
            owner: Some(metadata.fleet),
        });
    }
    let read = |error: virt::error::Error| Error::libvirt(format!("reading domain {name}"), &error);
    let persistent = domain.is_persistent().map_err(read)?;
    let autostart = if persistent {
        domain.autostart().map_err(read)?
    } else {
        false
    };
    let state = domain_state(&domain);
    Ok(DomainObservation::Owned(Box::new(OwnedDomain {
        domain,
        observed,
        metadata,
        state,
        persistent,
        autostart,
    })))
}

pub(crate) fn observe(
    context: &HostContext<'_>,
    connect: &Connect,
    on_host: &NodeOnHost<'_>,
    elsewhere: Vec<String>,
) -> Result<Observation, Error> {
    let domain = observe_domain(connect, &on_host.target.name, &on_host.node.name)?;
    let (overlay, ignition_volume) = match context.pool_on(connect, &on_host.target.pool_name)? {
        Some(pool) => (
            read_volume(&pool, &on_host.overlay_name)?,
            read_volume(&pool, &on_host.ignition_name)?,
        ),
        None => (None, None),
    };
    Ok(Observation {
        domain,
        overlay,
        ignition_volume,
        reservation: reservation_state(
            &context.network.dhcp_hosts,
            on_host.wanted_reservation().as_ref(),
        ),
        elsewhere,
    })
}

fn read_volume(
    pool: &virt::storage_pool::StoragePool,
    name: &str,
) -> Result<Option<ObservedVolume>, Error> {
    let Some(volume) = ops::lookup_volume(pool, name)? else {
        return Ok(None);
    };
    let xml = volume
        .xml_desc(0)
        .map_err(|error| Error::libvirt(format!("reading volume {name}"), &error))?;
    ObservedVolume::parse(&xml)
        .map(Some)
        .map_err(|message| Error::Xml {
            what: format!("volume {name}"),
            message,
        })
}

fn reservation_state(existing: &[DhcpHost], wanted: Option<&DhcpHost>) -> ReservationState {
    let Some(wanted) = wanted else {
        return ReservationState::NotWanted;
    };
    if existing.contains(wanted) {
        return ReservationState::Present;
    }
    if let Some(taken) = existing
        .iter()
        .find(|host| host.ip == wanted.ip && host.mac != wanted.mac)
    {
        return ReservationState::Taken {
            mac: taken
                .mac
                .clone()
                .unwrap_or_else(|| "another host".to_owned()),
        };
    }
    match existing.iter().find(|host| host.mac == wanted.mac) {
        Some(ours) => ReservationState::Different(ours.clone()),
        None => ReservationState::Missing,
    }
}

fn short_hash(hash: &str) -> String {
    if hash.is_empty() {
        return "none".to_owned();
    }
    hash.get(..12).unwrap_or(hash).to_owned()
}

fn describe_boot(kernel: Option<&str>, initrd: Option<&str>, cmdline: Option<&str>) -> String {
    match (kernel, initrd, cmdline) {
        (None, None, None) => "none".to_owned(),
        (kernel, initrd, cmdline) => format!(
            "kernel={} initrd={} cmdline={}",
            kernel.unwrap_or("-"),
            initrd.unwrap_or("-"),
            cmdline.unwrap_or("-")
        ),
    }
}

/// Where an owned domain differs from what is wanted.
pub(crate) fn differences(
    context: &HostContext<'_>,
    on_host: &NodeOnHost<'_>,
    owned: &OwnedDomain,
    overlay: Option<&ObservedVolume>,
) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut differ = |field: Field, desired: String, observed: String| {
        if desired != observed {
            found.push(Difference {
                field,
                desired,
                observed,
            });
        }
    };
    let node = on_host.node;
    let observed = &owned.observed;
    differ(
        Field::Ignition,
        short_hash(&on_host.ignition_sha256),
        short_hash(&owned.metadata.ignition_sha256),
    );
    differ(
        Field::Vcpus,
        node.vcpus.to_string(),
        observed
            .vcpus
            .map_or("none".to_owned(), |vcpus| vcpus.to_string()),
    );
    differ(
        Field::MemoryMib,
        node.memory_mib.to_string(),
        observed
            .memory_kib
            .map_or("none".to_owned(), |kib| (kib / 1024).to_string()),
    );
    differ(
        Field::DomainType,
        on_host.hypervisor.as_str().to_owned(),
        observed.domain_type.clone(),
    );
    let interface = observed.interfaces.first();
    differ(
        Field::Mac,
        node.mac.to_string(),
        interface
            .and_then(|interface| interface.mac.clone())
            .unwrap_or_else(|| "none".to_owned()),
    );
    differ(
        Field::Network,
        on_host.target.network.clone(),
        interface
            .and_then(|interface| interface.network.clone())
            .unwrap_or_else(|| "none".to_owned()),
    );
    let desired_boot = on_host.target.direct_kernel_boot.as_ref();
    differ(
        Field::DirectKernelBoot,
        describe_boot(
            desired_boot
                .map(|boot| boot.kernel.to_string_lossy())
                .as_deref(),
            desired_boot
                .map(|boot| boot.initrd.to_string_lossy())
                .as_deref(),
            desired_boot.map(|boot| boot.cmdline.as_str()),
        ),
        describe_boot(
            observed.kernel.as_deref(),
            observed.initrd.as_deref(),
            observed.cmdline.as_deref(),
        ),
    );
    let expected_disk = context.volume_path(&on_host.overlay_name);
    differ(
        Field::Disk,
        expected_disk,
        observed
            .disk_files
            .first()
            .cloned()
            .unwrap_or_else(|| "none".to_owned()),
    );
    match overlay {
        Some(overlay) => differ(
            Field::DiskGib,
            node.disk_gib.to_string(),
            overlay
                .capacity_bytes
                .map_or("unknown".to_owned(), format_gib),
        ),
        // An unfinished domain's missing disk is made by a repair, not reported.
        None if owned.is_unfinished() => {}
        None => differ(
            Field::DiskGib,
            node.disk_gib.to_string(),
            "missing".to_owned(),
        ),
    }
    // The base image counts only where both sides are known: an overlay libvirt shows without a
    // backing file, or a host prepared without the image (status), says nothing about it.
    if let (Some(backing), Some(base)) = (
        overlay.and_then(|overlay| overlay.backing_path.as_deref()),
        context.base_image_path.as_deref(),
    ) {
        differ(Field::Image, file_name(base), file_name(backing));
    }
    found
}

/// The last part of a volume's path: base images are named for their digest, so that part tells
/// them apart.
fn file_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

fn format_gib(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 30) {
        (bytes >> 30).to_string()
    } else {
        format!("{:.2}", bytes as f64 / f64::from(1_u32 << 30))
    }
}

/// Fixes an otherwise unchanged node needs.
pub(crate) fn repairs(
    on_host: &NodeOnHost<'_>,
    owned: &OwnedDomain,
    observation: &Observation,
) -> Vec<Repair> {
    // In the order they are applied: what a start needs comes before the start.
    let mut repairs = Vec::new();
    if !owned.persistent {
        repairs.push(Repair::Persist);
    }
    if observation.overlay.is_none() && owned.is_unfinished() {
        repairs.push(Repair::Overlay);
    }
    // An unfinished domain's Ignition volume may have been made but not filled when the run
    // stopped (a new raw volume is zeros of the right size, and the guest would read those): it is
    // written again. A finished one is judged by its size.
    let ignition_ok = !owned.is_unfinished()
        && observation.ignition_volume.as_ref().is_some_and(|volume| {
            volume
                .capacity_bytes
                .is_none_or(|bytes| bytes == on_host.node.ignition.len() as u64)
        });
    if !ignition_ok {
        repairs.push(Repair::IgnitionVolume);
    }
    if matches!(
        observation.reservation,
        ReservationState::Missing | ReservationState::Different(_) | ReservationState::Taken { .. }
    ) {
        repairs.push(Repair::Reservation);
    }
    if owned.metadata.settings_sha256 != on_host.settings_sha256 {
        repairs.push(Repair::Metadata);
    }
    // Autostart is the last thing fleet sets when it creates a domain, after the start: a domain
    // without it was interrupted between definition and start (or had autostart switched off),
    // and one that is not running is started.
    if owned.persistent && !owned.autostart {
        if owned.is_unfinished() {
            repairs.push(Repair::Start);
        }
        repairs.push(Repair::Autostart);
    }
    repairs
}

/// A volume of the node that exists although the node has no domain on the host.
pub(crate) fn unproven_volume<'p>(
    on_host: &'p NodeOnHost<'_>,
    observation: &Observation,
) -> Option<&'p str> {
    if observation.overlay.is_some() {
        Some(&on_host.overlay_name)
    } else if observation.ignition_volume.is_some() {
        Some(&on_host.ignition_name)
    } else {
        None
    }
}

/// Decide what deploy does for the node.
pub(crate) fn decide(
    context: &HostContext<'_>,
    on_host: &NodeOnHost<'_>,
    observation: &Observation,
    replace: bool,
) -> Action {
    let changed = |differences: Vec<Difference>| {
        if replace {
            Action::Replace(differences)
        } else {
            Action::Changed(differences)
        }
    };
    let moved = (!observation.elsewhere.is_empty()).then(|| Difference {
        field: Field::Host,
        desired: on_host.node.host.clone(),
        observed: observation.elsewhere.join(", "),
    });
    match &observation.domain {
        DomainObservation::Foreign { .. } => Action::Conflict,
        // Volumes with the node's names but no domain of the fleet: nothing shows they are
        // fleet's (deploy defines the domain before it makes them), so they are not reused or
        // replaced, and the node cannot be created over them.
        DomainObservation::Missing if unproven_volume(on_host, observation).is_some() => {
            Action::Conflict
        }
        DomainObservation::Missing => match moved {
            Some(moved) => changed(vec![moved]),
            None => Action::Create,
        },
        DomainObservation::Owned(owned) => {
            let mut differences =
                differences(context, on_host, owned, observation.overlay.as_ref());
            differences.extend(moved);
            if !differences.is_empty() {
                return changed(differences);
            }
            let repairs = repairs(on_host, owned, observation);
            if repairs.is_empty() {
                Action::Unchanged
            } else {
                Action::Repair(repairs)
            }
        }
    }
}

/// What a create attempt made, so that a failure takes exactly that back.
#[derive(Debug, Default)]
struct Made {
    overlay: bool,
    ignition: bool,
    reservation: Option<DhcpHost>,
    domain: Option<Domain>,
    /// A start was tried: qemu may have created the console log.
    start_tried: bool,
}

/// A failed step and why.
pub(crate) type StepError = (Step, Error);

fn at(step: Step) -> impl FnOnce(Error) -> StepError {
    move |error| (step, error)
}

/// Create the node: domain (without autostart), overlay, Ignition, reservation, start, autostart.
/// On failure everything this attempt created is removed again.
pub(crate) fn create(
    context: &HostContext<'_>,
    connect: &Connect,
    on_host: &NodeOnHost<'_>,
    observation: Observation,
    on_step: &dyn Fn(Step),
) -> Result<(), StepError> {
    let mut made = Made::default();
    let result = create_steps(context, connect, on_host, observation, on_step, &mut made);
    if result.is_err() {
        undo(context, connect, on_host, made);
    }
    result
}

fn pool_of(connect: &Connect, on_host: &NodeOnHost<'_>) -> Result<StoragePool, Error> {
    ops::lookup_pool(connect, &on_host.target.pool_name).and_then(|pool| {
        pool.ok_or_else(|| Error::Libvirt {
            operation: format!("looking up storage pool {}", on_host.target.pool_name),
            message: "the pool disappeared".to_owned(),
        })
    })
}

fn create_steps(
    context: &HostContext<'_>,
    connect: &Connect,
    on_host: &NodeOnHost<'_>,
    observation: Observation,
    on_step: &dyn Fn(Step),
    made: &mut Made,
) -> Result<(), StepError> {
    let target = on_host.target;
    let node = on_host.node;
    let pool = pool_of(connect, on_host).map_err(at(Step::Define))?;
    // An address another MAC holds fails the node before anything is made for it.
    if let (ReservationState::Taken { mac }, Some(wanted)) =
        (&observation.reservation, on_host.wanted_reservation())
    {
        return Err((
            Step::Reservation,
            Error::AddressTaken {
                address: wanted.ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                mac: mac.clone(),
                network: target.network.clone(),
            },
        ));
    }

    // The domain first: from its definition on, it refers to every volume the node gets, and it is
    // what later shows that those volumes are fleet's to delete (see `volume_ownership`).
    on_step(Step::Define);
    let domain = connect
        .define_domain_xml(&on_host.definition_xml(context))
        .map_err(|error| {
            (
                Step::Define,
                Error::libvirt(format!("defining domain {}", node.name), &error),
            )
        })?;
    made.domain = Some(domain.clone());

    on_step(Step::Volume);
    create_overlay(context, &pool, on_host).map_err(at(Step::Volume))?;
    made.overlay = true;

    on_step(Step::Ignition);
    put_ignition(context, connect, &pool, on_host).map_err(at(Step::Ignition))?;
    made.ignition = true;

    if let Some(wanted) = on_host.wanted_reservation()
        && observation.reservation != ReservationState::Present
    {
        on_step(Step::Reservation);
        let added = ensure_reservation(
            context,
            connect,
            &target.network,
            &wanted,
            &observation.reservation,
        )
        .map_err(at(Step::Reservation))?;
        if added {
            made.reservation = Some(wanted);
        }
    }

    on_step(Step::Start);
    made.start_tried = true;
    domain.create().map_err(|error| {
        (
            Step::Start,
            Error::libvirt(format!("starting domain {}", node.name), &error),
        )
    })?;

    let state = domain_state(&domain);
    if state != NodeState::Running {
        return Err((
            Step::Start,
            Error::NotRunning {
                domain: node.name.clone(),
                state: state.to_string(),
            },
        ));
    }
    // Autostart last: a domain without it was interrupted before or during its start, and the
    // next deploy starts it (see `repairs`).
    domain.set_autostart(true).map_err(|error| {
        (
            Step::Running,
            Error::libvirt(format!("setting autostart of domain {}", node.name), &error),
        )
    })?;
    on_step(Step::Running);
    Ok(())
}

/// The node's qcow2 overlay on the base image, at the path its domain refers to.
fn create_overlay(
    context: &HostContext<'_>,
    pool: &StoragePool,
    on_host: &NodeOnHost<'_>,
) -> Result<(), Error> {
    let base_image_path = context
        .base_image_path
        .as_deref()
        .ok_or_else(|| Error::Libvirt {
            operation: "creating the overlay".to_owned(),
            message: "no base image on this host".to_owned(),
        })?;
    let xml = storage_xml::overlay_volume(
        &on_host.overlay_name,
        on_host.node.disk_gib,
        base_image_path,
    );
    let volume = ops::create_volume(pool, &on_host.overlay_name, &xml)?;
    check_volume_path(context, &volume, &on_host.overlay_name)
}

/// The domain was defined with the paths the pool gives its volumes (`<pool path>/<name>`): a
/// pool that put a volume elsewhere would leave the domain pointing at nothing.
fn check_volume_path(
    context: &HostContext<'_>,
    volume: &StorageVol,
    name: &str,
) -> Result<(), Error> {
    let actual = ops::volume_path(volume, name)?;
    let expected = context.volume_path(name);
    if actual == expected {
        return Ok(());
    }
    let _ = ops::delete_volume(volume, name, context.uri());
    Err(Error::Libvirt {
        operation: format!("creating volume {name}"),
        message: format!("the pool put it at {actual}, not at {expected}"),
    })
}

/// Take back what a failed create made: volumes while the domain that proves them still exists,
/// then the domain. Errors here are logged: the node already failed.
fn undo(context: &HostContext<'_>, connect: &Connect, on_host: &NodeOnHost<'_>, made: Made) {
    let node = &on_host.node.name;
    let warn = |error: Error| tracing::warn!(%node, %error, "cleanup after a failed create");
    if let Some(domain) = &made.domain
        && let Err(error) = ops::stop(domain, node)
    {
        warn(error);
    }
    if let Ok(Some(pool)) = ops::lookup_pool(connect, &on_host.target.pool_name) {
        let mut volumes = Vec::new();
        if made.ignition {
            volumes.push(on_host.ignition_name.clone());
        }
        if made.overlay {
            volumes.push(on_host.overlay_name.clone());
        }
        let log = names::console_log_volume(&on_host.target.name, node);
        if made.start_tried {
            // A start that got as far as the console creates its log file; libvirt lists it as a
            // volume only after a refresh.
            if let Err(error) =
                ops::refresh_pool(&pool, &on_host.target.pool_name, &context.pool_gate)
            {
                warn(error);
            }
            volumes.push(log.clone());
        }
        for volume in &volumes {
            if let Err(error) = ops::delete_volume_if_present(&pool, volume, context.uri()) {
                warn(error);
            }
        }
        // The test driver's refresh does not look at the directory.
        if made.start_tried
            && crate::uri::is_local(context.uri())
            && let Err(error) =
                ops::remove_local_file(std::path::Path::new(&context.volume_path(&log)))
        {
            warn(error);
        }
    }
    if let Some(reservation) = made.reservation
        && let Err(error) =
            remove_reservation(context, connect, &on_host.target.network, &reservation)
    {
        warn(error);
    }
    if let Some(domain) = &made.domain
        && let Err(error) = ops::undefine(domain, node)
    {
        warn(error);
    }
}

/// Create the Ignition volume and put the rendered config in it.
fn put_ignition(
    context: &HostContext<'_>,
    connect: &Connect,
    pool: &StoragePool,
    on_host: &NodeOnHost<'_>,
) -> Result<(), Error> {
    let ignition = &on_host.node.ignition;
    let xml = storage_xml::raw_volume(&on_host.ignition_name, ignition.len() as u64, true);
    let volume = ops::create_volume(pool, &on_host.ignition_name, &xml)?;
    check_volume_path(context, &volume, &on_host.ignition_name)?;
    let delivery = ops::put_volume(
        connect,
        context.access(),
        &volume,
        &on_host.ignition_name,
        &Payload::Bytes(ignition),
        true,
    );
    if let Err(error) = delivery {
        let _ = ops::delete_volume(&volume, &on_host.ignition_name, context.uri());
        return Err(error);
    }
    Ok(())
}

/// One of the node's volumes, when fleet may delete it: `Ok(Ok(Some(volume)))` when its own domain
/// refers to it and no other domain does (see `volume_ownership`), `Ok(Ok(None))` when there is
/// none, `Ok(Err(reason))` when it must stay.
fn deletable_node_volume(
    context: &HostContext<'_>,
    pool: &StoragePool,
    owner: Option<&OwnedDomain>,
    volume_name: &str,
    target: &FleetTarget,
) -> Result<Result<Option<StorageVol>, KeptReason>, Error> {
    let Some(volume) = ops::lookup_volume(pool, volume_name)? else {
        return Ok(Ok(None));
    };
    let path = ops::volume_path(&volume, volume_name)?;
    let at = VolumeAt {
        name: volume_name,
        pool: &target.pool_name,
        path: &path,
    };
    let users = context.volume_users()?;
    let owner = owner.map(OwnedDomain::as_owner);
    Ok(
        volume_ownership::may_delete_node_volume(owner, at, users, &target.name)
            .map(|()| Some(volume)),
    )
}

/// [`deletable_node_volume`] for deploy's repairs and replacements, where a volume that must stay
/// fails the node.
pub(crate) fn deletable_node_volume_or_fail(
    context: &HostContext<'_>,
    pool: &StoragePool,
    owner: Option<&OwnedDomain>,
    volume_name: &str,
    target: &FleetTarget,
) -> Result<Option<StorageVol>, Error> {
    deletable_node_volume(context, pool, owner, volume_name, target)?.map_err(|reason| {
        Error::VolumeKept {
            volume: volume_name.to_owned(),
            pool: target.pool_name.clone(),
            reason,
        }
    })
}

/// Rewrite fleet's metadata element in the persistent definition and, when running, the live one.
fn set_metadata(domain: &Domain, name: &str, metadata: &FleetMetadata) -> Result<(), Error> {
    let xml = metadata.element_without_namespace().to_xml();
    let set = |flags: u32| {
        domain.set_metadata(
            sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            Some(&xml),
            Some(METADATA_PREFIX),
            Some(METADATA_NAMESPACE),
            flags,
        )
    };
    let active = domain.is_active().unwrap_or(false);
    let result = if active {
        // The domain may stop between the check and the call (a guest that powers off at once).
        set(sys::VIR_DOMAIN_AFFECT_LIVE | sys::VIR_DOMAIN_AFFECT_CONFIG).or_else(|error| {
            if is_not_running(&error) {
                set(sys::VIR_DOMAIN_AFFECT_CONFIG)
            } else {
                Err(error)
            }
        })
    } else {
        set(sys::VIR_DOMAIN_AFFECT_CONFIG)
    };
    result.map_err(|error| Error::libvirt(format!("writing metadata of domain {name}"), &error))
}

fn network_update_flags(context: &HostContext<'_>) -> u32 {
    let mut flags = 0;
    if context.network.active {
        flags |= sys::VIR_NETWORK_UPDATE_AFFECT_LIVE;
    }
    if context.network.persistent {
        flags |= sys::VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    }
    flags
}

fn network_on(connect: &Connect, name: &str) -> Result<Network, Error> {
    ops::lookup_network(connect, name)?.ok_or_else(|| Error::Libvirt {
        operation: format!("looking up network {name}"),
        message: "the network disappeared".to_owned(),
    })
}

/// Add (or correct) the node's reservation; `Ok(true)` when a new entry was added.
fn ensure_reservation(
    context: &HostContext<'_>,
    connect: &Connect,
    network_name: &str,
    wanted: &DhcpHost,
    state: &ReservationState,
) -> Result<bool, Error> {
    let address = wanted.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    match state {
        ReservationState::NotWanted | ReservationState::Present => Ok(false),
        ReservationState::Taken { mac } => Err(Error::AddressTaken {
            address,
            mac: mac.clone(),
            network: network_name.to_owned(),
        }),
        ReservationState::Different(_) => {
            let network = network_on(connect, network_name)?;
            network
                .update(
                    sys::VIR_NETWORK_UPDATE_COMMAND_MODIFY,
                    sys::VIR_NETWORK_SECTION_IP_DHCP_HOST,
                    -1,
                    &wanted.to_xml(),
                    network_update_flags(context),
                )
                .map_err(|error| {
                    Error::libvirt(
                        format!("updating the reservation for {address} in network {network_name}"),
                        &error,
                    )
                })?;
            Ok(false)
        }
        ReservationState::Missing => {
            let network = network_on(connect, network_name)?;
            let added = network.update(
                sys::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
                sys::VIR_NETWORK_SECTION_IP_DHCP_HOST,
                -1,
                &wanted.to_xml(),
                network_update_flags(context),
            );
            match added {
                Ok(()) => Ok(true),
                Err(error) => {
                    // libvirt refuses an entry that already exists; an identical one is success,
                    // anything else (another MAC on the address) is the node's conflict.
                    let current = network
                        .xml_desc(0)
                        .ok()
                        .and_then(|xml| ObservedNetwork::parse(&xml).ok())
                        .unwrap_or_default();
                    match reservation_state(&current.dhcp_hosts, Some(wanted)) {
                        ReservationState::Present => Ok(false),
                        ReservationState::Taken { mac } => Err(Error::AddressTaken {
                            address,
                            mac,
                            network: network_name.to_owned(),
                        }),
                        _ => Err(Error::libvirt(
                            format!("reserving {address} in network {network_name}"),
                            &error,
                        )),
                    }
                }
            }
        }
    }
}

fn remove_reservation(
    context: &HostContext<'_>,
    connect: &Connect,
    network_name: &str,
    entry: &DhcpHost,
) -> Result<(), Error> {
    let network = network_on(connect, network_name)?;
    network
        .update(
            sys::VIR_NETWORK_UPDATE_COMMAND_DELETE,
            sys::VIR_NETWORK_SECTION_IP_DHCP_HOST,
            -1,
            &entry.to_xml(),
            network_update_flags(context),
        )
        .map_err(|error| {
            Error::libvirt(
                format!("removing a reservation from network {network_name}"),
                &error,
            )
        })
}

/// Apply in-place repairs to an otherwise unchanged node.
pub(crate) fn repair(
    context: &HostContext<'_>,
    connect: &Connect,
    on_host: &NodeOnHost<'_>,
    observation: &Observation,
    repairs: &[Repair],
    on_step: &dyn Fn(Step),
) -> Result<(), StepError> {
    let DomainObservation::Owned(owned) = &observation.domain else {
        return Ok(());
    };
    on_step(Step::Repair);
    let node = &on_host.node.name;
    let fail = |error| (Step::Repair, error);
    for repair in repairs {
        match repair {
            Repair::Persist => {
                // Define the running transient domain with its own configuration, then autostart.
                let xml = owned
                    .domain
                    .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
                    .map_err(|error| {
                        fail(Error::libvirt(format!("reading domain {node}"), &error))
                    })?;
                let defined = connect.define_domain_xml(&xml).map_err(|error| {
                    fail(Error::libvirt(format!("defining domain {node}"), &error))
                })?;
                defined.set_autostart(true).map_err(|error| {
                    fail(Error::libvirt(
                        format!("setting autostart of domain {node}"),
                        &error,
                    ))
                })?;
            }
            Repair::Autostart => owned.domain.set_autostart(true).map_err(|error| {
                fail(Error::libvirt(
                    format!("setting autostart of domain {node}"),
                    &error,
                ))
            })?,
            Repair::Overlay => {
                let pool = pool_of(connect, on_host).map_err(fail)?;
                create_overlay(context, &pool, on_host).map_err(fail)?;
            }
            Repair::IgnitionVolume => {
                let pool = pool_of(connect, on_host).map_err(fail)?;
                // One of the wrong size is replaced, if fleet may (the domain refers to it and no
                // other domain uses it).
                if let Some(volume) = deletable_node_volume_or_fail(
                    context,
                    &pool,
                    Some(owned),
                    &on_host.ignition_name,
                    on_host.target,
                )
                .map_err(fail)?
                {
                    ops::delete_volume(&volume, &on_host.ignition_name, context.uri())
                        .map_err(fail)?;
                }
                put_ignition(context, connect, &pool, on_host).map_err(fail)?;
            }
            Repair::Reservation => {
                if let Some(wanted) = on_host.wanted_reservation() {
                    ensure_reservation(
                        context,
                        connect,
                        &on_host.target.network,
                        &wanted,
                        &observation.reservation,
                    )
                    .map_err(fail)?;
                }
            }
            Repair::Start => owned
                .domain
                .create()
                .map_err(|error| fail(Error::libvirt(format!("starting domain {node}"), &error)))?,
            Repair::Metadata => {
                // The overlay keeps its base: so does the record of which release that was.
                let release = owned.metadata.release.clone();
                set_metadata(&owned.domain, node, &on_host.metadata(release)).map_err(fail)?
            }
        }
    }
    Ok(())
}

/// What a teardown removed, and what it left alone.
#[derive(Debug, Default)]
pub(crate) struct Removed {
    pub(crate) domain: bool,
    pub(crate) volumes: Vec<String>,
    pub(crate) reservation: bool,
    /// Volumes with the node's names that fleet may not delete, and why.
    pub(crate) kept: Vec<(String, KeptReason)>,
    /// Backing files of the overlays deleted (the base images they were made from).
    pub(crate) backing_paths: Vec<String>,
}

/// Remove a node of this fleet from a host: stop its domain (only if fleet owns it), delete its
/// overlay, Ignition volume and console log while the domain still proves they are fleet's (and
/// only those no other domain uses), then undefine the domain and remove the reservations of its MAC.
/// The pool was refreshed when the host was prepared, so the console log is a volume.
pub(crate) fn teardown(
    context: &HostContext<'_>,
    connect: &Connect,
    fleet: &FleetTarget,
    node: &str,
    node_mac: Option<String>,
) -> Result<Removed, Error> {
    let mut removed = Removed::default();
    let mut macs: Vec<String> = node_mac.into_iter().collect();
    let owned = match observe_domain(connect, &fleet.name, node)? {
        DomainObservation::Foreign { owner } => {
            return Err(Error::ForeignDomain {
                domain: node.to_owned(),
                fleet: fleet.name.clone(),
                owner,
            });
        }
        DomainObservation::Owned(owned) => Some(owned),
        DomainObservation::Missing => None,
    };
    if let Some(owned) = &owned {
        macs.extend(
            owned
                .observed
                .interfaces
                .iter()
                .filter_map(|interface| interface.mac.clone()),
        );
        ops::stop(&owned.domain, node)?;
    }
    if let Some(pool) = context.pool_on(connect, &fleet.pool_name)? {
        let overlay = names::overlay_volume(&fleet.name, node);
        let backing = match ops::lookup_volume(&pool, &overlay)? {
            Some(volume) => volume
                .xml_desc(0)
                .ok()
                .and_then(|xml| ObservedVolume::parse(&xml).ok())
                .and_then(|observed| observed.backing_path),
            None => None,
        };
        let console_log = names::console_log_volume(&fleet.name, node);
        for volume in [
            overlay.clone(),
            names::ignition_volume(&fleet.name, node),
            console_log.clone(),
        ] {
            match deletable_node_volume(context, &pool, owned.as_deref(), &volume, fleet)? {
                Ok(Some(handle)) => {
                    ops::delete_volume(&handle, &volume, context.uri())?;
                    if volume == overlay {
                        removed.backing_paths.extend(backing.clone());
                    }
                    removed.volumes.push(volume);
                }
                Ok(None) => {}
                Err(reason) => removed.kept.push((volume, reason)),
            }
        }
        // The test driver's refresh does not look at the directory: on a local connection the
        // console log file the domain refers to is removed itself.
        let log_path = context.volume_path(&console_log);
        if crate::uri::is_local(context.uri())
            && !removed.volumes.contains(&console_log)
            && !removed
                .kept
                .iter()
                .any(|(volume, _)| *volume == console_log)
            && owned.as_ref().is_some_and(|owned| {
                owned
                    .observed
                    .references
                    .names_volume(&log_path, &fleet.pool_name, &console_log)
            })
            && ops::remove_local_file(std::path::Path::new(&log_path))?
        {
            removed.volumes.push(console_log);
        }
    }
    if let Some(owned) = &owned {
        ops::undefine(&owned.domain, node)?;
        removed.domain = true;
    }
    if context.network.exists {
        macs.sort();
        macs.dedup();
        for entry in context
            .network
            .dhcp_hosts
            .iter()
            .filter(|entry| entry.mac.as_ref().is_some_and(|mac| macs.contains(mac)))
        {
            remove_reservation(context, connect, &fleet.network, entry)?;
            removed.reservation = true;
        }
    }
    Ok(removed)
}

/// Remove every reservation the host's snapshot holds for `mac`.
pub(crate) fn teardown_reservations(
    context: &HostContext<'_>,
    connect: &Connect,
    fleet: &FleetTarget,
    mac: &str,
) -> Result<(), Error> {
    for entry in context
        .network
        .dhcp_hosts
        .iter()
        .filter(|entry| entry.mac.as_deref() == Some(mac))
    {
        remove_reservation(context, connect, &fleet.network, entry)?;
    }
    Ok(())
}

/// The node's address: its DHCP lease when the network knows one, else its reservation.
pub(crate) fn address(
    owned: Option<&OwnedDomain>,
    on_host: &NodeOnHost<'_>,
    observation: &Observation,
) -> Option<(IpAddr, AddressSource)> {
    let mac = on_host.node.mac.to_string();
    if let Some(owned) = owned.filter(|owned| owned.state == NodeState::Running)
        && let Ok(interfaces) = owned
            .domain
            .interface_addresses(sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0)
    {
        let lease = interfaces
            .iter()
            .filter(|interface| {
                interface
                    .hwaddr
                    .as_deref()
                    .is_some_and(|hwaddr| hwaddr.eq_ignore_ascii_case(&mac))
            })
            .flat_map(|interface| &interface.addrs)
            .find_map(|address| address.addr.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4));
        if let Some(lease) = lease {
            return Some((lease, AddressSource::Lease));
        }
    }
    match (
        observation.reservation == ReservationState::Present,
        on_host.node.reserved_address,
    ) {
        (true, Some(address)) => Some((IpAddr::V4(address), AddressSource::Reservation)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_classified() {
        let ours = DhcpHost::new("52:54:00:00:00:01", Ipv4Addr::new(10, 0, 0, 5), "db-1");
        let cases = [
            (vec![], None, ReservationState::NotWanted),
            (vec![], Some(&ours), ReservationState::Missing),
            (vec![ours.clone()], Some(&ours), ReservationState::Present),
            (
                vec![DhcpHost::new(
                    "52:54:00:00:00:99",
                    Ipv4Addr::new(10, 0, 0, 5),
                    "x",
                )],
                Some(&ours),
                ReservationState::Taken {
                    mac: "52:54:00:00:00:99".to_owned(),
                },
            ),
            (
                vec![DhcpHost::new(
                    "52:54:00:00:00:01",
                    Ipv4Addr::new(10, 0, 0, 6),
                    "db-1",
                )],
                Some(&ours),
                ReservationState::Different(DhcpHost::new(
                    "52:54:00:00:00:01",
                    Ipv4Addr::new(10, 0, 0, 6),
                    "db-1",
                )),
            ),
        ];
        for (existing, wanted, expected) in cases {
            assert_eq!(reservation_state(&existing, wanted), expected);
        }
    }

    #[test]
    fn sizes_print_as_gib() {
        assert_eq!(format_gib(10 << 30), "10");
        assert_eq!(format_gib(3 << 29), "1.50");
    }
}
