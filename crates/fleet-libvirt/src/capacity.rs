//! What a host offers the planner: CPUs, memory and pool space read through libvirt (node info, free memory, pool info).

use fleet_spec::HostCapacity;
use virt::sys;

use crate::desired::{FleetTarget, names};
use crate::domain_xml::{METADATA_NAMESPACE, ObservedDomain};
use crate::error::Error;
use crate::ops;
use crate::session::{HostSlot, Session};

/// A host's resources as libvirt reports them, and what this fleet already uses there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCapacityReading {
    pub host: String,
    /// Logical CPUs (node info).
    pub cpus: u32,
    /// Physical memory (node info).
    pub memory_mib: u64,
    /// Memory free right now; `None` when the driver does not say (libvirt's test driver
    /// reports none for hosts defined by a file).
    pub free_memory_mib: Option<u64>,
    /// vCPUs and memory of this fleet's running domains on the host: placement may reuse them.
    pub fleet_vcpus: u32,
    pub fleet_memory_mib: u64,
    /// Size and free space of the fleet's pool; `None` when the pool does not exist yet.
    pub pool_capacity_gib: Option<u64>,
    pub pool_available_gib: Option<u64>,
    /// Space this fleet's volumes take in the pool.
    pub fleet_disk_gib: u64,
}

impl HostCapacityReading {
    /// What the fleet may use: all CPUs; free memory plus what its own running domains hold (or
    /// all memory when free memory is unknown); free pool space plus its own volumes (or nothing
    /// known when the pool does not exist yet).
    pub fn to_host_capacity(&self) -> HostCapacity {
        let memory_mib = match self.free_memory_mib {
            Some(free) => (free + self.fleet_memory_mib).min(self.memory_mib),
            None => self.memory_mib,
        };
        HostCapacity {
            vcpus: Some(self.cpus),
            memory_mib: Some(memory_mib),
            disk_gib: self
                .pool_available_gib
                .map(|available| available + self.fleet_disk_gib),
        }
    }
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Read a host's capacity through its session connection.
pub fn read_host_capacity(
    session: &Session,
    host: &str,
    target: &FleetTarget,
) -> Result<HostCapacityReading, Error> {
    let connections = match session.hosts.get(host) {
        Some(HostSlot::Connected(connections)) => connections,
        Some(HostSlot::Unreachable { error, .. }) => {
            return Err(Error::HostUnreachable {
                host: host.to_owned(),
                message: error.to_string(),
            });
        }
        None => {
            return Err(Error::UnknownHost {
                node: String::new(),
                host: host.to_owned(),
            });
        }
    };
    let connect = connections.get();
    let info = connect
        .node_info()
        .map_err(|error| Error::libvirt(format!("reading node info of host {host}"), &error))?;
    // 0 from virNodeGetFreeMemory is an error to the bindings; either way it tells nothing.
    let free_memory_mib = connect.free_memory().ok().map(|bytes| bytes / MIB);

    let mut fleet_vcpus = 0;
    let mut fleet_memory_mib = 0;
    let domains = connect
        .list_all_domains(sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        .map_err(|error| Error::libvirt(format!("listing domains of host {host}"), &error))?;
    for domain in domains {
        if domain
            .metadata(
                sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
                Some(METADATA_NAMESPACE),
                0,
            )
            .is_err()
        {
            continue;
        }
        let Ok(xml) = domain.xml_desc(0) else {
            continue;
        };
        let Ok(observed) = ObservedDomain::parse(&xml) else {
            continue;
        };
        if observed
            .metadata
            .as_ref()
            .is_some_and(|metadata| metadata.fleet == target.name)
        {
            fleet_vcpus += observed.vcpus.unwrap_or(0);
            fleet_memory_mib += observed.memory_kib.unwrap_or(0) / 1024;
        }
    }

    let (pool_capacity_gib, pool_available_gib, fleet_disk_gib) =
        match ops::lookup_pool(connect, &target.pool_name)? {
            Some(pool) if pool.is_active().unwrap_or(false) => {
                let info = pool.info().map_err(|error| {
                    Error::libvirt(format!("reading storage pool {}", target.pool_name), &error)
                })?;
                let prefix = names::fleet_volume_prefix(&target.name);
                let fleet_bytes: u64 = pool
                    .list_all_volumes(0)
                    .unwrap_or_default()
                    .iter()
                    .filter(|volume| volume.name().is_ok_and(|name| name.starts_with(&prefix)))
                    .filter_map(|volume| volume.info().ok())
                    .map(|info| info.allocation)
                    .sum();
                (
                    Some(info.capacity / GIB),
                    Some(info.available / GIB),
                    fleet_bytes / GIB,
                )
            }
            _ => (None, None, 0),
        };

    Ok(HostCapacityReading {
        host: host.to_owned(),
        cpus: info.cpus,
        memory_mib: info.memory / 1024,
        free_memory_mib,
        fleet_vcpus,
        fleet_memory_mib,
        pool_capacity_gib,
        pool_available_gib,
        fleet_disk_gib,
    })
}
