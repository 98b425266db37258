//! `fleet plan`: roles, wariness, Zincati windows, predicted reboots and host placement, as a table,
//! JSON (the stable contract documented in docs/planner.md) or CSV.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Datelike as _, TimeZone as _, Timelike as _, Utc};
use fleet_plan::{
    AirlockOptions, ContainerUpdateTime, GroupPlan, GroupPrediction, NodePlan, NodePrediction,
    PlacementPlan, Plan, Prediction, RolloutWarning, ZINCATI_RECHECK_MINUTES, ZincatiWindow,
    airlock_config, day_abbreviation, days_label, predict,
};
use fleet_spec::Tz;
use serde::Serialize;
use tabled::settings::Color;
use tabled::settings::object::Cell;
use tabled::{Table, Tabled};

use crate::fleet_file::DEFAULT_FLEET_FILE;
use crate::health_gates::{HealthGates, group_label};
use crate::output_file::{Access, write_output_file};
use crate::pipeline::{PlannedFleet, RolloutArgs, place_as_written_or_refuse, plan_fleet};
use crate::rfc3339::{check_writable, rfc3339};
use crate::tables::{TABLE_WIDTH, colours_wanted, finish_table, trimmed};

/// Plan the rollout: who is a canary, each node's rollout_wariness and Zincati reboot windows, when
/// each node becomes eligible for a release and when it reboots, and which host it runs on.
///
/// Windows are staggered so that no group ever has more than its max_unavailable nodes down (from a
/// window's opening to its close plus the reboot allowance) and the whole fleet stays within
/// max_concurrent_reboots, on real instants, across daylight-saving changes. Canaries reboot first;
/// cautious nodes only after the canaries have soaked, in the typical Fedora CoreOS rollout (Tuesday
/// 14:00 UTC, 48 hours) of every week, summer and winter.
///
/// Roles, wariness and windows (what `fleet render` and `fleet deploy` write into every node)
/// depend on the fleet file alone. The times are a prediction for one rollout: by default the
/// typical one starting the next Tuesday at 14:00 UTC; the --rollout-* options predict another one
/// without changing the plan, and if canaries would not come first in it, a warning says so. Times
/// in the table are in each group's time zone; JSON and CSV give UTC. Nothing is changed anywhere:
/// this only reads the fleet file.
///
/// Exit status: 0 planned (also with warnings), 1 the fleet is invalid or cannot be planned (the
/// message says why and what to change), 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet plan                                          plan ./fleet.toml for next Tuesday's rollout
  fleet plan --now 2026-01-05T00:00:00Z               predict the rollout of 2026-01-06
  fleet plan fleet/fleet.toml --rollout-start 2025-06-03T14:00:00Z --rollout-duration 24h
  fleet plan --rollout-start-fraction 0.1             10 % of nodes see the release at once
  fleet plan --format json | jq '.nodes[] | {name, reboot_at}'
  fleet plan --format csv > plan.csv
  fleet plan --airlock-config airlock.toml            also write airlock's config for fleet_lock groups")]
pub(crate) struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    fleet: PathBuf,

    #[command(flatten)]
    rollout: RolloutArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    format: PlanFormat,

    /// Also write an airlock configuration for the groups using fleet_lock (slots = max_unavailable).
    #[arg(long, value_name = "FILE")]
    airlock_config: Option<PathBuf>,
}

