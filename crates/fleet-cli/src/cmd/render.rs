//! `fleet render`: every node's Ignition written to a directory (mode 0600, all or nothing) with a
//! manifest, or one node's Ignition or composed Butane printed for review.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use fleet_ignition::ignition::{JsonOptions, to_json};
use fleet_ignition::render;
use serde::{Deserialize, Serialize};

use crate::fleet_file::DEFAULT_FLEET_FILE;
use crate::node_payload::node_payload;
use crate::output_dir::{Update, WantedFile, update_directory};
use crate::pipeline::{self, NodeIgnition, RenderedFleet, Selection};

/// The manifest fleet writes beside the Ignition files.
const MANIFEST: &str = "manifest.json";

/// Render every node's Ignition config.
///
/// Each node's config is its Butane snippets (the fleet's, its group's, its own, merged in that
/// order by Ignition's rules) plus what fleet.toml generates for it: /etc/hostname, a
/// NetworkManager keyfile for static addressing, users, kernel arguments, the time zone, and the
/// Zincati fragments of the rollout plan (rollout_wariness, strategy, reboot windows; `fleet plan`
/// shows and explains them). A path fleet.toml generates wins over a snippet writing the same path,
/// with a warning.
///
/// With --out, writes DIR/NODE.ign for every node and DIR/manifest.json (node → sha256, spec
/// version), all or nothing: every file is written into a staging directory inside DIR first and
/// then renamed into place, and if anything fails, DIR is left as it was. A render killed midway
/// (SIGKILL, power loss) can leave DIR part old, part new: the next render finishes it and removes
/// the staging directory the killed one left (one still in use by a running render is left
/// alone, and so is anything named like one that holds what fleet never puts there). DIR (and
/// any parent fleet creates) is mode 0700, the files 0600. A file that already holds the same bytes (mode
/// 0600) is left alone. A directory, symlink, FIFO or device where a file must go is not
/// replaced: nothing is written and the error names it. The .ign file of a node no longer in the
/// fleet is removed when the previous manifest of this same fleet lists it and it still holds
/// what fleet wrote; nothing else is removed. The same fleet.toml gives byte-identical files,
/// whenever it is rendered: the plan depends on the fleet file alone, not on the date or on any
/// particular rollout.
/// With --node, prints one node's config on stdout instead (--butane: as Butane, for review).
///
/// Exit status: 0 rendered, 1 the fleet or a snippet is invalid or a file cannot be written
/// (nothing is changed), 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet render --out ignition/                     every node of ./fleet.toml
  fleet render fleet/fleet.toml --out /srv/ign --jobs 2
  fleet render --node web-01 --pretty              one node's Ignition on stdout
  fleet render --node web-01 --butane              what web-01 receives, as Butane")]
pub(crate) struct Args {
    /// The fleet file.
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    fleet: PathBuf,

    /// Write NODE.ign files and manifest.json into this directory (created if missing).
    #[arg(
        long,
        short,
        value_name = "DIR",
        required_unless_present = "node",
        conflicts_with = "node"
    )]
    out: Option<PathBuf>,

    /// Print this node's config on stdout instead of writing files.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,

    /// With --node: print the composed Butane instead of Ignition.
    #[arg(long, requires = "node")]
    butane: bool,

    /// With --node: indent the Ignition JSON.
    #[arg(long, short, requires = "node", conflicts_with = "butane")]
    pretty: bool,

    /// Render this many nodes at once (default: one per CPU).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024), allow_negative_numbers = true)]
    jobs: Option<u16>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global()
            .context("cannot start the render threads")?;
    }
    let planned = pipeline::plan_fleet(&args.fleet)?;
    match (&args.out, &args.node) {
        (_, Some(node)) => print_node(&planned, node, args.butane, args.pretty),
        (Some(out), None) => write_all(&planned, out),
        (None, None) => anyhow::bail!("give --out DIR or --node NAME"),
    }
}

fn print_node(
    planned: &pipeline::PlannedFleet,
    name: &str,
    butane: bool,
    pretty: bool,
) -> anyhow::Result<ExitCode> {
    // Rendering validates the node and prints its warnings; the other views reuse its composition.
    let names = [name.to_owned()];
    let rendered = pipeline::render_fleet(planned, Selection::Named(&names), &|| {})?;
    let text = if butane || pretty {
        let composed = compose(planned, name, rendered.version)?;
        if butane {
            render::to_butane(&composed.config, rendered.version)?
        } else {
            to_json(
                &composed.config,
                rendered.version,
                JsonOptions { pretty: true },
            )?
        }
    } else {
        rendered.nodes[0].json.clone()
    };
    let mut stdout = crate::stdout::stdout();
    stdout.write_all(text.as_bytes())?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The node's composed config, as `render_fleet` builds it (which has just translated every snippet
/// and rendered this node, so neither fails here).
fn compose(
    planned: &pipeline::PlannedFleet,
    name: &str,
    version: fleet_ignition::IgnitionVersion,
) -> anyhow::Result<render::ComposedNode> {
    let fleet = &planned.loaded.fleet;
    let node = fleet
        .node(name)
        .with_context(|| format!("no node named {name:?}"))?;
    let node_plan = planned
        .plan
        .node(name)
        .with_context(|| format!("node {name}: the planner gave it no plan"))?;
    let payload = node_payload(node, Some(node_plan))?;
    let snippets = pipeline::translate_snippets(&planned.loaded, &planned.files);
    Ok(render::compose_node(
        fleet,
        node,
        &snippets.library,
        &payload,
        version,
    )?)
}

/// `manifest.json`: what was rendered, for tools and for the next render's clean-up.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    fleet: String,
    ignition_version: String,
    /// Node name → hex SHA-256 of its .ign file.
    nodes: BTreeMap<String, String>,
}

