//! `fleet destroy`: remove the fleet's nodes (or the named ones) from libvirt, with everything fleet created for them.
//! It runs in `fleet-connected`, the companion that links libvirt.

use std::path::PathBuf;

use crate::cmd::shared_args::{TableOrJson, TargetArgs};
use crate::fleet_file::DEFAULT_FLEET_FILE;

/// Remove the fleet's nodes from libvirt, with everything fleet created for them.
///
/// For every node (or only those named with --node): stops its domain, deletes its disk overlay,
/// Ignition volume and console log, undefines the domain (with NVRAM) and removes its DHCP
/// reservation, on whichever of the fleet's hosts it is found. Without --node, domains of this
/// fleet that the fleet file no longer lists go too. Only what carries this fleet's mark is
/// touched: a domain of the same name that fleet did not create is reported and left alone, and a
/// volume is deleted only when the node's own domain refers to it and no other domain uses it;
/// volumes named for the fleet that fail either test are listed as kept, with the reason. The base
/// image stays in the pool for the next deploy unless --purge-image (only the fleet's own image,
/// and only when nothing uses it); purging the whole fleet also removes the storage pool when that
/// leaves it empty.
///
/// On a terminal it asks for confirmation first (--yes skips the question); elsewhere (scripts,
/// CI) it does not ask.
///
/// Exit status: 0 everything was removed, 1 something could not be removed or the question was
/// answered no (or the fleet is invalid), 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet destroy                                   every node of ./fleet.toml, after a question
  fleet destroy --yes --purge-image               everything, the base image and empty pool too
  fleet destroy --node web-03                     one node
  fleet destroy --connect test:///default --yes --format json")]
pub struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,

    /// Also delete the imported base image (when no remaining disk is based on it) and, for a
    /// whole-fleet destroy, the storage pool once it is empty.
    #[arg(long)]
    pub purge_image: bool,

    /// Nodes handled at once, across all hosts.
    #[arg(long, short, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256), allow_negative_numbers = true)]
    pub jobs: u16,

    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}
