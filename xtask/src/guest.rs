//! The tiny end-to-end guest: a Debian kernel and a busybox initramfs that prints the sha256 of the
//! Ignition config it received through fw_cfg, applies that config with the real Ignition as Fedora
//! CoreOS's initramfs does, prints what Ignition wrote, runs fleet's health gate when the config has one
//! (against stand-in rpm-ostree and systemctl), takes a DHCP lease when its kernel command line asks
//! for one, then powers off.
//!
//! Built once into `<target>/e2e-guest/` (`vmlinuz`, `initrd.img`, `guest.txt`) and reused while the
//! recipe is unchanged. Nothing is installed on the host: the packages are fetched with
//! `apt-get download` and unpacked with `dpkg-deb`; the tools Ignition calls are the host's own
//! (the shadow tools of Debian's essential `passwd` package, and systemd's `systemctl`), copied with
//! their libraries.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::debs::{self, file_name};
use crate::ignition::{self, FetchedIgnition};
use crate::process::{self, output, target_dir};
use crate::shared_libraries;

/// The guest's `/init`. The marker lines are what `fleet_tests::console` parses, and the script it
/// runs prints what `fleet_tests::ignition_manifest` parses: keep them in step.
const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
# fleet e2e tiny guest: report the Ignition config qemu handed over through fw_cfg, apply it with the
# real Ignition into a fresh sysroot as Fedora CoreOS's initramfs would, show what it wrote, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# From here on only emergencies from the kernel reach the console: no line of a report is split.
dmesg -n 1
modprobe qemu_fw_cfg
config=/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw
echo FLEET-E2E-BEGIN
if [ -r "$config" ]; then
    echo "size=$(wc -c < "$config")"
    echo "sha256=$(sha256sum "$config" | cut -d ' ' -f 1)"
else
    echo "error=no fw_cfg entry opt/com.coreos/config"
fi
echo FLEET-E2E-END
mount -t tmpfs -o mode=0755 sysroot /sysroot
mount -t tmpfs -o mode=0755 run /run
mkdir /run/fleet-ignition
IGNITION=/usr/bin/ignition sh /usr/libexec/fleet/apply-and-list.sh qemu /sysroot /run/fleet-ignition
# When the config holds fleet's health gate, run it as its units would: the check, then the rollback
# when the check fails (OnFailure=), each as `/bin/sh SCRIPT`, against the stand-in rpm-ostree (a
# first boot of Fedora CoreOS) and systemctl the guest has instead of the real ones. The check's
# FLEET-HEALTH line goes to the console; what the units would send to the journal, to a file.
gate=/sysroot/etc/fleet/health
if [ -f "$gate/health-check" ]; then
    mkdir -p /run/fleet-health-scenario
    cp /usr/share/fleet/rpm-ostree-status.json /run/fleet-health-scenario/status.json
    : > /run/fleet-health-scenario/active-units
    export SCENARIO=/run/fleet-health-scenario FLEET_HEALTH_CONFIG=$gate/checks.conf FLEET_HEALTH_STATE=/sysroot/var/lib/fleet/health
    PATH=/usr/libexec/fleet/stand-ins:$PATH sh "$gate/health-check" 2>> /run/fleet-health.journal \
        || PATH=/usr/libexec/fleet/stand-ins:$PATH sh "$gate/rollback" 2>> /run/fleet-health.journal
