//! `fleet diff`: its arguments. It runs in `fleet-connected`, the companion that links libvirt (see docs/ARCHITECTURE.md).

use std::path::PathBuf;

use crate::cmd::shared_args::{TableOrJson, TargetArgs};
use crate::fleet_file::DEFAULT_FLEET_FILE;

/// Show what `fleet deploy` would do, node by node, and change nothing: the gate for CI.
///
/// Runs exactly the decision `fleet deploy --dry-run` makes (same rendering, placement and
/// comparison) and reports each node as `create`, `unchanged`, `change` (with what differs:
/// ignition, vcpus, memory, disk, image, host, …, or the repairs deploy makes in place) or
/// `remove` (a domain of this fleet that the fleet file no longer lists; deploy removes it only
/// with --prune, and `fleet destroy` of the whole fleet removes it too). NEEDS REPLACE says whether the change
/// takes effect only by rebuilding the node (`fleet deploy --replace`): Ignition runs only on a
/// node's first boot, so a changed config, like a changed size or base image, needs a fresh node.
///
/// `--out FILE` saves the diff; `fleet deploy --plan FILE` then applies exactly that diff, and
/// refuses when the fleet file (or anything it renders) or what runs has changed since.
///
/// Exit status (as `terraform plan -detailed-exitcode`): 0 nothing would change, 2 something
/// would change (the report says what), 1 error: the fleet is invalid, a host or node could not
/// be read, or a node is in conflict. Usage errors exit with 1 too, so that 2 always means changes.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet diff                                     what a deploy of ./fleet.toml would do
  fleet diff --format json | jq '.nodes[] | select(.action != \"unchanged\")'
  fleet diff --out plan.json && fleet deploy --plan plan.json   review, then apply exactly that
  fleet diff --replace --out plan.json          a plan that also rebuilds changed nodes
  fleet diff --prune --out plan.json            a plan that also removes what the file no longer has
  fleet diff --image fedora-coreos-43.qcow2      what a new base image would change
  fleet diff --connect test:///default           against libvirt's in-library test driver")]
pub struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    #[command(flatten)]
    pub target: TargetArgs,

    /// Nodes looked at at once, across all hosts.
    #[arg(long, short, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256), allow_negative_numbers = true)]
    pub jobs: u16,

    /// The diff is of `fleet deploy --replace`: changed nodes are rebuilt (a plan saved with
    /// --out then rebuilds them too).
    #[arg(long)]
    pub replace: bool,

    /// The diff is of `fleet deploy --prune`: the domains it lists as `remove` are removed (a plan
    /// saved with --out removes them too; one saved without it leaves them).
    #[arg(long, conflicts_with = "nodes")]
    pub prune: bool,

    /// Also write the diff, as JSON, to this file, for `fleet deploy --plan FILE`.
    #[arg(long, visible_alias = "save", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Output format of the report on standard output.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}