/// `fleet plan --format`: the plan's own formats (its JSON is a documented contract, and it has CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlanFormat {
    /// Aligned tables for people: nodes, then groups, then hosts.
    Table,
    /// The documented JSON contract (docs/planner.md).
    Json,
    /// One line per node.
    Csv,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let planned_fleet = plan_fleet(&args.fleet)?;
    let file = planned_fleet.file_name();
    let PlannedFleet { loaded, plan, .. } = planned_fleet;
    let planned = &plan;
    let prediction = predict(planned, &args.rollout.predict_options())?;
    check_writable(&prediction)?;
    let fleet = &loaded.fleet;
    let placed = place_as_written_or_refuse(&file, fleet)?;
    let health_gates = HealthGates::of(fleet);
    // What follows needs the plan, not the fleet: a million nodes' worth of memory less.
    drop(loaded);

    if let Some(path) = &args.airlock_config {
        let config = airlock_config(planned, &AirlockOptions::default())?;
        write_output_file(path, config.as_bytes(), Access::Default)?;
        eprintln!("wrote the airlock configuration to {}", path.display());
    }

    let view = PlanView::new(planned, &prediction, &placed, &health_gates);
    let mut stdout = crate::stdout::stdout();
    match args.format {
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &view)?;
            writeln!(stdout)?;
        }
        PlanFormat::Csv => {
            write_csv(&mut stdout, &view)?;
            // The CSV stays one line per node; warnings go beside it.
            for warning in &view.warnings {
                eprintln!("warning: {}", warning.message);
            }
        }
        PlanFormat::Table => write_tables(&mut stdout, &view, colours_wanted())?,
    }
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The JSON contract: see docs/planner.md before changing anything here.
///
/// The views borrow from the plan instead of copying it: a million-node plan is viewed in place.
#[derive(Debug, Serialize)]
struct PlanView<'a> {
    reboot_allowance_minutes: u32,
    staging_allowance_minutes: u32,
    recheck_minutes: u32,
    max_concurrent_reboots: Option<u32>,
    worst_concurrent_reboots: u64,
    rollout: RolloutView,
    groups: Vec<GroupView>,
    nodes: NodesView<'a>,
    hosts: Vec<HostView>,
    warnings: Vec<WarningView>,
}

/// A group whose cautious nodes the predicted rollout could let reboot before its canaries soaked.
#[derive(Debug, Serialize)]
struct WarningView {
    group: String,
    nodes: Vec<String>,
    soak_ends_at: String,
    earliest_reboot_at: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct RolloutView {
    start: String,
    duration_minutes: u32,
    start_fraction: f64,
}

#[derive(Debug, Serialize)]
struct GroupView {
    name: String,
    nodes: usize,
    canaries: usize,
    max_unavailable: usize,
    soak_minutes: u32,
    strategy: &'static str,
    time_zone: String,
    window_minutes: u32,
    reboot_allowance_minutes: u32,
    windows_available: Option<usize>,
    worst_concurrent_down: u64,
    soak_ends_at: Option<String>,
    first_reboot_at: Option<String>,
    last_reboot_at: Option<String>,
    /// Nodes of the group whose boots health checks gate (docs/health.md).
    health_gated_nodes: usize,
    #[serde(skip)]
    zone: Tz,
}

#[derive(Debug, Serialize)]
struct NodeView<'a> {
    name: &'a str,
    hostname: &'a str,
    group: &'a str,
    role: &'static str,
    rollout_wariness: f64,
    strategy: &'static str,
    time_zone: &'static str,
    windows: WindowsView<'a>,
    /// When the node's auto-updated containers update; absent for nodes without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    container_update: Option<ContainerUpdateView>,
    eligible_at: Rfc3339,
    reboot_at: Rfc3339,
    host: Option<&'a str>,
    /// Whether health checks gate the node's boots (docs/health.md).
    health_gated: bool,
    #[serde(skip)]
    pinned: bool,
    #[serde(skip)]
    zone: Tz,
}

/// Every node's view, each made as it is written out: a million-node plan is never copied.
#[derive(Debug, Clone, Copy)]
struct NodesView<'a> {
    plan: &'a Plan,
    prediction: &'a Prediction,
    placed: &'a PlacementPlan,
    /// Per node, in plan order (`Plan::nodes[i]` is `Fleet::nodes[i]`).
    health_gated: &'a [bool],
}

