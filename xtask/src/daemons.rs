//! The system libvirt daemons and the `default` network for the end-to-end tests, on a machine without systemd.
//!
//! virtlogd must run before libvirtd starts a domain (qemu's console goes through it with the default
//! `stdio_handler = "logd"`). We start only what is not already running, remember the PIDs we started,
//! and stop only those, and only when asked: a developer's box keeps them for the next run.
//!
//! libvirtd also listens on loopback TCP without authentication (`LIBVIRTD_CONFIG`), so the tests
//! reach it through libvirt's remote protocol (`qemu+tcp://127.0.0.1/system`) as fleet reaches a
//! remote hypervisor. It is started with that configuration file (`-f`) and `--listen`;
//! /etc/libvirt/libvirtd.conf is left as it is.
//!
//! A second, separate hypervisor runs beside it for the multi-host tests (`SECOND_HOST_URI`): another
//! virtlogd and libvirtd in a mount namespace of their own, where /run/libvirt, /etc/libvirt,
//! /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are directories under
//! `<target>/e2e/second-host/`. It keeps its own domains, pools, networks and files, as another machine
//! would, shares this machine's qemu, kernel and network stack, and is reachable only over loopback TCP.
//! Two `[[host]]` entries naming the *same* daemon (say `qemu:///system` and
//! `qemu+tcp://127.0.0.1/system`) would instead show every domain on both hosts.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{self, output, target_dir};

/// The URI the end-to-end tests use.
pub(crate) const SYSTEM_URI: &str = "qemu:///system";

/// The same daemon through libvirt's remote protocol on loopback TCP, as a remote host is reached.
pub(crate) const TCP_URI: &str = "qemu+tcp://127.0.0.1/system";

/// Where `LIBVIRTD_CONFIG` makes libvirtd listen (libvirt's default TCP port, loopback only).
const TCP_LISTEN_ADDRESS: &str = "127.0.0.1:16509";

/// libvirtd's configuration for the end-to-end tests: libvirt's defaults (Debian's
/// /etc/libvirt/libvirtd.conf sets nothing) plus TCP on loopback without authentication.
///
/// `auth_tcp = "none"` lets any local user drive libvirt as root while this daemon runs: fine on a
/// CI machine or a throwaway box, and the reason it is loopback-only and only for the tests.
const LIBVIRTD_CONFIG: &str = "\
# Written by `cargo xtask e2e` (xtask/src/daemons.rs); libvirtd runs with `--listen -f` this file.
# The end-to-end tests reach this daemon through libvirt's remote protocol as they would a remote
# hypervisor: qemu+tcp://127.0.0.1/system. Loopback only and without authentication: test use only.
listen_tls = 0
listen_tcp = 1
listen_addr = \"127.0.0.1\"
tcp_port = \"16509\"
auth_tcp = \"none\"
";

/// A daemon we know how to find and start.
#[derive(Debug, Clone, Copy)]
struct Daemon {
    program: &'static str,
    pid_file: &'static str,
    socket: &'static str,
    /// Listens on loopback TCP with `LIBVIRTD_CONFIG`.
    listens_on_tcp: bool,
}

const VIRTLOGD: Daemon = Daemon {
    program: "virtlogd",
    pid_file: "/run/virtlogd.pid",
    socket: "/run/libvirt/virtlogd-sock",
    listens_on_tcp: false,
};

const LIBVIRTD: Daemon = Daemon {
    program: "libvirtd",
    pid_file: "/run/libvirtd.pid",
    socket: "/run/libvirt/libvirt-sock",
    listens_on_tcp: true,
};

/// The second hypervisor (see the module docs): its own libvirtd, only on loopback TCP.
pub(crate) const SECOND_HOST_URI: &str = "qemu+tcp://127.0.0.1:16510/system";
const SECOND_HOST_LISTEN_ADDRESS: &str = "127.0.0.1:16510";

