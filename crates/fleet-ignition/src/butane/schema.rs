//! The Butane `fcos` schema, 1.0.0 to 1.8.0-experimental, as one superset: each field is
//! decoded only in the spec versions that have it (elsewhere its key is "unused"), following
//! upstream's base/v0_N/schema.go and config/fcos/v1_N/schema.go field by field.

use super::decode::{GoType, butane_struct};
use crate::ButaneVersion;

const fn base(name: &'static str) -> GoType {
    GoType::base(name)
}

fn base_or(v: ButaneVersion, since: u8, newer: GoType, older: GoType) -> GoType {
    if v.base() >= since { newer } else { older }
}

/// The document root, with the fields of the embedded `base.Config` flattened in.
pub(crate) type Config = FcosConfig;

butane_struct! {
    /// Only `version` and `variant`: what Butane reads first to choose a translator.
    struct CommonFields as GoType { slice: false, package: super::decode::Package::Config, name: "commonFields" }, |v| {
        "version" => version: string,
        "variant" => variant: string,
    }
}

butane_struct! {
    struct FcosConfig as GoType::fcos("Config"), |v| {
        "version" => version: string,
        "variant" => variant: string,
        "ignition" => ignition: structure(Ignition),
        "kernel_arguments" if v.base() >= 4 => kernel_arguments: structure(KernelArguments),
        "passwd" => passwd: structure(Passwd),
        "storage" => storage: structure(Storage),
        "systemd" => systemd: structure(Systemd),
        "boot_device" if v >= ButaneVersion::V1_3 => boot_device: structure(BootDevice),
        "grub" if v >= ButaneVersion::V1_5 => grub: structure(Grub),
    }
}

butane_struct! {
    struct Ignition as base("Ignition"), |v| {
        "config" => config: structure(IgnitionConfig),
        "proxy" if v.base() >= 2 => proxy: structure(Proxy),
        "security" => security: structure(Security),
        "timeouts" => timeouts: structure(Timeouts),
    }
}

butane_struct! {
    struct IgnitionConfig as base("IgnitionConfig"), |v| {
        "merge" if v.base() >= 2 => merge: list(Resource),
        "merge" if v.base() == 1 => merge_v1: list(ConfigReference),
        "replace" if v.base() >= 2 => replace: structure(Resource),
        "replace" if v.base() == 1 => replace_v1: structure(ConfigReference),
    }
}

butane_struct! {
    /// Spec 1.0.0's `ignition.config` references: only `source` and `verification`.
    struct ConfigReference as base("ConfigReference"), |v| {
        "source" => source: opt_string,
        "verification" => verification: structure(Verification),
    }
}

butane_struct! {
    /// Spec 1.0.0's certificate authorities: `source` (a plain string) and `verification`.
    struct CaReference as base("CaReference"), |v| {
        "source" => source: opt_string,
        "verification" => verification: structure(Verification),
    }
}

butane_struct! {
    /// Contents from `inline`, `local` or a `source` URL (spec 1.0.0's `FileContents`).
    struct Resource as base_or(v, 2, base("Resource"), base("FileContents")), |v| {
        "compression" => compression: opt_string,
        "http_headers" if v.base() >= 2 => http_headers: named_list(HttpHeader, base("HTTPHeaders")),
        "source" => source: opt_string,
        "inline" => inline: opt_string,
        "local" if v.base() >= 2 => local: opt_string,
        "verification" => verification: structure(Verification),
    }
}

butane_struct! {
    struct HttpHeader as base("HTTPHeader"), |v| {
        "name" => name: string,
        "value" => value: opt_string,
    }
}

butane_struct! {
    struct Verification as base("Verification"), |v| {
        "hash" => hash: opt_string,
    }
}

butane_struct! {
    struct Proxy as base("Proxy"), |v| {
        "http_proxy" => http_proxy: opt_string,
        "https_proxy" => https_proxy: opt_string,
        "no_proxy" => no_proxy: strings(GoType::STRING),
    }
}

butane_struct! {
    struct Security as base("Security"), |v| {
        "tls" => tls: structure(Tls),
    }
}

butane_struct! {
    struct Tls as base("TLS"), |v| {
        "certificate_authorities" if v.base() >= 2 => certificate_authorities: list(Resource),
        "certificate_authorities" if v.base() == 1 => certificate_authorities_v1: list(CaReference),
    }
}

butane_struct! {
    struct Timeouts as base("Timeouts"), |v| {
        "http_response_headers" => http_response_headers: opt_int,
        "http_total" => http_total: opt_int,
    }
}

butane_struct! {
    struct KernelArguments as base("KernelArguments"), |v| {
        "should_exist" => should_exist: strings(base("KernelArgument")),
        "should_not_exist" => should_not_exist: strings(base("KernelArgument")),
    }
}

butane_struct! {
    struct Passwd as base("Passwd"), |v| {
        "groups" => groups: list(PasswdGroup),
        "users" => users: list(PasswdUser),
    }
}

