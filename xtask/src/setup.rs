//! `cargo xtask setup [--e2e]`: install the Debian packages the build and the tests need, and nothing twice.
//!
//! A fully set-up machine costs one `dpkg-query` call. `apt-get update` runs only when apt knows no
//! candidate for a missing package or an install fails on stale lists.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{self, display, output};

/// What to install.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SetupOptions {
    /// Also the real hypervisor (libvirtd, qemu) and the tools that build the end-to-end tiny guest.
    pub(crate) e2e: bool,
    /// Also what `cargo xtask demo` uses (qemu-img for its placeholder image).
    pub(crate) demo: bool,
}

/// Needed to build the workspace: the `virt` crate links libvirt (libvirt0 comes with libvirt-dev).
const BUILD_PACKAGES: &[&str] = &["libvirt-dev", "pkg-config"];

/// Needed by `cargo xtask e2e`: the daemon and qemu, virsh for the harness, dnsmasq and iptables for the
/// `default` NAT network, the tools that unpack Debian packages and pack the guest's initramfs, and
/// systemd's systemctl, which the guest's Ignition runs (nothing starts systemd here), and whose
/// `systemd-analyze verify` checks the units fleet writes; python3-gi, through which the INI writer's
/// test reads key files with the real GLib, as NetworkManager does (`tests/tests/ini_readers.rs`);
/// python3-venv, into which pip installs the tests' real Ansible (`ansible.rs`).
const E2E_PACKAGES: &[&str] = &[
    "libvirt-daemon-system",
    "libvirt-clients",
    "qemu-system-x86",
    "dnsmasq-base",
    "iptables",
    "iproute2",
    "cpio",
    "gzip",
    "xz-utils",
    "zstd",
    "systemd",
    "python3-gi",
    "python3-venv",
];

/// Needed by `cargo xtask demo`: qemu-img makes the placeholder base image.
const DEMO_PACKAGES: &[&str] = &["qemu-utils"];

/// The machine ships qemu-utils from backports (10.x); bookworm's qemu-system (7.2) conflicts with it,
/// so these are pinned to qemu-system-x86's own version (qemu-block-extra only when it is installed).
const QEMU_SYSTEM: &str = "qemu-system-x86";
const QEMU_PINNED_COMPANIONS: &[&str] = &["qemu-utils", "qemu-block-extra"];

pub(crate) fn run(options: SetupOptions) -> Result<()> {
    let mut wanted: Vec<&str> = BUILD_PACKAGES.to_vec();
    if options.e2e {
        wanted.extend(E2E_PACKAGES);
    }
    if options.demo {
        for package in DEMO_PACKAGES {
            if !wanted.contains(package) {
                wanted.push(package);
            }
        }
    }
    let mut queried = wanted.clone();
    queried.extend(QEMU_PINNED_COMPANIONS);
    let installed = installed_versions(&queried)?;

    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|package| !installed.contains_key(*package))
        .collect();
    let qemu_out_of_step = options.e2e && qemu_companions_out_of_step(&installed);
    if missing.is_empty() && !qemu_out_of_step {
        eprintln!("setup: all {} system packages present", wanted.len());
        return Ok(());
    }

    if !process::is_root()? {
        // Best effort: the pin needs apt's lists, which a machine without root may not have read.
        let pins = if options.e2e {
            qemu_pins(&installed).unwrap_or_default()
        } else {
            Vec::new()
        };
        bail!(
            "missing system packages: {}; as root run:\n  apt-get update && {}",
            missing.join(" "),
            display(&install_command(&missing, &pins))
        );
    }
    if !lists_present() || !has_candidates(&missing)? {
        process::run(Command::new("apt-get").arg("update"))?;
    }
    let pins = if options.e2e {
        qemu_pins(&installed)?
    } else {
        Vec::new()
    };
    let mut install = install_command(&missing, &pins);
    if process::run(&mut install).is_err() {
        eprintln!("setup: install failed, refreshing the package lists and trying once more");
        process::run(Command::new("apt-get").arg("update"))?;
        process::run(&mut install_command(&missing, &pins))?;
    }
    Ok(())
}

/// Install these packages when missing (nothing pinned): for tools only one command needs, such as
/// the real-hardware benchmark's `virt-install` (virtinst, which brings Python) and GNU `time`.
pub(crate) fn ensure_installed(packages: &[&str]) -> Result<()> {
    let installed = installed_versions(packages)?;
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !installed.contains_key(*package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !process::is_root()? {
        bail!(
            "missing system packages: {}; as root run:\n  apt-get update && {}",
            missing.join(" "),
            display(&install_command(&missing, &[]))
        );
    }
    if !lists_present() || !has_candidates(&missing)? {
        process::run(Command::new("apt-get").arg("update"))?;
    }
    if process::run(&mut install_command(&missing, &[])).is_err() {
        eprintln!("setup: install failed, refreshing the package lists and trying once more");
        process::run(Command::new("apt-get").arg("update"))?;
        process::run(&mut install_command(&missing, &[]))?;
    }
    Ok(())
}

fn install_command(packages: &[&str], pins: &[String]) -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive").args([
        "install",
        "-y",
        "--no-install-recommends",
    ]);
    if !pins.is_empty() {
        command.arg("--allow-downgrades");
    }
    command.args(packages).args(pins);
    command
}

