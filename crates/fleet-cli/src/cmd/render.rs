//! `fleet render`: every node's Ignition written to a directory (mode 0600, atomically) with a
//! manifest, or one node's Ignition or composed Butane printed for review.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use fleet_ignition::ignition::{JsonOptions, to_json};
use fleet_ignition::render::{self, SnippetLibrary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::fleet_file::DEFAULT_FLEET_FILE;
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
/// With --out, writes DIR/NODE.ign for every node (mode 0600, each written atomically) and
/// DIR/manifest.json (node → sha256, spec version); a file that already holds the same bytes
/// (mode 0600) is left alone, and .ign files of nodes no longer in the fleet that an earlier
/// manifest lists are removed. The same fleet.toml gives byte-identical files,
/// whenever it is rendered: the plan depends on the fleet file alone, not on the date or on any
/// particular rollout.
/// With --node, prints one node's config on stdout instead (--butane: as Butane, for review).
///
/// Exit status: 0 rendered, 1 the fleet or a snippet is invalid (nothing is written), 2 usage error.
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
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
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
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The node's composed config, as `render_fleet` builds it.
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
        .nodes
        .iter()
        .find(|plan| plan.name == name)
        .with_context(|| format!("node {name}: the planner gave it no plan"))?;
    let fragments = pipeline::zincati_fragment_files(node_plan)?;
    let snippets = SnippetLibrary::translate(&planned.loaded.snippets, Some(&planned.files))
        .map_err(|errors| anyhow::anyhow!("{}", errors[0]))?;
    Ok(render::compose_node(
        fleet, node, &snippets, &fragments, version,
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

    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let previous = read_manifest(out);
    let unchanged = rendered
        .nodes
        .par_iter()
        .map(|node| {
            let path = out.join(format!("{}.ign", node.name));
            let bytes = node.json.as_bytes();
            if already_there(&path, bytes) {
                return Ok(1);
            }
            write_private(&path, bytes).map(|()| 0)
        })
        .collect::<anyhow::Result<Vec<usize>>>()?
        .into_iter()
        .sum::<usize>();
    let manifest = manifest_of(&fleet.name, &rendered);
    let mut manifest_text = serde_json::to_string_pretty(&manifest)?;
    manifest_text.push('\n');
    let manifest_path = out.join(MANIFEST);
    if !already_there(&manifest_path, manifest_text.as_bytes()) {
        write_private(&manifest_path, manifest_text.as_bytes())?;
    }
    let removed = remove_stale(out, previous.as_ref(), &manifest)?;

    let mut notes = Vec::new();
    if unchanged > 0 {
        notes.push(format!("{unchanged} already up to date"));
    }
    if removed > 0 {
        notes.push(format!("removed {removed} stale .ign files"));
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

fn read_manifest(out: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(out.join(MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Remove NODE.ign files an earlier manifest lists for nodes that are gone; nothing else.
fn remove_stale(
    out: &Path,
    previous: Option<&Manifest>,
    current: &Manifest,
) -> anyhow::Result<usize> {
    let Some(previous) = previous else {
        return Ok(0);
    };
    let mut removed = 0;
    for name in previous
        .nodes
        .keys()
        .filter(|name| !current.nodes.contains_key(*name))
    {
        let path = out.join(format!("{name}.ign"));
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot remove {}", path.display()));
            }
        }
    }
    Ok(removed)
}

/// Whether `path` is already a private regular file holding exactly `bytes`: rewriting it would
/// change nothing but its modification time (and cost a create and a rename per node).
fn already_there(path: &Path, bytes: &[u8]) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return false;
    };
    metadata.is_file()
        && metadata.permissions().mode() & 0o7777 == 0o600
        && metadata.len() == bytes.len() as u64
        && std::fs::read(path).is_ok_and(|existing| existing == bytes)
}

/// Write `bytes` to `path` atomically (a temporary file in the same directory, then a rename),
/// readable by the owner only: Ignition carries password hashes and keys.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".fleet-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(directory)
        .with_context(|| format!("cannot create a file in {}", directory.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
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