impl<'a> NodesView<'a> {
    /// Nodes in plan order; every lookup is by position or by hash.
    fn iter(self) -> impl Iterator<Item = NodeView<'a>> {
        self.plan
            .nodes
            .iter()
            .zip(&self.prediction.nodes)
            .enumerate()
            .map(move |(position, (node, predicted))| {
                let zone = self
                    .plan
                    .group(&node.group)
                    .map_or(Tz::UTC, |group| group.time_zone);
                let mut view = NodeView::new(
                    node,
                    predicted,
                    zone,
                    self.placed.placement.host_of(&node.name),
                );
                view.health_gated = self.health_gated.get(position).copied().unwrap_or(false);
                view
            })
    }
}

impl Serialize for NodesView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A node's windows, each one `[[updates.periodic.window]]` exactly as written to Zincati; also
/// `fleet inventory`'s `fleet_windows`.
#[derive(Debug, Clone, Copy)]
pub struct WindowsView<'a>(pub &'a [ZincatiWindow]);

impl Serialize for WindowsView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(WindowView::new))
    }
}

#[derive(Debug, Serialize)]
struct WindowView {
    days: Vec<&'static str>,
    start_time: String,
    length_minutes: u32,
}

impl WindowView {
    fn new(window: &ZincatiWindow) -> Self {
        WindowView {
            days: window
                .days
                .iter()
                .map(|day| day_abbreviation(*day))
                .collect(),
            start_time: window.start_time(),
            length_minutes: window.length_minutes,
        }
    }
}

#[derive(Debug, Serialize)]
struct ContainerUpdateView {
    days: Vec<&'static str>,
    start_time: String,
    time_zone: &'static str,
    /// How long the update is given (no more than the group's max_unavailable start within it).
    length_minutes: u32,
    /// `Tue–Thu 01:00`, for the table, with the zone when it is not the group's.
    #[serde(skip)]
    label: String,
}

impl ContainerUpdateView {
    fn new(time: &ContainerUpdateTime, group_zone: Tz) -> Self {
        let mut label = format!("{} {}", days_label(&time.days), time.start);
        if time.time_zone != group_zone {
            label.push(' ');
            label.push_str(time.time_zone.name());
        }
        ContainerUpdateView {
            days: time.days.iter().map(|day| day_abbreviation(*day)).collect(),
            start_time: time.start.to_string(),
            time_zone: time.time_zone.name(),
            length_minutes: time.window_minutes,
            label,
        }
    }
}

/// An instant, written as RFC 3339 in UTC when serialised.
#[derive(Debug, Clone, Copy)]
struct Rfc3339(DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(self.0))
    }
}

#[derive(Debug, Serialize)]
struct HostView {
    name: String,
    nodes: usize,
    allocated: ResourcesView,
    capacity: CapacityView,
}

#[derive(Debug, Serialize)]
struct ResourcesView {
    vcpus: u64,
    memory_mib: u64,
    disk_gib: u64,
}

#[derive(Debug, Serialize)]
struct CapacityView {
    vcpus: Option<u64>,
    memory_mib: Option<u64>,
    disk_gib: Option<u64>,
}

impl<'a> PlanView<'a> {
    /// Every lookup here is by position or by hash: a million-node plan is viewed in linear time.
    fn new(
        plan: &'a Plan,
        prediction: &'a Prediction,
        placed: &'a PlacementPlan,
        health_gates: &'a HealthGates,
    ) -> Self {
        let groups: Vec<GroupView> = plan
            .groups
            .iter()
            .zip(&prediction.groups)
            .zip(&health_gates.groups)
            .map(|((group, predicted), gated)| GroupView::new(group, predicted, *gated))
            .collect();
        let nodes = NodesView {
            plan,
            prediction,
            placed,
            health_gated: &health_gates.nodes,
        };
        PlanView {
            reboot_allowance_minutes: plan.reboot_allowance_minutes(),
            staging_allowance_minutes: prediction.staging_allowance_minutes,
            recheck_minutes: ZINCATI_RECHECK_MINUTES,
            max_concurrent_reboots: plan.max_concurrent_reboots,
            worst_concurrent_reboots: plan.worst_concurrent_reboots,
            rollout: RolloutView {
                start: rfc3339(prediction.rollout.start),
                duration_minutes: prediction.rollout.duration_minutes,
                start_fraction: prediction.rollout.start_fraction,
            },
            groups,
            nodes,
            hosts: placed
                .hosts
                .iter()
                .map(|host| HostView {
                    name: host.name.clone(),
                    nodes: host.nodes,
                    allocated: ResourcesView {
                        vcpus: host.allocated.vcpus,
                        memory_mib: host.allocated.memory_mib,
                        disk_gib: host.allocated.disk_gib,
                    },
                    capacity: CapacityView {
                        vcpus: host.capacity.vcpus,
                        memory_mib: host.capacity.memory_mib,
                        disk_gib: host.capacity.disk_gib,
                    },
                })
                .collect(),
            warnings: prediction.warnings.iter().map(WarningView::new).collect(),
        }
    }
}

