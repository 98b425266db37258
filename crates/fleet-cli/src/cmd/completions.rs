//! `fleet completions SHELL`: shell completion scripts generated from the command definitions.

use std::io::Write as _;
use std::process::ExitCode;

/// Print a shell completion script.
///
/// Example: fleet completions bash > /etc/bash_completion.d/fleet
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to generate completions for.
    shell: clap_complete::Shell,
}

pub(crate) fn run<C: clap::CommandFactory>(args: Args) -> anyhow::Result<ExitCode> {
    let mut command = C::command();
    // Into memory first: clap_complete panics when its writer fails (a full disk behind `>`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "fleet", &mut script);
    let mut stdout = crate::stdout::stdout();
    stdout.write_all(&script)?;
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}
