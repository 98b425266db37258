//! Driving and inspecting real libvirt through `virsh`, so the tests observe libvirt independently of
//! fleet's own code (and only `fleet-libvirt` links the `virt` crate).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// `virsh -c URI` for one connection.
#[derive(Debug, Clone)]
pub struct Virsh {
    connect: String,
    /// Where this daemon's qemu driver writes each domain's own log (`NAME.log`), as a path here;
    /// known for `qemu:///system` and set by the harness for the daemons it knows.
    qemu_log_dir: Option<PathBuf>,
}

impl Virsh {
    pub fn new(connect: &str) -> Virsh {
        Virsh {
            connect: connect.to_owned(),
            qemu_log_dir: (connect == "qemu:///system").then(|| PathBuf::from(QEMU_SYSTEM_LOG_DIR)),
        }
    }

    /// The same, knowing where the daemon keeps its qemu logs (a daemon reached over TCP).
    pub fn with_qemu_log_dir(mut self, directory: PathBuf) -> Virsh {
        self.qemu_log_dir = Some(directory);
        self
    }

    pub fn connect(&self) -> &str {
        &self.connect
    }

    /// Run `virsh -q -c URI ARGS`; stdout on success, libvirt's message as the error otherwise.
    pub fn run<I, S>(&self, arguments: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new("virsh");
        command.args(["-q", "-c", &self.connect]).args(arguments);
        let output = command
            .output()
            .with_context(|| format!("cannot run {command:?} (is libvirt-clients installed?)"))?;
        if !output.status.success() {
            bail!(
                "{command:?} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Define a domain from an XML file and start it; the guard undefines it again.
    pub fn define_and_start(&self, name: &str, definition: &Path) -> Result<DomainGuard> {
        self.run([Path::new("define").as_os_str(), definition.as_os_str()])?;
        let guard = DomainGuard {
            virsh: self.clone(),
            name: name.to_owned(),
        };
        self.run(["start", name])?;
        Ok(guard)
    }

    /// Define a domain from an XML file without starting it; the guard undefines it again.
    pub fn define(&self, name: &str, definition: &Path) -> Result<DomainGuard> {
        self.run([Path::new("define").as_os_str(), definition.as_os_str()])?;
        Ok(DomainGuard {
            virsh: self.clone(),
            name: name.to_owned(),
        })
    }

    /// The domain's state (`running`, `shut off`, ...), `None` when no such domain exists.
    pub fn domain_state(&self, name: &str) -> Result<Option<String>> {
        if !self.domain_names()?.iter().any(|known| known == name) {
            return Ok(None);
        }
        Ok(Some(self.run(["domstate", name])?.trim().to_owned()))
    }

    pub fn is_running(&self, name: &str) -> bool {
        matches!(self.domain_state(name), Ok(Some(state)) if state == "running")
    }

    /// Every domain, running or not.
    pub fn domain_names(&self) -> Result<Vec<String>> {
        Ok(non_empty_lines(&self.run(["list", "--all", "--name"])?))
    }

    /// Every storage pool, active or not.
    pub fn pool_names(&self) -> Result<Vec<String>> {
        Ok(non_empty_lines(&self.run([
            "pool-list",
            "--all",
            "--name",
        ])?))
    }

    /// The volumes of an active pool, by name (the pool is refreshed first so files made behind
    /// libvirt's back show up too).
    pub fn volume_names(&self, pool: &str) -> Result<Vec<String>> {
        self.run(["pool-refresh", pool])?;
        let listing = self.run(["vol-list", pool])?;
        Ok(listing
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect())
    }

    /// Domains whose names start with `prefix` (a test's fleet name), sorted.
    pub fn domains_named_like(&self, prefix: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .domain_names()?
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .collect();
        names.sort();
        Ok(names)
    }

    /// `count` consecutive IPv4 addresses from `candidates` that no DHCP host entry and no lease of
    /// `network` uses, so a test's reservations never collide with anyone else's.
    pub fn free_addresses(
        &self,
        network: &str,
        candidates: std::ops::RangeInclusive<Ipv4Addr>,
        count: u32,
    ) -> Result<Ipv4Addr> {
        let mut taken = std::collections::BTreeSet::new();
        for host in self.dhcp_hosts(network)? {
            taken.extend(addresses_in(&host));
        }
        for lease in non_empty_lines(&self.run(["net-dhcp-leases", network])?) {
            taken.extend(addresses_in(&lease));
        }
        let (first, last) = (u32::from(*candidates.start()), u32::from(*candidates.end()));
        (first..=last.saturating_sub(count.saturating_sub(1)))
            .find(|start| {
                (*start..start + count).all(|address| !taken.contains(&Ipv4Addr::from(address)))
            })
            .map(Ipv4Addr::from)
            .with_context(|| {
                format!(
                    "no {count} consecutive free addresses in {candidates:?} on network {network}"
                )
            })
    }

    /// Remove libvirt's own qemu logs of these domains (`NAME.log` and rotated copies), which
    /// libvirt keeps after undefine and fleet leaves alone (see docs/provisioning.md).
    pub fn remove_qemu_logs(&self, domains: &[String]) {
        let Some(directory) = &self.qemu_log_dir else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let belongs = domains.iter().any(|domain| {
                file_name
                    .strip_prefix(domain.as_str())
                    .is_some_and(|rest| rest == ".log" || rest.starts_with(".log."))
            });
            if belongs {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The `<host .../>` DHCP entries of a network, as their XML lines.
    pub fn dhcp_hosts(&self, network: &str) -> Result<Vec<String>> {
        let definition = self.run(["net-dumpxml", network])?;
        Ok(definition
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("<host "))
            .map(str::to_owned)
            .collect())
    }
}

/// What of a test fleet is still on the host; `is_empty` after `fleet destroy`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leftovers {
    pub domains: Vec<String>,
    pub pools: Vec<String>,
    pub dhcp_hosts: Vec<String>,
    pub files: Vec<std::path::PathBuf>,
    /// qemu's own per-domain logs that libvirt keeps after undefine (`/var/log/libvirt/qemu/NODE.log`,
    /// local `qemu:///system` only); `fleet destroy` of fleet's first version left these behind.
    pub qemu_logs: Vec<std::path::PathBuf>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self == &Leftovers::default()
    }

    /// Nothing fleet created is left; libvirt's own qemu logs may be (fleet leaves them to libvirt,
    /// see docs/provisioning.md).
    pub fn nothing_of_fleets_own(&self) -> bool {
        Leftovers {
            qemu_logs: Vec::new(),
            ..self.clone()
        }
        .is_empty()
    }
}

impl Virsh {
    /// Everything that still carries one of `node_names` or belongs to `pool_name`/`pool_dir`:
    /// domains, the pool, DHCP entries of `network` naming a node, files in the pool directory.
    pub fn leftovers(
        &self,
        node_names: &[String],
        pool_name: &str,
        pool_dir: &Path,
        network: &str,
    ) -> Result<Leftovers> {
        let names_a_node = |text: &str| {
            node_names.iter().any(|node| {
                text == node
                    || text.contains(&format!("'{node}'"))
                    || text.contains(&format!("\"{node}\""))
            })
        };
        let domains = self
            .domain_names()?
            .into_iter()
            .filter(|domain| names_a_node(domain))
            .collect();
        let pools = self
            .pool_names()?
            .into_iter()
            .filter(|pool| pool == pool_name)
            .collect();
        let dhcp_hosts = self
            .dhcp_hosts(network)?
            .into_iter()
            .filter(|host| names_a_node(host))
            .collect();
        let files = match std::fs::read_dir(pool_dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect(),
            Err(_) => Vec::new(),
        };
        let qemu_logs = match &self.qemu_log_dir {
            Some(directory) => node_names
                .iter()
                .map(|node| directory.join(format!("{node}.log")))
                .filter(|log| log.exists())
                .collect(),
            None => Vec::new(),
        };
        Ok(Leftovers {
            domains,
            pools,
            dhcp_hosts,
            files,
            qemu_logs,
        })
    }
}

/// The IPv4 addresses written in a line of virsh output (`ip='192.168.122.5'`, `192.168.122.5/24`).
fn addresses_in(text: &str) -> Vec<Ipv4Addr> {
    text.split(|character: char| !(character.is_ascii_digit() || character == '.'))
        .filter_map(|word| word.parse().ok())
        .collect()
}

fn non_empty_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The domains of guests that stay up (a fleet holding leases, `E2eFleet::guests_hold_a_lease`):
/// dropped while a test fails, it powers them off so that they do not run out their hold; their
/// definitions and files stay for a look, as the failed test's work directory does.
#[derive(Debug)]
pub struct PowerOffOnFailure {
    virsh: Virsh,
    domains: Vec<String>,
}

impl PowerOffOnFailure {
    pub fn new(virsh: &Virsh, domains: &[String]) -> PowerOffOnFailure {
        PowerOffOnFailure {
            virsh: virsh.clone(),
            domains: domains.to_vec(),
        }
    }
}

impl Drop for PowerOffOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for domain in &self.domains {
            if self.virsh.is_running(domain) {
                match self.virsh.run(["destroy", domain.as_str()]) {
                    Ok(_) => eprintln!("test failed: powered {domain} off, kept its definition"),
                    Err(error) => eprintln!("cleanup: cannot power {domain} off: {error:#}"),
                }
            }
        }
    }
}