/// The second libvirtd's configuration: as `LIBVIRTD_CONFIG`, on the next port.
const SECOND_HOST_LIBVIRTD_CONFIG: &str = "\
# Written by `cargo xtask e2e` (xtask/src/daemons.rs): the second hypervisor of the end-to-end tests,
# a libvirtd in its own mount namespace, reached only as qemu+tcp://127.0.0.1:16510/system.
# Loopback only and without authentication: test use only.
listen_tls = 0
listen_tcp = 1
listen_addr = \"127.0.0.1\"
tcp_port = \"16510\"
auth_tcp = \"none\"
";

/// The second hypervisor's own `default` network, on a bridge and subnet of its own.
const SECOND_HOST_NETWORK_XML: &str = "<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='fleete2e1' stp='on' delay='0'/>
  <ip address='10.217.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.217.122.2' end='10.217.122.254'/>
    </dhcp>
  </ip>
</network>
";

/// The system directories libvirt keeps its state in, each replaced in the second hypervisor's mount
/// namespace by the directory of the same last name under its root (`run`, `etc`, ...).
const SECOND_HOST_PRIVATE_DIRECTORIES: &[(&str, &str)] = &[
    ("run", "/run/libvirt"),
    ("etc", "/etc/libvirt"),
    ("lib", "/var/lib/libvirt"),
    ("cache", "/var/cache/libvirt"),
    ("log", "/var/log/libvirt"),
];

/// Run by `unshare --mount` as `sh -c SCRIPT sh ROOT START_VIRTLOGD`: hide this machine's libvirt
/// state behind the second hypervisor's directories, then start its daemons (virtlogd only when
/// `START_VIRTLOGD` is 1, i.e. not still running from an earlier start).
const SECOND_HOST_START_SCRIPT: &str = r#"set -e
root="$1"
mount --bind "$root/run" /run/libvirt
mount --bind "$root/etc" /etc/libvirt
mount --bind "$root/lib" /var/lib/libvirt
mount --bind "$root/cache" /var/cache/libvirt
mount --bind "$root/log" /var/log/libvirt
if [ "$2" = 1 ]; then virtlogd -d -p /run/libvirt/virtlogd.pid; fi
libvirtd -d --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
"#;

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
    /// The second hypervisor's daemons this process started (its network goes with them).
    second_host: Vec<(&'static str, u32)>,
}

impl Started {
    pub(crate) fn is_empty(&self) -> bool {
        self.daemons.is_empty() && !self.network && self.second_host.is_empty()
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
        parts.extend(
            self.second_host
                .iter()
                .map(|(program, pid)| format!("second hypervisor's {program} (pid {pid})")),
        );
        parts.join(", ")
    }
}

/// Which hypervisors a caller needs: the system one always, the second one for the multi-host tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hypervisors {
    System,
    SystemAndSecond,
}

/// Start virtlogd and libvirtd unless they run, then make sure the `default` network exists and is
/// active; the same for the second hypervisor when asked for.
pub(crate) fn ensure_running(hypervisors: Hypervisors) -> Result<Started> {
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
    let started_network = ensure_network(
        SYSTEM_URI,
        DEFAULT_NETWORK_XML,
        Path::new(DEFAULT_NETWORK_DNSMASQ_PID),
    )?;
    started.network = started_network || !dnsmasq_was_running;
    if hypervisors == Hypervisors::System {
        return Ok(started);
    }
    // Whatever happens next, what was started so far is reported (and stopped in CI).
    if let Err(error) = ensure_second_host(&mut started.second_host) {
        eprintln!("e2e: the second hypervisor did not come up: {error:#}");
        if !started.is_empty() {
            eprintln!(
                "e2e: stopping what this run started: {}",
                started.describe()
            );
            stop(started)?;
        }
        return Err(error);
    }
    Ok(started)
}

/// Where the second hypervisor keeps its state (see the module docs): under this checkout's target
/// directory, unless this run adopted the one another checkout started.
pub(crate) fn second_host_root() -> PathBuf {
    ADOPTED_SECOND_HOST_ROOT
        .get()
        .cloned()
        .unwrap_or_else(|| target_dir().join("e2e").join("second-host"))
}

/// The state directory of a second hypervisor that another checkout's `cargo xtask e2e` started
/// (several worktrees share one machine, and only one libvirtd can own its port).
static ADOPTED_SECOND_HOST_ROOT: OnceLock<PathBuf> = OnceLock::new();

