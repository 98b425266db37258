//! The system libvirt daemons and the `default` network for the end-to-end tests, on a machine without systemd.
//!
//! virtlogd must run before libvirtd starts a domain (qemu's console goes through it with the default
//! `stdio_handler = "logd"`). We start only what is not already running, remember the PIDs we started,
//! and stop only those, and only when asked: a developer's box keeps them for the next run.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{self, output};

/// The URI the end-to-end tests use.
pub(crate) const SYSTEM_URI: &str = "qemu:///system";

/// A daemon we know how to find and start.
#[derive(Debug, Clone, Copy)]
struct Daemon {
    program: &'static str,
    pid_file: &'static str,
    socket: &'static str,
}

const VIRTLOGD: Daemon = Daemon {
    program: "virtlogd",
    pid_file: "/run/virtlogd.pid",
    socket: "/run/libvirt/virtlogd-sock",
};

const LIBVIRTD: Daemon = Daemon {
    program: "libvirtd",
    pid_file: "/run/libvirtd.pid",
    socket: "/run/libvirt/libvirt-sock",
};

const DEFAULT_NETWORK: &str = "default";
const DEFAULT_NETWORK_DNSMASQ_PID: &str = "/run/libvirt/network/default.pid";

/// libvirt's stock `default` network: NAT on 192.168.122.0/24 with DHCP, as Debian's
/// libvirt-daemon-config-network ships it (used only when that definition is missing).
const DEFAULT_NETWORK_XML: &str = "<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
";

/// What `ensure_running` started, so that exactly that can be stopped again.
#[derive(Debug, Default)]
pub(crate) struct Started {
    /// PIDs of the daemons this process started, in start order.
    daemons: Vec<(&'static str, u32)>,
    /// Whether the `default` network (and its dnsmasq) came up because of us.
    network: bool,
}

impl Started {
    pub(crate) fn is_empty(&self) -> bool {
        self.daemons.is_empty() && !self.network
    }

    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .daemons
            .iter()
            .map(|(program, pid)| format!("{program} (pid {pid})"))
            .collect();
        if self.network {
            parts.push(format!("network `{DEFAULT_NETWORK}`"));
        }
        parts.join(", ")
    }
}

/// Start virtlogd and libvirtd unless they run, then make sure the `default` network exists and is active.
pub(crate) fn ensure_running() -> Result<Started> {
    let mut started = Started::default();
    ensure_kvm_device_group()?;
    let dnsmasq_was_running =
        pid_from_file(DEFAULT_NETWORK_DNSMASQ_PID).is_some_and(|pid| process_named(pid, "dnsmasq"));
    for daemon in [VIRTLOGD, LIBVIRTD] {
        if let Some(pid) = ensure_daemon(daemon)? {
            started.daemons.push((daemon.program, pid));
        }
    }
    // libvirtd autostarts the network when it starts; count it as ours if its dnsmasq was not there before.
    let started_network = ensure_default_network()?;
    started.network = started_network || !dnsmasq_was_running;
    Ok(started)
}

/// Undo `ensure_running`: stop the network if we brought it up, then the daemons we started, newest first.
pub(crate) fn stop(started: Started) -> Result<()> {
    if started.network {
        process::run(virsh().args(["net-destroy", DEFAULT_NETWORK]))?;
    }
    for (program, pid) in started.daemons.into_iter().rev() {
        eprintln!("stopping {program} (pid {pid}), which this run started");
        process::run(Command::new("kill").args(["-TERM", &pid.to_string()]))?;
        wait_until(Duration::from_secs(30), || !process_named(pid, program))
            .with_context(|| format!("{program} (pid {pid}) did not exit after SIGTERM"))?;
    }
    Ok(())
}

/// `Some(pid)` when we started the daemon, `None` when it already ran.
fn ensure_daemon(daemon: Daemon) -> Result<Option<u32>> {
    if let Some(pid) =
        pid_from_file(daemon.pid_file).filter(|pid| process_named(*pid, daemon.program))
    {
        eprintln!("{} already running (pid {pid})", daemon.program);
        return Ok(None);
    }
    if UnixStream::connect(daemon.socket).is_ok() {
        eprintln!("{} already serving {}", daemon.program, daemon.socket);
        return Ok(None);
    }
    if !process::is_root()? {
        bail!(
            "{} is not running and only root can start it: run `sudo {} -d` or `sudo cargo xtask e2e`",
            daemon.program,
            daemon.program
        );
    }
    process::run(Command::new(daemon.program).arg("-d"))?;
    wait_until(Duration::from_secs(30), || {
        UnixStream::connect(daemon.socket).is_ok()
    })
    .with_context(|| {
        format!(
            "{} started but never opened {}",
            daemon.program, daemon.socket
        )
    })?;
    let pid = pid_from_file(daemon.pid_file)
        .with_context(|| format!("{} wrote no pid file {}", daemon.program, daemon.pid_file))?;
    eprintln!("started {} (pid {pid})", daemon.program);
    Ok(Some(pid))
}