fi
# With `fleet_e2e.lease_hold=SECONDS` on the kernel command line: take an address from the network's
# DHCP server as NetworkManager would on a DHCP node, report it, and stay up SECONDS so that libvirt
# reports the lease of a running domain (`fleet status`, `fleet inventory --addresses libvirt`).
hold=$(sed -n 's/.*fleet_e2e\.lease_hold=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$hold" ]; then
    modprobe virtio_pci
    modprobe virtio_net
    nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
    lease=none
    if [ -n "$nic" ] && ip link set "$nic" up \
        && udhcpc -i "$nic" -n -q -f -t 20 -T 3 -s /usr/libexec/fleet/udhcpc-report > /run/fleet-udhcpc.log 2>&1; then
        lease=$(cat /run/fleet-lease)
    fi
    echo "FLEET-E2E-LEASE nic=${nic:-none} mac=$(cat "/sys/class/net/$nic/address" 2>/dev/null) ip=$lease"
    sleep "$hold"
fi
poweroff -f
"#;

/// What udhcpc runs with the lease it got: keep the address; the guest needs no route or DNS.
const UDHCPC_SCRIPT: &str =
    "#!/bin/busybox sh\n[ \"$1\" = bound ] && echo \"$ip\" > /run/fleet-lease\nexit 0\n";
const UDHCPC_SCRIPT_IN_GUEST: &str = "usr/libexec/fleet/udhcpc-report";

/// The kernel modules the guest loads (Debian builds them as modules): fw_cfg for the Ignition
/// config, virtio's PCI transport and virtio-net (with what they need) for the lease.
const MODULES: &[&str] = &[
    "qemu_fw_cfg",
    "virtio",
    "virtio_ring",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
];

/// Seeds a root, runs Ignition's stages and prints the manifest: shared with the host-side twin.
const APPLY_SCRIPT: &str = include_str!("../../tests/data/ignition/apply-and-list.sh");
const APPLY_SCRIPT_IN_GUEST: &str = "usr/libexec/fleet/apply-and-list.sh";

/// What the health gate's scripts call instead of Fedora CoreOS's tools, and the `rpm-ostree status
/// --json` the stand-in answers: the health harness's own (tests/tests/health_gate.rs).
const HEALTH_STAND_INS: &[(&str, &str)] = &[
    (
        "usr/libexec/fleet/stand-ins/rpm-ostree",
        include_str!("../../tests/data/health/stand-ins/rpm-ostree"),
    ),
    (
        "usr/libexec/fleet/stand-ins/systemctl",
        include_str!("../../tests/data/health/stand-ins/systemctl"),
    ),
];
const RPM_OSTREE_STATUS: &str = include_str!("../../tests/data/health/rpm-ostree-status.json");
const RPM_OSTREE_STATUS_IN_GUEST: &str = "usr/share/fleet/rpm-ostree-status.json";

/// What Ignition's files stage runs with `--root`: the shadow tools for users and groups, and
/// systemctl to remove the enablement links of a unit it disables (`enabled: false`).
const HOST_TOOLS: &[&str] = &[
    "/usr/sbin/useradd",
    "/usr/sbin/usermod",
    "/usr/sbin/groupadd",
    "/usr/bin/systemctl",
];
/// The packages of `HOST_TOOLS`, whose versions are part of the recipe.
const HOST_TOOL_PACKAGES: &[&str] = &["passwd", "systemd"];

/// Bump when the build steps change in a way the init script does not show.
const RECIPE_REVISION: u32 = 2;

/// The built guest, as the tests consume it (see docs/testing.md).
#[derive(Debug, Clone)]
pub(crate) struct Guest {
    pub(crate) directory: PathBuf,
    pub(crate) kernel: PathBuf,
    pub(crate) initrd: PathBuf,
}

pub(crate) fn guest_dir() -> PathBuf {
    target_dir().join("e2e-guest")
}

/// Build the guest unless an up-to-date one is cached.
pub(crate) fn ensure_built() -> Result<Guest> {
    let directory = guest_dir();
    let guest = Guest {
        kernel: directory.join("vmlinuz"),
        initrd: directory.join("initrd.img"),
        directory: directory.clone(),
    };
    let ignition = ignition::ensure_fetched()?;
    let stamp = directory.join("recipe");
    let recipe = recipe_id(&ignition)?;
    let cached = fs::read_to_string(&stamp).is_ok_and(|found| found == recipe)
        && guest.kernel.is_file()
        && guest.initrd.is_file();
    if cached {
        eprintln!("guest: reusing {}", directory.display());
        return Ok(guest);
    }
    build(&guest, &ignition).context("cannot build the tiny e2e guest")?;
    fs::write(&stamp, recipe).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(guest)
}

/// Identifies the recipe (scripts, build steps, the Ignition package and the host tools' packages): a
/// change rebuilds the guest.
fn recipe_id(ignition: &FetchedIgnition) -> Result<String> {
    // FNV-1a: a stable fingerprint without a hashing dependency.
    let hash = INIT_SCRIPT
        .bytes()
        .chain(APPLY_SCRIPT.bytes())
        .chain(
            HEALTH_STAND_INS
                .iter()
                .flat_map(|(_, script)| script.bytes()),
        )
        .chain(RPM_OSTREE_STATUS.bytes())
        .chain(UDHCPC_SCRIPT.bytes())
        .chain(MODULES.iter().flat_map(|module| module.bytes()))
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    Ok(format!(
        "revision {RECIPE_REVISION}, scripts {hash:016x}, {}, {}\n",
        ignition.package,
        host_tool_packages()?
    ))
}

/// The installed packages of the host tools the guest takes, with their versions.
fn host_tool_packages() -> Result<String> {
    let listed = output(
        Command::new("dpkg-query")
            .args(["-W", "-f=${Package} ${Version}\n"])
            .args(HOST_TOOL_PACKAGES),
    )
    .context("the guest takes useradd and systemctl from the host: `cargo xtask setup --e2e` installs them")?;
    Ok(listed.trim().replace('\n', ", "))
}

fn build(guest: &Guest, ignition: &FetchedIgnition) -> Result<()> {
    let work = guest.directory.join("work");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    let downloads = work.join("debs");
    let unpacked = work.join("unpacked");
    let root = work.join("initramfs");
    for directory in [&downloads, &unpacked, &root] {
        fs::create_dir_all(directory)
            .with_context(|| format!("cannot create {}", directory.display()))?;
    }

    let kernel_package = kernel_package_name()?;
    debs::download(&downloads, &[&kernel_package, "busybox-static"])?;
    let kernel_deb = debs::downloaded(&downloads, &kernel_package)?;
    let busybox_deb = debs::downloaded(&downloads, "busybox-static")?;

    // Only the kernel and a few modules are needed: extracting those members of the ~70 MB package
    // keeps this to seconds instead of unpacking every module.
    let mut extract = Command::new("bash");
    extract.args([
        "-c",
        r#"set -euo pipefail; deb="$1" into="$2"; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$into" --wildcards './boot/vmlinuz-*' "$@""#,
        "extract-kernel",
    ]).arg(&kernel_deb).arg(&unpacked);
    extract.args(MODULES.iter().map(|module| format!("*/{module}.ko*")));
    process::run(&mut extract)?;
    process::run(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&busybox_deb)
            .arg(&unpacked),
    )?;

    let vmlinuz = debs::find_file(&unpacked.join("boot"), |name| name.starts_with("vmlinuz-"))?;

    for directory in ["bin", "dev", "proc", "sys", "run", "sysroot", "tmp"] {
        fs::create_dir_all(root.join(directory))?;
    }
    fs::copy(unpacked.join("bin/busybox"), root.join("bin/busybox"))
        .context("busybox-static has no bin/busybox")?;
    // Under lib/modules/VERSION with a modules.dep, so that `modprobe` works and loads what a module
    // depends on: Ignition's qemu provider runs `modprobe qemu_fw_cfg` before reading fw_cfg, even
    // when the module is loaded.
    let mut kernel_version = None;
    for module in MODULES {
        let found = find_recursive(&unpacked.join("lib"), &format!("{module}.ko"))?
            .with_context(|| format!("the kernel package has no {module} module"))?;
        let module_in_tree = found
            .strip_prefix(&unpacked)
            .context("the module is outside the unpacked kernel package")?;
        kernel_version = module_in_tree
            .iter()
            .nth(2)
            .and_then(|version| version.to_str())
            .map(str::to_owned);
        let module_name = file_name(module_in_tree);
        let module_stem = module_name
            .find(".ko")
            .map_or(module_name.as_str(), |end| &module_name[..end + 3]);
        install_module(
            &found,
            &root.join(module_in_tree.with_file_name(module_stem)),
        )?;
    }
    let kernel_version = kernel_version.context("the modules are not under lib/modules/VERSION")?;
    process::run(
        Command::new(root.join("bin/busybox"))
            .args(["depmod", "-b"])
            .arg(&root)
            .arg(&kernel_version),
    )?;
    let mut libraries =
        shared_libraries::install_program(&ignition.binary, &root, "/usr/bin/ignition")?;
    for tool in HOST_TOOLS {
        libraries.extend(shared_libraries::install_program(
            Path::new(tool),
            &root,
            tool,
        )?);
    }
    libraries.sort();
    libraries.dedup();
    let apply_script = root.join(APPLY_SCRIPT_IN_GUEST);
    fs::create_dir_all(apply_script.parent().unwrap_or(&root))?;
    fs::write(&apply_script, APPLY_SCRIPT)?;
    let mut executables = vec![
        root.join("init"),
        root.join("bin/busybox"),
        root.join("usr/bin/ignition"),
    ];
    for (path, script) in HEALTH_STAND_INS {
        let stand_in = root.join(path);
        fs::create_dir_all(stand_in.parent().unwrap_or(&root))?;
        fs::write(&stand_in, script)?;
        executables.push(stand_in);
    }
    let udhcpc_script = root.join(UDHCPC_SCRIPT_IN_GUEST);
    fs::write(&udhcpc_script, UDHCPC_SCRIPT)?;
    executables.push(udhcpc_script);
    let status = root.join(RPM_OSTREE_STATUS_IN_GUEST);
    fs::create_dir_all(status.parent().unwrap_or(&root))?;
    fs::write(&status, RPM_OSTREE_STATUS)?;
    let init = root.join("init");
    fs::write(&init, INIT_SCRIPT)?;
    process::run(Command::new("chmod").arg("0755").args(&executables))?;
    process::run(Command::new("chmod").arg("1777").arg(root.join("tmp")))?;

    // zstd: the kernel unpacks it faster than gzip (Ignition makes the archive ~26 MB), and it is smaller.
    let initrd_partial = guest.directory.join("initrd.img.partial");
    process::run(Command::new("bash").args([
        "-c",
        r#"set -euo pipefail; cd "$1"; find . -print0 | LC_ALL=C sort -z | cpio --null --quiet -o -H newc --reproducible | zstd -19 -q -c > "$2""#,
        "pack-initramfs",
    ]).arg(&root).arg(&initrd_partial))?;
    fs::copy(&vmlinuz, &guest.kernel)
        .with_context(|| format!("cannot copy {}", vmlinuz.display()))?;
    fs::rename(&initrd_partial, &guest.initrd)?;

    let description = format!(
        "kernel package: {}\nbusybox package: {}\nignition package: {}\nhost tools: {} from {}\nlibraries (the host's): {}\nkernel: {}\ninitrd: {}\n",
        file_name(&kernel_deb),
        file_name(&busybox_deb),
        ignition.package,
        HOST_TOOLS.join(" "),
        host_tool_packages()?,
        libraries
            .iter()
            .map(|library| library.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        guest.kernel.display(),
        guest.initrd.display()
    );
    fs::write(guest.directory.join("guest.txt"), description)?;
    fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    eprintln!(
        "guest: built {} and {}",
        guest.kernel.display(),
        guest.initrd.display()
    );
    Ok(())
}

/// The versioned kernel package behind the `linux-image-amd64` metapackage, e.g. `linux-image-6.1.0-41-amd64`.
fn kernel_package_name() -> Result<String> {
    let mut depends = output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    if !depends.contains("Depends: linux-image-") && process::is_root()? {
        // Fresh containers may have no package lists yet.
        process::run(Command::new("apt-get").arg("update"))?;
        depends = output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    }
    depends
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .find(|package| package.starts_with("linux-image-"))
        .map(str::to_owned)
        .context(
            "`apt-cache depends linux-image-amd64` names no kernel package (run `apt-get update`)",
        )
}

/// Copy the module, decompressing `.ko.xz` / `.ko.zst` (busybox's modprobe takes plain modules).
fn install_module(module: &Path, destination: &Path) -> Result<()> {
    if let Some(parent) = destination.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let name = file_name(module);
    let decompressor = if name.ends_with(".ko.xz") {
        Some("xz")
    } else if name.ends_with(".ko.zst") {
        Some("zstd")
    } else {
        None
    };
    match decompressor {
        None => {
            fs::copy(module, destination)?;
        }
        Some(tool) => {
            process::run(
                Command::new("bash")
                    .args([
                        "-c",
                        r#"set -euo pipefail; "$1" -d -c "$2" > "$3""#,
                        "decompress-module",
                        tool,
                    ])
                    .arg(module)
                    .arg(destination),
            )?;
        }
    }
    Ok(())
}

fn find_recursive(directory: &Path, stem: &str) -> Result<Option<PathBuf>> {
    for entry in
        fs::read_dir(directory).with_context(|| format!("cannot list {}", directory.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            if let Some(found) = find_recursive(&path, stem)? {
                return Ok(Some(found));
            }
        } else if file_name(&path).starts_with(stem) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}
