//! `fleet plan`: placeholder until its issue lands.

use std::process::ExitCode;

/// Not yet implemented.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`fleet plan` is not implemented yet")
}