impl WarningView {
    fn new(warning: &RolloutWarning) -> Self {
        WarningView {
            group: warning.group.clone(),
            nodes: warning.nodes.clone(),
            soak_ends_at: rfc3339(warning.soak_ends_at),
            earliest_reboot_at: rfc3339(warning.earliest_reboot_at),
            message: warning.to_string(),
        }
    }
}

impl GroupView {
    fn new(group: &GroupPlan, predicted: &GroupPrediction, health_gated_nodes: usize) -> Self {
        GroupView {
            name: group.name.clone(),
            nodes: group.nodes,
            canaries: group.canaries,
            max_unavailable: group.max_unavailable,
            soak_minutes: group.soak_minutes,
            strategy: group.strategy,
            time_zone: group.time_zone.name().to_owned(),
            window_minutes: group.window_minutes,
            reboot_allowance_minutes: group.reboot_allowance_minutes,
            windows_available: group.windows_available,
            worst_concurrent_down: group.worst_concurrent_down,
            soak_ends_at: predicted.soak_ends_at.map(rfc3339),
            first_reboot_at: predicted.first_reboot_at.map(rfc3339),
            last_reboot_at: predicted.last_reboot_at.map(rfc3339),
            health_gated_nodes,
            zone: group.time_zone,
        }
    }
}

impl<'a> NodeView<'a> {
    fn new(
        node: &'a NodePlan,
        predicted: &NodePrediction,
        zone: Tz,
        host: Option<&'a str>,
    ) -> Self {
        NodeView {
            name: &node.name,
            hostname: &node.hostname,
            group: &node.group,
            role: node.role.as_str(),
            rollout_wariness: node.rollout_wariness,
            strategy: node.strategy.name(),
            time_zone: node.time_zone().unwrap_or(zone).name(),
            windows: WindowsView(node.windows()),
            container_update: node
                .container_update
                .as_ref()
                .map(|time| ContainerUpdateView::new(time, zone)),
            eligible_at: Rfc3339(predicted.eligible_at),
            reboot_at: Rfc3339(predicted.reboot_at),
            host,
            health_gated: false,
            pinned: node.wariness_pinned,
            zone,
        }
    }
}

