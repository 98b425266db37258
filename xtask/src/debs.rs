//! Debian packages fetched without installing them: `apt-get download` into a directory, unpacked
//! with `dpkg-deb` by the caller. The tiny guest's kernel and busybox, and Ignition, come this way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process;

/// `apt-get download PACKAGES` into `directory`; when apt knows no such package yet (a fresh
/// machine's lists) and we are root, `apt-get update` and once more.
pub(crate) fn download(directory: &Path, packages: &[&str]) -> Result<()> {
    let attempt = || {
        process::run(
            Command::new("apt-get")
                .current_dir(directory)
                .args(["download", "-q"])
                .args(packages),
        )
    };
    match attempt() {
        Ok(()) => Ok(()),
        Err(error) if process::is_root()? => {
            eprintln!("debs: {error:#}; refreshing the package lists and trying once more");
            process::run(Command::new("apt-get").arg("update"))?;
            attempt()
        }
        Err(error) => Err(error),
    }
}

/// An empty `DIRECTORY/work` with an `unpacked/` inside, for packages to be downloaded and
/// unpacked into (the caller removes it when done): `(work, unpacked)`.
pub(crate) fn fresh_work_directory(directory: &Path) -> Result<(PathBuf, PathBuf)> {
    let work = directory.join("work");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let unpacked = work.join("unpacked");
    fs::create_dir_all(&unpacked)
        .with_context(|| format!("cannot create {}", unpacked.display()))?;
    Ok((work, unpacked))
}

/// The `.deb` of `package` in `directory` (`apt-get download` names it `PACKAGE_VERSION_ARCH.deb`).
pub(crate) fn downloaded(directory: &Path, package: &str) -> Result<PathBuf> {
    let prefix = format!("{package}_");
    find_file(directory, |name| {
        name.starts_with(&prefix) && name.ends_with(".deb")
    })
}

/// The one file in `directory` whose name `matches`.
pub(crate) fn find_file(directory: &Path, matches: impl Fn(&str) -> bool) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in
        fs::read_dir(directory).with_context(|| format!("cannot list {}", directory.display()))?
    {
        let path = entry?.path();
        if matches(&file_name(&path)) {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no matching file in {}", directory.display()),
        _ => bail!(
            "several matching files in {}: {found:?}",
            directory.display()
        ),
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
