//! `fleet deploy`: render every node, place it, and make libvirt match — with progress while it works and a table of what happened.
//!
//! Also home of what `status` and `destroy` share with it: connecting to the fleet's hosts,
//! placing nodes, building the desired fleet, drawing progress and tables.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use fleet_libvirt::{
    Action, DeployOptions, DeployReport, DesiredFleet, DesiredNode, Difference, Event, FleetTarget,
    HostReport, HostTarget, ImageDigestCache, Outcome, Session, SessionOptions,
};
use fleet_plan::{PlaceOptions, Placement, UnknownCapacity};
use fleet_spec::{Fleet, HostCapacity, Role};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tabled::{Table, Tabled};

use fleet_cli::cmd::deploy::{Args, Format, TargetArgs};
use fleet_cli::local_files::fleet_directory;
use fleet_cli::pipeline::{self, PlannedFleet, Selection};
pub(crate) use fleet_cli::tables::{colours_wanted, finish_table, trimmed};

/// The hosts to connect to: the fleet's, with `--connect` overrides applied.
pub(crate) fn host_targets(fleet: &Fleet, target: &TargetArgs) -> anyhow::Result<Vec<HostTarget>> {
    let mut single = None;
    let mut by_host: BTreeMap<&str, &str> = BTreeMap::new();
    for connect in &target.connect {
        let named = connect
            .split_once('=')
            .filter(|(host, _)| fleet.hosts.iter().any(|known| known.name == *host));
        match named {
            Some((host, uri)) => {
                if by_host.insert(host, uri).is_some() {
                    anyhow::bail!("--connect names host {host} twice");
                }
            }
            None if fleet.hosts.is_empty() => {
                if single.replace(connect.as_str()).is_some() {
                    anyhow::bail!(
                        "--connect URI is given twice; a fleet without [[host]] has one connection"
                    );
                }
            }
            None => anyhow::bail!(
                "--connect {connect}: the fleet lists hosts ({}); write HOST=URI, e.g. --connect {}=test:///default",
                fleet
                    .hosts
                    .iter()
                    .map(|host| host.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                fleet.hosts[0].name
            ),
        }
    }
    let mut hosts = HostTarget::for_fleet(fleet, single);
    for host in &mut hosts {
        if let Some(uri) = by_host.get(host.name.as_str()) {
            host.uri = (*uri).to_owned();
        }
    }
    refuse_shared_hypervisors(&hosts, &by_host)?;
    Ok(hosts)
}

/// Two hosts on one hypervisor would count its capacity twice and make placement's anti-affinity
/// meaningless. The fleet file refuses that; `--connect` overrides must not bring it back, so the
/// hosts as overridden are compared in the same normal form the fleet file's check uses.
fn refuse_shared_hypervisors(
    hosts: &[HostTarget],
    overridden: &BTreeMap<&str, &str>,
) -> anyhow::Result<()> {
    let mut seen: BTreeMap<String, &HostTarget> = BTreeMap::new();
    for host in hosts {
        let Some(first) = seen.insert(fleet_spec::libvirt_uri::normal_form(&host.uri), host) else {
            continue;
        };
        let given = |host: &HostTarget| {
            if overridden.contains_key(host.name.as_str()) {
                format!("--connect {}={}", host.name, host.uri)
            } else {
                format!("{} in the fleet file", host.uri)
            }
        };
        anyhow::bail!(
            "hosts {} ({}) and {} ({}) would reach the same hypervisor; two hosts on one hypervisor would count its capacity twice and make placement's anti-affinity meaningless: give each host its own URI",
            first.name,
            given(first),
            host.name,
            given(host)
        );
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let planned = pipeline::plan_fleet(&args.fleet)?;
    let fleet = &planned.loaded.fleet;
    check_selection(fleet, &args.target.nodes, &args.fleet)?;
    let hosts = host_targets(fleet, &args.target)?;
    let target = fleet_target(fleet, &args.fleet, &args.target)?;
    // A FIFO, a device or a directory as the image: one clear error before anything is done.
    target.image.check()?;
    let session = Session::open(&hosts, &SessionOptions::for_jobs(usize::from(args.jobs)));
    let placed = place_nodes(fleet, &session, &hosts, &target)?;

    let desired = rendered_desired_fleet(&planned, &target, &placed, &args.target.nodes)?;

    let options = DeployOptions {
        jobs: usize::from(args.jobs),
        dry_run: args.dry_run,
        replace: args.replace,
        image_digest_cache: image_digest_cache(),
    };
    let progress = Progress::new(
        desired.nodes.iter().map(|node| node.host.as_str()),
        "deploying",
    );
    let report = session.deploy(&desired, &options, &|event| progress.on_event(event));
    progress.finish();
    session.close();

    let view = DeployView::new(&report, &planned, &placed);
    let mut stdout = fleet_cli::stdout::stdout();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &view)?;
            writeln!(stdout)?;
        }
        Format::Table => write_deploy_table(&mut stdout, &view, colours_wanted())?,
    }
    stdout.finish()?;
    Ok(if view.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where the base image's digest is remembered between runs: `$XDG_CACHE_HOME/fleet/image-digests`,
/// else `~/.cache/fleet/image-digests`; no cache without either (the image is then hashed on every
/// run).
pub(crate) fn image_digest_cache() -> Option<ImageDigestCache> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(std::path::PathBuf::from)
                .filter(|path| path.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
    Some(ImageDigestCache::new(
        base.join("fleet").join("image-digests"),
        std::time::SystemTime::now(),
    ))
}

/// Every name given with --node must be a node of the fleet.
pub(crate) fn check_selection(fleet: &Fleet, names: &[String], path: &Path) -> anyhow::Result<()> {
    for name in names {
        if fleet.node(name).is_none() {
            anyhow::bail!(
                "no node named {name:?} in {}; `fleet nodes` lists them",
                path.display()
            );
        }
    }
    Ok(())
}

pub(crate) fn selection(names: &[String]) -> Selection<'_> {
    if names.is_empty() {
        Selection::All
    } else {
        Selection::Named(names)
    }
}