butane_struct! {
    struct PasswdGroup as base("PasswdGroup"), |v| {
        "gid" => gid: opt_int,
        "name" => name: string,
        "password_hash" => password_hash: opt_string,
        "should_exist" if v.base() >= 3 => should_exist: opt_bool,
        "system" => system: opt_bool,
    }
}

butane_struct! {
    struct PasswdUser as base("PasswdUser"), |v| {
        "gecos" => gecos: opt_string,
        "groups" => groups: strings(base("Group")),
        "home_dir" => home_dir: opt_string,
        "name" => name: string,
        "no_create_home" => no_create_home: opt_bool,
        "no_log_init" => no_log_init: opt_bool,
        "no_user_group" => no_user_group: opt_bool,
        "password_hash" => password_hash: opt_string,
        "primary_group" => primary_group: opt_string,
        "should_exist" if v.base() >= 3 => should_exist: opt_bool,
        "ssh_authorized_keys" => ssh_authorized_keys: strings(base("SSHAuthorizedKey")),
        "ssh_authorized_keys_local" if v.base() >= 5 => ssh_authorized_keys_local: strings(GoType::STRING),
        "shell" => shell: opt_string,
        "system" => system: opt_bool,
        "uid" => uid: opt_int,
    }
}

butane_struct! {
    struct Storage as base("Storage"), |v| {
        "directories" => directories: list(Directory),
        "disks" => disks: list(Disk),
        "files" => files: list(File),
        "filesystems" => filesystems: list(Filesystem),
        "links" => links: list(Link),
        "luks" if v.base() >= 3 => luks: list(Luks),
        "raid" => raid: list(Raid),
        "trees" if v.base() >= 2 => trees: list(Tree),
    }
}

butane_struct! {
    struct NodeUser as base("NodeUser"), |v| {
        "id" => id: opt_int,
        "name" => name: opt_string,
    }
}

butane_struct! {
    struct NodeGroup as base("NodeGroup"), |v| {
        "id" => id: opt_int,
        "name" => name: opt_string,
    }
}

butane_struct! {
    struct Directory as base("Directory"), |v| {
        "group" => group: structure(NodeGroup),
        "overwrite" => overwrite: opt_bool,
        "path" => path: string,
        "user" => user: structure(NodeUser),
        "mode" => mode: opt_int,
    }
}

butane_struct! {
    struct File as base("File"), |v| {
        "group" => group: structure(NodeGroup),
        "overwrite" => overwrite: opt_bool,
        "path" => path: string,
        "user" => user: structure(NodeUser),
        "append" => append: list(Resource),
        "contents" => contents: structure(Resource),
        "mode" => mode: opt_int,
    }
}

butane_struct! {
    struct Link as base("Link"), |v| {
        "group" => group: structure(NodeGroup),
        "overwrite" => overwrite: opt_bool,
        "path" => path: string,
        "user" => user: structure(NodeUser),
        "hard" => hard: opt_bool,
        "target" => target: opt_string,
    }
}

butane_struct! {
    struct Disk as base("Disk"), |v| {
        "device" => device: string,
        "partitions" => partitions: list(Partition),
        "wipe_table" => wipe_table: opt_bool,
    }
}

butane_struct! {
    struct Partition as base("Partition"), |v| {
        "guid" => guid: opt_string,
        "label" => label: opt_string,
        "number" => number: int,
        "resize" if v.base() >= 3 => resize: opt_bool,
        "should_exist" => should_exist: opt_bool,
        "size_mib" => size_mib: opt_int,
        "start_mib" => start_mib: opt_int,
        "type_guid" => type_guid: opt_string,
        "wipe_partition_entry" => wipe_partition_entry: opt_bool,
    }
}

butane_struct! {
    struct Filesystem as base("Filesystem"), |v| {
        "device" => device: string,
        "format" => format: opt_string,
        "label" => label: opt_string,
        "mount_options" if v.base() >= 2 => mount_options: strings(GoType::STRING),
        "options" => options: strings(base_or(v, 2, GoType::STRING, base("FilesystemOption"))),
        "path" => path: opt_string,
        "uuid" => uuid: opt_string,
        "wipe_filesystem" => wipe_filesystem: opt_bool,
        "with_mount_unit" if v.base() >= 2 => with_mount_unit: opt_bool,
    }
}

butane_struct! {
    struct Luks as base("Luks"), |v| {
        "cex" if v.base() >= 6 => cex: structure(Cex),
        "clevis" if v.base() == 3 => clevis_v3: opt_structure(Clevis, base("Clevis")),
        "clevis" if v.base() >= 4 => clevis: opt_as_structure(Clevis),
        "device" => device: opt_string,
        "discard" if v.base() >= 5 => discard: opt_bool,
        "key_file" => key_file: structure(Resource),
        "label" => label: opt_string,
        "name" => name: string,
        "open_options" if v.base() >= 5 => open_options: strings(GoType::STRING),
        "options" => options: strings(base_or(v, 5, GoType::STRING, base("LuksOption"))),
        "uuid" => uuid: opt_string,
        "wipe_volume" => wipe_volume: opt_bool,
    }
}

