//! `cargo xtask demo`: the main job on its embedded default — check, plan and deploy the example fleet.
//!
//! The example fleet (`fleet/fleet.toml`) names three hypervisors and a Fedora CoreOS image under
//! `fleet/images/`. When that image is there, the user has configured a real setup and the demo
//! deploys as the file says. Otherwise no hypervisor is configured: each host is replaced by its
//! twin for libvirt's in-library test driver (`fleet/test-hosts/HOST.xml`, same capacity, no daemon)
//! and the image by an empty placeholder, so every step runs for real except booting guests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::binaries;
use crate::process::{self, target_dir, workspace_root};
use crate::setup::{self, SetupOptions};

/// The image the example fleet's `[fleet.image] path` names, relative to its directory.
const EXAMPLE_IMAGE: &str = "images/fedora-coreos-qemu.x86_64.qcow2";

pub(crate) fn run(deploy_arguments: &[String]) -> Result<()> {
    setup::run(SetupOptions {
        e2e: false,
        demo: true,
    })?;
    let fleet_binary = binaries::release()?.join("fleet");
    let fleet_dir = workspace_root().join("fleet");
    let fleet_file = fleet_dir.join("fleet.toml");

    heading("fleet check: is the fleet file valid?");
    process::run(fleet(&fleet_binary).arg("check").arg(&fleet_file))?;
    heading("fleet plan: roles, wariness, reboot windows, predicted reboots, hosts");
    process::run(fleet(&fleet_binary).arg("plan").arg(&fleet_file))?;

    let mut deploy = fleet(&fleet_binary);
    deploy.arg("deploy").arg(&fleet_file);
    if fleet_dir.join(EXAMPLE_IMAGE).is_file() {
        heading("fleet deploy: onto the hypervisors fleet/fleet.toml names");
    } else {
        heading("fleet deploy: no hypervisor configured, so onto libvirt's in-library test driver");
        eprintln!(
            "(fleet/{EXAMPLE_IMAGE} is missing: each [[host]] becomes its twin in fleet/test-hosts/ and the\n \
             base image an empty placeholder. To deploy for real, see README.md, \"Deploying for real\".)"
        );
        for (host, twin) in test_host_twins(&fleet_dir.join("test-hosts"))? {
            deploy
                .arg("--connect")
                .arg(format!("{host}=test://{}", twin.display()));
        }
        deploy.arg("--image").arg(placeholder_image()?);
    }
    deploy.args(deploy_arguments);
    process::run(&mut deploy)
}

fn fleet(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.current_dir(workspace_root());
    command
}

fn heading(text: &str) {
    eprintln!("\n== {text}\n");
}

/// `HOST.xml` files in `directory`, as (host, absolute path), sorted by host.
fn test_host_twins(directory: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut twins = Vec::new();
    for entry in std::fs::read_dir(directory)
        .with_context(|| format!("cannot list {}", directory.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "xml")
            && let Some(host) = path.file_stem().and_then(|stem| stem.to_str())
        {
            twins.push((host.to_owned(), std::fs::canonicalize(&path)?));
        }
    }
    twins.sort();
    Ok(twins)
}

/// An empty 10 GiB qcow2 under the target directory, made once.
fn placeholder_image() -> Result<PathBuf> {
    let path = target_dir().join("demo").join("placeholder-fcos.qcow2");
    if !path.is_file() {
        std::fs::create_dir_all(path.parent().context("placeholder path has a parent")?)?;
        process::run(
            Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2"])
                .arg(&path)
                .arg("10G"),
        )?;
    }
    Ok(path)
}
