//! The real Ansible (`ansible-core` and `ansible-lint` from PyPI, pinned in
//! `xtask/ansible-requirements.txt`) for the tests: `FLEET_ANSIBLE_BIN_DIR` (set by
//! `cargo xtask test`), else `<target>/ansible/venv/bin` (`cargo xtask ansible` installs it). Without
//! it a test skips with a message on a developer box and fails in CI, like the Ignition twin.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};

use crate::e2e::{in_ci, say, target_dir};

/// The virtual environment's `bin/` with ansible-inventory, ansible-playbook, ansible-galaxy and
/// ansible-lint.
#[derive(Debug, Clone)]
pub struct RealAnsible {
    pub bin_dir: PathBuf,
}

/// Ansible for the test `test_name`, or `None` when it is to be skipped (never in CI).
pub fn real_ansible(test_name: &str) -> Option<RealAnsible> {
    let bin_dir = match std::env::var_os("FLEET_ANSIBLE_BIN_DIR") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.join("ansible-playbook").is_file(),
                "test `{test_name}`: FLEET_ANSIBLE_BIN_DIR={} holds no ansible-playbook",
                path.display()
            );
            path
        }
        None => target_dir().join("ansible").join("venv").join("bin"),
    };
    if bin_dir.join("ansible-playbook").is_file() && bin_dir.join("ansible-lint").is_file() {
        return Some(RealAnsible { bin_dir });
    }
    let reason = format!(
        "needs the real Ansible in {} (`cargo xtask ansible` installs it; `cargo xtask test` does \
         before it runs the tests)",
        bin_dir.display()
    );
    if in_ci() {
        panic!("test `{test_name}` cannot be skipped in CI: it {reason}");
    }
    say(&format!("SKIPPED test `{test_name}`: it {reason}"));
    None
}

impl RealAnsible {
    /// A command for one of the environment's programs, with Ansible's own state (`ANSIBLE_HOME`,
    /// its temporary files) in `state` instead of the user's home, no colours, and an empty
    /// `state/ansible.cfg` unless the test wrote one.
    pub fn command(&self, program: &str, state: &Path) -> Command {
        let config = state.join("ansible.cfg");
        if !config.exists() {
            std::fs::create_dir_all(state).expect("the test's Ansible state directory");
            std::fs::write(&config, "[defaults]\n").expect("the test's ansible.cfg");
        }
        let mut command = Command::new(self.bin_dir.join(program));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.bin_dir.clone()];
        paths.extend(std::env::split_paths(&path));
        command
            .env(
                "PATH",
                std::env::join_paths(paths).expect("PATH entries hold no colon"),
            )
            .env("ANSIBLE_HOME", state.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", state.join("ansible-tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_CONFIG", config)
            .env_remove("ANSIBLE_COLLECTIONS_PATH")
            .env_remove("ANSIBLE_INVENTORY")
            .env("NO_COLOR", "1");
        command
    }
}

impl RealAnsible {
    /// Install the collection `fleet.coreos` from the repository's `fleet/ansible/` into
    /// `state/collections`, as a user would (offline); returns that collections path.
    pub fn install_collection(&self, state: &Path) -> Result<PathBuf> {
        let collections = state.join("collections");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/ansible");
        run_successfully(
            self.command("ansible-galaxy", state)
                .args(["collection", "install", "--offline", "-p"])
                .arg(&collections)
                .arg(source),
        )?;
        let module = collections.join("ansible_collections/fleet/coreos/plugins/modules/fleet.py");
        anyhow::ensure!(
            module.is_file(),
            "ansible-galaxy installed no {}",
            module.display()
        );
        Ok(collections)
    }
}

/// The `changed=N` of every host in an `ansible-playbook` recap, by host.
pub fn recap_changes(output: &str) -> std::collections::BTreeMap<String, u32> {
    output
        .lines()
        .skip_while(|line| !line.starts_with("PLAY RECAP"))
        .filter_map(|line| {
            let (host, counts) = line.split_once(" : ")?;
            let changed = counts
                .split_whitespace()
                .find_map(|count| count.strip_prefix("changed="))?
                .parse()
                .ok()?;
            Some((host.trim().to_owned(), changed))
        })
        .collect()
}

/// Run `command`, failing with its whole output unless it exits 0.
pub fn run_successfully(command: &mut Command) -> Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output)
}

/// Say loudly that `test_name` did not run because the binary under test lacks what it needs.
pub fn say_skipped(test_name: &str, reason: &str) {
    say(&format!("SKIPPED test `{test_name}`: it {reason}"));
}
