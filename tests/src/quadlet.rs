//! podman's real quadlet generator, the one `cargo xtask test` fetches from Debian trixie:
//! `FLEET_QUADLET_BIN`, else `<target>/quadlet/quadlet`. Without it a test skips with a message on a
//! developer box and fails in CI, as the Ignition twin does.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::e2e::{in_ci, say, target_dir};

/// The generator for the test `test_name`, or `None` when it is to be skipped (never in CI).
pub fn host_quadlet(test_name: &str) -> Option<PathBuf> {
    let binary = match std::env::var_os("FLEET_QUADLET_BIN") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "test `{test_name}`: FLEET_QUADLET_BIN={} is not a file",
                path.display()
            );
            path
        }
        None => target_dir().join("quadlet").join("quadlet"),
    };
    if binary.is_file() {
        return Some(binary);
    }
    let reason = format!(
        "needs podman's quadlet generator at {} (`cargo xtask test` fetches it from Debian trixie's podman)",
        binary.display()
    );
    if in_ci() {
        panic!("test `{test_name}` cannot be skipped in CI: it {reason}");
    }
    say(&format!("SKIPPED test `{test_name}`: it {reason}"));
    None
}

/// podman's own `podman-auto-update.timer` and `.service` beside the generator (`cargo xtask quadlet`
/// copies them from the same package): `units/system` or `units/user`.
pub fn shipped_units(binary: &Path, user: bool) -> PathBuf {
    let scope = if user { "user" } else { "system" };
    binary
        .parent()
        .map(|directory| directory.join("units").join(scope))
        .unwrap_or_default()
}

/// What `quadlet -dryrun` made of the quadlets in `directory` (`-user`: as a user's generator):
/// its exit status and its output, the generated units each after a `---NAME---` line.
#[derive(Debug)]
pub struct Generated {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn dry_run(binary: &Path, directory: &Path, user: bool) -> Result<Generated> {
    let mut command = Command::new(binary);
    command.env("QUADLET_UNIT_DIRS", directory).arg("-dryrun");
    if user {
        command.arg("-user");
    }
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    Ok(Generated {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

impl Generated {
    /// The generated unit `name` (e.g. `site.service`), without its `---name---` line.
    pub fn unit(&self, name: &str) -> Option<&str> {
        let marker = format!("---{name}---\n");
        let start = self.stdout.find(&marker)? + marker.len();
        let rest = &self.stdout[start..];
        Some(&rest[..rest.find("\n---").map_or(rest.len(), |end| end + 1)])
    }
}
