//! `fleet deploy`: render every node, place it, and make libvirt match, with progress while it
//! works and a table (or JSON) of what happened.

use std::io::Write;
use std::process::ExitCode;

use fleet_libvirt::{
    Action, DeployOptions, DeployOutcome, DeployReport, DesiredFleet, DestroyOptions, Session,
};
use serde::Serialize;
use tabled::{Table, Tabled};

use fleet_cli::cmd::deploy::Args;
use fleet_cli::cmd::shared_args::TableOrJson;
use fleet_cli::pipeline::PlannedFleet;
use fleet_cli::tables::{colours_wanted, finish_table, trimmed};

use crate::deploy_input::{DeployInput, deploy_input};
use crate::digest_cache::image_digest_cache;
use crate::placement::Placed;
use crate::progress::Progress;
use crate::views::{DifferenceView, HostView, is_host_failure, print_report};

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(plan_file) = &args.plan {
        return crate::cmd::diff::deploy_plan(plan_file, &args);
    }
    let input = deploy_input(&args.fleet, &args.target, args.jobs)?;
    let options = DeployOptions {
        jobs: usize::from(args.jobs),
        dry_run: args.dry_run,
        replace: args.replace,
        image_digest_cache: image_digest_cache(),
        reviewed: None,
    };
    deploy_and_report(input, &options, args.format, args.prune)
}

/// Deploy what `input` describes with progress on stderr (then, with `prune`, remove the fleet's
/// domains the file no longer has), print the report, and give the exit status: 1 when a node
/// failed or could not be removed.
pub(crate) fn deploy_and_report(
    input: DeployInput,
    options: &DeployOptions,
    format: TableOrJson,
    prune: bool,
) -> anyhow::Result<ExitCode> {
    let DeployInput {
        planned,
        session,
        placed,
        desired,
    } = input;
    let progress = Progress::new(
        desired.nodes.iter().map(|node| node.host.as_str()),
        "deploying",
    );
    let report = session.deploy(&desired, options, &|event| progress.on_event(event));
    progress.finish();
    let removals = if prune {
        prune_strays(&session, desired, &report, options)
    } else {
        Vec::new()
    };
    session.close();

    let mut view = DeployView::new(&report, &planned, &placed);
    view.failed += removals
        .iter()
        .filter(|removal| removal.outcome == "failed")
        .count();
    view.removals = removals;
    print_report(format, &view, |out| {
        write_deploy_table(out, &view, colours_wanted())
    })?;
    Ok(if view.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, Serialize)]
struct DeployNodeView {
    name: String,
    host: String,
    role: &'static str,
    /// create, unchanged, repair, changed, replace, conflict; null when the node could not be observed.
    action: Option<&'static str>,
    /// planned (dry run), done, failed.
    outcome: &'static str,
    /// The step that failed.
    step: Option<&'static str>,
    error: Option<String>,
    differences: Vec<DifferenceView>,
    repairs: Vec<&'static str>,
    /// The node failed because its host could not be reached or prepared (see `hosts`).
    #[serde(skip)]
    host_failed: bool,
}

/// A domain of the fleet that the fleet file no longer has, removed by `--prune`.
#[derive(Debug, Serialize)]
struct RemovalView {
    node: String,
    host: String,
    /// planned (dry run), done, failed.
    outcome: &'static str,
    /// Volumes deleted with it.
    deleted_volumes: Vec<String>,
    error: Option<String>,
}

