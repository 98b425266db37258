//! The `fleet` binary: every command in process but the connected ones, which it hands to `fleet-connected`.

use std::process::ExitCode;

fn main() -> ExitCode {
    fleet_cli::main(fleet_cli::hand_over::exec_fleet_connected)
}
