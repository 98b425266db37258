//! Temporary fleet files for end-to-end deploy tests: tiny-guest nodes of type qemu on a real libvirtd,
//! with the pool and a throwaway base image inside the test's own directory.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::e2e::TinyGuest;
use crate::workdir::WorkDir;

/// A fleet of tiny guests; `write` turns it into files in a `WorkDir`.
#[derive(Debug, Clone)]
pub struct E2eFleet {
    /// Fleet name; also names the pool (`<name>-pool`).
    pub name: String,
    /// libvirt URI written as `[fleet] connect`.
    pub connect: String,
    /// Groups as (name, node count); node names are `<name>-<group>-<index>` so they never clash
    /// with domains that are not the test's.
    pub groups: Vec<(String, u32)>,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    pub network: String,
    /// Raw TOML appended at the end (extra groups, nodes with overrides, ...).
    pub extra_toml: String,
}

/// What `E2eFleet::write` created.
#[derive(Debug, Clone)]
pub struct E2eFleetFiles {
    pub fleet_name: String,
    pub fleet_toml: PathBuf,
    pub pool_name: String,
    pub pool_dir: PathBuf,
    pub base_image: PathBuf,
}

impl E2eFleetFiles {
    /// Where fleet logs a node's serial console: a file in the pool (`fleet_libvirt::names::console_log_volume`).
    pub fn console_log(&self, node: &str) -> PathBuf {
        self.pool_dir
            .join(format!("{}.{node}.console.log", self.fleet_name))
    }

    /// The Ignition volume fleet uploads for a node (`fleet_libvirt::names::ignition_volume`).
    pub fn ignition_volume(&self, node: &str) -> PathBuf {
        self.pool_dir
            .join(format!("{}.{node}.ign", self.fleet_name))
    }
}

impl E2eFleet {
    /// A fleet named `name` (keep it short and unique per test, e.g. `e2e-deploy-<pid>`) on `connect`.
    pub fn new(name: &str, connect: &str) -> E2eFleet {
        E2eFleet {
            name: name.to_owned(),
            connect: connect.to_owned(),
            groups: Vec::new(),
            vcpus: 1,
            memory_mib: 256,
            disk_gib: 10,
            network: "default".to_owned(),
            extra_toml: String::new(),
        }
    }

    pub fn group(mut self, name: &str, count: u32) -> E2eFleet {
        self.groups.push((name.to_owned(), count));
        self
    }

    /// The node names the fleet expands to, in file order.
    pub fn node_names(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|(group, count)| {
                (1..=*count).map(move |index| format!("{}-{group}-{index}", self.name))
            })
            .collect()
    }

    /// Write `fleet.toml`, an empty qcow2 base image (the tiny guest boots from its kernel, not the
    /// disk) and the pool directory's parent into `workdir`.
    pub fn write(&self, workdir: &WorkDir, guest: &TinyGuest) -> Result<E2eFleetFiles> {
        let base_image = workdir.join("base.qcow2");
        create_empty_qcow2(&base_image, 64)?;
        let files = E2eFleetFiles {
            fleet_name: self.name.clone(),
            fleet_toml: workdir.join("fleet.toml"),
            pool_name: format!("{}-pool", self.name),
            pool_dir: workdir.join("pool"),
            base_image,
        };
        workdir.write("fleet.toml", self.to_toml(&files, guest))?;
        Ok(files)
    }

    fn to_toml(&self, files: &E2eFleetFiles, guest: &TinyGuest) -> String {
        let mut toml = String::new();
        let _ = write!(
            toml,
            "# Written by fleet_tests::fleet_toml for an end-to-end test.\n\
             [fleet]\n\
             name = {name}\n\
             connect = {connect}\n\
             domain_type = \"qemu\"\n\
             network = {network}\n\
             \n\
             [fleet.image]\n\
             path = {image}\n\
             kernel = {kernel}\n\
             initrd = {initrd}\n\
             cmdline = {cmdline}\n\
             \n\
             [fleet.pool]\n\
             name = {pool}\n\
             path = {pool_dir}\n\
             \n\
             [defaults]\n\
             vcpus = {vcpus}\n\
             memory_mib = {memory}\n\
             disk_gib = {disk}\n\
             \n\
             [maintenance]\n\
             time_zone = \"UTC\"\n\
             strategy = \"periodic\"\n\
             window_minutes = 30\n\
             \n\
             [[maintenance.period]]\n\
             days = [\"Sat\"]\n\
             start = \"02:00\"\n\
             length_minutes = 240\n",
            name = toml_string(&self.name),
            connect = toml_string(&self.connect),
            network = toml_string(&self.network),
            image = toml_string(&files.base_image.to_string_lossy()),
            pool = toml_string(&files.pool_name),
            pool_dir = toml_string(&files.pool_dir.to_string_lossy()),
            kernel = toml_string(&guest.kernel.to_string_lossy()),
            initrd = toml_string(&guest.initrd.to_string_lossy()),
            cmdline = toml_string(TinyGuest::CMDLINE),
            vcpus = self.vcpus,
            memory = self.memory_mib,
            disk = self.disk_gib,
        );
        for (group, count) in &self.groups {
            let _ = write!(
                toml,
                "\n[[group]]\nname = {group_name}\ncount = {count}\nhostname = {pattern}\n",
                group_name = toml_string(group),
                pattern = toml_string(&format!("{}-{group}-{{index}}", self.name)),
            );
        }
        if !self.extra_toml.is_empty() {
            toml.push('\n');
            toml.push_str(&self.extra_toml);
        }
        toml
    }
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for character in value.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            control if control.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(control));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// An empty qcow2 image of `size_mib` (sparse: a few hundred KiB on disk).
pub fn create_empty_qcow2(path: &std::path::Path, size_mib: u64) -> Result<()> {
    let status = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(format!("{size_mib}M"))
        .status()
        .context("cannot run qemu-img (qemu-utils)")?;
    if !status.success() {
        bail!("qemu-img could not create {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_carry_the_fleet_name() {
        let fleet = E2eFleet::new("e2e-7", "qemu:///system")
            .group("web", 2)
            .group("db", 1);
        assert_eq!(
            fleet.node_names(),
            ["e2e-7-web-1", "e2e-7-web-2", "e2e-7-db-1"]
        );
    }

    /// Keeps the writer in step with the fleet.toml format: `fleet check` must accept what it writes.
    #[test]
    fn fleet_check_accepts_the_written_fleet() {
        let workdir = WorkDir::new("fleet-toml").unwrap();
        let guest = TinyGuest {
            kernel: workdir.write("vmlinuz", "not a kernel").unwrap(),
            initrd: workdir.write("initrd.img", "not an initramfs").unwrap(),
        };
        let fleet = E2eFleet::new("e2e-check", "qemu:///system")
            .group("web", 3)
            .group("db", 1);
        let files = fleet.write(&workdir, &guest).unwrap();
        let output =
            crate::binary::run_fleet(["check".as_ref(), files.fleet_toml.as_os_str()]).unwrap();
        assert!(
            output.status.success(),
            "fleet check rejected:\n{}\n{}",
            std::fs::read_to_string(&files.fleet_toml).unwrap(),
            String::from_utf8_lossy(&output.stderr)
        );
        let nodes = crate::binary::run_fleet([
            "nodes".as_ref(),
            files.fleet_toml.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ])
        .unwrap();
        let listing = String::from_utf8_lossy(&nodes.stdout);
        for name in fleet.node_names() {
            assert!(
                listing.contains(&format!("\"{name}\"")),
                "{name} missing from {listing}"
            );
        }
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
