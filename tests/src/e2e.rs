//! The gate in front of every real-libvirt test: run when `cargo xtask e2e` prepared the machine, skip
//! loudly on a developer box that did not, and fail in CI, where a skipped end-to-end test would hide a gap.

use std::io::Write;
use std::path::PathBuf;

use crate::virsh::Virsh;

/// What a prepared machine offers an end-to-end test.
#[derive(Debug, Clone)]
pub struct E2eEnvironment {
    /// The libvirt URI of a running daemon (`qemu:///system`).
    pub connect: String,
    /// The tiny guest built by `cargo xtask guest` (see docs/testing.md).
    pub guest: TinyGuest,
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
}

impl E2eEnvironment {
    pub fn virsh(&self) -> Virsh {
        Virsh::new(&self.connect)
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
    E2eEnvironment { connect, guest }
}

/// `FLEET_E2E_GUEST_*` when set, else `<target>/e2e-guest/NAME` next to this test binary's target dir.
fn guest_file(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("e2e-guest").join(name)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip must be seen.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}
