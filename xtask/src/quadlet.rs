//! podman's quadlet generator, as Debian trixie ships it (package `podman` 5.4): fetched once into
//! `<target>/quadlet/` through a temporary sources list for trixie (the host's apt state is not
//! touched), for `tests/tests/quadlet_generator.rs`, which finds it through `FLEET_QUADLET_BIN` or at
//! `<target>/quadlet/quadlet`, with podman's `podman-auto-update.timer` and `.service` (system and
//! user) in `<target>/quadlet/units/`. The binary needs only libc, so it runs on bookworm. Nothing is
//! installed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::debs;
use crate::process::{self, target_dir};

const BINARY_IN_PACKAGE: &str = "usr/libexec/podman/quadlet";
/// The auto-update timer and its service as podman ships them, for the system and for users: the
/// units fleet's drop-ins change, which `systemd-analyze verify` reads with them.
const SHIPPED_UNITS: &[(&str, &str)] = &[
    ("usr/lib/systemd/system", "units/system"),
    ("usr/lib/systemd/user", "units/user"),
];
const AUTO_UPDATE_UNITS: &[&str] = &["podman-auto-update.timer", "podman-auto-update.service"];
/// The system's Debian sources, whose mirror the temporary trixie list uses.
const SYSTEM_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

pub(crate) fn directory() -> PathBuf {
    target_dir().join("quadlet")
}

/// Fetch the generator unless an earlier run did; returns its path.
pub(crate) fn ensure_fetched() -> Result<PathBuf> {
    let directory = directory();
    let binary = directory.join("quadlet");
    let units_present = SHIPPED_UNITS.iter().all(|(_, into)| {
        AUTO_UPDATE_UNITS
            .iter()
            .all(|unit| directory.join(into).join(unit).is_file())
    });
    if directory.join("package").is_file() && binary.is_file() && units_present {
        return Ok(binary);
    }
    fetch(&directory, &binary)
        .with_context(|| format!("cannot fetch podman's quadlet into {}", directory.display()))?;
    eprintln!("quadlet: {}", binary.display());
    Ok(binary)
}

/// The mirror of the system's Debian sources (`URIs:` of the first stanza).
fn mirror() -> Result<String> {
    let sources = fs::read_to_string(SYSTEM_SOURCES)
        .with_context(|| format!("cannot read {SYSTEM_SOURCES}"))?;
    match sources
        .lines()
        .find_map(|line| line.strip_prefix("URIs:"))
        .and_then(|uris| uris.split_whitespace().next())
    {
        Some(uri) => Ok(uri.to_owned()),
        None => bail!("{SYSTEM_SOURCES} names no URIs"),
    }
}

fn fetch(directory: &Path, binary: &Path) -> Result<()> {
    let work = directory.join("work");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let lists = work.join("lists");
    let downloads = work.join("downloads");
    let unpacked = work.join("unpacked");
    for needed in [&lists.join("partial"), &downloads, &unpacked] {
        fs::create_dir_all(needed)
            .with_context(|| format!("cannot create {}", needed.display()))?;
    }
    let sources = work.join("trixie.list");
    fs::write(
        &sources,
        format!(
            "deb [signed-by={DEBIAN_KEYRING}] {} trixie main\n",
            mirror()?
        ),
    )?;
    let apt = |arguments: &[&str], directory: &Path| {
        let mut command = Command::new("apt-get");
        command
            .current_dir(directory)
            .arg("-q")
            .arg(format!("-oDir::Etc::SourceList={}", sources.display()))
            .arg("-oDir::Etc::SourceParts=-")
            .arg(format!("-oDir::State::Lists={}", lists.display()))
            .args(arguments);
        process::run(&mut command)
    };
    apt(&["update"], &work)?;
    apt(&["download", "podman"], &downloads)?;
    let deb = debs::downloaded(&downloads, "podman")?;
    process::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    let partial = directory.join("quadlet.partial");
    fs::copy(unpacked.join(BINARY_IN_PACKAGE), &partial)
        .with_context(|| format!("the package {} has no {BINARY_IN_PACKAGE}", deb.display()))?;
    fs::rename(&partial, binary)?;
    for (from, into) in SHIPPED_UNITS {
        fs::create_dir_all(directory.join(into))?;
        for unit in AUTO_UPDATE_UNITS {
            fs::copy(
                unpacked.join(from).join(unit),
                directory.join(into).join(unit),
            )
            .with_context(|| format!("the package {} has no {from}/{unit}", deb.display()))?;
        }
    }
    fs::write(directory.join("package"), debs::file_name(&deb) + "\n")?;
    fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    Ok(())
}
