//! `fleet inventory --addresses libvirt`: the Ansible inventory with each node on the hypervisor
//! `fleet status` finds it on and each DHCP node's lease, both read from libvirt as `fleet status`
//! reads them.

use std::collections::BTreeMap;
use std::process::ExitCode;

use fleet_libvirt::{AddressSource, Session, SessionOptions, StatusOptions};

use fleet_cli::cmd::inventory::{Args, Observed, print_inventory};
use fleet_cli::cmd::shared_args::TargetArgs;
use fleet_cli::pipeline;

use crate::desired::rendered_desired_fleet;
use crate::placement::place_nodes;
use crate::targets::{fleet_target, host_targets};
use crate::views::is_host_failure;

/// Domains read at once, as `fleet status` reads them by default.
const JOBS: usize = 8;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let observed = observe(&args)?;
    print_inventory(&args, &observed)
}

/// Where each node is and every node's DHCP lease that libvirt knows, by node name: `fleet
/// status`'s placement and its reading of each node's domain on its host. A host or node that
/// cannot be read is a warning on stderr, and its nodes simply have no lease.
fn observe(args: &Args) -> anyhow::Result<Observed> {
    let planned = pipeline::plan_fleet(&args.fleet)?;
    let fleet = &planned.loaded.fleet;
    let selected = TargetArgs {
        connect: args.connect.clone(),
        image: None,
        nodes: Vec::new(),
    };
    let hosts = host_targets(fleet, &selected)?;
    let target = fleet_target(fleet, &args.fleet, &selected)?;
    let session = Session::open(&hosts, &SessionOptions::for_jobs(JOBS));
    let placed = place_nodes(fleet, &session, &hosts, &target)?;
    let desired = rendered_desired_fleet(&planned, &target, &placed, &[])?;
    let report = session.status(
        &desired,
        &StatusOptions {
            jobs: JOBS,
            console_marker: None,
        },
    );
    session.close();

    for host in &report.hosts {
        if let Some(error) = &host.error {
            let name = if host.host == host.uri {
                host.host.clone()
            } else {
                format!("{} ({})", host.host, host.uri)
            };
            eprintln!(
                "warning: host {name} could not be read, its DHCP nodes have no ansible_host: {error}"
            );
        }
    }
    for node in &report.nodes {
        if let Some(error) = node.error.as_ref().filter(|error| !is_host_failure(error)) {
            eprintln!(
                "warning: node {} on {} could not be read, it has no lease: {error}",
                node.node, node.host
            );
        }
    }
    let leases: BTreeMap<String, String> = report
        .nodes
        .iter()
        .filter_map(|node| match node.address {
            Some((address, AddressSource::Lease)) => Some((node.node.clone(), address.to_string())),
            _ => None,
        })
        .collect();
    Ok(Observed {
        leases,
        placement: Some(placed.host_of.into_iter().collect()),
    })
}
