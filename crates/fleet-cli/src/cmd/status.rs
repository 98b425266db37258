//! `fleet status`: every node as libvirt has it compared with the fleet file — state, drift, address — as a table or JSON.
//! It runs in `fleet-connected`, the companion that links libvirt.

use std::path::PathBuf;

use crate::cmd::shared_args::{TableOrJson, TargetArgs};
use crate::fleet_file::DEFAULT_FLEET_FILE;

/// Show every node as libvirt has it: state, drift from the fleet file, address, release and health.
///
/// Renders the fleet as `fleet deploy` would and compares each node with its libvirt domain
/// without changing anything. STATE is libvirt's (running, shut off, …), `missing` when there is no
/// domain, `foreign` when a domain of that name is not this fleet's. DRIFT lists what differs
/// (Ignition, vCPUs, memory, disk, MAC, network, domain type, host) and the repairs the next
/// deploy would make in place. ADDRESS is the node's DHCP lease when libvirt knows one, else its
/// reservation. RELEASE is the Fedora CoreOS release the node was created from, when its image had
/// the record `fleet image pull` writes (`-` otherwise; the node may have updated itself since).
/// HEALTH and OS are the node's last health report from its console log (read
/// through libvirt from the pool, so remote hosts too; docs/health.md): `healthy`, `unhealthy`,
/// `rolled-back` or `rollback-skipped` with the failing check and where a rollback went, and the
/// booted deployment; `-` when the node has no report (no health checks, not booted that far).
/// Domains of this fleet that no node accounts for are listed after the nodes.
///
/// Exit status: 0 every node could be read (drift does not change it), 1 a host or node could not
/// be read (or the fleet is invalid), 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet status                                    every node of ./fleet.toml
  fleet status --node db-1 --node db-2
  fleet status --format json | jq '.nodes[] | select(.drift != [])'
  fleet status --connect qemu+ssh://root@hv1/system")]
pub struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Nodes read at once.
    #[arg(long, short, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256), allow_negative_numbers = true)]
    pub jobs: u16,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}
