//! Provisioning on libvirt: the only crate that links `virt`. Pools, volumes, domains built from typed XML, DHCP reservations.
//!
//! A [`Session`] holds a few connections per host. On it, [`Session::deploy`] makes libvirt
//! match a [`DesiredFleet`] (create, leave alone, repair in place, report or replace changed
//! nodes), [`Session::status`] compares without changing anything, and [`Session::destroy`]
//! removes what fleet created. [`read_host_capacity`] reads what a host offers for placement.
//!
//! Ownership: every domain fleet creates carries a `<metadata>` element in fleet's namespace
//! naming the fleet and node; volumes are named from fleet and node (see [`names`]). A domain
//! without this fleet's mark is never modified or deleted. A volume is deleted only when fleet can
//! prove it made it (its node's domain refers to it; see `volume_ownership`) and no other domain
//! uses it.

// A library reports through return values and event callbacks; only the binaries print
// (docs/ARCHITECTURE.md; tests/tests/architecture.rs runs clippy with these lints denied).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod base_image;
mod capacity;
mod console_log;
mod desired;
mod domain_xml;
mod engine;
mod error;
mod host;
mod image_digest;
mod network_xml;
mod node;
mod ops;
mod report;
mod session;
mod storage_xml;
mod uri;
mod volume_ownership;
mod waves;
mod xml;

pub use capacity::{HostCapacityReading, read_host_capacity};
pub use console_log::CONSOLE_TAIL_BYTES;
pub use desired::{
    BackingImage, DesiredFleet, DesiredNode, FleetTarget, HostTarget, ImageRelease, names,
};
pub use domain_xml::{Hypervisor, METADATA_NAMESPACE};
pub use engine::{DeployOptions, DestroyOptions, OnEvent, StatusOptions};
pub use error::Error;
pub use image_digest::ImageDigestCache;
pub use report::{
    Action, AddressSource, DeployOutcome, DeployReport, DestroyReport, Difference, Event, Field,
    HostReport, HostStep, KeptReason, KeptVolume, NodeReport, NodeState, NodeStatus, Repair,
    StatusReport, Step, StrayDomain, TeardownReport,
};
pub use session::{Session, SessionOptions};
