//! `fleet check`: validate a fleet file and everything it names, and do what plan, render and deploy
//! would do with it short of writing, reporting every problem at once.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::fleet_file::{DEFAULT_FLEET_FILE, load_fleet, refuse};
use crate::pipeline::{count_of, print_warnings};
use crate::verify::check_fleet;

/// Check a fleet file and report every problem.
///
/// Reads FLEET and the Butane snippets and SSH key files it names, validates all of it, expands the
/// groups into nodes, plans the rollout (roles, windows, the fleet-wide cap, daylight-saving changes,
/// soak), places the nodes on the hosts the file describes, translates every snippet and composes
/// each distinct node configuration as `fleet render` would, without writing anything or touching
/// libvirt. A fleet that passes is one `fleet plan`, `fleet render` and `fleet deploy` accept.
///
/// On success prints one line with the number of groups and nodes. Otherwise prints every problem on
/// stderr as `FILE:LINE:COL: error: MESSAGE`, pointing at the key, group or snippet line that causes
/// it and, when known, saying how to fix it. Warnings (a valid fleet that may not do what was meant)
/// are printed the same way, as `FILE:LINE:COL: warning: MESSAGE`.
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
    let findings = check_fleet(&args.fleet, &loaded)?;
    print_warnings(&args.fleet.display().to_string(), &findings.warnings);
    if !findings.problems.is_empty() {
        return Err(refuse(&args.fleet.display().to_string(), findings.problems).into());
    }
    let fleet = &loaded.fleet;
    let mut stdout = crate::stdout::stdout();
    writeln!(
        stdout,
        "{}: fleet {} is valid: {}, {}",
        args.fleet.display(),
        fleet.name,
        count_of(fleet.groups.len(), "group", "groups"),
        count_of(fleet.nodes.len(), "node", "nodes"),
    )?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
