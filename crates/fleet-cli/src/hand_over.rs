//! Handing the connected commands to `fleet-connected`, the dynamically linked companion binary.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Subcommand as _;

use crate::ConnectedCommand;

/// The companion's file name.
const COMPANION: &str = "fleet-connected";

/// The environment variable that names the companion's path, for a companion installed elsewhere
/// (a test's, a packager's).
const COMPANION_VARIABLE: &str = "FLEET_CONNECTED";

/// `fleet`'s way to run a connected command: execute `fleet-connected` in place of this process
/// with the same arguments, so it keeps the process id (a signal to `fleet` reaches it), the
/// terminal and the exit status. It parses the command line again; returns only when the exec
/// fails.
pub fn exec_fleet_connected(_command: ConnectedCommand) -> anyhow::Result<ExitCode> {
    let companion = locate()?;
    let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
    tracing::debug!(companion = %companion.display(), "handing over to the companion");
    let error = Command::new(&companion).args(&arguments).exec();
    Err(anyhow::anyhow!(
        "cannot run {}: {error}",
        companion.display()
    ))
}

/// `FLEET_CONNECTED`, else `fleet-connected` beside this executable, else on `PATH`.
fn locate() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(COMPANION_VARIABLE) {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|directory| directory.join(COMPANION)));
    if let Some(path) = beside.as_deref().filter(|path| path.is_file()) {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|directory| directory.join(COMPANION))
        .find(|path| path.is_file())
    {
        return Ok(path);
    }
    anyhow::bail!(
        "{} run in {COMPANION}, the dynamically linked part of fleet (it loads libvirt, resolves \
         names and talks to the network), and it is neither beside this fleet ({}) nor on PATH; \
         build both with `cargo build --release --bin fleet --bin {COMPANION}` (or install with \
         `cargo install --path crates/{COMPANION}`)",
        connected_command_names(),
        beside
            .as_deref()
            .map_or_else(|| "?".to_owned(), |path| path.display().to_string())
    )
}

/// "deploy, status and destroy": the connected commands, as the clap definition names them.
fn connected_command_names() -> String {
    let definition = ConnectedCommand::augment_subcommands(clap::Command::new("fleet"));
    let names: Vec<&str> = definition
        .get_subcommands()
        .map(clap::Command::get_name)
        .collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}
