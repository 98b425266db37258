//! Handing deploy, status and destroy to `fleet-provision`, the companion binary that links libvirt.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::Provision;
use crate::cmd::{deploy, destroy, status};

/// The companion's file name; `FLEET_PROVISION` names another path.
const COMPANION: &str = "fleet-provision";

/// Runs libvirt commands by executing `fleet-provision` in place of this process with the same
/// arguments: same process id (a signal to `fleet` reaches it), same terminal, same exit status.
#[derive(Debug, Clone, Copy)]
pub struct Companion;

impl Provision for Companion {
    fn deploy(&self, _args: deploy::Args) -> anyhow::Result<ExitCode> {
        hand_over()
    }

    fn status(&self, _args: status::Args) -> anyhow::Result<ExitCode> {
        hand_over()
    }

    fn destroy(&self, _args: destroy::Args) -> anyhow::Result<ExitCode> {
        hand_over()
    }
}

/// Replace this process with the companion; returns only when that fails.
fn hand_over() -> anyhow::Result<ExitCode> {
    let companion = locate()?;
    let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
    tracing::debug!(companion = %companion.display(), "handing over to the libvirt companion");
    let error = Command::new(&companion).args(&arguments).exec();
    Err(anyhow::anyhow!(
        "cannot run {}: {error}",
        companion.display()
    ))
}

/// `FLEET_PROVISION`, else `fleet-provision` beside this executable, else on `PATH`.
fn locate() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("FLEET_PROVISION") {
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
        "deploy, status and destroy run in {COMPANION}, the part of fleet that links libvirt, and it \
         is neither beside this fleet ({}) nor on PATH; build both with `cargo build --release \
         --bin fleet --bin {COMPANION}` (or install with `cargo install --path crates/{COMPANION}`)",
        beside
            .as_deref()
            .map_or_else(|| "?".to_owned(), |path| path.display().to_string())
    )
}
