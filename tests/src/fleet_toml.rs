//! Temporary fleet files for end-to-end deploy tests: tiny-guest nodes of type qemu on a real libvirtd,
//! with the pool and a throwaway base image inside the test's own directory. They render Ignition
//! spec 3.3.0, which the guest's Ignition 2.14 applies, and give every node users with keys.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::e2e::TinyGuest;
use crate::ignition_manifest::{FleetContainer, FleetUser};
use crate::workdir::WorkDir;

/// The newest spec the guest's Ignition (Debian's 2.14) reads.
pub const IGNITION_VERSION: &str = "3.3.0";

/// Public keys made for these tests (their private halves were thrown away).
pub const TEST_KEYS: [&str; 3] = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJHeb3iTGg6tGmcFYdMu+PTjmbIs+EWHuPClOlMDDmQe e2e-k1@fleet.invalid",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA5hsAyyktl0d8wIv7FYI/ibS/qMuCc1KCYIeD/5GMnp e2e-k2@fleet.invalid",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJyQfZSr/ObrHMajlhxIvLK+Y3ddYOwvWd01lovO2FGY e2e-k3@fleet.invalid",
];

/// A fleet of tiny guests; `write` turns it into files in a `WorkDir`.
#[derive(Debug, Clone)]
pub struct E2eFleet {
    /// Fleet name; also names the pool (`<name>-pool`, or `fleet-<name>` with `PoolLocation::HostDefault`).
    pub name: String,
    /// libvirt URI written as `[fleet] connect` (used when `hosts` is empty).
    pub connect: String,
    /// Groups in file order; node names are `<fleet>-<group>-<index>` so they never clash with
    /// domains that are not the test's.
    pub groups: Vec<E2eGroup>,
    /// `[[host]]` entries; empty: every node on `connect`.
    pub hosts: Vec<E2eHost>,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
    pub network: String,
    pub pool: PoolLocation,
    /// `[[defaults.users]]`: every node gets them.
    pub users: Vec<E2eUser>,
    /// Raw TOML appended at the end (extra groups, nodes with overrides, ...).
    pub extra_toml: String,
    /// The guests' kernel command line (`TinyGuest::CMDLINE` unless a test asks for more).
    pub cmdline: String,
}

/// A `[[defaults.users]]` entry: inline keys and, optionally, supplementary groups.
#[derive(Debug, Clone)]
pub struct E2eUser {
    pub name: String,
    pub keys: Vec<String>,
    pub groups: Option<Vec<String>>,
    /// A fixed user ID (`uid`), which the user's rootless containers' quadlet directory names.
    pub uid: Option<u32>,
}

/// A `[[group.container]]`: an image run by `user` (`root`: rootful; a fleet user: rootless). The
/// tiny guest has no podman: its real Ignition writes the quadlets and lingering files, which the
/// manifest check reads.
#[derive(Debug, Clone)]
pub struct E2eContainer {
    pub name: String,
    pub user: String,
    pub image: String,
}

/// A `[[group]]` of `count` tiny-guest nodes.
#[derive(Debug, Clone)]
pub struct E2eGroup {
    pub name: String,
    pub count: u32,
    /// `mode = "reserved"` addressing in 192.168.122.0/24 (the `default` network), node *i* at
    /// `first_address + i - 1`.
    pub reserved_from: Option<Ipv4Addr>,
    /// `mode = "static"` addressing in 192.168.122.0/24, node *i* at `first_address + i - 1`: each
    /// node's Ignition carries a NetworkManager keyfile (the tiny guest never brings up a network).
    pub static_from: Option<Ipv4Addr>,
    /// Overrides the fleet's memory for this group.
    pub memory_mib: Option<u64>,
    /// Pins every node of the group to this `[[host]]`.
    pub host: Option<String>,
    /// `[group.health]` with this one command (argument list), a one-minute timeout and a try
    /// every second: the tiny guest runs the health gate after Ignition.
    pub health_command: Option<Vec<String>>,
    pub containers: Vec<E2eContainer>,
}

impl E2eGroup {
    pub fn new(name: &str, count: u32) -> E2eGroup {
        E2eGroup {
            name: name.to_owned(),
            count,
            reserved_from: None,
            static_from: None,
            memory_mib: None,
            host: None,
            health_command: None,
            containers: Vec::new(),
        }
    }

