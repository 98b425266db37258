//! The real Ansible for the tests: the pinned `ansible-core` and `ansible-lint` of
//! `xtask/ansible-requirements.txt`, installed with pip into a virtual environment under
//! `<target>/ansible/venv` (nothing outside `target/` is touched), and handed to the tests as
//! `FLEET_ANSIBLE_BIN_DIR` (its `bin/`). Reinstalled only when the requirements change; a
//! developer's `rm -r target/ansible` installs it again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::process::{self, target_dir, workspace_root};

/// The installed Ansible.
#[derive(Debug, Clone)]
pub(crate) struct InstalledAnsible {
    /// `<target>/ansible/venv/bin`: ansible-inventory, ansible-playbook, ansible-galaxy, ansible-lint.
    pub(crate) bin_dir: PathBuf,
}

fn requirements_file() -> PathBuf {
    workspace_root().join("xtask/ansible-requirements.txt")
}

/// Install Ansible unless the same requirements were installed before.
pub(crate) fn ensure_installed() -> Result<InstalledAnsible> {
    let directory = target_dir().join("ansible");
    let venv = directory.join("venv");
    let bin_dir = venv.join("bin");
    let stamp = directory.join("installed-requirements.txt");
    let requirements_path = requirements_file();
    let requirements = fs::read_to_string(&requirements_path)
        .with_context(|| format!("cannot read {}", requirements_path.display()))?;
    if fs::read_to_string(&stamp).is_ok_and(|installed| installed == requirements)
        && bin_dir.join("ansible-playbook").is_file()
        && bin_dir.join("ansible-lint").is_file()
    {
        return Ok(InstalledAnsible { bin_dir });
    }
    install(&venv, &requirements_path)
        .with_context(|| format!("cannot install Ansible into {}", venv.display()))?;
    fs::write(&stamp, requirements)?;
    eprintln!("ansible: {}", bin_dir.display());
    Ok(InstalledAnsible { bin_dir })
}

fn install(venv: &Path, requirements: &Path) -> Result<()> {
    if venv.exists() {
        fs::remove_dir_all(venv).with_context(|| format!("cannot clear {}", venv.display()))?;
    }
    // Debian's python3 needs python3-venv for this (`cargo xtask setup --e2e` installs it).
    process::run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    process::run(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--requirement",
            ])
            .arg(requirements),
    )
}
