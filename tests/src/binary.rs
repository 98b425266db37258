//! Finding and running the `fleet` binary under test.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The `fleet` binary under test: `FLEET_BIN` when set (as `cargo xtask test` and `e2e` do), else
/// built fresh once per test process (see `fresh_fleet_binary`), so a test never runs a stale one.
pub fn fleet_binary() -> Result<PathBuf> {
    fresh_fleet_binary()
}

/// The `fleet` binary (with `fleet-connected` beside it, which runs the connected commands),
/// rebuilt once per test process: `FLEET_BIN` when set, else `cargo build` into this
/// test's own target directory and profile (a no-op when it is fresh), since `cargo test` does not rebuild
/// another package's binary and snapshot tests must never run a stale one.
pub fn fresh_fleet_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_fresh().map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Where cargo put this test binary: the target directory and the profile, so that what a test
/// builds or checks with a nested cargo shares this build's artefacts.
#[derive(Debug, Clone)]
pub struct TestBuild {
    pub target_dir: PathBuf,
    /// The profile's directory, `<target>/debug` for `dev`.
    pub profile_dir: PathBuf,
    /// The profile's name for `--profile`.
    pub profile: String,
}

/// The target directory and profile of the running test binary (`<target>/<profile>/deps/TEST`).
pub fn test_build() -> Result<TestBuild> {
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
    Ok(TestBuild {
        target_dir: target_dir.to_path_buf(),
        profile_dir: profile_dir.to_path_buf(),
        profile: profile.to_owned(),
    })
}

fn build_fresh() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("FLEET_BIN") {
        return Ok(PathBuf::from(path));
    }
    let TestBuild {
        target_dir,
        profile_dir,
        profile,
    } = test_build()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "fleet-cli",
            "--package",
            "fleet-connected",
            "--bin",
            "fleet",
            "--bin",
            "fleet-connected",
        ])
        .args(["--profile", &profile])
        .arg("--target-dir")
        .arg(&target_dir)
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

/// A `Command` for the `fleet` binary with a predictable environment (no colours, no user log
/// level, and its cache, where deploy remembers base image digests, beside the binary instead of in
/// the user's home).
pub fn fleet_command() -> Result<Command> {
    let binary = fleet_binary()?;
    let cache = binary.parent().map_or_else(
        || PathBuf::from("fleet-tests-cache"),
        |directory| directory.join("fleet-tests-cache"),
    );
    let mut command = Command::new(binary);
    command
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", cache);
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

/// A finished `fleet ... --format json` run: its exit status, its parsed stdout and its stderr.
#[derive(Debug)]
pub struct JsonRun {
    pub status: ExitStatus,
    pub json: Value,
    pub stderr: String,
}

/// Run `fleet ARGS --format json` and parse what it prints; a run whose stdout is not JSON is an
/// error carrying its stderr.
pub fn run_fleet_json<I, S>(arguments: I) -> Result<JsonRun>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = fleet_command()?;
    command.args(arguments).args(["--format", "json"]);
    let output = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{command:?} ({}) printed no JSON; stdout:\n{}\nstderr:\n{stderr}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    Ok(JsonRun {
        status: output.status,
        json,
        stderr,
    })
}

/// What `fleet render FLEET --out DIR` wrote: every node's Ignition bytes and `manifest.json`'s
/// sha256 per node.
#[derive(Debug)]
pub struct RenderedFleet {
    pub ignition: BTreeMap<String, Vec<u8>>,
    pub manifest: BTreeMap<String, String>,
}

