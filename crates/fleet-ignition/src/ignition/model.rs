//! The typed Ignition config: one model that is a superset of spec 3.0.0 to 3.7.0-experimental.
//!
//! Field semantics follow coreos/ignition's `config/v3_*/types`: `Option` for Go pointers (absent
//! means "not set", `Some(0)`/`Some(false)` are written out), `Vec` for lists, plain values for
//! Go values. The spec version is not part of the model; it is chosen when writing
//! ([`crate::ignition::to_json`]), which refuses fields the chosen version does not have.

/// A whole Ignition config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub ignition: Ignition,
    /// Spec 3.3.0 and newer.
    pub kernel_arguments: KernelArguments,
    pub passwd: Passwd,
    pub storage: Storage,
    pub systemd: Systemd,
}

/// The `ignition` section, without `version` (written from the target spec).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignition {
    pub config: IgnitionConfig,
    /// Spec 3.1.0 and newer.
    pub proxy: Proxy,
    pub security: Security,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnitionConfig {
    pub merge: Vec<Resource>,
    pub replace: Resource,
}

/// A remote or inline (data URL) resource: file contents, a child config, a CA, a key file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub compression: Option<String>,
    /// Spec 3.1.0 and newer.
    pub http_headers: Vec<HttpHeader>,
    pub source: Option<String>,
    pub verification: Verification,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpHeader {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxy {
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    pub tls: Tls,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    pub certificate_authorities: Vec<Resource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub http_response_headers: Option<i64>,
    pub http_total: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelArguments {
    pub should_exist: Vec<String>,
    pub should_not_exist: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passwd {
    pub groups: Vec<PasswdGroup>,
    pub users: Vec<PasswdUser>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswdGroup {
    pub gid: Option<i64>,
    pub name: String,
    pub password_hash: Option<String>,
    /// Spec 3.2.0 and newer.
    pub should_exist: Option<bool>,
    pub system: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswdUser {
    pub gecos: Option<String>,
    pub groups: Vec<String>,
    pub home_dir: Option<String>,
    pub name: String,
    pub no_create_home: Option<bool>,
    pub no_log_init: Option<bool>,
    pub no_user_group: Option<bool>,
    pub password_hash: Option<String>,
    pub primary_group: Option<String>,
    pub ssh_authorized_keys: Vec<String>,
    pub shell: Option<String>,
    /// Spec 3.2.0 and newer.
    pub should_exist: Option<bool>,
    pub system: Option<bool>,
    pub uid: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    pub directories: Vec<Directory>,
    pub disks: Vec<Disk>,
    pub files: Vec<File>,
    pub filesystems: Vec<Filesystem>,
    pub links: Vec<Link>,
    /// Spec 3.2.0 and newer.
    pub luks: Vec<Luks>,
    pub raid: Vec<Raid>,
}

/// What files, directories and links share (Ignition's embedded `Node`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub group: NodeGroup,
    pub overwrite: Option<bool>,
    pub path: String,
    pub user: NodeUser,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeUser {
    pub id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeGroup {
    pub id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub node: Node,
    pub mode: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct File {
    pub node: Node,
    pub append: Vec<Resource>,
    pub contents: Resource,
    pub mode: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub node: Node,
    pub hard: Option<bool>,
    /// A plain (always written) string before spec 3.3.0.
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    pub device: String,
    pub partitions: Vec<Partition>,
    pub wipe_table: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    pub guid: Option<String>,
    pub label: Option<String>,
    /// 0 means "the next free number" and is not written.
    pub number: i64,
    /// Spec 3.2.0 and newer.
    pub resize: Option<bool>,
    pub should_exist: Option<bool>,
    pub size_mib: Option<i64>,
    pub start_mib: Option<i64>,
    pub type_guid: Option<String>,
    pub wipe_partition_entry: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filesystem {
    pub device: String,
    pub format: Option<String>,
    pub label: Option<String>,
    /// Spec 3.1.0 and newer.
    pub mount_options: Vec<String>,
    pub options: Vec<String>,
    pub path: Option<String>,
    pub uuid: Option<String>,
    pub wipe_filesystem: Option<bool>,
}

/// A LUKS volume (spec 3.2.0 and newer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Luks {
    /// Spec 3.5.0 and newer.
    pub cex: Cex,
    /// `Some` even when empty only matters for spec 3.2.0, where `clevis` was a pointer.
    pub clevis: Option<Clevis>,
    pub device: Option<String>,
    /// Spec 3.4.0 and newer.
    pub discard: Option<bool>,
    pub key_file: Resource,
    pub label: Option<String>,
    pub name: String,
    /// Spec 3.4.0 and newer.
    pub open_options: Vec<String>,
    pub options: Vec<String>,
    pub uuid: Option<String>,
    pub wipe_volume: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cex {
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clevis {
    /// `Some` even when empty only matters for spec 3.2.0, where `custom` was a pointer.
    pub custom: Option<ClevisCustom>,
    pub tang: Vec<Tang>,
    pub threshold: Option<i64>,
    pub tpm2: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClevisCustom {
    pub config: Option<String>,
    pub needs_network: Option<bool>,
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tang {
    /// Spec 3.4.0 and newer.
    pub advertisement: Option<String>,
    pub thumbprint: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Raid {
    pub devices: Vec<String>,
    /// A plain (always written) string before spec 3.3.0.
    pub level: Option<String>,
    pub name: String,
    pub options: Vec<String>,
    pub spares: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Systemd {
    pub units: Vec<Unit>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    pub contents: Option<String>,
    pub dropins: Vec<Dropin>,
    pub enabled: Option<bool>,
    pub mask: Option<bool>,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropin {
    pub contents: Option<String>,
    pub name: String,
}

/// Go's "is this the zero value", which decides `omitempty` and merging.
pub(crate) trait IsZero {
    fn is_zero(&self) -> bool;
}

impl<T: Default + PartialEq> IsZero for T {
    fn is_zero(&self) -> bool {
        *self == T::default()
    }
}