/// A running libvirtd whose /var/lib/libvirt is bind-mounted from `ROOT/lib`: the second hypervisor
/// of some checkout, and that `ROOT`. Read from each libvirtd's mount table.
fn running_second_host_elsewhere() -> Option<(u32, PathBuf)> {
    let processes = std::fs::read_dir("/proc").ok()?;
    processes
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_named(*pid, "libvirtd"))
        .find_map(|pid| {
            let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).ok()?;
            // `ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...`: ROOT is the bound directory.
            let bound = mounts.lines().find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.get(4) == Some(&"/var/lib/libvirt")).then(|| PathBuf::from(fields[3]))
            })?;
            let root = bound.parent().filter(|_| bound.ends_with("lib"))?;
            root.join("run").is_dir().then(|| (pid, root.to_path_buf()))
        })
}

/// Start the second hypervisor's daemons unless they run; then its network, like the first's.
fn ensure_second_host(started: &mut Vec<(&'static str, u32)>) -> Result<()> {
    let root = second_host_root();
    let virtlogd_pid_file = root.join("run").join("virtlogd.pid");
    let libvirtd_pid_file = root.join("run").join("libvirtd.pid");
    let running = |pid_file: &Path, program: &str| {
        pid_from_file(pid_file).filter(|pid| process_named(*pid, program))
    };
    let virtlogd_running = running(&virtlogd_pid_file, "virtlogd");
    let listening = || {
        SECOND_HOST_LISTEN_ADDRESS
            .parse::<SocketAddr>()
            .is_ok_and(|address| {
                TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
            })
    };
    if let Some(pid) = running(&libvirtd_pid_file, "libvirtd") {
        eprintln!("second hypervisor: libvirtd already running (pid {pid})");
    } else if let Some((pid, other_root)) = running_second_host_elsewhere().filter(|_| listening())
    {
        // Another checkout's run owns the port: use its hypervisor as it is, and never stop it.
        eprintln!(
            "second hypervisor: libvirtd already running (pid {pid}) with its state in {}",
            other_root.display()
        );
        let other_root = ADOPTED_SECOND_HOST_ROOT.get_or_init(|| other_root).clone();
        return ensure_network(
            SECOND_HOST_URI,
            SECOND_HOST_NETWORK_XML,
            &other_root.join("run").join("network").join("default.pid"),
        )
        .map(|_| ());
    } else {
        if !process::is_root()? {
            bail!(
                "the second hypervisor's libvirtd is not running and only root can start it: run `sudo cargo xtask e2e`"
            );
        }
        for (name, _) in SECOND_HOST_PRIVATE_DIRECTORIES {
            let directory = root.join(name);
            std::fs::create_dir_all(&directory)
                .with_context(|| format!("cannot create {}", directory.display()))?;
        }
        let config = root.join("etc").join("libvirtd.conf");
        if std::fs::read_to_string(&config).ok().as_deref() != Some(SECOND_HOST_LIBVIRTD_CONFIG) {
            std::fs::write(&config, SECOND_HOST_LIBVIRTD_CONFIG)
                .with_context(|| format!("cannot write {}", config.display()))?;
        }
        let start_virtlogd = if virtlogd_running.is_some() { "0" } else { "1" };
        process::run(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(SECOND_HOST_START_SCRIPT)
                .arg("sh")
                .arg(&root)
                .arg(start_virtlogd),
        )
        .context("cannot start the second hypervisor (unshare needs root and util-linux)")?;
        let address: SocketAddr = SECOND_HOST_LISTEN_ADDRESS
            .parse()
            .context("the second hypervisor's address is malformed")?;
        wait_until(Duration::from_secs(30), || {
            TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
        })
        .with_context(|| {
            format!("the second hypervisor's libvirtd started but never listened on {SECOND_HOST_LISTEN_ADDRESS}")
        })?;
        if virtlogd_running.is_none() {
            let pid = running(&virtlogd_pid_file, "virtlogd").with_context(|| {
                format!(
                    "the second hypervisor's virtlogd wrote no pid file {}",
                    virtlogd_pid_file.display()
                )
            })?;
            eprintln!("started the second hypervisor's virtlogd (pid {pid})");
            started.push(("virtlogd", pid));
        }
        let pid = running(&libvirtd_pid_file, "libvirtd").with_context(|| {
            format!(
                "the second hypervisor's libvirtd wrote no pid file {}",
                libvirtd_pid_file.display()
            )
        })?;
        eprintln!("started the second hypervisor's libvirtd (pid {pid}), {SECOND_HOST_URI}");
        started.push(("libvirtd", pid));
    }
    ensure_network(
        SECOND_HOST_URI,
        SECOND_HOST_NETWORK_XML,
        &root.join("run").join("network").join("default.pid"),
    )?;
    Ok(())
}

/// The tests reach libvirtd as a remote host over loopback TCP: make sure that works, or say how to
/// get there (a libvirtd this run did not start is never restarted).
pub(crate) fn check_tcp_listener() -> Result<()> {
    let address: SocketAddr = TCP_LISTEN_ADDRESS
        .parse()
        .context("the loopback TCP address is malformed")?;
    if TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
        let pid =
            pid_from_file(LIBVIRTD.pid_file).map_or_else(|| "?".to_owned(), |pid| pid.to_string());
        bail!(
            "libvirtd (pid {pid}) runs but does not listen on {TCP_LISTEN_ADDRESS}, which the remote-host \
             tests need; it was started outside `cargo xtask e2e` (or by an older version), so it is left \
             alone: stop it (`kill {pid}`) and run `cargo xtask e2e` again, which starts it with \
             `libvirtd -d --listen -f {}`",
            libvirtd_config_path().display()
        );
    }
    output(Command::new("virsh").args(["-q", "-c", TCP_URI, "uri"])).with_context(|| {
        format!(
            "libvirtd listens on {TCP_LISTEN_ADDRESS} but {TCP_URI} does not answer without \
             authentication (its auth_tcp is not \"none\"?)"
        )
    })?;
    Ok(())
}

