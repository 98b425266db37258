//! Finding and running the `fleet` binary under test.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The `fleet` binary under test: `FLEET_BIN` when set (as `cargo xtask test` and `e2e` do), else
/// built fresh once per test process (see `fresh_fleet_binary`), so a test never runs a stale one.
pub fn fleet_binary() -> Result<PathBuf> {
    fresh_fleet_binary()
}

/// The `fleet` binary, rebuilt once per test process: `FLEET_BIN` when set, else `cargo build` into this
/// test's own target directory and profile (a no-op when it is fresh), since `cargo test` does not rebuild
/// another package's binary and snapshot tests must never run a stale one.
pub fn fresh_fleet_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_fresh().map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_fresh() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("FLEET_BIN") {
        return Ok(PathBuf::from(path));
    }
    let test_binary = std::env::current_exe().context("cannot find the test binary")?;
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .context("the test binary is not inside a cargo target directory")?;
    let target_dir = profile_dir
        .parent()
        .context("the test binary is not inside a cargo target directory")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => bail!("unexpected profile directory {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "fleet-cli",
            "--bin",
            "fleet",
        ])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .context("cannot run cargo to build the fleet binary")?;
    let binary = profile_dir.join("fleet");
    if !status.success() || !binary.is_file() {
        bail!(
            "cannot build the fleet binary (expected at {})",
            binary.display()
        );
    }
    Ok(binary)
}

/// A `Command` for the `fleet` binary with a predictable environment (no colours, no user log level).
pub fn fleet_command() -> Result<Command> {
    let mut command = Command::new(fleet_binary()?);
    command.env_remove("RUST_LOG").env("NO_COLOR", "1");
    Ok(command)
}

/// Run `fleet ARGS` to completion and capture its output.
pub fn run_fleet<I, S>(arguments: I) -> Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = fleet_command()?;
    command.args(arguments);
    command
        .output()
        .with_context(|| format!("cannot run {command:?}"))
}

/// Start `fleet ARGS` in the background with stdout and stderr piped, e.g. to kill it midway
/// (`child.kill()` sends SIGKILL) and check that a second run converges.
pub fn spawn_fleet<I, S>(arguments: I) -> Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = fleet_command()?;
    command
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))
}