/// `Wed 04 01:00`: weekday, day of month and time in `zone` (a rollout spans days, not months).
/// Written field by field: a format string would be parsed again for each of a million rows.
fn local_short(time: DateTime<Utc>, zone: Tz) -> String {
    let local = zone.from_utc_datetime(&time.naive_utc());
    format!(
        "{} {:02} {:02}:{:02}",
        day_abbreviation(local.weekday()),
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// `Tue–Thu 01:00–01:30`, the end being the window's last admitted minute.
fn window_label(window: &ZincatiWindow) -> String {
    let start = u32::from(window.start.hour) * 60 + u32::from(window.start.minute);
    let end = (start + window.length_minutes) % 1440;
    format!(
        "{} {}–{:02}:{:02}",
        window.days_label(),
        window.start,
        end / 60,
        end % 60
    )
}

fn minutes_label(minutes: u32) -> String {
    match minutes {
        0 => "0".to_owned(),
        minutes if minutes % 60 == 0 => format!("{}h", minutes / 60),
        minutes => format!("{minutes}m"),
    }
}

/// The position of `NodeRow::container_updates` among the table's columns.
const CONTAINER_UPDATES_COLUMN: usize = 7;

#[derive(Tabled)]
struct NodeRow {
    #[tabled(rename = "NODE")]
    name: String,
    #[tabled(rename = "GROUP")]
    group: String,
    #[tabled(rename = "ROLE")]
    role: String,
    #[tabled(rename = "WARINESS")]
    wariness: String,
    #[tabled(rename = "WINDOWS")]
    windows: String,
    #[tabled(rename = "ELIGIBLE")]
    eligible: String,
    #[tabled(rename = "REBOOTS")]
    reboots: String,
    #[tabled(rename = "CONTAINERS")]
    container_updates: String,
    #[tabled(rename = "HOST")]
    host: String,
}

#[derive(Tabled)]
struct GroupRow {
    #[tabled(rename = "GROUP")]
    name: String,
    #[tabled(rename = "NODES")]
    nodes: usize,
    #[tabled(rename = "CANARIES")]
    canaries: usize,
    #[tabled(rename = "MAX DOWN")]
    max_unavailable: usize,
    #[tabled(rename = "PEAK")]
    worst: u64,
    #[tabled(rename = "SOAK")]
    soak: String,
    #[tabled(rename = "FIRST REBOOT")]
    first: String,
    #[tabled(rename = "LAST REBOOT")]
    last: String,
    #[tabled(rename = "ZONE")]
    zone: String,
    #[tabled(rename = "HEALTH")]
    health: String,
}

#[derive(Tabled)]
struct HostRow {
    #[tabled(rename = "HOST")]
    name: String,
    #[tabled(rename = "NODES")]
    nodes: usize,
    #[tabled(rename = "VCPUS")]
    vcpus: String,
    #[tabled(rename = "MEMORY MIB")]
    memory: String,
    #[tabled(rename = "DISK GIB")]
    disk: String,
}

fn used_of(used: u64, capacity: Option<u64>) -> String {
    match capacity {
        Some(capacity) => format!("{used}/{capacity}"),
        None => format!("{used}/?"),
    }
}

fn write_tables(out: &mut impl Write, view: &PlanView, colour: bool) -> anyhow::Result<()> {
    let start = DateTime::parse_from_rfc3339(&view.rollout.start)?.with_timezone(&Utc);
    writeln!(
        out,
        "Rollout from {} for {}, start fraction {}; staging allowance {}.",
        start.format("%a %Y-%m-%d %H:%M UTC"),
        minutes_label(view.rollout.duration_minutes),
        view.rollout.start_fraction,
        minutes_label(view.staging_allowance_minutes),
    )?;
    let with_container_updates = view
        .nodes
        .plan
        .nodes
        .iter()
        .any(|node| node.container_update.is_some());
    writeln!(
        out,
        "Times are in each group's zone; a node reboots within {} minutes after REBOOTS.\n\
         WARINESS * is pinned in the fleet file; PEAK is the most nodes of a group down at once.{}\n",
        view.recheck_minutes,
        if with_container_updates {
            "\nCONTAINERS is when a node's auto-updated containers update, every week."
        } else {
            ""
        }
    )?;

    let with_hosts = !view.hosts.is_empty();
    // Rows are made one at a time as the table takes them in.
    let rows = view.nodes.iter().map(|node| NodeRow {
        name: node.name.to_owned(),
        group: node.group.to_owned(),
        role: node.role.to_owned(),
        wariness: format!(
            "{:.3}{}",
            node.rollout_wariness,
            if node.pinned { "*" } else { "" }
        ),
        windows: if node.windows.0.is_empty() {
            node.strategy.to_owned()
        } else {
            node.windows
                .0
                .iter()
                .map(window_label)
                .collect::<Vec<_>>()
                .join("\n")
        },
        eligible: local_short(node.eligible_at.0, node.zone),
        reboots: local_short(node.reboot_at.0, node.zone),
        container_updates: node
            .container_update
            .as_ref()
            .map_or_else(|| "-".to_owned(), |time| time.label.clone()),
        host: node.host.unwrap_or_default().to_owned(),
    });
    let mut nodes = Table::new(rows);
    if !with_hosts {
        nodes.with(tabled::settings::Remove::column(
            tabled::settings::object::Columns::last(),
        ));
    }
    // Like HOST, the column appears only when it says something.
    if !with_container_updates {
        nodes.with(tabled::settings::Remove::column(
            tabled::settings::object::Columns::new(
                CONTAINER_UPDATES_COLUMN..CONTAINER_UPDATES_COLUMN + 1,
            ),
        ));
    }
    finish_table(&mut nodes, colour);
    if colour {
        for (index, node) in view.nodes.iter().enumerate() {
            if node.role == "canary" {
                nodes.modify(Cell::new(index + 1, 2), Color::FG_YELLOW);
            }
        }
    }
    // Line by line rather than `trimmed`: a million rows are a hundred megabytes not to copy twice.
    let text = nodes.to_string();
    drop(nodes);
    for line in text.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;

    let groups: Vec<GroupRow> = view
        .groups
        .iter()
        .map(|group| GroupRow {
            name: group.name.clone(),
            nodes: group.nodes,
            canaries: group.canaries,
            max_unavailable: group.max_unavailable,
            worst: group.worst_concurrent_down,
            soak: minutes_label(group.soak_minutes),
            first: group
                .first_reboot_at
                .as_deref()
                .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
                .map(|time| local_short(time.with_timezone(&Utc), group.zone))
                .unwrap_or_default(),
            last: group
                .last_reboot_at
                .as_deref()
                .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
                .map(|time| local_short(time.with_timezone(&Utc), group.zone))
                .unwrap_or_default(),
            zone: group.time_zone.clone(),
            health: group_label(group.health_gated_nodes, group.nodes),
        })
        .collect();
    let mut group_table = Table::new(&groups);
    finish_table(&mut group_table, colour);
    writeln!(out, "{}\n", trimmed(&group_table))?;

    if with_hosts {
        let hosts: Vec<HostRow> = view
            .hosts
            .iter()
            .map(|host| HostRow {
                name: host.name.clone(),
                nodes: host.nodes,
                vcpus: used_of(host.allocated.vcpus, host.capacity.vcpus),
                memory: used_of(host.allocated.memory_mib, host.capacity.memory_mib),
                disk: used_of(host.allocated.disk_gib, host.capacity.disk_gib),
            })
            .collect();
        let mut host_table = Table::new(&hosts);
        finish_table(&mut host_table, colour);
        writeln!(out, "{}\n", trimmed(&host_table))?;
    }

    match view.max_concurrent_reboots {
        Some(cap) => writeln!(
            out,
            "At most {} node{} of the fleet can be down at once (max_concurrent_reboots {cap}).",
            view.worst_concurrent_reboots,
            if view.worst_concurrent_reboots == 1 {
                ""
            } else {
                "s"
            }
        )?,
        None => writeln!(
            out,
            "At most {} node{} of the fleet can be down at once.",
            view.worst_concurrent_reboots,
            if view.worst_concurrent_reboots == 1 {
                ""
            } else {
                "s"
            }
        )?,
    }
    for warning in &view.warnings {
        let label = if colour {
            Color::FG_YELLOW.colorize("warning:")
        } else {
            "warning:".to_owned()
        };
        let wrapped = wrap_words(&format!("warning: {}", warning.message), TABLE_WIDTH);
        let wrapped = wrapped.strip_prefix("warning:").unwrap_or(&wrapped);
        writeln!(out, "\n{label}{wrapped}")?;
    }
    Ok(())
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word keeps its own
/// line), continuation lines indented by two spaces.
fn wrap_words(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let length = line.chars().count();
        if length > 0 && length + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
            line.push_str("  ");
        } else if length > 0 {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

fn write_csv(out: &mut impl Write, view: &PlanView) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "name",
        "hostname",
        "group",
        "role",
        "rollout_wariness",
        "strategy",
        "time_zone",
        "windows",
        "eligible_at",
        "reboot_at",
        "host",
        "container_update",
        "container_update_time_zone",
    ])?;
    for node in view.nodes.iter() {
        let windows = node
            .windows
            .0
            .iter()
            .map(WindowView::new)
            .map(|window| {
                format!(
                    "{} {} {}",
                    window.days.join("/"),
                    window.start_time,
                    window.length_minutes
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        // Written like a window: days, start, minutes given.
        let container_update = node
            .container_update
            .as_ref()
            .map_or_else(String::new, |time| {
                format!(
                    "{} {} {}",
                    time.days.join("/"),
                    time.start_time,
                    time.length_minutes
                )
            });
        writer.write_record([
            node.name,
            node.hostname,
            node.group,
            node.role,
            &node.rollout_wariness.to_string(),
            node.strategy,
            node.time_zone,
            windows.as_str(),
            &rfc3339(node.eligible_at.0),
            &rfc3339(node.reboot_at.0),
            node.host.unwrap_or(""),
            container_update.as_str(),
            node.container_update
                .as_ref()
                .map_or("", |time| time.time_zone),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        use crate::pipeline::parse_minutes;
        assert_eq!(parse_minutes("48h"), Ok(2880));
        assert_eq!(parse_minutes("90m"), Ok(90));
        assert_eq!(parse_minutes("2d"), Ok(2880));
        assert_eq!(parse_minutes("1d12h"), Ok(2160));
        assert_eq!(parse_minutes("4294967295m"), Ok(u32::MAX));
        let refused = |text: &str| parse_minutes(text).expect_err(text);
        assert_eq!(
            refused("12x"),
            "\"12x\" is not a duration; write e.g. 48h, 90m, 2d or 1d12h"
        );
        assert!(refused("h").ends_with("is not a duration; write e.g. 48h, 90m, 2d or 1d12h"));
        assert!(refused("").ends_with("is not a duration; write e.g. 48h, 90m, 2d or 1d12h"));
        // fleet.toml's grammar: units in the order d, h, m, each once, after a number.
        assert_eq!(
            refused("30m2h"),
            "\"30m2h\" is not a duration; write e.g. 48h, 90m, 2d or 1d12h; did you mean 2h30m?"
        );
        assert!(refused("1h1h").ends_with("did you mean 2h?"));
        assert!(refused("30").ends_with("did you mean 30m?"));
        assert_eq!(refused("0m"), "\"0m\" is not in 1m..=4294967295m");
        assert_eq!(refused("0"), "\"0\" is not in 1m..=4294967295m");
        assert_eq!(
            refused("4294967296m"),
            "\"4294967296m\" is not in 1m..=4294967295m"
        );
        assert_eq!(
            refused("99999999999999999999m"),
            "\"99999999999999999999m\" is not in 1m..=4294967295m"
        );
    }

    #[test]
    fn warnings_wrap_at_word_boundaries() {
        assert_eq!(
            wrap_words("warning: group web: in this rollout", 20),
            "warning: group web:\n  in this rollout"
        );
        assert_eq!(wrap_words("short", 20), "short");
        for line in wrap_words(&"word ".repeat(60), 30).lines() {
            assert!(line.chars().count() <= 30, "{line:?}");
        }
    }

    #[test]
    fn windows_read_as_ranges() {
        let window = ZincatiWindow {
            days: vec![fleet_spec::Weekday::Sat],
            start: fleet_spec::WallTime {
                hour: 23,
                minute: 50,
            },
            length_minutes: 30,
        };
        assert_eq!(window_label(&window), "Sat 23:50–00:20");
    }
}