/// Where `LIBVIRTD_CONFIG` is written for `libvirtd -f`.
fn libvirtd_config_path() -> PathBuf {
    target_dir().join("e2e").join("libvirtd.conf")
}

/// Write `LIBVIRTD_CONFIG` (only when it differs, so the file's age tells when it last changed).
fn write_libvirtd_config() -> Result<PathBuf> {
    let path = libvirtd_config_path();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(LIBVIRTD_CONFIG) {
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory)
                .with_context(|| format!("cannot create {}", directory.display()))?;
        }
        std::fs::write(&path, LIBVIRTD_CONFIG)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(path)
}

/// Undo `ensure_running`: stop the network if we brought it up, then the daemons we started, newest first.
pub(crate) fn stop(started: Started) -> Result<()> {
    if !started.second_host.is_empty() {
        // Its dnsmasq and bridge outlive libvirtd: take the network down first.
        let _ = process::run(virsh_at(SECOND_HOST_URI).args(["net-destroy", DEFAULT_NETWORK]));
    }
    for (program, pid) in started.second_host.into_iter().rev() {
        stop_daemon(program, pid)?;
    }
    if started.network {
        process::run(virsh().args(["net-destroy", DEFAULT_NETWORK]))?;
    }
    for (program, pid) in started.daemons.into_iter().rev() {
        stop_daemon(program, pid)?;
    }
    Ok(())
}

