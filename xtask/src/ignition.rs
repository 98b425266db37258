//! The real Ignition, as Debian ships it (package `ignition` 2.14, config spec 3.0.0–3.3.0): fetched
//! once into `<target>/ignition/`, for the tiny guest's initramfs and for the host-side twin of the
//! end-to-end check (`tests/tests/ignition_apply.rs`, which finds it through `FLEET_IGNITION_BIN` or at
//! `<target>/ignition/ignition`). Nothing is installed on the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::debs;
use crate::process::{self, target_dir};

/// Where the package puts the binary dracut copies into Fedora CoreOS's initramfs.
const BINARY_IN_PACKAGE: &str = "usr/lib/dracut/modules.d/30ignition/ignition";

/// The fetched Ignition.
#[derive(Debug, Clone)]
pub(crate) struct FetchedIgnition {
    /// `<target>/ignition/ignition`.
    pub(crate) binary: PathBuf,
    /// The package file it came from, e.g. `ignition_2.14.0+ds1-1+b6_amd64.deb`.
    pub(crate) package: String,
}

pub(crate) fn directory() -> PathBuf {
    target_dir().join("ignition")
}

/// Fetch Ignition unless an earlier run did; a developer's `rm -r target/ignition` fetches it again.
pub(crate) fn ensure_fetched() -> Result<FetchedIgnition> {
    let directory = directory();
    let binary = directory.join("ignition");
    let stamp = directory.join("package");
    if let Ok(package) = fs::read_to_string(&stamp)
        && binary.is_file()
    {
        return Ok(FetchedIgnition {
            binary,
            package: package.trim().to_owned(),
        });
    }
    fetch(&directory, &binary)
        .with_context(|| format!("cannot fetch Ignition into {}", directory.display()))?;
    let package = fs::read_to_string(&stamp)?.trim().to_owned();
    eprintln!("ignition: {} from {package}", binary.display());
    Ok(FetchedIgnition { binary, package })
}

fn fetch(directory: &Path, binary: &Path) -> Result<()> {
    let (work, unpacked) = debs::fresh_work_directory(directory)?;
    debs::download(&work, &["ignition"])?;
    let deb = debs::downloaded(&work, "ignition")?;
    process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    let partial = directory.join("ignition.partial");
    fs::copy(unpacked.join(BINARY_IN_PACKAGE), &partial)
        .with_context(|| format!("the package {} has no {BINARY_IN_PACKAGE}", deb.display()))?;
    fs::rename(&partial, binary)?;
    fs::write(directory.join("package"), debs::file_name(&deb) + "\n")?;
    fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    Ok(())
}