/// The fleet's shared settings, with paths resolved against the fleet file's directory (absolute:
/// libvirt reads kernel and initrd paths on the host), and `--image` applied.
pub(crate) fn fleet_target(
    fleet: &Fleet,
    fleet_file: &Path,
    target: &TargetArgs,
) -> anyhow::Result<FleetTarget> {
    let directory = fleet_directory(fleet_file);
    let root = std::fs::canonicalize(directory)
        .with_context(|| format!("cannot resolve the directory {}", directory.display()))?;
    let mut fleet_target = FleetTarget::from_spec(fleet, &root);
    if let Some(image) = &target.image {
        let image = std::fs::canonicalize(image)
            .with_context(|| format!("cannot find the image {}", image.display()))?;
        fleet_target.image = fleet_libvirt::BaseImage::File(image);
    }
    Ok(fleet_target)
}

/// Where every node goes, and which nodes move.
#[derive(Debug, Default)]
pub(crate) struct Placed {
    pub(crate) host_of: BTreeMap<String, String>,
    /// (node, from, to, reason)
    pub(crate) moves: Vec<(String, String, String, String)>,
}

/// Place the nodes: the single connection for fleets without `[[host]]`; otherwise the planner,
/// starting from where the nodes run now, with capacities fleet.toml leaves out read from the
/// hosts. An unreachable host's unknown capacity counts as unlimited: its nodes are placed there
/// and fail with the connection error, the others proceed.
pub(crate) fn place_nodes(
    fleet: &Fleet,
    session: &Session,
    hosts: &[HostTarget],
    target: &FleetTarget,
) -> anyhow::Result<Placed> {
    if fleet.hosts.is_empty() {
        let host = hosts
            .first()
            .map(|host| host.name.clone())
            .unwrap_or_default();
        return Ok(Placed {
            host_of: fleet
                .nodes
                .iter()
                .map(|node| (node.name.clone(), host.clone()))
                .collect(),
            moves: Vec::new(),
        });
    }
    let (located, _unreadable) = session.locate(&target.name);
    let previous: Placement = located.into_iter().collect();
    let mut measured: BTreeMap<String, HostCapacity> = BTreeMap::new();
    for host in &fleet.hosts {
        let capacity = host.capacity;
        if capacity.vcpus.is_some() && capacity.memory_mib.is_some() && capacity.disk_gib.is_some()
        {
            continue;
        }
        match fleet_libvirt::read_host_capacity(session, &host.name, target) {
            Ok(reading) => {
                measured.insert(host.name.clone(), reading.to_host_capacity());
            }
            Err(error) => tracing::info!(host = %host.name, %error, "capacity unknown"),
        }
    }
    let placed = fleet_plan::place(
        fleet,
        &PlaceOptions {
            previous: &previous,
            measured: &measured,
            unknown_capacity: UnknownCapacity::Unlimited,
        },
    )
    .context("cannot place the nodes on the fleet's hosts")?;
    Ok(Placed {
        host_of: placed
            .placement
            .iter()
            .map(|(node, host)| (node.to_owned(), host.to_owned()))
            .collect(),
        moves: placed
            .moves
            .iter()
            .map(|moved| {
                (
                    moved.node.clone(),
                    moved.from.clone(),
                    moved.to.clone(),
                    moved.reason.as_str().to_owned(),
                )
            })
            .collect(),
    })
}

