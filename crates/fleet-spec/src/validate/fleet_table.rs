//! `[fleet]`: the fleet's name, where it runs and what every node is named within. Its `image` and `pool`
//! are tables of their own (`image.rs`, `pool.rs`).

use crate::model::DomainType;
use crate::names::{check_domain, check_fleet_name, check_libvirt_object_name};
use crate::raw::RawFleet;
use crate::values::DomainTypeName;

use super::checker::Checker;

/// The keys of `[fleet]` itself, with their defaults resolved.
pub(super) struct FleetTable {
    pub(super) name: String,
    pub(super) connection: String,
    pub(super) domain_type: DomainType,
    pub(super) network: String,
    pub(super) ignition_version: Option<String>,
    /// The DNS domain appended to hostnames, when it is valid.
    pub(super) domain: Option<String>,
}

/// `table_known` says whether `[fleet]` was read at all: when it is missing or not a table (reported
/// already), its name is not reported missing too.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    fleet_table: &RawFleet,
    table_known: bool,
) -> FleetTable {
    let name = if table_known {
        checker
            .required(
                &fleet_table.name,
                fleet_table.span,
                "fleet",
                "name",
                ": every fleet needs a name",
            )
            .map(|name| {
                if let Err(problem) = check_fleet_name(&name.value) {
                    checker.error(name.span, format!("fleet.name: {problem}"));
                }
                name.value.clone()
            })
            .unwrap_or_default()
    } else {
        String::new()
    };

    let connection = fleet_table
        .connect
        .value()
        .map(|uri| uri.0.clone())
        .unwrap_or_else(|| "qemu:///system".to_owned());
    let domain_type = match fleet_table.domain_type.value() {
        Some(DomainTypeName::Kvm) => DomainType::Kvm,
        Some(DomainTypeName::Qemu) => DomainType::Qemu,
        Some(DomainTypeName::Auto) | None => DomainType::Auto,
    };
    let network = match fleet_table.network.get() {
        Some(network) => {
            if let Err(problem) = check_libvirt_object_name("network", &network.value) {
                checker.error(network.span, format!("fleet.network: {problem}"));
            }
            network.value.clone()
        }
        None => "default".to_owned(),
    };
    let ignition_version = fleet_table
        .ignition_version
        .value()
        .map(|version| version.0.clone());
    let mut domain = None;
    if let Some(written) = fleet_table.domain.get() {
        match check_domain(&written.value) {
            Ok(()) => domain = Some(written.value.clone()),
            Err(problem) => checker.error(written.span, format!("fleet.domain: {problem}")),
        }
    }
    FleetTable {
        name,
        connection,
        domain_type,
        network,
        ignition_version,
        domain,
    }
}
