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
    /// The Fedora CoreOS release the node was created from (null: fleet did not know it then).
    release: Option<String>,
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
                    release: node.release.clone(),
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
    #[tabled(rename = "RELEASE")]
    release: String,
    #[tabled(rename = "DRIFT")]
    drift: String,
    #[tabled(rename = "HEALTH")]
    health: String,
    #[tabled(rename = "OS")]
    os: String,
}

/// The release a node was created from, as the table shows it: `-` when fleet did not know it
/// (the image had no record from `fleet image pull`, or the node is older than the record).
fn release_cell(node: &StatusNodeView) -> String {
    node.release.clone().unwrap_or_else(|| "-".to_owned())
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
                release: release_cell(node),
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

#[cfg(test)]
mod tests {
    use fleet_cli::cmd::shared_args::{TableOrJson, TargetArgs};
    use fleet_image::{ImageRecord, RECORD_FORMAT, Sha256Digest};
    use fleet_libvirt::{HostTarget, Session, SessionOptions};
    use sha2::Digest as _;

    use super::*;
    use crate::deploy_input::deploy_input;

    /// On `test:///default`, whose state lives while a connection of the process is open: a node
    /// created from an image `fleet image pull` recorded shows that release; after the image file
    /// is replaced (the record no longer matches it), a new node shows none.
    #[test]
    fn status_shows_the_release_each_node_was_created_from() {
        let _keeper = Session::open(
            &[HostTarget {
                name: "keeper".to_owned(),
                uri: "test:///default".to_owned(),
            }],
            &SessionOptions::default(),
        );
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("fcos.qcow2");
        std::fs::write(&image, b"QFI\xfba pulled build").unwrap();
        let sha256 = sha2::Sha256::digest(std::fs::read(&image).unwrap())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>();
        let digest = Sha256Digest::from_hex(&sha256).unwrap();
        let record = ImageRecord {
            format: RECORD_FORMAT.to_owned(),
            stream: "stable".to_owned(),
            architecture: "x86_64".to_owned(),
            release: "43.20261115.3.0".to_owned(),
            stream_url: "http://127.0.0.1/streams/stable.json".to_owned(),
            location: "http://127.0.0.1/prod/fcos.qcow2.xz".to_owned(),
            signature: "http://127.0.0.1/prod/fcos.qcow2.xz.sig".to_owned(),
            signer: "0".repeat(40),
            sha256: digest.clone(),
            uncompressed_sha256: digest,
        };
        std::fs::write(
            ImageRecord::path_for(&image),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        let fleet_file = directory.path().join("fleet.toml");
        let write_fleet = |count: u32| {
            std::fs::write(
                &fleet_file,
                format!("[fleet]\nname = \"status-release\"\nconnect = \"test:///default\"\n\n[fleet.image]\npath = \"fcos.qcow2\"\n\n[fleet.pool]\npath = \"{}\"\n\n[[maintenance.period]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength_minutes = 240\n\n[[group]]\nname = \"status-release\"\ncount = {count}\n", directory.path().join("pool").display()),
            )
            .unwrap();
        };
        let deploy = || {
            crate::cmd::deploy::run(fleet_cli::cmd::deploy::Args {
                fleet: fleet_file.clone(),
                target: TargetArgs {
                    connect: Vec::new(),
                    image: None,
                    nodes: Vec::new(),
                },
                jobs: 2,
                dry_run: false,
                replace: false,
                prune: false,
                plan: None,
                format: TableOrJson::Json,
            })
            .unwrap();
        };
        write_fleet(1);
        deploy();
        // Another build at the same path: the record describes the old bytes.
        std::fs::write(&image, b"QFI\xfba local build").unwrap();
        write_fleet(2);
        deploy();

        let input = deploy_input(
            &fleet_file,
            &TargetArgs {
                connect: Vec::new(),
                image: None,
                nodes: Vec::new(),
            },
            2,
        )
        .unwrap();
        let report = input
            .session
            .status(&input.desired, &StatusOptions::default());
        let view = StatusView::new(&report);
        let releases: Vec<(&str, String)> = view
            .nodes
            .iter()
            .map(|node| (node.name.as_str(), release_cell(node)))
            .collect();
        assert_eq!(
            releases,
            [
                ("status-release-1", "43.20261115.3.0".to_owned()),
                ("status-release-2", "-".to_owned())
            ]
        );
        let mut table = Vec::new();
        write_table(&mut table, &view).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.lines().next().unwrap().contains("RELEASE"), "{table}");
    }
}