/// Render the selected nodes (all when `names` is empty) and describe them as libvirt should have
/// them, on their placed hosts: what deploy creates and status compares with.
pub(crate) fn rendered_desired_fleet(
    planned: &pipeline::PlannedFleet,
    target: &FleetTarget,
    placed: &Placed,
    names: &[String],
) -> anyhow::Result<DesiredFleet> {
    let rendered = pipeline::render_fleet(planned, selection(names), &|| {})?;
    let ignition: BTreeMap<&str, &[u8]> = rendered
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node.json.as_bytes()))
        .collect();
    Ok(desired_fleet(
        &planned.loaded.fleet,
        Some(&planned.plan),
        target,
        &placed.host_of,
        |name| ignition.get(name).map(|bytes| bytes.to_vec()),
    ))
}

/// The selected nodes as libvirt should have them; canaries (by the plan) form wave 0, the others
/// wave 1. `ignition` gives a node's rendered config (`None`: the node is not selected).
pub(crate) fn desired_fleet(
    fleet: &Fleet,
    plan: Option<&fleet_plan::Plan>,
    target: &FleetTarget,
    host_of: &BTreeMap<String, String>,
    ignition: impl Fn(&str) -> Option<Vec<u8>>,
) -> DesiredFleet {
    let nodes = fleet
        .nodes
        .iter()
        .filter_map(|node| {
            let ignition = ignition(&node.name)?;
            let role = plan
                .and_then(|plan| plan.node(&node.name))
                .map(|plan| plan.role);
            let wave = u32::from(role != Some(Role::Canary));
            let host = host_of.get(&node.name).map_or("", String::as_str);
            Some(DesiredNode::from_spec(fleet, node, host, wave, ignition))
        })
        .collect();
    DesiredFleet {
        target: target.clone(),
        nodes,
    }
}

