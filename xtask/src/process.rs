//! Running external programs from xtask: echo what runs, fail loudly with the command line when it fails.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The command line as a person would type it, for logs and error messages.
pub(crate) fn display(command: &Command) -> String {
    let mut words = vec![shell_quote(command.get_program())];
    words.extend(command.get_args().map(shell_quote));
    words.join(" ")
}

fn shell_quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let is_plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if is_plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Run a command with inherited stdio after echoing it; a non-zero exit is an error naming the command.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let line = display(command);
    eprintln!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Run a command quietly and return its stdout; on failure the error carries its stderr.
pub(crate) fn output(command: &mut Command) -> Result<String> {
    let line = display(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{line}` printed non-UTF-8 output"))
}

/// The `cargo` that runs xtask, so nested builds use the same toolchain.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The workspace root: xtask lives one level below it.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` at run time too; preferring that over the compile-time value
/// keeps a binary reused from a shared target directory pointed at the checkout it was run from.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Cargo's target directory, as cargo itself reports it (honours `CARGO_TARGET_DIR` and
/// `build.target-dir` in any cargo config); `<root>/target` if cargo cannot be asked.
pub(crate) fn target_dir() -> PathBuf {
    static TARGET_DIR: OnceLock<PathBuf> = OnceLock::new();
    TARGET_DIR
        .get_or_init(|| {
            let reported = output(cargo().current_dir(workspace_root()).args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
            ]))
            .ok()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|metadata| metadata["target_directory"].as_str().map(PathBuf::from));
            reported.unwrap_or_else(|| workspace_root().join("target"))
        })
        .clone()
}

/// Whether this process runs as root (apt and the system libvirt daemons need it).
pub(crate) fn is_root() -> Result<bool> {
    Ok(output(Command::new("id").arg("-u"))?.trim() == "0")
}

/// Whether we run in CI (`CI=true`, as most CI systems and `.ci/run` set it).
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}
