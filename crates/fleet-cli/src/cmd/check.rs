//! `fleet check`: validate a fleet file and everything it names, reporting every problem at once.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::fleet_file::{DEFAULT_FLEET_FILE, load_fleet};

/// Check a fleet file and report every problem.
///
/// Reads FLEET and the Butane snippets and SSH key files it names, validates all of it and expands
/// the groups into nodes, without touching libvirt. On success prints one line with the number of
/// groups and nodes. Otherwise prints every problem on stderr as `FILE:LINE:COL: error: MESSAGE`,
/// with the key path and, when known, how to fix it.
///
/// Every key is described in docs/fleet-toml.md; `fleet schema` gives editors the same knowledge.
///
/// Exit status: 0 the fleet is valid, 1 problems were found, 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet check                        check ./fleet.toml
  fleet check fleet/fleet.toml       check another fleet file
  fleet check fleet.toml 2>&1 | head -n 20")]
pub(crate) struct Args {
    /// The fleet file; snippets and key files are read relative to its directory.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    fleet: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_fleet(&args.fleet)?;
    let fleet = &loaded.fleet;
    let groups = fleet.groups.len();
    let nodes = fleet.nodes.len();
    writeln!(
        std::io::stdout().lock(),
        "{}: fleet {} is valid: {groups} group{}, {nodes} node{}",
        args.fleet.display(),
        fleet.name,
        plural(groups),
        plural(nodes),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
