//! The `fleet` binary: everything but libvirt in process; deploy, status and destroy handed to `fleet-provision`.

use std::process::ExitCode;

fn main() -> ExitCode {
    fleet_cli::main(&fleet_cli::Companion)
}
