//! The real tools the health harness (`tests/tests/health_gate.rs`) runs the generated scripts
//! with: busybox (package `busybox-static`; its `sh`, `awk` and friends are the test guest's) and
//! shellcheck (package `shellcheck`). Fetched once into `<target>/health-tools/` as Debian ships
//! them, without installing anything; `cargo xtask test` hands them to the tests as
//! `FLEET_BUSYBOX_BIN` and `FLEET_SHELLCHECK_BIN`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::debs;
use crate::process::{self, target_dir};

/// Each tool: its package and where the package puts it.
const TOOLS: &[(&str, &str)] = &[
    ("busybox-static", "bin/busybox"),
    ("shellcheck", "usr/bin/shellcheck"),
];

/// The fetched tools.
#[derive(Debug, Clone)]
pub(crate) struct HealthTools {
    pub(crate) busybox: PathBuf,
    pub(crate) shellcheck: PathBuf,
}

/// Fetch the tools unless an earlier run did.
pub(crate) fn ensure_fetched() -> Result<HealthTools> {
    let directory = target_dir().join("health-tools");
    let tools = HealthTools {
        busybox: directory.join("busybox"),
        shellcheck: directory.join("shellcheck"),
    };
    if tools.busybox.is_file() && tools.shellcheck.is_file() {
        return Ok(tools);
    }
    fetch(&directory).with_context(|| {
        format!(
            "cannot fetch busybox and shellcheck into {}",
            directory.display()
        )
    })?;
    eprintln!("health tools: {}", directory.display());
    Ok(tools)
}

fn fetch(directory: &Path) -> Result<()> {
    let (work, unpacked) = debs::fresh_work_directory(directory)?;
    let packages: Vec<&str> = TOOLS.iter().map(|(package, _)| *package).collect();
    debs::download(&work, &packages)?;
    for (package, path_in_package) in TOOLS {
        let deb = debs::downloaded(&work, package)?;
        process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
        let name = debs::file_name(Path::new(path_in_package));
        let partial = directory.join(format!("{name}.partial"));
        fs::copy(unpacked.join(path_in_package), &partial)
            .with_context(|| format!("the package {} has no {path_in_package}", deb.display()))?;
        fs::rename(&partial, directory.join(&name))?;
    }
    fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    Ok(())
}
