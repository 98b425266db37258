//! `fleet nodes`: the concrete nodes a fleet file expands to, as a table or JSON.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fleet_spec::{Fleet, Node};
use serde::Serialize;
use tabled::settings::{Padding, Style};
use tabled::{Table, Tabled};

use crate::cmd::shared_args::TableOrJson;
use crate::fleet_file::{DEFAULT_FLEET_FILE, load_fleet};

/// Show the nodes a fleet file expands to.
///
/// Every node with its group, hostname, address, MAC, libvirt UUID, size and anything pinned
/// (role, rollout wariness, host). Names, MACs and UUIDs are derived deterministically from the
/// fleet and node names, so the same file always shows the same nodes. Secrets (password hashes,
/// keys) are never shown.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet nodes                               nodes of ./fleet.toml
  fleet nodes fleet/fleet.toml
  fleet nodes --format json | jq -r '.[] | select(.group == \"web\") | .address'")]
pub(crate) struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    fleet: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    format: TableOrJson,
}

/// One node as `fleet nodes --format json` prints it.
#[derive(Debug, Serialize)]
struct NodeView<'a> {
    name: &'a str,
    group: &'a str,
    index: u32,
    hostname: &'a str,
    address: Option<String>,
    mac: String,
    uuid: String,
    vcpus: u32,
    memory_mib: u64,
    disk_gib: u64,
    role: Option<&'static str>,
    rollout_wariness: Option<f64>,
    host: Option<&'a str>,
}

impl<'a> NodeView<'a> {
    fn new(fleet: &'a Fleet, node: &'a Node) -> Self {
        NodeView {
            name: &node.name,
            group: &fleet.group_of(node).name,
            index: node.index,
            hostname: &node.hostname,
            address: node.address.map(|address| address.to_string()),
            mac: node.mac.to_string(),
            uuid: node.uuid.to_string(),
            vcpus: node.settings.vcpus,
            memory_mib: node.settings.memory_mib,
            disk_gib: node.settings.disk_gib,
            role: node.pinned_role.map(|role| role.as_str()),
            rollout_wariness: node.pinned_wariness,
            host: node.pinned_host.as_deref(),
        }
    }
}

/// One node as a table row.
#[derive(Debug, Tabled)]
struct NodeRow {
    #[tabled(rename = "NAME")]
    name: String,
    #[tabled(rename = "GROUP")]
    group: String,
    #[tabled(rename = "HOSTNAME")]
    hostname: String,
    #[tabled(rename = "ADDRESS")]
    address: String,
    #[tabled(rename = "MAC")]
    mac: String,
    #[tabled(rename = "UUID")]
    uuid: String,
    #[tabled(rename = "VCPUS")]
    vcpus: u32,
    #[tabled(rename = "MEMORY")]
    memory: String,
    #[tabled(rename = "DISK")]
    disk: String,
    #[tabled(rename = "PINNED")]
    pinned: String,
}

impl From<&NodeView<'_>> for NodeRow {
    fn from(view: &NodeView<'_>) -> Self {
        let mut pinned = Vec::new();
        if let Some(role) = view.role {
            pinned.push(role.to_owned());
        }
        if let Some(wariness) = view.rollout_wariness {
            pinned.push(format!("wariness {wariness}"));
        }
        if let Some(host) = view.host {
            pinned.push(format!("host {host}"));
        }
        NodeRow {
            name: view.name.to_owned(),
            group: view.group.to_owned(),
            hostname: view.hostname.to_owned(),
            address: view.address.clone().unwrap_or_else(|| "dhcp".to_owned()),
            mac: view.mac.clone(),
            uuid: view.uuid.clone(),
            vcpus: view.vcpus,
            memory: format!("{} MiB", view.memory_mib),
            disk: format!("{} GiB", view.disk_gib),
            pinned: if pinned.is_empty() {
                "-".to_owned()
            } else {
                pinned.join(", ")
            },
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_fleet(&args.fleet)?;
    let fleet = &loaded.fleet;
    let views: Vec<NodeView<'_>> = fleet
        .nodes
        .iter()
        .map(|node| NodeView::new(fleet, node))
        .collect();
    let mut stdout = crate::stdout::stdout();
    match args.format {
        TableOrJson::Json => {
            serde_json::to_writer_pretty(&mut stdout, &views)?;
            writeln!(stdout)?;
        }
        TableOrJson::Table => {
            let rows: Vec<NodeRow> = views.iter().map(NodeRow::from).collect();
            let mut table = Table::new(rows);
            table.with(Style::blank()).with(Padding::new(0, 2, 0, 0));
            for line in table.to_string().lines() {
                writeln!(stdout, "{}", line.trim_end())?;
            }
        }
    }
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
