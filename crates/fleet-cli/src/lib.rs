//! The `fleet` command line: argument definitions, every command that needs no libvirt, and the
//! shared glue (loading, planning, rendering, tables) that `fleet-provision` builds on.
//!
//! The `fleet` binary never links libvirt, so that `fleet butane`, `check`, `plan` and `render`
//! start in about a millisecond (loading libvirt and its 50-odd libraries costs 10–20 ms). The
//! commands that talk to libvirt — deploy, status, destroy — run in the companion binary
//! `fleet-provision`, which `fleet` executes in its own place (same process id, same arguments).
//!
//! Exit codes: 0 success, 1 the fleet (or input) is invalid or an operation failed, 2 usage error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cmd;
pub mod colour;
pub mod fleet_file;
pub mod local_files;
pub mod node_payload;
pub mod output_dir;
pub mod output_file;
pub mod pipeline;
pub mod rfc3339;
pub mod stdout;
pub mod tables;
pub mod verify;

mod companion;

pub use companion::Companion;

/// Run a fleet of self-updating Fedora CoreOS machines on libvirt.
///
/// Describe the whole fleet in one fleet.toml (groups of nodes, Butane snippets, users,
/// addresses and a rollout policy); fleet checks it, translates Butane to Ignition, plans
/// staggered Zincati reboot windows and provisions every node on libvirt.
#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(cmd::check::Args),
    Nodes(cmd::nodes::Args),
    Schema(cmd::schema::Args),
    Butane(cmd::butane::Args),
    Plan(cmd::plan::Args),
    Render(cmd::render::Args),
    Deploy(cmd::deploy::Args),
    Status(cmd::status::Args),
    Destroy(cmd::destroy::Args),
    Completions(cmd::completions::Args),
}

/// The commands that talk to libvirt: run in process by `fleet-provision`, handed over to it by
/// `fleet` ([`Companion`]).
pub trait Provision {
    fn deploy(&self, args: cmd::deploy::Args) -> anyhow::Result<ExitCode>;
    fn status(&self, args: cmd::status::Args) -> anyhow::Result<ExitCode>;
    fn destroy(&self, args: cmd::destroy::Args) -> anyhow::Result<ExitCode>;
}

/// Parse the command line and run it; `provision` runs deploy, status and destroy.
pub fn main(provision: &dyn Provision) -> ExitCode {
    if let Some(code) = cmd::butane::fast_path() {
        return code;
    }
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Nodes(args) => cmd::nodes::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Butane(args) => cmd::butane::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Deploy(args) => provision.deploy(args),
        Command::Status(args) => provision.status(args),
        Command::Destroy(args) => provision.destroy(args),
        Command::Completions(args) => cmd::completions::run::<Cli>(args),
    };
    exit_code(result)
}

/// A command's result as the process's exit status; errors are printed here, once. A closed
/// pipe on stdout is success (see `stdout`).
pub(crate) fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) if stdout::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, coloured only on a terminal without NO_COLOR; `-v` counts map to levels
/// here and nowhere else. `RUST_LOG` wins when set.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour::on_stderr())
        .with_target(false)
        .without_time()
        .init();
}