/// After the deploy: the fleet's domains that none of the file's nodes accounts for, removed as
/// `fleet destroy` removes nodes; in a dry run only listed (the dry run's strays).
fn prune_strays(
    session: &Session,
    desired: DesiredFleet,
    report: &DeployReport,
    options: &DeployOptions,
) -> Vec<RemovalView> {
    if options.dry_run {
        return report
            .strays
            .iter()
            .map(|stray| RemovalView {
                node: stray.domain.clone(),
                host: stray.host.clone(),
                outcome: "planned",
                deleted_volumes: Vec::new(),
                error: None,
            })
            .collect();
    }
    // The deploy scans every host only when it must; destroy scans them all for the fleet's domains.
    let keep = desired.nodes.iter().map(|node| node.name.clone()).collect();
    let nobody = DesiredFleet {
        target: desired.target,
        nodes: Vec::new(),
    };
    let destroy = DestroyOptions {
        jobs: options.jobs,
        purge_image: false,
        include_strays: true,
        keep,
        image_digest_cache: None,
    };
    let progress = Progress::new(
        report.strays.iter().map(|stray| stray.host.as_str()),
        "pruning",
    );
    let removed = session.destroy(&nobody, &destroy, &|event| progress.on_event(event));
    progress.finish();
    removed
        .nodes
        .into_iter()
        .map(|node| RemovalView {
            outcome: if node.error.is_some() {
                "failed"
            } else {
                "done"
            },
            error: node.error.map(|error| error.to_string()),
            node: node.node,
            host: node.host,
            deleted_volumes: node.deleted_volumes,
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct MoveView {
    node: String,
    from: String,
    to: String,
    reason: &'static str,
}

#[derive(Debug, Serialize)]
struct DeployView {
    dry_run: bool,
    hosts: Vec<HostView>,
    nodes: Vec<DeployNodeView>,
    moves: Vec<MoveView>,
    /// With `--prune`: the fleet's domains the file no longer has, and what became of them.
    removals: Vec<RemovalView>,
    /// Nodes that failed (a host that failed fails its nodes; one without nodes is only reported).
    failed: usize,
}

impl DeployView {
    fn new(report: &DeployReport, planned: &PlannedFleet, placed: &Placed) -> DeployView {
        let nodes = report
            .nodes
            .iter()
            .map(|node| {
                let (differences, repairs) = match &node.action {
                    Some(Action::Changed(differences) | Action::Replace(differences)) => (
                        differences.iter().map(DifferenceView::new).collect(),
                        Vec::new(),
                    ),
                    Some(Action::Repair(repairs)) => (
                        Vec::new(),
                        repairs.iter().map(|repair| repair.as_str()).collect(),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                let (outcome, step, error, host_failed) = match &node.outcome {
                    DeployOutcome::Planned => ("planned", None, None, false),
                    DeployOutcome::Done => ("done", None, None, false),
                    DeployOutcome::Failed { step, error } => (
                        "failed",
                        Some(step.as_str()),
                        Some(error.to_string()),
                        is_host_failure(error),
                    ),
                };
                DeployNodeView {
                    name: node.node.clone(),
                    host: node.host.clone(),
                    role: planned
                        .plan
                        .node(&node.node)
                        .map_or("", |plan| plan.role.as_str()),
                    action: node.action.as_ref().map(Action::as_str),
                    outcome,
                    step,
                    error,
                    differences,
                    repairs,
                    host_failed,
                }
            })
            .collect();
        let selected: std::collections::BTreeSet<&str> =
            report.nodes.iter().map(|node| node.node.as_str()).collect();
        DeployView {
            dry_run: report.dry_run,
            hosts: report.hosts.iter().map(HostView::new).collect(),
            nodes,
            moves: placed
                .moves
                .iter()
                .filter(|moved| selected.contains(moved.node.as_str()))
                .map(|moved| MoveView {
                    node: moved.node.clone(),
                    from: moved.from.clone(),
                    to: moved.to.clone(),
                    reason: moved.reason.as_str(),
                })
                .collect(),
            removals: Vec::new(),
            failed: report.failed_nodes(),
        }
    }
}

#[derive(Tabled)]
struct DeployRow {
    #[tabled(rename = "NODE")]
    node: String,
    #[tabled(rename = "HOST")]
    host: String,
    #[tabled(rename = "ROLE")]
    role: String,
    #[tabled(rename = "ACTION")]
    action: String,
    #[tabled(rename = "RESULT")]
    result: String,
    #[tabled(rename = "DETAILS")]
    details: String,
}

fn write_deploy_table(out: &mut dyn Write, view: &DeployView, colour: bool) -> anyhow::Result<()> {
    for host in &view.hosts {
        if let Some(error) = &host.error {
            writeln!(out, "host {}: {error}", host.name)?;
        } else if host.pool_created || host.image_imported {
            let verb = if view.dry_run {
                "would create"
            } else {
                "created"
            };
            let mut made = Vec::new();
            if host.pool_created {
                made.push("the storage pool");
            }
            if host.image_imported {
                made.push("the base image volume");
            }
            writeln!(out, "host {}: {verb} {}", host.name, made.join(" and "))?;
        }
    }
    let rows: Vec<DeployRow> = view
        .nodes
        .iter()
        .map(|node| {
            let mut details: Vec<String> =
                node.differences.iter().map(ToString::to_string).collect();
            details.extend(node.repairs.iter().map(|repair| format!("repair {repair}")));
            match &node.error {
                Some(_) if node.host_failed => {
                    details.push(format!("host {} failed (above)", node.host))
                }
                Some(error) => details.push(error.clone()),
                None => {}
            }
            let result = match (node.outcome, node.step) {
                ("failed", Some(step)) => format!("failed at {step}"),
                (outcome, _) => outcome.to_owned(),
            };
            DeployRow {
                node: node.name.clone(),
                host: node.host.clone(),
                role: node.role.to_owned(),
                action: node.action.unwrap_or("-").to_owned(),
                result,
                details: details.join("\n"),
            }
        })
        .collect();
    let mut table = Table::new(&rows);
    finish_table(&mut table, colour);
    writeln!(out, "{}", trimmed(&table))?;
    if !view.moves.is_empty() {
        writeln!(out)?;
        for moved in &view.moves {
            writeln!(
                out,
                "move {}: {} → {} ({})",
                moved.node, moved.from, moved.to, moved.reason
            )?;
        }
    }
    if !view.removals.is_empty() {
        writeln!(out)?;
        for removal in &view.removals {
            let result = match (&removal.error, removal.outcome) {
                (Some(error), _) => format!("failed: {error}"),
                (None, "planned") => "would be removed (--prune)".to_owned(),
                (None, _) => format!(
                    "removed with {} volume(s) (--prune)",
                    removal.deleted_volumes.len()
                ),
            };
            writeln!(
                out,
                "remove {} on {}, no longer in the fleet file: {result}",
                removal.node, removal.host
            )?;
        }
    }
    let count = |action: &str| {
        view.nodes
            .iter()
            .filter(|node| node.action == Some(action))
            .count()
    };
    let changed = count("changed");
    writeln!(
        out,
        "\n{} nodes: {} create, {} unchanged, {} repair, {} changed, {} replace, {} failed{}",
        view.nodes.len(),
        count("create"),
        count("unchanged"),
        count("repair"),
        changed,
        count("replace"),
        view.nodes
            .iter()
            .filter(|node| node.outcome == "failed")
            .count(),
        if view.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    )?;
    if changed > 0 && !view.dry_run {
        writeln!(
            out,
            "changed nodes were left as they are; --replace rebuilds them"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, action: Option<&'static str>, outcome: &'static str) -> DeployNodeView {
        DeployNodeView {
            name: name.to_owned(),
            host: "hv1".to_owned(),
            role: "cautious",
            action,
            outcome,
            step: None,
            error: None,
            differences: Vec::new(),
            repairs: Vec::new(),
            host_failed: false,
        }
    }

    #[test]
    fn the_table_says_what_differs_and_why_nodes_failed() {
        let mut changed = node("web-02", Some("changed"), "done");
        changed.differences.push(DifferenceView {
            field: "vcpus",
            desired: "4".to_owned(),
            observed: "2".to_owned(),
        });
        let mut repaired = node("web-03", Some("repair"), "done");
        repaired.repairs.push("autostart");
        let mut failed = node("web-04", None, "failed");
        failed.step = Some("observe");
        failed.error = Some("host hv2 is unreachable: cannot connect".to_owned());
        failed.host = "hv2".to_owned();
        failed.host_failed = true;
        let mut broken = node("web-05", Some("create"), "failed");
        broken.step = Some("start");
        broken.error = Some("starting domain web-05: not enough memory".to_owned());
        let view = DeployView {
            dry_run: false,
            hosts: vec![HostView {
                name: "hv2".to_owned(),
                uri: "qemu+ssh://hv2/system".to_owned(),
                hypervisor: None,
                pool_created: false,
                image_imported: false,
                error: Some("cannot connect to qemu+ssh://hv2/system: no route".to_owned()),
            }],
            nodes: vec![
                node("web-01", Some("create"), "done"),
                changed,
                repaired,
                failed,
                broken,
            ],
            moves: Vec::new(),
            removals: Vec::new(),
            failed: 3,
        };
        let mut out = Vec::new();
        write_deploy_table(&mut out, &view, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "host hv2: cannot connect to qemu+ssh://hv2/system: no route
NODE    HOST  ROLE      ACTION   RESULT             DETAILS
web-01  hv1   cautious  create   done
web-02  hv1   cautious  changed  done               vcpus: 2 → 4
web-03  hv1   cautious  repair   done               repair autostart
web-04  hv2   cautious  -        failed at observe  host hv2 failed (above)
web-05  hv1   cautious  create   failed at start    starting domain web-05: not enough memory

5 nodes: 2 create, 0 unchanged, 1 repair, 1 changed, 0 replace, 2 failed
changed nodes were left as they are; --replace rebuilds them
"
        );
    }
}