butane_struct! {
    struct Cex as base("Cex"), |v| {
        "enabled" => enabled: opt_bool,
    }
}

butane_struct! {
    struct Clevis as base("Clevis"), |v| {
        "custom" if v.base() == 3 => custom_v3: opt_structure(ClevisCustom, base("Custom")),
        "custom" if v.base() >= 4 => custom: opt_as_structure(ClevisCustom),
        "tang" => tang: list(Tang),
        "threshold" => threshold: opt_int,
        "tpm2" => tpm2: opt_bool,
    }
}

butane_struct! {
    struct ClevisCustom as base_or(v, 4, base("ClevisCustom"), base("Custom")), |v| {
        "config" => config: opt_string,
        "needs_network" => needs_network: opt_bool,
        "pin" => pin: opt_string,
    }
}

butane_struct! {
    struct Tang as base("Tang"), |v| {
        "thumbprint" => thumbprint: opt_string,
        "url" => url: string,
        "advertisement" if v.base() >= 5 => advertisement: opt_string,
    }
}

butane_struct! {
    struct Raid as base("Raid"), |v| {
        "devices" => devices: strings(base("Device")),
        "level" => level: opt_string,
        "name" => name: string,
        "options" => options: strings(base_or(v, 5, GoType::STRING, base("RaidOption"))),
        "spares" => spares: opt_int,
    }
}

butane_struct! {
    struct Tree as base("Tree"), |v| {
        "group" if v.base() >= 7 => group: structure(NodeGroup),
        "local" => local: string,
        "path" => path: opt_string,
        "user" if v.base() >= 7 => user: structure(NodeUser),
        "file_mode" if v.base() >= 7 => file_mode: opt_int,
        "dir_mode" if v.base() >= 7 => dir_mode: opt_int,
    }
}

butane_struct! {
    struct Systemd as base("Systemd"), |v| {
        "units" => units: list(Unit),
        "quadlets" if v.base() >= 8 => quadlets: list(Quadlet),
    }
}

butane_struct! {
    struct Unit as base("Unit"), |v| {
        "contents" => contents: opt_string,
        "contents_local" if v.base() >= 5 => contents_local: opt_string,
        "dropins" => dropins: list(Dropin),
        "enabled" => enabled: opt_bool,
        "mask" => mask: opt_bool,
        "name" => name: string,
    }
}

butane_struct! {
    struct Dropin as base("Dropin"), |v| {
        "contents" => contents: opt_string,
        "contents_local" if v.base() >= 5 => contents_local: opt_string,
        "name" => name: string,
    }
}

butane_struct! {
    /// A Podman quadlet (fcos 1.8.0-experimental).
    struct Quadlet as base("Quadlet"), |v| {
        "contents" => contents: opt_string,
        "contents_local" => contents_local: opt_string,
        "name" => name: string,
        "rootful" => rootful: boolean,
        "dropins" => dropins: list(Dropin),
    }
}

butane_struct! {
    struct BootDevice as GoType::fcos("BootDevice"), |v| {
        "layout" => layout: opt_string,
        "luks" => luks: structure(BootDeviceLuks),
        "mirror" => mirror: structure(BootDeviceMirror),
    }
}

butane_struct! {
    struct BootDeviceLuks as GoType::fcos("BootDeviceLuks"), |v| {
        "cex" if v >= ButaneVersion::V1_6 => cex: structure(Cex),
        "discard" if v >= ButaneVersion::V1_5 => discard: opt_bool,
        "device" if v >= ButaneVersion::V1_6 => device: opt_string,
        "tang" => tang: list(Tang),
        "threshold" => threshold: opt_int,
        "tpm2" => tpm2: opt_bool,
    }
}

butane_struct! {
    struct BootDeviceMirror as GoType::fcos("BootDeviceMirror"), |v| {
        "devices" => devices: strings(GoType::STRING),
    }
}

butane_struct! {
    struct Grub as GoType::fcos("Grub"), |v| {
        "users" => users: list(GrubUser),
    }
}

butane_struct! {
    struct GrubUser as GoType::fcos("GrubUser"), |v| {
        "name" => name: string,
        "password_hash" => password_hash: opt_string,
    }
}

impl Luks {
    /// The clevis section whichever schema generation decoded it.
    pub(crate) fn clevis(&self) -> Option<&Clevis> {
        self.clevis.as_ref().or(self.clevis_v3.as_ref())
    }
}

impl Clevis {
    pub(crate) fn custom(&self) -> Option<&ClevisCustom> {
        self.custom.as_ref().or(self.custom_v3.as_ref())
    }
}