    pub fn reserved_from(mut self, first_address: Ipv4Addr) -> E2eGroup {
        self.reserved_from = Some(first_address);
        self
    }

    pub fn static_from(mut self, first_address: Ipv4Addr) -> E2eGroup {
        self.static_from = Some(first_address);
        self
    }

    pub fn memory_mib(mut self, memory_mib: u64) -> E2eGroup {
        self.memory_mib = Some(memory_mib);
        self
    }

    pub fn on_host(mut self, host: &str) -> E2eGroup {
        self.host = Some(host.to_owned());
        self
    }

    /// A container of the group's nodes, run by `user` (`root`, or a user of the fleet).
    pub fn container(mut self, name: &str, user: &str, image: &str) -> E2eGroup {
        self.containers.push(E2eContainer {
            name: name.to_owned(),
            user: user.to_owned(),
            image: image.to_owned(),
        });
        self
    }

    pub fn health_command(mut self, command: &[&str]) -> E2eGroup {
        self.health_command = Some(
            command
                .iter()
                .map(|&argument| argument.to_owned())
                .collect(),
        );
        self
    }
}

/// A `[[host]]` entry.
#[derive(Debug, Clone)]
pub struct E2eHost {
    pub name: String,
    pub connect: String,
}

/// Where the fleet's storage pool lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolLocation {
    /// `<workdir>/pool`, named `<fleet>-pool`: one host, removed with the test's directory.
    WorkDir,
    /// fleet's default, `/var/lib/libvirt/fleet-<fleet>` named `fleet-<fleet>`: on every host its
    /// own directory, as on separate machines (the second hypervisor of `cargo xtask e2e` has its
    /// own /var/lib/libvirt).
    HostDefault,
}

/// What `E2eFleet::write` created.
#[derive(Debug, Clone)]
pub struct E2eFleetFiles {
    pub fleet_name: String,
    pub fleet_toml: PathBuf,
    pub pool_name: String,
    /// The pool's directory as written in (or defaulted by) the fleet file, i.e. as each host sees it.
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

    /// The names of the volumes fleet keeps for a node: overlay, Ignition, console log.
    pub fn node_volumes(&self, node: &str) -> [String; 3] {
        let fleet = &self.fleet_name;
        [
            format!("{fleet}.{node}.qcow2"),
            format!("{fleet}.{node}.ign"),
            format!("{fleet}.{node}.console.log"),
        ]
    }
}

impl E2eFleet {
    /// A fleet named `name` (keep it short and unique per test, e.g. `e2e-deploy-<pid>`) on `connect`.
    pub fn new(name: &str, connect: &str) -> E2eFleet {
        E2eFleet {
            name: name.to_owned(),
            connect: connect.to_owned(),
            groups: Vec::new(),
            hosts: Vec::new(),
            vcpus: 1,
            memory_mib: 256,
            disk_gib: 10,
            network: "default".to_owned(),
            pool: PoolLocation::WorkDir,
            users: vec![
                // Fedora CoreOS's own account, given keys; and a new one in groups the seed has.
                E2eUser {
                    name: "core".to_owned(),
                    keys: vec![TEST_KEYS[0].to_owned()],
                    groups: None,
                    uid: None,
                },
                // A fixed user ID, which a rootless container's quadlet directory must name.
                E2eUser {
                    name: "ops".to_owned(),
                    keys: vec![TEST_KEYS[1].to_owned(), TEST_KEYS[2].to_owned()],
                    groups: Some(vec!["wheel".to_owned(), "docker".to_owned()]),
                    uid: Some(4242),
                },
            ],
            extra_toml: String::new(),
            cmdline: TinyGuest::CMDLINE.to_owned(),
        }
    }

    /// Every guest takes a DHCP lease and stays up `seconds` with it (`TinyGuest::cmdline_holding_a_lease`).
    pub fn guests_hold_a_lease(mut self, seconds: u32) -> E2eFleet {
        self.cmdline = TinyGuest::cmdline_holding_a_lease(seconds);
        self
    }

    /// The users every node gets, as the manifest check expects them.
    pub fn fleet_users(&self) -> BTreeMap<String, FleetUser> {
        self.users
            .iter()
            .map(|user| {
                let expected = FleetUser {
                    keys: user.keys.clone(),
                    groups: user.groups.clone(),
                };
                (user.name.clone(), expected)
            })
            .collect()
    }

