//! Report views the connected commands share: hosts and differences as their tables and JSON
//! show them.

use std::io::Write;

use fleet_cli::cmd::shared_args::TableOrJson;
use fleet_libvirt::{Difference, HostReport};
use serde::Serialize;

/// Print a command's report on standard output: `view` as JSON, or the table `write_table` draws.
pub(crate) fn print_report<V: Serialize>(
    format: TableOrJson,
    view: &V,
    write_table: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut stdout = fleet_cli::stdout::stdout();
    match format {
        TableOrJson::Json => {
            serde_json::to_writer_pretty(&mut stdout, view)?;
            writeln!(stdout)?;
        }
        TableOrJson::Table => write_table(&mut stdout)?,
    }
    Ok(stdout.finish()?)
}

/// A line per host that failed, above a report's table (its nodes then say "host … failed").
pub(crate) fn write_host_errors(out: &mut dyn Write, hosts: &[HostView]) -> anyhow::Result<()> {
    for host in hosts {
        if let Some(error) = &host.error {
            writeln!(out, "host {}: {error}", host.name)?;
        }
    }
    Ok(())
}

/// The node failed because its host did: the host's own line already says why.
pub(crate) fn is_host_failure(error: &fleet_libvirt::Error) -> bool {
    matches!(
        error,
        fleet_libvirt::Error::HostFailed { .. } | fleet_libvirt::Error::HostUnreachable { .. }
    )
}

/// A host as the reports show it: where it is, what fleet made there, and why it failed.
#[derive(Debug, Serialize)]
pub(crate) struct HostView {
    pub(crate) name: String,
    pub(crate) uri: String,
    pub(crate) hypervisor: Option<&'static str>,
    pub(crate) pool_created: bool,
    pub(crate) image_imported: bool,
    pub(crate) error: Option<String>,
}

impl HostView {
    pub(crate) fn new(report: &HostReport) -> HostView {
        HostView {
            name: report.host.clone(),
            uri: report.uri.clone(),
            hypervisor: report.hypervisor.map(fleet_libvirt::Hypervisor::as_str),
            pool_created: report.pool_created,
            image_imported: report.image_imported,
            error: report.error.as_ref().map(ToString::to_string),
        }
    }
}

/// One way a node differs from the fleet file: `field: observed → desired`.
#[derive(Debug, Serialize)]
pub(crate) struct DifferenceView {
    pub(crate) field: &'static str,
    pub(crate) desired: String,
    pub(crate) observed: String,
}

impl std::fmt::Display for DifferenceView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.observed, self.desired)
    }
}

impl DifferenceView {
    pub(crate) fn new(difference: &Difference) -> DifferenceView {
        DifferenceView {
            field: difference.field.as_str(),
            desired: difference.desired.clone(),
            observed: difference.observed.clone(),
        }
    }
}
