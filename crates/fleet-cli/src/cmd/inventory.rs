//! `fleet inventory`: the fleet as an Ansible dynamic inventory (`--list`, `--host NAME`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::ansible_inventory::inventory;
use crate::fleet_file::DEFAULT_FLEET_FILE;
use crate::pipeline::{PlannedFleet, place_as_written_or_refuse, plan_fleet};

/// Print the fleet as an Ansible dynamic inventory (JSON), from the fleet file alone.
///
/// Groups: `nodes` (children: one group per fleet group), `canary` and `cautious` (roles from the
/// plan), `on_HOST` (the nodes `fleet plan` places on each hypervisor), `KEY_VALUE` for every host
/// label (`zone_a`: the nodes on hosts labelled zone = "a"), and `hypervisors` (the `[[host]]`
/// machines, or the single `connect` machine, named `localhost` when local). Names become valid
/// Ansible group names: anything but letters, digits and `_` turns into `_`.
///
/// Node variables: `ansible_host` (the static or reserved address; DHCP nodes have none),
/// `ansible_user` (the node's first user with an SSH key), `fleet_group`, `fleet_role`,
/// `fleet_wariness`, `fleet_strategy`, `fleet_time_zone`, `fleet_windows` (Zincati's windows as
/// `fleet plan --format json` gives them), `fleet_hypervisor`, `fleet_hostname`,
/// `fleet_addressing`, `fleet_mac`. Hypervisor variables: `ansible_host` from the URI (with the
/// ssh transport's user and port), `ansible_connection: local` for local URIs, `fleet_connect`,
/// `fleet_labels`.
///
/// Fedora CoreOS has no Python: reach nodes with Ansible's `raw` module only. Use it as
/// `ansible-inventory -i fleet/ansible/inventory/fleet.sh` (docs/ansible.md).
///
/// Exit status: 0 printed, 1 the fleet is invalid, two of its names would make one Ansible name,
/// or --host names no host, 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet inventory --list                              the whole inventory of ./fleet.toml
  fleet inventory fleet/fleet.toml --host web-01      one host's variables
  ansible-inventory -i fleet/ansible/inventory/fleet.sh --graph
  FLEET_FILE=fleet/fleet.toml ansible canary -i fleet/ansible/inventory/fleet.sh -m raw -a uptime")]
pub(crate) struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    fleet: PathBuf,

    /// Print every group and, under `_meta.hostvars`, every host's variables (the default).
    #[arg(long, conflicts_with = "host")]
    list: bool,

    /// Print only this host's variables (a node or a hypervisor).
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let planned_fleet = plan_fleet(&args.fleet)?;
    let file = planned_fleet.file_name();
    let PlannedFleet { loaded, plan, .. } = planned_fleet;
    let fleet = &loaded.fleet;
    let placed = place_as_written_or_refuse(&file, fleet)?;
    let inventory = inventory(fleet, &plan, &placed)?;
    let mut stdout = crate::stdout::stdout();
    match &args.host {
        Some(name) => serde_json::to_writer_pretty(&mut stdout, inventory.host(name)?)?,
        None => serde_json::to_writer_pretty(&mut stdout, &inventory)?,
    }
    writeln!(stdout)?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
