//! The `fleet` binary: thin glue between the command line, the pure cores and libvirt.
//!
//! Exit codes: 0 success, 1 the fleet (or input) is invalid or an operation failed, 2 usage error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod pipeline;
mod fleet_file;

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
struct Cli {
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

fn main() -> ExitCode {
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
        Command::Deploy(args) => cmd::deploy::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Destroy(args) => cmd::destroy::run(args),
        Command::Completions(args) => cmd::completions::run::<Cli>(args),
    };
    match result {
        Ok(code) => code,
        Err(error) if cmd::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `-v` counts map to levels here and nowhere else. `RUST_LOG` wins when set.
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
        .with_target(false)
        .without_time()
        .init();
}
