//! Hostile output targets for the tests of fleet's output files: FIFOs, device nodes made in the
//! test's own directory (never the system's /dev/null or /dev/full), immutable files, and running
//! fleet with a deadline where the code under test could block on one of them forever.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// `mkfifo PATH`.
pub fn make_fifo(path: &Path) -> Result<()> {
    run_tool(Command::new("mkfifo").arg(path))
}

/// A character device node at `path` with the kernel's numbers `major:minor` (1:3 is null, 1:7 is
/// full), or `None` when this process may not make one (only root may): the caller then uses the
/// system's own device and checks that it is still a device afterwards.
pub fn make_char_device(path: &Path, major: u32, minor: u32) -> Option<PathBuf> {
    let status = Command::new("mknod")
        .arg(path)
        .arg("c")
        .arg(major.to_string())
        .arg(minor.to_string())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| path.to_path_buf())
}

/// Set or clear the immutable attribute (`chattr +i`/`-i`): nothing, root included, may rename,
/// replace or link such a file. Fails where the file system or the user cannot.
pub fn set_immutable(path: &Path, immutable: bool) -> Result<()> {
    run_tool(
        Command::new("chattr")
            .arg(if immutable { "+i" } else { "-i" })
            .arg(path),
    )
}

/// Whether `chattr +i` works in `directory` (root on ext4, xfs, btrfs; not tmpfs).
pub fn immutable_files_supported(directory: &Path) -> bool {
    let probe = directory.join(".immutable-probe");
    if std::fs::write(&probe, b"probe").is_err() {
        return false;
    }
    let supported = set_immutable(&probe, true).is_ok();
    if supported {
        let _ = set_immutable(&probe, false);
    }
    let _ = std::fs::remove_file(&probe);
    supported
}

fn run_tool(command: &mut Command) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// What a bounded run printed.
#[derive(Debug)]
pub struct BoundedOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Run `command` (stdin closed, stdout and stderr captured) and fail, after killing it, when it
/// has not finished within `limit`: a FIFO opened for reading, say, would block it forever.
pub fn output_within(command: &mut Command, limit: Duration) -> Result<BoundedOutput> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let drain = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for the child")? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{command:?} did not finish within {limit:?} (blocked on a FIFO?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(BoundedOutput {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
    })
}
