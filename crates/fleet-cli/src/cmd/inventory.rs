//! `fleet inventory`: the fleet as an Ansible dynamic inventory (`--list`, `--host NAME`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fleet_plan::Placement;

use crate::ansible_inventory::inventory;
use crate::fleet_file::DEFAULT_FLEET_FILE;
use crate::pipeline::{PlannedFleet, place_as_written_or_refuse, plan_fleet};

/// Print the fleet as an Ansible dynamic inventory (JSON), from the fleet file alone.
///
/// Groups: `nodes` (children: one group per fleet group), `canary` and `cautious` (roles from the
/// plan), `on_HOST` (the nodes on each hypervisor: where `fleet plan` places them, or with
/// `--addresses libvirt` where `fleet status` finds them), `KEY_VALUE` for every host
/// label (`zone_a`: the nodes on hosts labelled zone = "a"), and `hypervisors` (the `[[host]]`
/// machines, or the single `connect` machine, named `localhost` when local). Names become valid
/// Ansible group names: anything but letters, digits and `_` turns into `_`.
///
/// Node variables: `ansible_host` (the static or reserved address; DHCP nodes have none, unless
/// `--addresses libvirt` asks the hypervisors for their leases),
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
/// `--addresses libvirt` runs in `fleet-connected`: it reads every node's domain on its host as
/// `fleet status` does, puts each node on the hypervisor `fleet status` finds it on (a node a
/// deploy kept on another host than the file alone would give it is there), and gives each DHCP
/// node the lease libvirt knows (`ansible_host` stays unset without one). A host that cannot be
/// reached is a warning on stderr naming it; the inventory is printed anyway, so that one
/// hypervisor down does not break every Ansible run.
///
/// Exit status: 0 printed, 1 the fleet is invalid, two of its names would make one Ansible name,
/// or --host names no host, 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet inventory --list                              the whole inventory of ./fleet.toml
  fleet inventory fleet/fleet.toml --host web-01      one host's variables
  fleet inventory --list --addresses libvirt         DHCP nodes with their leases
  ansible-inventory -i fleet/ansible/inventory/fleet.sh --graph
  FLEET_FILE=fleet/fleet.toml ansible canary -i fleet/ansible/inventory/fleet.sh -m raw -a uptime")]
pub struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    /// Print every group and, under `_meta.hostvars`, every host's variables (the default).
    #[arg(long, conflicts_with = "host")]
    list: bool,

    /// Print only this host's variables (a node or a hypervisor).
    #[arg(long, value_name = "NAME")]
    host: Option<String>,

    /// Where node addresses come from: the fleet file alone (fast, no hypervisor reached), or
    /// also the DHCP leases libvirt knows on each node's host.
    #[arg(long, value_enum, default_value_t = Addresses::File)]
    pub addresses: Addresses,

    /// With `--addresses libvirt`: use another libvirt URI, as `fleet status --connect`
    /// (`URI`, or `HOST=URI` for one of the fleet's hosts; repeat for several).
    #[arg(long, value_name = "[HOST=]URI")]
    pub connect: Vec<String>,
}

/// `--addresses`: where `ansible_host` of a node comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Addresses {
    /// Static and reserved addresses from the fleet file; DHCP nodes get none.
    File,
    /// Also each DHCP node's lease, read from libvirt on its host (runs in fleet-connected).
    Libvirt,
}

impl Args {
    /// Whether the command reads libvirt, and so runs in `fleet-connected`.
    pub fn reads_libvirt(&self) -> bool {
        self.addresses == Addresses::Libvirt
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.connect.is_empty() {
        anyhow::bail!(
            "--connect is for --addresses libvirt; the fleet file alone gives the inventory"
        );
    }
    print_inventory(&args, &Observed::default())
}

/// What `--addresses libvirt` read from the hypervisors (nothing, from the fleet file alone).
#[derive(Debug, Default)]
pub struct Observed {
    /// Each DHCP node's lease, by node name.
    pub leases: BTreeMap<String, String>,
    /// Where each node is, as `fleet status` places it (where its domain runs, else where a
    /// deploy would put it); `None`: `fleet plan`'s placement from the file alone.
    pub placement: Option<Placement>,
}

/// Print the inventory of `args.fleet`, each node on the hypervisor `observed` finds it on (or
/// where the plan places it), and DHCP nodes (those the fleet file gives no address) reached at
/// their lease when `observed` has one.
pub fn print_inventory(args: &Args, observed: &Observed) -> anyhow::Result<ExitCode> {
    let planned_fleet = plan_fleet(&args.fleet)?;
    let file = planned_fleet.file_name();
    let PlannedFleet { loaded, plan, .. } = planned_fleet;
    let fleet = &loaded.fleet;
    let as_written = place_as_written_or_refuse(&file, fleet)?;
    let placement = observed.placement.as_ref().unwrap_or(&as_written.placement);
    let mut inventory = inventory(fleet, &plan, placement)?;
    inventory.reach_at(&observed.leases);
    let mut stdout = crate::stdout::stdout();
    match &args.host {
        Some(name) => serde_json::to_writer_pretty(&mut stdout, inventory.host(name)?)?,
        None => serde_json::to_writer_pretty(&mut stdout, &inventory)?,
    }
    writeln!(stdout)?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
