//! `fleet-provision`: the part of fleet that links libvirt. `fleet` hands deploy, status and
//! destroy to it; it accepts the same command line as `fleet` and runs every command in process.

use std::process::ExitCode;

use fleet_cli::cmd::{deploy as deploy_args, destroy as destroy_args, status as status_args};

mod deploy;
mod destroy;
mod status;

/// Deploy, status and destroy against libvirt, in this process.
struct InProcess;

impl fleet_cli::Provision for InProcess {
    fn deploy(&self, args: deploy_args::Args) -> anyhow::Result<ExitCode> {
        deploy::run(args)
    }

    fn status(&self, args: status_args::Args) -> anyhow::Result<ExitCode> {
        status::run(args)
    }

    fn destroy(&self, args: destroy_args::Args) -> anyhow::Result<ExitCode> {
        destroy::run(args)
    }
}

fn main() -> ExitCode {
    fleet_cli::main(&InProcess)
}
