//! `fleet-connected`: the dynamically linked half of fleet, the companion of the static `fleet`.
//!
//! It runs the connected commands (`fleet_cli::ConnectedCommand`: those that load libvirt, and
//! soon those that resolve names through NSS or talk to the network), which `fleet` hands to it by
//! executing it in its own place. It parses the same command line as `fleet` and runs every
//! command in process, so it can also be run directly.

use std::process::ExitCode;

use fleet_cli::ConnectedCommand;

mod cmd;
mod deploy_input;
mod desired;
mod digest_cache;
mod fleet_diff;
mod node_health;
mod placement;
mod progress;
mod targets;
mod views;

fn main() -> ExitCode {
    fleet_cli::main(run)
}

/// Every connected command, in this process: one arm per variant of `ConnectedCommand`.
fn run(command: ConnectedCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConnectedCommand::Deploy(args) => cmd::deploy::run(args),
        ConnectedCommand::Diff(args) => cmd::diff::run(args),
        ConnectedCommand::Status(args) => cmd::status::run(args),
        ConnectedCommand::Destroy(args) => cmd::destroy::run(args),
        ConnectedCommand::Image(args) => cmd::image::run(args),
        ConnectedCommand::Inventory(args) => cmd::inventory::run(args),
    }
}
