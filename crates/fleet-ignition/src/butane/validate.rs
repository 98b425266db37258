//! Validation of the Butane source before translation (upstream base/v0_N/validate.go and
//! config/fcos/v1_N/validate.go), walked in vcontext's order: a struct's own checks, then its
//! fields in Go declaration order.

use super::decimal_mode::check_decimal_mode;
use super::schema::*;
use super::translate::validate_child_config;
use crate::ButaneVersion;
use crate::report::{Path, Report};

pub(crate) const ERR_TOO_MANY_SOURCES: &str =
    "only one of the following can be set: inline, local, source";
const ERR_TOO_MANY_SYSTEMD_SOURCES: &str =
    "only one of the following can be set: contents, contents_local";
const ERR_DECIMAL_MODE: &str =
    "unreasonable mode would be reasonable if specified in octal; remember to add a leading zero";

struct Validator<'r> {
    version: ButaneVersion,
    report: &'r mut Report,
}

/// Validate `config` (decoded for `version`); entries carry YAML paths.
pub(crate) fn validate(config: &Config, version: ButaneVersion, report: &mut Report) {
    let mut v = Validator { version, report };
    v.config(config);
}

fn root() -> Path {
    Path::root()
}

impl Validator<'_> {
    fn base(&self) -> u8 {
        self.version.base()
    }

    fn config(&mut self, c: &Config) {
        use ButaneVersion as B;
        if self.version >= B::V1_6 {
            self.fcos_config(c);
        }
        let ignition = root().field("ignition");
        let config = ignition.field("config");
        if self.base() >= 2 {
            for (i, r) in c.ignition.config.merge.iter().enumerate() {
                self.resource(r, &config.field("merge").index(i));
            }
            self.resource(&c.ignition.config.replace, &config.field("replace"));
            for (i, r) in c
                .ignition
                .security
                .tls
                .certificate_authorities
                .iter()
                .enumerate()
            {
                self.resource(
                    r,
                    &ignition
                        .field("security")
                        .field("tls")
                        .field("certificate_authorities")
                        .index(i),
                );
            }
        }
        self.storage(&c.storage, &root().field("storage"));
        if self.base() >= 5 {
            for (i, unit) in c.systemd.units.iter().enumerate() {
                let unit_path = root().field("systemd").field("units").index(i);
                if unit.contents_local.is_some() && unit.contents.is_some() {
                    self.report.error(
                        unit_path.field("contents_local"),
                        ERR_TOO_MANY_SYSTEMD_SOURCES,
                    );
                }
                for (j, dropin) in unit.dropins.iter().enumerate() {
                    if dropin.contents_local.is_some() && dropin.contents.is_some() {
                        self.report.error(
                            unit_path.field("dropins").index(j).field("contents_local"),
                            ERR_TOO_MANY_SYSTEMD_SOURCES,
                        );
                    }
                }
            }
        }
        if self.base() >= 8 {
            for (i, quadlet) in c.systemd.quadlets.iter().enumerate() {
                self.quadlet(quadlet, &root().field("systemd").field("quadlets").index(i));
            }
        }
        if self.version >= B::V1_3 {
            self.boot_device(&c.boot_device, &root().field("boot_device"));
        }
        if self.version >= B::V1_5 {
            for (i, user) in c.grub.users.iter().enumerate() {
                let path = root().field("grub").field("users").index(i);
                if user.name.is_empty() {
                    self.report
                        .error(path.field("name"), "field \"name\" is required");
                }
                if user.password_hash.as_deref().is_none_or(str::is_empty) {
                    self.report.error(
                        path.field("password_hash"),
                        "field \"password_hash\" is required",
                    );
                }
            }
        }
    }

    /// fcos 1.6+ `Config.Validate`: partitions reused by label, mount units outside /etc and /var.
    fn fcos_config(&mut self, c: &Config) {
        const ROOT_DEVICE: &str = "/dev/disk/by-id/coreos-boot-disk";
        for (i, disk) in c.storage.disks.iter().enumerate() {
            let mirrored = c.boot_device.mirror.devices.contains(&disk.device);
            if disk.device != ROOT_DEVICE && disk.wipe_table != Some(true) && !mirrored {
                for (p, partition) in disk.partitions.iter().enumerate() {
                    if partition.number == 0 && partition.label.is_some() {
                        self.report.warn(
                            root()
                                .field("storage")
                                .field("disks")
                                .index(i)
                                .field("partitions")
                                .index(p)
                                .field("number"),
                            "partitions cannot be reused by label; number must be specified except on boot disk (/dev/disk/by-id/coreos-boot-disk) or when wipe_table is true",
                        );
                    }
                }
            }
        }
        for (i, fs) in c.storage.filesystems.iter().enumerate() {
            if let Some(path) = fs.path.as_deref()
                && fs.with_mount_unit == Some(true)
                && !allowed_mount_point(path)
            {
                self.report.error(
                    root()
                        .field("storage")
                        .field("filesystems")
                        .index(i)
                        .field("path"),
                    "path must be under /etc or /var if with_mount_unit is true",
                );
            }
        }
    }

    fn resource(&mut self, r: &Resource, path: &Path) {
        if self.base() == 1 {
            if r.inline.is_some() && r.source.is_some() {
                self.report
                    .error(path.field("inline"), ERR_TOO_MANY_SOURCES);
            }
            return;
        }
        let mut sources = 0;
        let mut field = "";
        if r.local.is_some() {
            sources += 1;
            field = "local";
        }
        if r.inline.is_some() {
            sources += 1;
            field = "inline";
        }
        if r.source.is_some() {
            sources += 1;
            field = "source";
        }
        if sources > 1 {
            self.report.error(path.field(field), ERR_TOO_MANY_SOURCES);
            return;
        }
        if field == "inline"
            && path.to_string().starts_with("$.ignition.config")
            && let Some(inline) = &r.inline
        {
            let (child_report, invalid) =
                validate_child_config(self.version, path, inline.as_bytes());
            self.report.merge(child_report);
            if invalid {
                self.report
                    .error(path.field("inline"), "config is not valid");
            }
        }
    }

    fn storage(&mut self, s: &Storage, path: &Path) {
        for (i, d) in s.directories.iter().enumerate() {
            if let Some(mode) = d.mode
                && check_decimal_mode(mode, true)
            {
                self.report.warn(
                    path.field("directories").index(i).field("mode"),
                    ERR_DECIMAL_MODE,
                );
            }
        }
        for (i, f) in s.files.iter().enumerate() {
            let file_path = path.field("files").index(i);
            if let Some(mode) = f.mode
                && check_decimal_mode(mode, false)
            {
                self.report.warn(file_path.field("mode"), ERR_DECIMAL_MODE);
            }
            for (j, r) in f.append.iter().enumerate() {
                self.resource(r, &file_path.field("append").index(j));
            }
            self.resource(&f.contents, &file_path.field("contents"));
        }
        if self.base() >= 2 {
            for (i, fs) in s.filesystems.iter().enumerate() {
                if fs.with_mount_unit != Some(true) {
                    continue;
                }
                let fs_path = path.field("filesystems").index(i);
                let format = fs.format.as_deref().filter(|f| !f.is_empty());
                let no_path = fs.path.as_deref().is_none_or(str::is_empty);
                if self.base() <= 3 {
                    if no_path {
                        self.report.error(
                            fs_path.field("path"),
                            "path is required if with_mount_unit is true and format is not swap",
                        );
                    }
                    if format.is_none() {
                        self.report.error(
                            fs_path.field("format"),
                            "format is required if with_mount_unit is true",
                        );
                    }
                } else if format.is_none() {
                    self.report.error(
                        fs_path.field("format"),
                        "format is required if with_mount_unit is true",
                    );
                } else if format != Some("swap") && no_path {
                    self.report.error(
                        fs_path.field("path"),
                        "path is required if with_mount_unit is true and format is not swap",
                    );
                }
            }
        }
        for (i, l) in s.luks.iter().enumerate() {
            self.resource(&l.key_file, &path.field("luks").index(i).field("key_file"));
        }
        for (i, t) in s.trees.iter().enumerate() {
            if t.local.is_empty() {
                self.report
                    .error(path.field("trees").index(i), "local is required");
            }
        }
    }

    fn quadlet(&mut self, q: &Quadlet, path: &Path) {
        const EXTENSIONS: [&str; 8] = [
            ".container",
            ".volume",
            ".network",
            ".kube",
            ".image",
            ".build",
            ".pod",
            ".artifact",
        ];
        if !EXTENSIONS.iter().any(|e| q.name.ends_with(e)) {
            self.report.error(
                path.field("name"),
                "unsupported file extension for quadlet: must be one of .container, .volume, .network, .kube, .image, .build, .pod, or .artifact",
            );
        } else if super::trees::quadlet_template(&q.name).is_some() {
            let message = "template instances cannot have contents or contents_local";
            if q.contents.is_some() {
                self.report.error(path.field("contents"), message);
            }
            if q.contents_local.is_some() {
                self.report.error(path.field("contents_local"), message);
            }
        } else if q.contents_local.is_some() && q.contents.is_some() {
            self.report
                .error(path.field("contents_local"), ERR_TOO_MANY_SYSTEMD_SOURCES);
        }
        for (j, dropin) in q.dropins.iter().enumerate() {
            if dropin.contents_local.is_some() && dropin.contents.is_some() {
                self.report.error(
                    path.field("dropins").index(j).field("contents_local"),
                    ERR_TOO_MANY_SYSTEMD_SOURCES,
                );
            }
        }
    }

    fn boot_device(&mut self, d: &BootDevice, path: &Path) {
        use ButaneVersion as B;
        let mirror_without_layout = !d.mirror.devices.is_empty() && d.layout.is_none();
        if mirror_without_layout {
            let message =
                "boot_device.layout should be specified when boot_device.mirror is specified";
            if self.version >= B::V1_7 {
                self.report.error(path.field("mirror"), message);
            } else {
                self.report.warn(path.field("mirror"), message);
            }
        }
        if let Some(layout) = d.layout.as_deref() {
            if self.version <= B::V1_5 {
                if !matches!(layout, "aarch64" | "ppc64le" | "x86_64") {
                    self.report.error(
                        path.field("layout"),
                        "layout must be one of: aarch64, ppc64le, x86_64",
                    );
                }
            } else {
                let device = d.luks.device.as_deref().filter(|s| !s.is_empty());
                match layout {
                    "aarch64" | "ppc64le" | "x86_64" | "s390x-virt" => {}
                    "s390x-eckd" | "s390x-zfcp" => {
                        let (prefix, max_len) = if layout == "s390x-eckd" {
                            ("/dev/dasd", 10)
                        } else {
                            ("/dev/sd", 8)
                        };
                        match device {
                            None => self.report.error(
                                path.field("layout"),
                                "device is required for layouts: s390x-eckd, s390x-zfcp",
                            ),
                            Some(dev) if !ends_with_device(dev, prefix, max_len) => {
                                self.report.error(
                                    path.field("layout"),
                                    "device name must start with /dev/dasd on s390x-eckd layout or /dev/sd on s390x-zfcp layout",
                                );
                            }
                            Some(_) => {}
                        }
                    }
                    _ => self.report.error(
                        path.field("layout"),
                        "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64",
                    ),
                }
                if layout.starts_with("s390x") && !d.mirror.devices.is_empty() {
                    self.report.error(
                        path.field("layout"),
                        "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt",
                    );
                }
            }
        }
        if self.version >= B::V1_6 && d.luks.cex.enabled == Some(true) {
            let mismatch = "when using cex the targeted architecture must match s390x";
            match d.layout.as_deref() {
                None => self.report.error(path.field("luks").field("cex"), mismatch),
                Some(layout) if !layout.starts_with("s390x") => {
                    self.report.error(path.field("layout"), mismatch);
                }
                Some(_) => {}
            }
            if !d.luks.tang.is_empty() || d.luks.tpm2 == Some(true) {
                self.report
                    .error(path.field("luks"), "cannot use cex with clevis");
            }
        }
        // BootDevice.Validate calls the mirror's Validate itself, and vcontext calls it again.
        self.mirror(&d.mirror, &path.field("mirror"));
        if self.version >= B::V1_7 && d.luks.device.as_deref().is_some_and(|s| !s.is_empty()) {
            let valid = d.luks.tang.iter().any(|t| *t != Tang::default())
                || d.luks.tpm2 == Some(true)
                || d.luks.cex.enabled == Some(true);
            if !valid {
                self.report.error(
                    path.field("luks").field("luks"),
                    "no method specified for luks",
                );
            }
        }
        self.mirror(&d.mirror, &path.field("mirror"));
    }

    fn mirror(&mut self, m: &BootDeviceMirror, path: &Path) {
        if m.devices.len() == 1 {
            self.report.error(
                path.field("devices"),
                "mirroring requires at least two devices",
            );
        }
    }
}

/// `^/(etc|var)(/|$)`.
fn allowed_mount_point(path: &str) -> bool {
    ["/etc", "/var"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `(/dev/dasd[a-z]$)` / `(/dev/sd[a-z]$)`: the device name ends with the prefix and one letter.
fn ends_with_device(device: &str, prefix: &str, len: usize) -> bool {
    device.len() >= len && {
        let tail = &device.as_bytes()[device.len() - len..];
        tail.starts_with(prefix.as_bytes()) && tail[len - 1].is_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_and_devices() {
        assert!(allowed_mount_point("/var"));
        assert!(allowed_mount_point("/etc/x"));
        assert!(!allowed_mount_point("/varx"));
        assert!(!allowed_mount_point("/srv"));
        assert!(ends_with_device("/dev/dasda", "/dev/dasd", 10));
        assert!(ends_with_device("x/dev/sdb", "/dev/sd", 8));
        assert!(!ends_with_device("/dev/sda1", "/dev/sd", 8));
        assert!(!ends_with_device("/dev/sd", "/dev/sd", 8));
    }
}