/// Where libvirt's system qemu driver writes each domain's qemu log.
const QEMU_SYSTEM_LOG_DIR: &str = "/var/log/libvirt/qemu";

/// A domain a test created: dropping it stops and undefines exactly that domain, nothing else.
#[derive(Debug)]
pub struct DomainGuard {
    virsh: Virsh,
    name: String,
}

impl DomainGuard {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stop and undefine now, reporting failures (drop does the same but can only print them).
    pub fn remove(mut self) -> Result<()> {
        let result = self.remove_domain();
        self.name.clear();
        result
    }

    fn remove_domain(&self) -> Result<()> {
        if self.name.is_empty() {
            return Ok(());
        }
        match self.virsh.domain_state(&self.name)? {
            None => Ok(()),
            Some(state) => {
                if state != "shut off" {
                    // It may power off between the check and this call; what matters is the end state.
                    let _ = self.virsh.run(["destroy", &self.name]);
                }
                self.virsh.run(["undefine", "--nvram", &self.name])?;
                // libvirt keeps qemu's own log of the domain; it is ours to remove, except after a
                // failure, when it may explain it.
                if !std::thread::panicking() {
                    self.virsh
                        .remove_qemu_logs(std::slice::from_ref(&self.name));
                }
                Ok(())
            }
        }
    }
}