/// Progress on stderr: on a terminal an overall bar, with several hosts a bar per host, and one
/// line per node in flight under its host; plain lines otherwise (logs, CI).
pub(crate) struct Progress {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    /// Per host, when there are several.
    hosts: BTreeMap<String, ProgressBar>,
    in_flight: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    /// `nodes` is the host of every node the run handles.
    pub(crate) fn new<'a>(nodes: impl IntoIterator<Item = &'a str>, verb: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let mut per_host: BTreeMap<String, u64> = BTreeMap::new();
        for host in nodes {
            *per_host.entry(host.to_owned()).or_default() += 1;
        }
        let total = per_host.values().sum();
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30}] {pos}/{len} nodes  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.set_prefix(verb.to_owned());
        overall.enable_steady_tick(Duration::from_millis(120));
        let mut hosts = BTreeMap::new();
        if per_host.len() > 1 {
            for (host, count) in per_host {
                let bar = multi.add(ProgressBar::new(count));
                bar.set_style(
                    ProgressStyle::with_template("  {prefix} [{bar:20}] {pos}/{len}  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(host.clone());
                hosts.insert(host, bar);
            }
        }
        Progress {
            bars: Some(Bars {
                multi,
                overall,
                hosts,
                in_flight: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub(crate) fn on_event(&self, event: Event<'_>) {
        match &self.bars {
            Some(bars) => bars.on_event(event),
            None => plain_line(event),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bars) = &self.bars {
            for (_, bar) in std::mem::take(&mut *lock(&bars.in_flight)) {
                bar.finish_and_clear();
            }
            for bar in bars.hosts.values() {
                bar.finish_and_clear();
            }
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Bars {
    fn count_done(&self, host: &str) {
        self.overall.inc(1);
        if let Some(bar) = self.hosts.get(host) {
            bar.inc(1);
        }
    }

    fn on_event(&self, event: Event<'_>) {
        match event {
            Event::HostStep { host, step } => match self.hosts.get(host) {
                Some(bar) => bar.set_message(host_step(step)),
                None => self
                    .overall
                    .set_message(format!("{host}: {}", host_step(step))),
            },
            Event::HostReady { host, error } => {
                match self.hosts.get(host) {
                    Some(bar) => bar.set_message(""),
                    None => self.overall.set_message(String::new()),
                }
                if let Some(error) = error {
                    let _ = self.multi.println(format!("host {host}: {error}"));
                }
            }
            Event::NodeStarted { node, host, action } => {
                if action.is_some_and(|action| !action.modifies()) {
                    return;
                }
                // Under its host's bar, or under the overall one.
                let anchor = self.hosts.get(host).unwrap_or(&self.overall);
                let bar = self.multi.insert_after(anchor, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(match action {
                    Some(action) => format!("{node} {}:", action.as_str()),
                    None => format!("{node}:"),
                });
                bar.enable_steady_tick(Duration::from_millis(120));
                lock(&self.in_flight).insert(node.to_owned(), bar);
            }
            Event::NodeStep { node, step, .. } => {
                if let Some(bar) = lock(&self.in_flight).get(node) {
                    bar.set_message(step.as_str());
                }
            }
            Event::NodeFinished { node, host } => {
                if let Some(bar) = lock(&self.in_flight).remove(node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                self.count_done(host);
            }
            Event::NodeFailed {
                node,
                host,
                step,
                error,
            } => {
                if let Some(bar) = lock(&self.in_flight).remove(node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if !is_host_failure(error) {
                    let _ = self
                        .multi
                        .println(format!("{node} ({host}): failed at {step}: {error}"));
                }
                self.count_done(host);
            }
        }
    }
}

/// The node failed because its host did: the host's own line already says why.
fn is_host_failure(error: &fleet_libvirt::Error) -> bool {
    matches!(
        error,
        fleet_libvirt::Error::HostFailed { .. } | fleet_libvirt::Error::HostUnreachable { .. }
    )
}

fn host_step(step: fleet_libvirt::HostStep) -> &'static str {
    match step {
        fleet_libvirt::HostStep::Inspect => "inspecting",
        fleet_libvirt::HostStep::CreatePool => "creating the storage pool",
        fleet_libvirt::HostStep::ImportImage => "importing the base image",
        fleet_libvirt::HostStep::Scan => "listing the fleet's domains",
    }
}

fn plain_line(event: Event<'_>) {
    let line = match event {
        Event::HostStep { host, step } => format!("host {host}: {}", host_step(step)),
        Event::HostReady {
            host,
            error: Some(error),
        } => format!("host {host}: {error}"),
        Event::HostReady { error: None, .. } => return,
        Event::NodeStarted { node, host, action } => match action {
            Some(action) if action.modifies() => format!("{node} ({host}): {}", action.as_str()),
            _ => return,
        },
        // Steps of many nodes interleave into noise in a log: starts and ends are enough there.
        Event::NodeStep { .. } => return,
        Event::NodeFinished { node, .. } => format!("{node}: done"),
        Event::NodeFailed { error, .. } if is_host_failure(error) => return,
        Event::NodeFailed {
            node,
            host,
            step,
            error,
        } => format!("{node} ({host}): failed at {step}: {error}"),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

#[derive(Debug, Serialize)]
pub(crate) struct HostView {
    pub(crate) name: String,
    pub(crate) uri: String,
    hypervisor: Option<&'static str>,
    pool_created: bool,
    image_imported: bool,
    pub(crate) error: Option<String>,
}

impl HostView {
    pub(crate) fn new(report: &HostReport) -> HostView {
        HostView {
            name: report.host.clone(),
            uri: report.uri.clone(),
            hypervisor: report.hypervisor.map(fleet_libvirt::Hypervisor::as_str),
            pool_created: report.pool_created,
            image_imported: report.image_imported,
            error: report.error.as_ref().map(ToString::to_string),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DifferenceView {
    field: &'static str,
    desired: String,
    observed: String,
}

impl std::fmt::Display for DifferenceView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.observed, self.desired)
    }
}

impl DifferenceView {
    pub(crate) fn new(difference: &Difference) -> DifferenceView {
        DifferenceView {
            field: difference.field.as_str(),
            desired: difference.desired.clone(),
            observed: difference.observed.clone(),
        }
    }
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

#[derive(Debug, Serialize)]
struct MoveView {
    node: String,
    from: String,
    to: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct DeployView {
    dry_run: bool,
    hosts: Vec<HostView>,
    nodes: Vec<DeployNodeView>,
    moves: Vec<MoveView>,
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
                    Outcome::Planned => ("planned", None, None, false),
                    Outcome::Done => ("done", None, None, false),
                    Outcome::Failed { step, error } => (
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
                .filter(|(node, ..)| selected.contains(node.as_str()))
                .map(|(node, from, to, reason)| MoveView {
                    node: node.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    reason: reason.clone(),
                })
                .collect(),
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

fn write_deploy_table(
    out: &mut impl std::io::Write,
    view: &DeployView,
    colour: bool,
) -> anyhow::Result<()> {
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