/// Give `/dev/kvm` the group and mode udev gives it on a normal Debian system (`kvm`, 0660).
///
/// Without udev it stays root-only. libvirtd probes qemu as root (KVM usable), then finds that the
/// qemu user (`libvirt-qemu`, in group `kvm`) cannot open `/dev/kvm`, declares its capability cache
/// stale and probes qemu again, on every lookup: a `virsh define` took 56 s here instead of 0.1 s.
/// The tests still run guests with TCG (domain type `qemu`).
fn ensure_kvm_device_group() -> Result<()> {
    const KVM_DEVICE: &str = "/dev/kvm";
    if !Path::new(KVM_DEVICE).exists() {
        return Ok(());
    }
    let current = output(Command::new("stat").args(["-c", "%G %a", KVM_DEVICE]))?;
    if current.trim() == "kvm 660" {
        return Ok(());
    }
    if !process::is_root()? {
        eprintln!(
            "warning: {KVM_DEVICE} is `{}`, not `kvm 660`: libvirt will re-probe qemu on every call (slow); \
             as root run `chgrp kvm {KVM_DEVICE} && chmod 0660 {KVM_DEVICE}`",
            current.trim()
        );
        return Ok(());
    }
    process::run(Command::new("chgrp").args(["kvm", KVM_DEVICE]))?;
    process::run(Command::new("chmod").args(["0660", KVM_DEVICE]))?;
    Ok(())
}

/// Returns whether this call started the network.
fn ensure_default_network() -> Result<bool> {
    let info = match output(virsh().args(["net-info", DEFAULT_NETWORK])) {
        Ok(info) => info,
        Err(_) => {
            let definition = std::env::temp_dir()
                .join(format!("fleet-xtask-network-{}.xml", std::process::id()));
            std::fs::write(&definition, DEFAULT_NETWORK_XML)
                .with_context(|| format!("cannot write {}", definition.display()))?;
            let defined = process::run(virsh().arg("net-define").arg(&definition));
            let _ = std::fs::remove_file(&definition);
            defined?;
            process::run(virsh().args(["net-autostart", DEFAULT_NETWORK]))?;
            output(virsh().args(["net-info", DEFAULT_NETWORK]))?
        }
    };
    let active = info
        .lines()
        .any(|line| line.starts_with("Active:") && line.ends_with("yes"));
    if !active {
        process::run(virsh().args(["net-start", DEFAULT_NETWORK]))?;
    }
    // Without systemd nothing else would notice a dnsmasq that died at start (e.g. a port clash).
    let dnsmasq_alive =
        pid_from_file(DEFAULT_NETWORK_DNSMASQ_PID).is_some_and(|pid| process_named(pid, "dnsmasq"));
    if !dnsmasq_alive {
        bail!(
            "network `{DEFAULT_NETWORK}` is active but its dnsmasq is not running (see {DEFAULT_NETWORK_DNSMASQ_PID}); \
             try `virsh net-destroy {DEFAULT_NETWORK} && virsh net-start {DEFAULT_NETWORK}`"
        );
    }
    Ok(!active)
}

/// Make libvirtd probe qemu now: the first probe after an install or upgrade runs qemu and takes up
/// to a minute on 2 cores; it is cached under /var/cache/libvirt, so later runs pay nothing.
pub(crate) fn warm_qemu_capabilities() -> Result<()> {
    output(virsh().args(["domcapabilities", "--virttype", "qemu", "--arch", "x86_64"]))
        .context("libvirt cannot run qemu (domcapabilities failed)")?;
    Ok(())
}

/// `virsh -c qemu:///system` with libvirt's own error text on failure.
pub(crate) fn virsh() -> Command {
    let mut command = Command::new("virsh");
    command.args(["-c", SYSTEM_URI, "-q"]);
    command
}

fn pid_from_file(path: impl AsRef<Path>) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is alive and runs `program` (a stale pid file may name a recycled PID).
///
/// A zombie counts as gone: daemons reparented to this machine's init wait a while to be reaped.
fn process_named(pid: u32, program: &str) -> bool {
    let is_program = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim() == program);
    let is_zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) state ...`: the state follows the last `)`, as comm may contain spaces.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    });
    is_program && !is_zombie
}

/// Poll `condition` until it holds or `limit` passes.
fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() > deadline {
            bail!("gave up after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