/// Render `fleet_toml` into `out` with the binary under test and read the result back.
pub fn render_fleet(fleet_toml: &Path, out: &Path) -> Result<RenderedFleet> {
    let output = run_fleet([
        "render".as_ref(),
        fleet_toml.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])?;
    if !output.status.success() {
        bail!(
            "fleet render {} failed ({}): {}",
            fleet_toml.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let manifest_path = out.join("manifest.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", manifest_path.display()))?;
    let nodes = manifest["nodes"]
        .as_object()
        .with_context(|| format!("{} has no `nodes` object", manifest_path.display()))?;
    let mut rendered = RenderedFleet {
        ignition: BTreeMap::new(),
        manifest: BTreeMap::new(),
    };
    for (node, sha256) in nodes {
        let sha256 = sha256
            .as_str()
            .with_context(|| format!("manifest entry of {node} is not a string"))?;
        let path = out.join(format!("{node}.ign"));
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        rendered.manifest.insert(node.clone(), sha256.to_owned());
        rendered.ignition.insert(node.clone(), bytes);
    }
    Ok(rendered)
}

/// A `fleet` run that was killed with SIGKILL once its stderr showed a given line.
#[derive(Debug)]
pub struct KilledRun {
    /// The stderr line that triggered the kill; `None` when the run ended on its own first.
    pub killed_at: Option<String>,
    /// Every stderr line read before the kill (or the end).
    pub stderr: Vec<String>,
    pub status: ExitStatus,
}

/// Start `fleet ARGS`, read its stderr line by line, and SIGKILL it as soon as `kill_when(line)`
/// holds: synchronised on what the process reports, never on a sleep. Gives up (kills it and fails)
/// after `limit`.
pub fn run_fleet_and_kill_when<I, S>(
    arguments: I,
    limit: Duration,
    mut kill_when: impl FnMut(&str) -> bool,
) -> Result<KilledRun>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child = spawn_fleet(arguments)?;
    let stderr = child.stderr.take().context("fleet's stderr is not piped")?;
    let mut stdout = child.stdout.take().context("fleet's stdout is not piped")?;
    // Drain stdout so the child never blocks on a full pipe; the lines come through a channel so
    // the wait below has a deadline.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut killed_at = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(remaining) {
            Ok(line) => {
                let matched = kill_when(&line);
                seen.push(line.clone());
                if matched {
                    // SIGKILL: no destructor, no cleanup of fleet's own, as a crash or power loss.
                    child.kill().context("cannot kill fleet")?;
                    killed_at = Some(line);
                    break;
                }
            }
            // The process closed stderr: it ended on its own.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "fleet showed no matching line within {limit:?}; its stderr so far:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let status = child.wait().context("cannot wait for fleet")?;
    Ok(KilledRun {
        killed_at,
        stderr: seen,
        status,
    })
}

/// The most memory (address space) a bounded run may take: far above what any command needs here,
/// far below what the machine has, so a run that reads an endless file fails instead of eating it.
pub const BOUNDED_MEMORY_KIB: u64 = 2 * 1024 * 1024;

/// Run `fleet ARGS` with `stdin`, its address space limited to `BOUNDED_MEMORY_KIB` (`ulimit -v`)
/// and its time to `limit`: a test of what fleet does with `/dev/zero`, a FIFO or a huge file must
/// fail, not hang or exhaust the machine, when fleet regresses. A run still going after `limit` is
/// killed (by its own pid) and reported as an error.
pub fn run_fleet_bounded<I, S>(arguments: I, stdin: Stdio, limit: Duration) -> Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output_dir = tempfile::tempdir().context("cannot create a directory for fleet's output")?;
    let stdout_path = output_dir.path().join("stdout");
    let stderr_path = output_dir.path().join("stderr");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            r#"ulimit -v {BOUNDED_MEMORY_KIB} && exec "$0" "$@""#
        ))
        .arg(fleet_binary()?)
        .args(arguments)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(stdin)
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let finished = crate::poll::wait_for("fleet to finish", limit, || child.try_wait().transpose());
    let status = match finished {
        Ok(status) => status.context("cannot wait for fleet")?,
        Err(timeout) => {
            child.kill().context("cannot kill fleet")?;
            let _ = child.wait();
            bail!(
                "{command:?}: {timeout}; stderr so far:\n{}",
                String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap_or_default())
            );
        }
    };
    Ok(Output {
        status,
        stdout: std::fs::read(&stdout_path)?,
        stderr: std::fs::read(&stderr_path)?,
    })
}
