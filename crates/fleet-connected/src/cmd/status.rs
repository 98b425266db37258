//! `fleet status`: every node as libvirt has it compared with the fleet file (state, drift,
//! address) as a table or JSON.

use std::io::Write;
use std::process::ExitCode;

use fleet_libvirt::{Session, SessionOptions, StatusOptions, StatusReport};
use serde::Serialize;
use tabled::{Table, Tabled};

use fleet_cli::cmd::status::Args;
use fleet_cli::health_report::HEALTH_LINE_PREFIX;
use fleet_cli::pipeline;
use fleet_cli::tables::{colours_wanted, finish_table, trimmed};

use crate::desired::rendered_desired_fleet;
use crate::node_health::NodeHealthView;
use crate::placement::place_nodes;
use crate::targets::{check_selection, fleet_target, host_targets};
use crate::views::{DifferenceView, HostView, print_report, write_host_errors};

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let planned = pipeline::plan_fleet(&args.fleet)?;
    let fleet = &planned.loaded.fleet;
    check_selection(fleet, &args.target.nodes, &args.fleet)?;
    let hosts = host_targets(fleet, &args.target)?;
    let target = fleet_target(fleet, &args.fleet, &args.target)?;
    let session = Session::open(&hosts, &SessionOptions::for_jobs(usize::from(args.jobs)));
    let placed = place_nodes(fleet, &session, &hosts, &target)?;
    let desired = rendered_desired_fleet(&planned, &target, &placed, &args.target.nodes)?;
    let report = session.status(
        &desired,
        &StatusOptions {
            jobs: usize::from(args.jobs),
            console_marker: Some(HEALTH_LINE_PREFIX.to_owned()),
        },
    );
    session.close();

    let view = StatusView::new(&report);
    print_report(args.format, &view, |out| write_table(out, &view))?;
    let unreadable = view.nodes.iter().any(|node| node.error.is_some())
        || view.hosts.iter().any(|host| host.error.is_some());
    Ok(if unreadable {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, Serialize)]
struct StatusNodeView {
    name: String,
    host: String,
    /// missing, running, paused, shut off, shutting down, crashed, suspended, other, foreign, unknown.
    state: &'static str,
    address: Option<String>,
    /// lease or reservation.
    address_source: Option<&'static str>,
    drift: Vec<DifferenceView>,
    repairs: Vec<&'static str>,
    error: Option<String>,
    /// The last health report on its console (docs/health.md).
    health: NodeHealthView,
}

#[derive(Debug, Serialize)]
struct StrayView {
    host: String,
    domain: String,
    state: &'static str,
}

#[derive(Debug, Serialize)]
struct StatusView {
    hosts: Vec<HostView>,
    nodes: Vec<StatusNodeView>,
    /// Domains of this fleet that no node of the fleet file accounts for.
    strays: Vec<StrayView>,
}

impl StatusView {
    fn new(report: &StatusReport) -> StatusView {
        StatusView {
            hosts: report.hosts.iter().map(HostView::new).collect(),
            nodes: report
                .nodes
                .iter()
                .map(|node| StatusNodeView {
                    name: node.node.clone(),
                    host: node.host.clone(),
                    state: node.state.as_str(),
                    address: node.address.map(|(address, _)| address.to_string()),
                    address_source: node.address.map(|(_, source)| match source {
                        fleet_libvirt::AddressSource::Lease => "lease",
                        fleet_libvirt::AddressSource::Reservation => "reservation",
                    }),
                    drift: node.drift.iter().map(DifferenceView::new).collect(),
                    repairs: node.repairs.iter().map(|repair| repair.as_str()).collect(),
                    error: node.error.as_ref().map(ToString::to_string),
                    health: NodeHealthView::new(node),
                })
                .collect(),
            strays: report
                .strays
                .iter()
                .map(|stray| StrayView {
                    host: stray.host.clone(),
                    domain: stray.domain.clone(),
                    state: stray.state.as_str(),
                })
                .collect(),
        }
    }
}

#[derive(Tabled)]
struct StatusRow {
    #[tabled(rename = "NODE")]
    node: String,
    #[tabled(rename = "HOST")]
    host: String,
    #[tabled(rename = "STATE")]
    state: String,
    #[tabled(rename = "ADDRESS")]
    address: String,
    #[tabled(rename = "DRIFT")]
    drift: String,
    #[tabled(rename = "HEALTH")]
    health: String,
    #[tabled(rename = "OS")]
    os: String,
}

fn write_table(out: &mut dyn Write, view: &StatusView) -> anyhow::Result<()> {
    write_host_errors(out, &view.hosts)?;
    let rows: Vec<StatusRow> = view
        .nodes
        .iter()
        .map(|node| {
            let mut drift: Vec<String> = node
                .drift
                .iter()
                .map(|difference| difference.to_string())
                .collect();
            drift.extend(node.repairs.iter().map(|repair| format!("needs {repair}")));
            if let Some(error) = &node.error {
                drift.push(error.clone());
            }
            if let Some(error) = &node.health.console_error {
                drift.push(format!("console log: {error}"));
            }
            StatusRow {
                node: node.name.clone(),
                host: node.host.clone(),
                state: node.state.to_owned(),
                address: match (&node.address, node.address_source) {
                    (Some(address), Some("reservation")) => format!("{address} (reserved)"),
                    (Some(address), _) => address.clone(),
                    (None, _) => "-".to_owned(),
                },
                drift: if drift.is_empty() {
                    "-".to_owned()
                } else {
                    drift.join("\n")
                },
                health: node.health.health_column(),
                os: node.health.os_column(),
            }
        })
        .collect();
    let mut table = Table::new(&rows);
    finish_table(&mut table, colours_wanted());
    writeln!(out, "{}", trimmed(&table))?;
    if !view.strays.is_empty() {
        writeln!(
            out,
            "\nDomains of this fleet that no node in the fleet file accounts for (`fleet destroy` removes them):"
        )?;
        for stray in &view.strays {
            writeln!(
                out,
                "  {} on {} ({})",
                stray.domain, stray.host, stray.state
            )?;
        }
    }
    let drifted = view
        .nodes
        .iter()
        .filter(|node| !node.drift.is_empty() || !node.repairs.is_empty())
        .count();
    let running = view
        .nodes
        .iter()
        .filter(|node| node.state == "running")
        .count();
    let missing = view
        .nodes
        .iter()
        .filter(|node| node.state == "missing")
        .count();
    writeln!(
        out,
        "\n{} nodes: {running} running, {missing} missing, {drifted} drifted",
        view.nodes.len()
    )?;
    Ok(())
}
