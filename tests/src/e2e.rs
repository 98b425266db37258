//! The gate in front of every real-libvirt test: run when `cargo xtask e2e` prepared the machine, skip
//! loudly on a developer box that did not, and fail in CI, where a skipped end-to-end test would hide a gap.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::virsh::Virsh;

/// What a prepared machine offers an end-to-end test.
#[derive(Debug, Clone)]
pub struct E2eEnvironment {
    /// The libvirt URI of a running daemon (`qemu:///system`).
    pub connect: String,
    /// The same daemon through libvirt's remote protocol on loopback TCP (`qemu+tcp://127.0.0.1/system`).
    pub tcp_connect: String,
    /// A second, separate hypervisor, when `cargo xtask e2e` started one.
    pub second_host: Option<SecondHost>,
    /// The tiny guest built by `cargo xtask guest` (see docs/testing.md).
    pub guest: TinyGuest,
}

/// The second hypervisor `cargo xtask e2e` runs beside the first: its own libvirtd (own domains,
/// pools, networks and /var/lib/libvirt) in a mount namespace, reachable only over loopback TCP.
#[derive(Debug, Clone)]
pub struct SecondHost {
    /// `qemu+tcp://127.0.0.1:16510/system`.
    pub connect: String,
    /// Its state directory: what it sees as /var/lib/libvirt is `ROOT/lib` here, /var/log/libvirt
    /// is `ROOT/log` (xtask/src/daemons.rs).
    pub root: PathBuf,
}

impl SecondHost {
    /// virsh on the second hypervisor, knowing where its qemu logs are.
    pub fn virsh(&self) -> Virsh {
        Virsh::new(&self.connect).with_qemu_log_dir(self.root.join("log").join("qemu"))
    }

    /// A path as the second hypervisor sees it (under /var/lib/libvirt), as a path here.
    pub fn local_path(&self, path_on_host: &Path) -> Option<PathBuf> {
        let relative = path_on_host.strip_prefix("/var/lib/libvirt").ok()?;
        Some(self.root.join("lib").join(relative))
    }
}

/// The tiny guest: a Debian kernel and an initramfs whose `/init` prints the fw_cfg config's sha256.
#[derive(Debug, Clone)]
pub struct TinyGuest {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

impl TinyGuest {
    /// The kernel command line the guest needs: its console on ttyS0, and a panic ends the domain.
    pub const CMDLINE: &'static str = "console=ttyS0 panic=-1 quiet";

    /// `CMDLINE` for a guest that also takes a DHCP lease, reports it (`console::parse_lease`) and
    /// stays up `seconds` before powering off, so that libvirt reports the lease of a running domain.
    pub fn cmdline_holding_a_lease(seconds: u32) -> String {
        format!("{} fleet_e2e.lease_hold={seconds}", TinyGuest::CMDLINE)
    }
}

impl E2eEnvironment {
    pub fn virsh(&self) -> Virsh {
        Virsh::new(&self.connect)
    }

    /// virsh on the first daemon through loopback TCP, as a remote host is reached.
    pub fn tcp_virsh(&self) -> Virsh {
        Virsh::new(&self.tcp_connect).with_qemu_log_dir(PathBuf::from("/var/log/libvirt/qemu"))
    }

    /// The second hypervisor; panics (the test fails) when `cargo xtask e2e` did not provide one.
    pub fn require_second_host(&self, test_name: &str) -> &SecondHost {
        self.second_host.as_ref().unwrap_or_else(|| {
            panic!(
                "end-to-end test `{test_name}` needs the second hypervisor (FLEET_E2E_SECOND_CONNECT \
                 and FLEET_E2E_SECOND_ROOT); run it through `cargo xtask e2e`"
            )
        })
    }
}

/// The environment for the end-to-end test `test_name`, or `None` when it is to be skipped.
///
/// `FLEET_E2E=1` (set by `cargo xtask e2e`): run, and panic when the machine is not actually ready.
/// `FLEET_E2E=skip` (set by `cargo xtask test` for the plain `cargo test` pass, which `cargo xtask e2e`
/// follows): skip. Unset: skip with a message on a developer box; panic when `CI` is set.
pub fn environment(test_name: &str) -> Option<E2eEnvironment> {
    let setting = std::env::var("FLEET_E2E").unwrap_or_default();
    match setting.as_str() {
        "1" | "true" => Some(ready_environment(test_name)),
        "skip" => {
            say(&format!(
                "SKIPPED end-to-end test `{test_name}`: FLEET_E2E=skip (cargo xtask test runs it next)"
            ));
            None
        }
        _ if in_ci() => panic!(
            "end-to-end test `{test_name}` cannot be skipped in CI (CI is set, FLEET_E2E is not): \
             run it through `cargo xtask e2e`"
        ),
        _ => {
            say(&format!(
                "SKIPPED end-to-end test `{test_name}`: needs root, libvirtd and the tiny guest; \
                 run `cargo xtask e2e` (or set FLEET_E2E=1 once they are ready)"
            ));
            None
        }
    }
}

fn ready_environment(test_name: &str) -> E2eEnvironment {
    let connect =
        std::env::var("FLEET_E2E_CONNECT").unwrap_or_else(|_| "qemu:///system".to_owned());
    let guest = TinyGuest {
        kernel: guest_file("FLEET_E2E_GUEST_KERNEL", "vmlinuz"),
        initrd: guest_file("FLEET_E2E_GUEST_INITRD", "initrd.img"),
    };
    for path in [&guest.kernel, &guest.initrd] {
        assert!(
            path.is_file(),
            "end-to-end test `{test_name}`: tiny guest file {} is missing; run `cargo xtask guest`",
            path.display()
        );
    }
    if let Err(error) = Virsh::new(&connect).run(["uri"]) {
        panic!(
            "end-to-end test `{test_name}`: libvirt at {connect} is not reachable ({error:#}); \
             `cargo xtask e2e` starts the daemons"
        );
    }
    let tcp_connect = std::env::var("FLEET_E2E_TCP_CONNECT")
        .unwrap_or_else(|_| "qemu+tcp://127.0.0.1/system".to_owned());
    let second_host = match (
        std::env::var("FLEET_E2E_SECOND_CONNECT"),
        std::env::var_os("FLEET_E2E_SECOND_ROOT"),
    ) {
        (Ok(connect), Some(root)) => Some(SecondHost {
            connect,
            root: PathBuf::from(root),
        }),
        _ => None,
    };
    E2eEnvironment {
        connect,
        tcp_connect,
        second_host,
        guest,
    }
}

/// `FLEET_E2E_GUEST_*` when set, else `<target>/e2e-guest/NAME` next to this test binary's target dir.
fn guest_file(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    target_dir().join("e2e-guest").join(name)
}

/// The cargo target directory this test binary was built into (`<target>/debug/deps/TEST`), where
/// `cargo xtask` leaves the guest and Ignition.
pub(crate) fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip must be seen.
pub(crate) fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}