fn write_all(planned: &pipeline::PlannedFleet, out: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let fleet = &planned.loaded.fleet;
    let progress = progress_bar(fleet.nodes.len() as u64);
    let rendered = pipeline::render_fleet(planned, Selection::All, &|| progress.inc(1))?;
    progress.finish_and_clear();

    let manifest = manifest_of(&fleet.name, &rendered);
    let mut manifest_text = serde_json::to_string_pretty(&manifest)?;
    manifest_text.push('\n');
    let stale = stale_files(out, read_manifest(out).as_ref(), &manifest);
    let file_names: Vec<String> = rendered
        .nodes
        .iter()
        .map(|node| ignition_file_name(&node.name))
        .collect();
    let update = Update {
        files: rendered
            .nodes
            .iter()
            .zip(&file_names)
            .map(|(node, name)| WantedFile {
                name,
                bytes: node.json.as_bytes(),
            })
            .collect(),
        remove: stale.removable,
        manifest: WantedFile {
            name: MANIFEST,
            bytes: manifest_text.as_bytes(),
        },
    };
    let outcome = update_directory(out, &update)
        .with_context(|| format!("cannot render fleet {} into {}", fleet.name, out.display()))?;

    let mut notes = Vec::new();
    if outcome.unchanged > 0 {
        notes.push(format!("{} already up to date", outcome.unchanged));
    }
    if outcome.removed > 0 {
        notes.push(format!(
            "removed {} of nodes no longer in the fleet",
            ign_files(outcome.removed)
        ));
    }
    if stale.kept > 0 {
        notes.push(format!(
            "kept {} of former nodes that changed since fleet wrote them",
            ign_files(stale.kept)
        ));
    }
    let swept = &outcome.swept;
    if !swept.removed.is_empty() {
        notes.push(format!(
            "removed {} a killed render had left",
            pipeline::count_of(
                swept.removed.len(),
                "staging directory",
                "staging directories"
            )
        ));
    }
    for (path, reason) in &swept.kept {
        eprintln!(
            "warning: {} is named like fleet's staging directory but was left alone: {reason}; remove it yourself if it is not yours",
            path.display()
        );
    }
    let summary = format!(
        "rendered {} of fleet {} (Ignition {}) into {} in {:.2} s{}",
        pipeline::count_of(rendered.nodes.len(), "node", "nodes"),
        fleet.name,
        rendered.version,
        out.display(),
        started.elapsed().as_secs_f64(),
        if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        }
    );
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// `1 .ign file`, `2 .ign files`.
fn ign_files(count: usize) -> String {
    format!("{count} .ign file{}", if count == 1 { "" } else { "s" })
}

fn ignition_file_name(node: &str) -> String {
    format!("{node}.ign")
}

fn manifest_of(fleet: &str, rendered: &RenderedFleet) -> Manifest {
    Manifest {
        fleet: fleet.to_owned(),
        ignition_version: rendered.version.to_string(),
        nodes: rendered
            .nodes
            .iter()
            .map(|NodeIgnition { name, sha256, .. }| (name.clone(), sha256.clone()))
            .collect(),
    }
}

/// The manifest of an earlier render: read only when it is a regular file (not a FIFO, device or
/// symlink a reader could hang on or be led out of DIR by) of at most `MAX_MANIFEST_BYTES`.
fn read_manifest(out: &Path) -> Option<Manifest> {
    let path = out.join(MANIFEST);
    let metadata = std::fs::symlink_metadata(&path).ok()?;
    if !metadata.is_file() || metadata.len() > MAX_MANIFEST_BYTES {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(MAX_MANIFEST_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// The largest manifest read back: a million nodes with 63-character names take about 140 MB.
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// Files of nodes that left the fleet.
#[derive(Debug, Default)]
struct StaleFiles {
    /// `NODE.ign` names to remove.
    removable: Vec<String>,
    /// Files of former nodes left in place because they no longer hold what fleet wrote.
    kept: usize,
}

/// The `NODE.ign` files an earlier render of this same fleet wrote for nodes that are gone. A name
/// is trusted only when the earlier manifest names this fleet, the name is a valid node name (so
/// `NODE.ign` is a plain file name inside DIR, never an absolute path or `..`), the file is a
/// regular file (a symlink is not followed), and it still holds the bytes the manifest recorded:
/// a planted manifest cannot make fleet delete anything else.
fn stale_files(out: &Path, previous: Option<&Manifest>, current: &Manifest) -> StaleFiles {
    let mut stale = StaleFiles::default();
    let Some(previous) = previous.filter(|previous| previous.fleet == current.fleet) else {
        return stale;
    };
    for (name, recorded) in previous
        .nodes
        .iter()
        .filter(|(name, _)| !current.nodes.contains_key(*name))
        .filter(|(name, _)| fleet_spec::check_node_name(name).is_ok())
    {
        let file_name = ignition_file_name(name);
        let path = out.join(&file_name);
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) if pipeline::hex_sha256(&bytes) == *recorded => {
                stale.removable.push(file_name);
            }
            _ => stale.kept += 1,
        }
    }
    stale
}

/// A bar on a terminal, nothing otherwise (the summary line says what happened).
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("rendering {bar:40} {pos}/{len} nodes ({per_sec})")
    {
        bar.set_style(style);
    }
    bar
}
