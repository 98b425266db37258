//! `fleet deploy`: its arguments. It runs in `fleet-connected`, the companion that links libvirt (see docs/ARCHITECTURE.md).

use std::path::PathBuf;

use crate::cmd::shared_args::{TableOrJson, TargetArgs};
use crate::fleet_file::DEFAULT_FLEET_FILE;

/// Deploy the fleet on libvirt: create missing nodes, leave unchanged ones alone, report changed ones.
///
/// Renders every node's Ignition (as `fleet render` does), places nodes on the fleet's hosts
/// (`[[host]]`, or the single `connect` URI), then compares what should exist with what libvirt
/// has. Missing nodes are created: a qcow2 overlay of the base image, the Ignition uploaded into the
/// pool through libvirt (remote hosts need no scp), an optional DHCP reservation, the domain, and a
/// start. Unchanged nodes are left alone; small things (autostart, a lost Ignition volume, a
/// reservation) are repaired in place. Changed nodes (Ignition, vCPUs, memory, disk, MAC, host…)
/// are only reported, with what differs, unless --replace rebuilds them (a fresh disk: Ignition
/// runs again on first boot).
///
/// Canaries are deployed first: every canary is up before any other node's domain starts (the
/// others prepare their disks and definitions meanwhile). Nodes run in parallel (--jobs). A node
/// that fails removes what it created and does not stop the others.
/// Running it again is safe, also after an interruption: it converges.
///
/// Domains of this fleet that the fleet file no longer has (`fleet diff` lists them as `remove`)
/// are left alone unless --prune: then, after the deploy, they are removed as `fleet destroy`
/// removes nodes (only fleet-made domains of this fleet, and only the volumes fleet can prove it
/// made). Domains fleet did not make are never touched.
///
/// Exit status: 0 every node is as planned, 1 a node failed (on its own, or because its host
/// could not be reached or prepared) or the fleet is invalid, 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet deploy                                   deploy ./fleet.toml where it says
  fleet deploy --dry-run                         show what would be done, change nothing
  fleet deploy --connect test:///default         try it on libvirt's in-library test driver
  fleet deploy --connect qemu:///system --jobs 4
  fleet deploy --connect hv1=qemu+tcp://10.0.0.5/system   reach host hv1 another way
  fleet deploy --image fedora-coreos-43.qcow2 --dry-run    what a new base image would change
  fleet deploy --node web-01 --node web-02 --replace   rebuild two changed nodes
  fleet deploy --prune                           also remove the nodes the file no longer has
  fleet deploy --plan plan.json                  apply exactly a diff saved by `fleet diff --out`
  fleet deploy --format json | jq '.nodes[] | select(.outcome == \"failed\")'")]
pub struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Nodes handled at once, across all hosts.
    #[arg(long, short, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256), allow_negative_numbers = true)]
    pub jobs: u16,

    /// Print what would be done and change nothing (not even the pool or the base image).
    #[arg(long)]
    pub dry_run: bool,

    /// Rebuild changed nodes (stop, remove, create again with a fresh disk) instead of only reporting them.
    #[arg(long)]
    pub replace: bool,

    /// Also remove this fleet's domains that the fleet file no longer has (after the deploy, with
    /// their volumes, as `fleet destroy` does). Not with --node: pruning is about the whole file.
    #[arg(long, conflicts_with = "nodes")]
    pub prune: bool,

    /// Apply exactly the diff saved by `fleet diff --out FILE`: the fleet file, connections,
    /// image, nodes, --replace and --prune are the diff's. Refuses (and changes nothing) when the fleet
    /// file, anything it renders, or what runs on the hosts has changed since the diff was made.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fleet", "connect", "image", "nodes", "replace", "prune", "dry_run"])]
    pub plan: Option<PathBuf>,

    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}