    /// Each group's containers, as the manifest check expects them (with the user ID the fleet
    /// file fixes for a rootless one's user).
    pub fn fleet_containers(&self) -> Vec<(String, Vec<FleetContainer>)> {
        self.groups
            .iter()
            .map(|group| {
                let containers = group
                    .containers
                    .iter()
                    .map(|container| FleetContainer {
                        name: container.name.clone(),
                        user: container.user.clone(),
                        kind: "container".to_owned(),
                        uid: self
                            .users
                            .iter()
                            .find(|user| user.name == container.user)
                            .and_then(|user| user.uid),
                    })
                    .collect();
                (group.name.clone(), containers)
            })
            .collect()
    }

    /// The groups with static addressing.
    pub fn static_groups(&self) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|group| group.static_from.is_some())
            .map(|group| group.name.as_str())
            .collect()
    }

    /// A plain group of `count` nodes (DHCP addressing, the fleet's settings).
    pub fn group(self, name: &str, count: u32) -> E2eFleet {
        self.with_group(E2eGroup::new(name, count))
    }

    pub fn with_group(mut self, group: E2eGroup) -> E2eFleet {
        self.groups.push(group);
        self
    }

    pub fn host(mut self, name: &str, connect: &str) -> E2eFleet {
        self.hosts.push(E2eHost {
            name: name.to_owned(),
            connect: connect.to_owned(),
        });
        self
    }

    pub fn pool(mut self, pool: PoolLocation) -> E2eFleet {
        self.pool = pool;
        self
    }

    /// The node names of a group, in order.
    pub fn group_node_names(&self, group: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|candidate| candidate.name == group)
            .flat_map(|group| self.names_in(group))
            .collect()
    }

    /// The node names the fleet expands to, in file order.
    pub fn node_names(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|group| self.names_in(group))
            .collect()
    }

    fn names_in(&self, group: &E2eGroup) -> Vec<String> {
        (1..=group.count)
            .map(|index| format!("{}-{}-{index}", self.name, group.name))
            .collect()
    }

    /// Write `fleet.toml`, an empty qcow2 base image (the tiny guest boots from its kernel, not the
    /// disk) and the pool directory's parent into `workdir`.
    pub fn write(&self, workdir: &WorkDir, guest: &TinyGuest) -> Result<E2eFleetFiles> {
        let base_image = workdir.join("base.qcow2");
        create_empty_qcow2(&base_image, 64)?;
        let (pool_name, pool_dir) = match self.pool {
            PoolLocation::WorkDir => (format!("{}-pool", self.name), workdir.join("pool")),
            PoolLocation::HostDefault => (
                format!("fleet-{}", self.name),
                PathBuf::from(format!("/var/lib/libvirt/fleet-{}", self.name)),
            ),
        };
        let files = E2eFleetFiles {
            fleet_name: self.name.clone(),
            fleet_toml: workdir.join("fleet.toml"),
            pool_name,
            pool_dir,
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
             ignition_version = {ignition_version}\n\
             \n\
             [fleet.image]\n\
             path = {image}\n\
             kernel = {kernel}\n\
             initrd = {initrd}\n\
             cmdline = {cmdline}\n",
            name = toml_string(&self.name),
            connect = toml_string(&self.connect),
            network = toml_string(&self.network),
            ignition_version = toml_string(IGNITION_VERSION),
            image = toml_string(&files.base_image.to_string_lossy()),
            kernel = toml_string(&guest.kernel.to_string_lossy()),
            initrd = toml_string(&guest.initrd.to_string_lossy()),
            cmdline = toml_string(&self.cmdline),
        );
        if self.pool == PoolLocation::WorkDir {
            let _ = write!(
                toml,
                "\n[fleet.pool]\nname = {pool}\npath = {pool_dir}\n",
                pool = toml_string(&files.pool_name),
                pool_dir = toml_string(&files.pool_dir.to_string_lossy()),
            );
        }
        let _ = write!(
            toml,
            "\n\
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
            vcpus = self.vcpus,
            memory = self.memory_mib,
            disk = self.disk_gib,
        );
        for user in &self.users {
            let _ = write!(
                toml,
                "\n[[defaults.users]]\nname = {name}\nssh_authorized_keys = [{keys}]\n",
                name = toml_string(&user.name),
                keys = toml_strings(&user.keys),
            );
            if let Some(groups) = &user.groups {
                let _ = writeln!(toml, "groups = [{}]", toml_strings(groups));
            }
            if let Some(uid) = user.uid {
                let _ = writeln!(toml, "uid = {uid}");
            }
        }
        for group in &self.groups {
            let _ = write!(
                toml,
                "\n[[group]]\nname = {group_name}\ncount = {count}\nhostname = {pattern}\n",
                group_name = toml_string(&group.name),
                count = group.count,
                pattern = toml_string(&format!("{}-{}-{{index}}", self.name, group.name)),
            );
            if let Some(memory) = group.memory_mib {
                let _ = writeln!(toml, "memory_mib = {memory}");
            }
            if let Some(command) = &group.health_command {
                let _ = write!(
                    toml,
                    "\n[group.health]\ncommands = [[{command}]]\ntimeout_minutes = 1\nretry_seconds = 1\n",
                    command = toml_strings(command),
                );
            }
            for (mode, first_address) in [
                ("reserved", group.reserved_from),
                ("static", group.static_from),
            ] {
                if let Some(first_address) = first_address {
                    let _ = write!(
                        toml,
                        "\n[group.network]\nmode = \"{mode}\"\ncidr = \"192.168.122.0/24\"\n\
                         gateway = \"192.168.122.1\"\nfirst_address = \"{first_address}\"\n",
                    );
                }
            }
            for container in &group.containers {
                let _ = write!(
                    toml,
                    "\n[[group.container]]\nname = {name}\nimage = {image}\nuser = {user}\n",
                    name = toml_string(&container.name),
                    image = toml_string(&container.image),
                    user = toml_string(&container.user),
                );
            }
            if let Some(host) = &group.host {
                for node in self.names_in(group) {
                    let _ = write!(
                        toml,
                        "\n[[group.node]]\nname = {node}\nhost = {host}\n",
                        node = toml_string(&node),
                        host = toml_string(host),
                    );
                }
            }
        }
        for host in &self.hosts {
            let _ = write!(
                toml,
                "\n[[host]]\nname = {name}\nconnect = {connect}\n",
                name = toml_string(&host.name),
                connect = toml_string(&host.connect),
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

/// `"a", "b"`: the inside of a TOML array of strings.
fn toml_strings(values: &[String]) -> String {
    values
        .iter()
        .map(|value| toml_string(value))
        .collect::<Vec<_>>()
        .join(", ")
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
        // Two hosts hold two nodes of a group at max_unavailable 1 (placement keeps them apart).
        let fleet = E2eFleet::new("e2e-check", "qemu:///system")
            .group("web", 2)
            .with_group(E2eGroup::new("db", 2).reserved_from(Ipv4Addr::new(192, 168, 122, 240)))
            .with_group(E2eGroup::new("app", 2).static_from(Ipv4Addr::new(192, 168, 122, 230)))
            .with_group(
                E2eGroup::new("big", 1)
                    .memory_mib(16 * 1024 * 1024)
                    .on_host("far"),
            )
            .host("near", "qemu+tcp://127.0.0.1/system")
            .host("far", "qemu+tcp://127.0.0.1:16510/system")
            .pool(PoolLocation::HostDefault);
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
        let listing: serde_json::Value = serde_json::from_slice(&nodes.stdout).unwrap();
        let listed = |name: &str| {
            listing
                .as_array()
                .unwrap()
                .iter()
                .find(|node| node["name"] == name)
                .unwrap_or_else(|| panic!("{name} missing from {listing}"))
                .clone()
        };
        for name in fleet.node_names() {
            listed(&name);
        }
        assert_eq!(listed("e2e-check-db-2")["address"], "192.168.122.241");
        assert_eq!(listed("e2e-check-app-2")["address"], "192.168.122.231");
        assert_eq!(fleet.static_groups(), ["app"]);
        let rendered =
            crate::binary::render_fleet(&files.fleet_toml, &workdir.join("rendered")).unwrap();
        let config: serde_json::Value =
            serde_json::from_slice(&rendered.ignition["e2e-check-web-1"]).unwrap();
        assert_eq!(config["ignition"]["version"], IGNITION_VERSION);
        let users = config["passwd"]["users"].as_array().unwrap();
        assert_eq!(users.len(), fleet.users.len(), "{users:?}");
        assert_eq!(listed("e2e-check-big-1")["host"], "far");
        assert_eq!(listed("e2e-check-big-1")["memory_mib"], 16 * 1024 * 1024);
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