fn stop_daemon(program: &str, pid: u32) -> Result<()> {
    eprintln!("stopping {program} (pid {pid}), which this run started");
    process::run(Command::new("kill").args(["-TERM", &pid.to_string()]))?;
    wait_until(Duration::from_secs(30), || !process_named(pid, program))
        .with_context(|| format!("{program} (pid {pid}) did not exit after SIGTERM"))
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
    let mut command = Command::new(daemon.program);
    command.arg("-d");
    if daemon.listens_on_tcp {
        command
            .arg("--listen")
            .arg("-f")
            .arg(write_libvirtd_config()?);
    }
    process::run(&mut command)?;
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

/// Make sure the `default` network of the daemon at `connect` exists (defined from `xml` when
/// missing) and is active, and that its dnsmasq (pid in `dnsmasq_pid`) runs. Returns whether this
/// call started the network.
fn ensure_network(connect: &str, xml: &str, dnsmasq_pid: &Path) -> Result<bool> {
    let virsh = || virsh_at(connect);
    let info = match output(virsh().args(["net-info", DEFAULT_NETWORK])) {
        Ok(info) => info,
        Err(_) => {
            let definition = std::env::temp_dir()
                .join(format!("fleet-xtask-network-{}.xml", std::process::id()));
            std::fs::write(&definition, xml)
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
        remove_stale_bridge(&output(virsh().args(["net-dumpxml", DEFAULT_NETWORK]))?)?;
        process::run(virsh().args(["net-start", DEFAULT_NETWORK]))?;
    }
    // Without systemd nothing else would notice a dnsmasq that died at start (e.g. a port clash).
    let dnsmasq_alive = pid_from_file(dnsmasq_pid).is_some_and(|pid| process_named(pid, "dnsmasq"));
    if !dnsmasq_alive {
        bail!(
            "network `{DEFAULT_NETWORK}` of {connect} is active but its dnsmasq is not running (see {}); \
             try `virsh -c {connect} net-destroy {DEFAULT_NETWORK} && virsh -c {connect} net-start {DEFAULT_NETWORK}`",
            dnsmasq_pid.display()
        );
    }
    Ok(!active)
}

/// A libvirtd that was killed (not stopped) leaves its network's bridge up with the subnet's route,
/// and libvirt then refuses to start the network again ("Network is already in use by interface").
/// The network is inactive, so a bridge of its name is such a leftover: delete it.
fn remove_stale_bridge(network_xml: &str) -> Result<()> {
    let Some(bridge) = bridge_name(network_xml) else {
        return Ok(());
    };
    if Path::new("/sys/class/net").join(bridge).exists() {
        eprintln!(
            "network `{DEFAULT_NETWORK}` is inactive but its bridge {bridge} is still up: deleting the leftover"
        );
        process::run(Command::new("ip").args(["link", "delete", bridge]))?;
    }
    Ok(())
}

/// The `name` of a network definition's `<bridge>` element.
fn bridge_name(network_xml: &str) -> Option<&str> {
    let element = &network_xml[network_xml.find("<bridge ")?..];
    let element = &element[..element.find('>')?];
    let value = &element[element.find("name=")? + "name=".len()..];
    let quote = value.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    value[1..]
        .split(quote)
        .next()
        .filter(|name| !name.is_empty())
}

/// Make libvirtd probe qemu now: the first probe after an install or upgrade runs qemu and takes up
/// to a minute on 2 cores; it is cached under /var/cache/libvirt, so later runs pay nothing.
///
/// The second hypervisor keeps its own cache, so it is asked too.
pub(crate) fn warm_qemu_capabilities() -> Result<()> {
    for connect in [SYSTEM_URI, SECOND_HOST_URI] {
        output(virsh_at(connect).args([
            "domcapabilities",
            "--virttype",
            "qemu",
            "--arch",
            "x86_64",
        ]))
        .with_context(|| {
            format!("libvirt at {connect} cannot run qemu (domcapabilities failed)")
        })?;
    }
    Ok(())
}

/// `virsh -c qemu:///system` with libvirt's own error text on failure.
pub(crate) fn virsh() -> Command {
    virsh_at(SYSTEM_URI)
}

/// `virsh -c URI`.
fn virsh_at(connect: &str) -> Command {
    let mut command = Command::new("virsh");
    command.args(["-c", connect, "-q"]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_name_comes_from_the_network_definition() {
        assert_eq!(bridge_name(SECOND_HOST_NETWORK_XML), Some("fleete2e1"));
        assert_eq!(bridge_name(DEFAULT_NETWORK_XML), Some("virbr0"));
        assert_eq!(
            bridge_name("<network><bridge name=\"br-x\" stp=\"on\"/></network>"),
            Some("br-x")
        );
        assert_eq!(
            bridge_name("<network><forward mode='bridge'/></network>"),
            None
        );
        assert_eq!(bridge_name("<network><bridge stp='on'/></network>"), None);
    }
}
