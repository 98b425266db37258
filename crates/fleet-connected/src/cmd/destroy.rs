//! `fleet destroy`: remove the fleet's nodes (or the named ones) from libvirt, with everything
//! fleet created for them.

use std::io::{BufRead as _, IsTerminal as _, Write};
use std::process::ExitCode;

use fleet_libvirt::{DestroyOptions, DestroyReport, Session, SessionOptions};
use serde::Serialize;
use tabled::{Table, Tabled};

use fleet_cli::cmd::destroy::Args;
use fleet_cli::fleet_file::load_fleet;
use fleet_cli::tables::{colours_wanted, finish_table, trimmed};

use crate::desired::desired_fleet;
use crate::digest_cache::image_digest_cache;
use crate::placement::teardown_hosts;
use crate::progress::Progress;
use crate::targets::{check_selection, fleet_target, host_targets};
use crate::views::{HostView, print_report, write_host_errors};

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_fleet(&args.fleet)?;
    let fleet = &loaded.fleet;
    check_selection(fleet, &args.target.nodes, &args.fleet)?;
    let hosts = host_targets(fleet, &args.target)?;

    let selected: Vec<&str> = if args.target.nodes.is_empty() {
        fleet.nodes.iter().map(|node| node.name.as_str()).collect()
    } else {
        args.target.nodes.iter().map(String::as_str).collect()
    };
    let host_names: Vec<&str> = hosts.iter().map(|host| host.name.as_str()).collect();
    if std::io::stdin().is_terminal() && !args.yes {
        let whole = if args.target.nodes.is_empty() {
            format!("all {} nodes of fleet {}", selected.len(), fleet.name)
        } else {
            format!("{} of fleet {}", selected.join(", "), fleet.name)
        };
        let question = format!(
            "Destroy {whole} on {}: domains, disks, Ignition volumes, console logs and DHCP reservations{}? [y/N] ",
            host_names.join(", "),
            if args.purge_image {
                ", and the base image"
            } else {
                ""
            }
        );
        if !confirmed(&question)? {
            eprintln!("nothing was destroyed");
            return Ok(ExitCode::FAILURE);
        }
    }

    // Teardown needs no rendering and no plan: names, MACs and where the nodes are.
    let target = fleet_target(fleet, &args.fleet, &args.target)?;
    let session = Session::open(&hosts, &SessionOptions::for_jobs(usize::from(args.jobs)));
    let host_of = teardown_hosts(fleet, &session, &hosts, &target.name);
    let wanted: std::collections::BTreeSet<&str> = selected.iter().copied().collect();
    let desired = desired_fleet(fleet, None, &target, &host_of, |name| {
        wanted.contains(name).then(Vec::new)
    });
    let options = DestroyOptions {
        jobs: usize::from(args.jobs),
        purge_image: args.purge_image,
        include_strays: args.target.nodes.is_empty(),
        keep: std::collections::BTreeSet::new(),
        image_digest_cache: image_digest_cache(),
    };
    let progress = Progress::new(
        desired.nodes.iter().map(|node| node.host.as_str()),
        "destroying",
    );
    let report = session.destroy(&desired, &options, &|event| progress.on_event(event));
    progress.finish();
    session.close();

    let view = DestroyView::new(&report);
    print_report(args.format, &view, |out| write_table(out, &view))?;
    Ok(if report.failed_nodes() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn confirmed(question: &str) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question}")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[derive(Debug, Serialize)]
struct TeardownView {
    name: String,
    host: String,
    removed_domain: bool,
    deleted_volumes: Vec<String>,
    removed_reservation: bool,
    error: Option<String>,
}

/// A volume or pool on a host.
#[derive(Debug, Serialize)]
struct OnHost {
    host: String,
    name: String,
}

impl OnHost {
    fn list(pairs: &[(String, String)]) -> Vec<OnHost> {
        pairs
            .iter()
            .map(|(host, name)| OnHost {
                host: host.clone(),
                name: name.clone(),
            })
            .collect()
    }
}

/// A volume destroy left alone, and why.
#[derive(Debug, Serialize)]
struct KeptView {
    host: String,
    name: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct DestroyView {
    hosts: Vec<HostView>,
    nodes: Vec<TeardownView>,
    purged_images: Vec<OnHost>,
    /// Volumes named for the fleet (or base images) left alone: fleet deletes only what it can
    /// show it made, and nothing another domain uses.
    kept_volumes: Vec<KeptView>,
    removed_pools: Vec<OnHost>,
    failed: usize,
}

impl DestroyView {
    fn new(report: &DestroyReport) -> DestroyView {
        DestroyView {
            hosts: report.hosts.iter().map(HostView::new).collect(),
            nodes: report
                .nodes
                .iter()
                .map(|node| TeardownView {
                    name: node.node.clone(),
                    host: node.host.clone(),
                    removed_domain: node.removed_domain,
                    deleted_volumes: node.deleted_volumes.clone(),
                    removed_reservation: node.removed_reservation,
                    error: node.error.as_ref().map(ToString::to_string),
                })
                .collect(),
            purged_images: OnHost::list(&report.purged_images),
            kept_volumes: report
                .kept_volumes
                .iter()
                .map(|kept| KeptView {
                    host: kept.host.clone(),
                    name: kept.volume.clone(),
                    reason: kept.reason.to_string(),
                })
                .collect(),
            removed_pools: OnHost::list(&report.removed_pools),
            failed: report.failed_nodes(),
        }
    }
}

#[derive(Tabled)]
struct TeardownRow {
    #[tabled(rename = "NODE")]
    node: String,
    #[tabled(rename = "HOST")]
    host: String,
    #[tabled(rename = "DOMAIN")]
    domain: String,
    #[tabled(rename = "VOLUMES")]
    volumes: String,
    #[tabled(rename = "RESERVATION")]
    reservation: String,
    #[tabled(rename = "RESULT")]
    result: String,
}

fn write_table(out: &mut dyn Write, view: &DestroyView) -> anyhow::Result<()> {
    write_host_errors(out, &view.hosts)?;
    let rows: Vec<TeardownRow> = view
        .nodes
        .iter()
        .map(|node| TeardownRow {
            node: node.name.clone(),
            host: node.host.clone(),
            domain: if node.removed_domain { "removed" } else { "-" }.to_owned(),
            volumes: if node.deleted_volumes.is_empty() {
                "-".to_owned()
            } else {
                node.deleted_volumes.len().to_string()
            },
            reservation: if node.removed_reservation {
                "removed"
            } else {
                "-"
            }
            .to_owned(),
            result: node.error.clone().unwrap_or_else(|| "done".to_owned()),
        })
        .collect();
    let mut table = Table::new(&rows);
    finish_table(&mut table, colours_wanted());
    writeln!(out, "{}", trimmed(&table))?;
    for (label, items) in [
        ("purged base image", &view.purged_images),
        ("removed storage pool", &view.removed_pools),
    ] {
        for item in items {
            writeln!(out, "{label} {} on {}", item.name, item.host)?;
        }
    }
    for kept in &view.kept_volumes {
        writeln!(
            out,
            "kept volume {} on {}: {}",
            kept.name, kept.host, kept.reason
        )?;
    }
    let removed = view.nodes.iter().filter(|node| node.removed_domain).count();
    writeln!(out, "\n{removed} domains removed, {} failed", view.failed)?;
    Ok(())
}
