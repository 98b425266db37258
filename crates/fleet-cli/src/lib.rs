//! The `fleet` command line: argument definitions, every command that runs in the static `fleet`
//! binary, and the shared glue (loading, planning, rendering, tables) that `fleet-connected` builds on.
//!
//! Two binaries parse this one command line. `fleet` is linked statically and loads no libvirt, so
//! that `fleet butane`, `check`, `plan` and `render` start in about a millisecond (loading libvirt and
//! its 50-odd libraries costs 10–20 ms). The connected commands ([`ConnectedCommand`]: the ones that
//! load libvirt, resolve names through NSS or talk to the network) run in the dynamically linked
//! companion `fleet-connected`, which `fleet` executes in its own place (same process id, same
//! arguments, same exit status).
//!
//! Exit codes: 0 success, 1 the fleet (or input) is invalid or an operation failed, 2 usage error;
//! `fleet diff` exits 2 when something would change, and 1 for usage errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod ansible_inventory;
pub mod cmd;
pub mod colour;
pub mod container_update_timers;
pub mod fleet_file;
pub mod hand_over;
pub mod health_gates;
pub mod health_report;
pub mod local_files;
pub mod node_payload;
pub mod output_dir;
pub mod output_file;
pub mod output_staging;
pub mod pipeline;
pub mod rfc3339;
pub mod stdout;
pub mod tables;
pub mod verify;

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
    Inventory(cmd::inventory::Args),
    #[command(flatten)]
    Connected(ConnectedCommand),
    Completions(cmd::completions::Args),
}

/// The commands that run in `fleet-connected`, the dynamically linked companion: they load libvirt,
/// resolve names through NSS or talk to the network, none of which the static `fleet` binary does.
/// Being a variant here is what makes a command one of them: `fleet` hands every one over
/// ([`hand_over::exec_fleet_connected`]), and the companion's `run` must match each.
#[derive(Debug, Subcommand)]
pub enum ConnectedCommand {
    Deploy(cmd::deploy::Args),
    Diff(cmd::diff::Args),
    Status(cmd::status::Args),
    Destroy(cmd::destroy::Args),
    Image(cmd::image::Args),
    /// `fleet inventory --addresses libvirt`: the inventory with the DHCP leases libvirt knows.
    /// Parsed as `fleet inventory`, so not a subcommand of its own.
    #[command(skip)]
    Inventory(cmd::inventory::Args),
}

/// What a binary does with a connected command: `fleet` executes `fleet-connected` in its place,
/// `fleet-connected` runs the command in process.
pub type RunConnected = fn(ConnectedCommand) -> anyhow::Result<ExitCode>;

/// Parse the command line and run it: connected commands through `run_connected`, all others here.
pub fn main(run_connected: RunConnected) -> ExitCode {
    if let Some(code) = cmd::butane::fast_path() {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Nodes(args) => cmd::nodes::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::Butane(args) => cmd::butane::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Inventory(args) if args.reads_libvirt() => {
            run_connected(ConnectedCommand::Inventory(args))
        }
        Command::Inventory(args) => cmd::inventory::run(args),
        Command::Connected(command) => run_connected(command),
        Command::Completions(args) => cmd::completions::run::<Cli>(args),
    };
    exit_code(result)
}

/// A command line clap refuses: its message, and exit status 2, except for `fleet diff`, whose 2
/// means "changes" (as terraform's `-detailed-exitcode`): a CI gate must not read a typo as a diff,
/// so its usage errors exit with 1. Help and version requests print and succeed as usual.
fn usage_error(error: &clap::Error) -> ExitCode {
    let refused = error.use_stderr();
    // Printing fails only when the stream is gone; the status says what happened anyway.
    let _ = error.print();
    if !refused {
        return ExitCode::SUCCESS;
    }
    let subcommand = std::env::args_os()
        .skip(1)
        .find(|argument| !argument.as_encoded_bytes().starts_with(b"-"));
    if subcommand.is_some_and(|name| name == "diff") {
        ExitCode::FAILURE
    } else {
        ExitCode::from(2)
    }
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