impl Drop for DomainGuard {
    fn drop(&mut self) {
        if let Err(error) = self.remove_domain() {
            eprintln!("cleanup: cannot remove domain {}: {error:#}", self.name);
        }
    }
}

/// A single tiny-guest domain (type qemu, direct kernel boot, fw_cfg config, console to a file).
#[derive(Debug, Clone)]
pub struct TinyGuestDomain {
    pub name: String,
    pub memory_mib: u64,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    /// Handed to the guest as fw_cfg entry `opt/com.coreos/config`, as fleet does with Ignition.
    pub fw_cfg_config: PathBuf,
    pub console_log: PathBuf,
}

impl TinyGuestDomain {
    /// The domain XML. Written out plainly so the test shows exactly what libvirt gets; fleet itself
    /// builds its XML with a typed builder in fleet-libvirt.
    pub fn to_xml(&self) -> String {
        let name = escape(&self.name);
        let memory = self.memory_mib;
        let kernel = escape_path(&self.kernel);
        let initrd = escape_path(&self.initrd);
        let cmdline = escape(&self.cmdline);
        let config = escape_path(&self.fw_cfg_config);
        let console = escape_path(&self.console_log);
        format!(
            "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <sysinfo type='fwcfg'>
    <entry name='opt/com.coreos/config' file='{config}'/>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='{console}'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
"
        )
    }
}

fn escape_path(path: &Path) -> String {
    escape(&path.to_string_lossy())
}

/// XML attribute and text escaping for the five special characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_dhcp_entries_and_leases() {
        assert_eq!(
            addresses_in("<host mac='52:54:00:aa:bb:cc' name='n-1' ip='192.168.122.31'/>"),
            [Ipv4Addr::new(192, 168, 122, 31)]
        );
        assert_eq!(
            addresses_in(
                " 2026-01-01 10:00:00  52:54:00:aa:bb:cc  ipv4  192.168.122.77/24  n-2  -"
            ),
            [Ipv4Addr::new(192, 168, 122, 77)]
        );
    }

    #[test]
    fn tiny_guest_xml_escapes_paths_and_carries_every_part() {
        let domain = TinyGuestDomain {
            name: "e2e-guest".into(),
            memory_mib: 256,
            kernel: "/k/vmlinuz".into(),
            initrd: "/k/initrd.img".into(),
            cmdline: "console=ttyS0".into(),
            fw_cfg_config: "/tmp/a'b&c/config.ign".into(),
            console_log: "/tmp/x/console.log".into(),
        };
        let xml = domain.to_xml();
        assert!(
            xml.contains("file='/tmp/a&apos;b&amp;c/config.ign'"),
            "{xml}"
        );
        assert!(xml.contains("<kernel>/k/vmlinuz</kernel>"));
        assert!(xml.contains("<initrd>/k/initrd.img</initrd>"));
        assert!(xml.contains("<source path='/tmp/x/console.log'/>"));
        assert!(xml.contains("<on_poweroff>destroy</on_poweroff>"));
        // Without ACPI libvirt passes -no-acpi and the guest's qemu_fw_cfg driver finds no device.
        assert!(xml.contains("<acpi/>"));
    }
}