/// Installed packages among `packages`, with their versions (one `dpkg-query` call).
fn installed_versions(packages: &[&str]) -> Result<BTreeMap<String, String>> {
    // dpkg-query exits 1 when some package is unknown; its stdout still lists the known ones.
    let result = Command::new("dpkg-query")
        .args(["-W", "-f=${Package}\t${db:Status-Abbrev}\t${Version}\n"])
        .args(packages)
        .output()
        .context("cannot run dpkg-query (is this a Debian system?)")?;
    let stdout = String::from_utf8_lossy(&result.stdout);
    Ok(stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (name, status, version) = (fields.next()?, fields.next()?, fields.next()?);
            let name = name.split(':').next().unwrap_or(name);
            status
                .starts_with("ii")
                .then(|| (name.to_owned(), version.to_owned()))
        })
        .collect())
}

fn qemu_companions_out_of_step(installed: &BTreeMap<String, String>) -> bool {
    let Some(qemu_version) = installed.get(QEMU_SYSTEM) else {
        return false;
    };
    QEMU_PINNED_COMPANIONS.iter().any(|companion| {
        installed
            .get(*companion)
            .is_some_and(|version| version != qemu_version)
    })
}

/// `qemu-utils=<v>` (and `qemu-block-extra=<v>` when installed) at the version qemu-system-x86 will have.
fn qemu_pins(installed: &BTreeMap<String, String>) -> Result<Vec<String>> {
    let qemu_version = match installed.get(QEMU_SYSTEM) {
        Some(version) => version.clone(),
        None => candidate_versions(&[QEMU_SYSTEM])?
            .remove(QEMU_SYSTEM)
            .flatten()
            .context("apt knows no candidate for qemu-system-x86")?,
    };
    Ok(QEMU_PINNED_COMPANIONS
        .iter()
        .filter(|companion| **companion == "qemu-utils" || installed.contains_key(**companion))
        .filter(|companion| installed.get(**companion) != Some(&qemu_version))
        .map(|companion| format!("{companion}={qemu_version}"))
        .collect())
}

/// Whether apt has downloaded any package list at all (a fresh container may have none).
fn lists_present() -> bool {
    std::fs::read_dir("/var/lib/apt/lists").is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().contains("_Packages"))
    })
}

fn has_candidates(packages: &[&str]) -> Result<bool> {
    if packages.is_empty() {
        return Ok(true);
    }
    Ok(candidate_versions(packages)?.values().all(Option::is_some))
}

/// The version apt would install for each package, from `apt-cache policy`; `None` when it knows none.
pub(crate) fn candidate_versions(packages: &[&str]) -> Result<BTreeMap<String, Option<String>>> {
    let policy = output(Command::new("apt-cache").arg("policy").args(packages))?;
    let mut candidates: BTreeMap<String, Option<String>> = packages
        .iter()
        .map(|package| ((*package).to_owned(), None))
        .collect();
    let mut current: Option<String> = None;
    for line in policy.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = Some(line.trim_end_matches(':').to_owned());
        } else if let (Some(package), Some(version)) =
            (&current, line.trim().strip_prefix("Candidate: "))
        {
            let version = (version != "(none)").then(|| version.to_owned());
            candidates.insert(package.clone(), version);
        }
    }
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, version)| ((*name).to_owned(), (*version).to_owned()))
            .collect()
    }

    #[test]
    fn backported_qemu_utils_is_out_of_step_with_bookworm_qemu() {
        let installed = versions(&[
            ("qemu-system-x86", "1:7.2+dfsg-7+deb12u18+b3"),
            ("qemu-utils", "1:10.0.2+ds-2+deb13u1~bpo12+1"),
        ]);
        assert!(qemu_companions_out_of_step(&installed));
        let pins = qemu_pins(&installed).unwrap();
        assert_eq!(pins, ["qemu-utils=1:7.2+dfsg-7+deb12u18+b3"]);
    }

    #[test]
    fn matching_qemu_versions_need_nothing() {
        let installed = versions(&[
            ("qemu-system-x86", "1:7.2+dfsg-7+deb12u18+b3"),
            ("qemu-utils", "1:7.2+dfsg-7+deb12u18+b3"),
            ("qemu-block-extra", "1:7.2+dfsg-7+deb12u18+b3"),
        ]);
        assert!(!qemu_companions_out_of_step(&installed));
        assert!(qemu_pins(&installed).unwrap().is_empty());
    }

    #[test]
    fn install_command_allows_downgrades_only_with_pins() {
        let plain = display(&install_command(&["cpio"], &[]));
        assert_eq!(plain, "apt-get install -y --no-install-recommends cpio");
        let pinned = display(&install_command(
            &["qemu-system-x86"],
            &["qemu-utils=1:7.2".into()],
        ));
        assert_eq!(
            pinned,
            "apt-get install -y --no-install-recommends --allow-downgrades qemu-system-x86 qemu-utils=1:7.2"
        );
    }
}
