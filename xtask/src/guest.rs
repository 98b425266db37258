//! The tiny end-to-end guest: a Debian kernel and a busybox initramfs that prints the sha256 of the
//! Ignition config it received through fw_cfg, then powers off.
//!
//! Built once into `<target>/e2e-guest/` (`vmlinuz`, `initrd.img`, `guest.txt`) and reused while the
//! recipe is unchanged. Nothing is installed on the host: the packages are fetched with
//! `apt-get download` and unpacked with `dpkg-deb`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{self, output, target_dir};

/// The guest's `/init`. The marker lines are what `fleet_tests::guest` parses: keep both in step.
const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
# fleet e2e tiny guest: report the Ignition config qemu handed over through fw_cfg, then power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /lib/modules/qemu_fw_cfg.ko
config=/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw
echo FLEET-E2E-BEGIN
if [ -r "$config" ]; then
    echo "size=$(wc -c < "$config")"
    echo "sha256=$(sha256sum "$config" | cut -d ' ' -f 1)"
else
    echo "error=no fw_cfg entry opt/com.coreos/config"
fi
echo FLEET-E2E-END
poweroff -f
"#;

/// Bump when the build steps change in a way the init script does not show.
const RECIPE_REVISION: u32 = 1;

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
    let stamp = directory.join("recipe");
    let recipe = recipe_id();
    let cached = fs::read_to_string(&stamp).is_ok_and(|found| found == recipe)
        && guest.kernel.is_file()
        && guest.initrd.is_file();
    if cached {
        eprintln!("guest: reusing {}", directory.display());
        return Ok(guest);
    }
    build(&guest).context("cannot build the tiny e2e guest")?;
    fs::write(&stamp, recipe).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(guest)
}

/// Identifies the recipe (script and build steps): a change rebuilds the guest.
fn recipe_id() -> String {
    // FNV-1a: a stable fingerprint without a hashing dependency.
    let hash = INIT_SCRIPT
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("revision {RECIPE_REVISION}, init {hash:016x}\n")
}

fn build(guest: &Guest) -> Result<()> {
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
    process::run(Command::new("apt-get").current_dir(&downloads).args([
        "download",
        "-q",
        &kernel_package,
        "busybox-static",
    ]))?;
    let kernel_deb = find_file(&downloads, |name| {
        name.starts_with(&format!("{kernel_package}_"))
    })?;
    let busybox_deb = find_file(&downloads, |name| name.starts_with("busybox-static_"))?;

    // Only the kernel and one module are needed: extracting two members of the ~70 MB package keeps
    // this to seconds instead of unpacking every module.
    process::run(Command::new("bash").args([
        "-c",
        r#"set -euo pipefail; dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*' '*/qemu_fw_cfg.ko*'"#,
        "extract-kernel",
    ]).arg(&kernel_deb).arg(&unpacked))?;
    process::run(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&busybox_deb)
            .arg(&unpacked),
    )?;

    let vmlinuz = find_file(&unpacked.join("boot"), |name| name.starts_with("vmlinuz-"))?;
    let module = find_recursive(&unpacked.join("lib"), "qemu_fw_cfg.ko")?
        .context("the kernel package has no qemu_fw_cfg module")?;

    for directory in ["bin", "dev", "proc", "sys", "lib/modules"] {
        fs::create_dir_all(root.join(directory))?;
    }
    fs::copy(unpacked.join("bin/busybox"), root.join("bin/busybox"))
        .context("busybox-static has no bin/busybox")?;
    install_module(&module, &root.join("lib/modules/qemu_fw_cfg.ko"))?;
    let init = root.join("init");
    fs::write(&init, INIT_SCRIPT)?;
    process::run(
        Command::new("chmod")
            .arg("0755")
            .arg(&init)
            .arg(root.join("bin/busybox")),
    )?;

    let initrd_partial = guest.directory.join("initrd.img.partial");
    process::run(Command::new("bash").args([
        "-c",
        r#"set -euo pipefail; cd "$1"; find . -print0 | LC_ALL=C sort -z | cpio --null --quiet -o -H newc --reproducible | gzip -9 -n > "$2""#,
        "pack-initramfs",
    ]).arg(&root).arg(&initrd_partial))?;
    fs::copy(&vmlinuz, &guest.kernel)
        .with_context(|| format!("cannot copy {}", vmlinuz.display()))?;
    fs::rename(&initrd_partial, &guest.initrd)?;

    let description = format!(
        "kernel package: {}\nbusybox package: {}\nkernel: {}\ninitrd: {}\n",
        file_name(&kernel_deb),
        file_name(&busybox_deb),
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

/// Copy the module, decompressing `.ko.xz` / `.ko.zst` (busybox insmod takes plain modules).
fn install_module(module: &Path, destination: &Path) -> Result<()> {
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn find_file(directory: &Path, matches: impl Fn(&str) -> bool) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in
        fs::read_dir(directory).with_context(|| format!("cannot list {}", directory.display()))?
    {
        let path = entry?.path();
        if matches(&file_name(&path)) {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no matching file in {}", directory.display()),
        _ => bail!(
            "several matching files in {}: {found:?}",
            directory.display()
        ),
    }
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
