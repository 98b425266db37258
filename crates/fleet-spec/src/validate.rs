//! From raw tables to the validated model: defaults and inheritance resolved, groups expanded into nodes,
//! every cross-key rule checked, every problem recorded with its location.
//!
//! The validator always runs to the end, filling in placeholders where a value is unusable, so that one
//! mistake does not hide the next; the caller discards the result whenever any problem was recorded.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{Diagnostic, shown};
use crate::expand::{
    HostnamePattern, MAC_PREFIX, check_domain, check_hostname, check_node_name, mac_from_seed,
    mac_key, mac_seed, node_uuid,
};
use crate::model::{
    Addressing, BaseImage, Canaries, DirectKernelBoot, DomainType, FileRef, Fleet, FleetLocations,
    Group, Host, HostCapacity, ImageSource, KernelArguments, Location, MacAddress,
    MaintenancePeriod, MaintenancePolicy, MaxUnavailable, Node, NodeSettings, Role, RolloutPolicy,
    SnippetRef, StaticNetwork, StoragePool, UpdateStrategy, User,
};
use crate::raw::{
    RawDefaults, RawDocument, RawFleet, RawGroup, RawGroupMaintenance, RawHost, RawMaintenance,
    RawNetwork, RawNode, RawPeriod, RawUser, SettingsLevel,
};
use crate::read::{Context, Field, FromToml, KeyPath, Located, Span};
use crate::values::{
    DomainTypeName, MAX_FLEET_NODES, NetworkMode, RoleName, StrategyName, TimeZone,
};

/// Files the fleet names, with where it names them, for the loader to read and check.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileRefs {
    pub(crate) snippets: Vec<(PathBuf, Location)>,
    pub(crate) key_files: Vec<(PathBuf, Location)>,
}

/// What `analyze` found: a fleet when there was no problem at all, and every problem otherwise.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) fleet: Option<Fleet>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) files: FileRefs,
}

const EMPTY_FILE: &str = "the file is empty: a fleet needs at least [fleet] name and one [[group]]";

/// How many duplicates of one kind are listed before the rest are summed up in one line.
const DUPLICATES_LISTED: usize = 10;

pub(crate) fn analyze(file: &str, text: &str) -> Analysis {
    let mut context = Context::new(file, text);
    let mut files = FileRefs::default();
    let fleet = read_and_validate(&mut context, &mut files, text);
    let fleet = if context.has_errors() { None } else { fleet };
    Analysis {
        fleet,
        diagnostics: context.diagnostics,
        files,
    }
}

fn read_and_validate(context: &mut Context<'_>, files: &mut FileRefs, text: &str) -> Option<Fleet> {
    if text.trim().is_empty() {
        context.error(Span::default(), EMPTY_FILE);
        return None;
    }
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // A partly parsed document gives misleading follow-up errors: report the syntax alone.
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            let message = if error.message() == "duplicate key" {
                let key = text.get(span.clone()).unwrap_or("").trim();
                format!(
                    "invalid TOML: `{key_shown}` is defined twice; each key and table may be defined once",
                    key_shown = shown(key)
                )
            } else {
                format!("invalid TOML: {}", error.message())
            };
            context.error(span.into(), message);
        }
        return None;
    }
    let span = document.span();
    let table = document.into_inner();
    if table.is_empty() {
        context.error(Span::default(), EMPTY_FILE);
        return None;
    }
    let root = Spanned::new(span, DeValue::Table(table));
    let raw = RawDocument::from_toml(&root, context, &KeyPath::Root)?;
    let mut validator = Validator {
        context,
        files,
        domain: None,
        fleet_name: String::new(),
        scratch: Vec::new(),
    };
    Some(validator.fleet(&raw))
}

/// Settings being inherited down the levels, before they become a shared `NodeSettings`.
#[derive(Debug, Clone)]
struct SettingsDraft {
    vcpus: u32,
    memory_mib: u64,
    disk_gib: u64,
    butane: Vec<SnippetRef>,
    users: Vec<User>,
    time_zone: Option<Tz>,
    kernel_arguments: KernelArguments,
}

impl SettingsDraft {
    fn fleet_defaults() -> Self {
        SettingsDraft {
            vcpus: 2,
            memory_mib: 2048,
            disk_gib: 10,
            butane: Vec::new(),
            users: Vec::new(),
            time_zone: None,
            kernel_arguments: KernelArguments::default(),
        }
    }

    fn to_settings(&self) -> NodeSettings {
        NodeSettings {
            vcpus: self.vcpus,
            memory_mib: self.memory_mib,
            disk_gib: self.disk_gib,
            butane: self.butane.clone(),
            users: self.users.clone(),
            time_zone: self.time_zone,
            kernel_arguments: self.kernel_arguments.clone(),
        }
    }
}

/// A maintenance policy being inherited, with where each part was set (for error locations).
#[derive(Debug, Clone)]
struct MaintenanceDraft {
    time_zone: Tz,
    strategy: StrategyName,
    fleet_lock_url: Option<String>,
    window_minutes: u32,
    reboot_allowance_minutes: u32,
    periods: Vec<MaintenancePeriod>,
    /// Where `strategy`, `window_minutes` and the periods were set, and the table that last changed the policy.
    strategy_origin: Option<Origin>,
    window_origin: Option<Origin>,
    periods_origin: Option<Origin>,
    table_origin: Option<Origin>,
    /// Parts that could not be read: rules that need them are skipped (the problem is already reported).
    strategy_unreadable: bool,
    window_unreadable: bool,
    periods_unreadable: bool,
}

/// Where a key was written: its span and its key path.
#[derive(Debug, Clone)]
struct Origin {
    span: Span,
    path: String,
}

impl MaintenanceDraft {
    fn fleet_defaults() -> Self {
        MaintenanceDraft {
            time_zone: Tz::UTC,
            strategy: StrategyName::Periodic,
            fleet_lock_url: None,
            window_minutes: 60,
            reboot_allowance_minutes: 10,
            periods: Vec::new(),
            strategy_origin: None,
            window_origin: None,
            periods_origin: None,
            table_origin: None,
            strategy_unreadable: false,
            window_unreadable: false,
            periods_unreadable: false,
        }
    }
}

/// The keys a maintenance table may set, shared by [maintenance] and [group.maintenance].
struct MaintenanceLevel<'a> {
    path: &'a str,
    span: Span,
    time_zone: &'a Field<TimeZone>,
    strategy: &'a Field<StrategyName>,
    fleet_lock_url: &'a Field<crate::values::HttpUrl>,
    window_minutes: &'a Field<crate::values::WindowMinutes>,
    reboot_allowance_minutes: &'a Field<crate::values::RebootAllowanceMinutes>,
    period: &'a Field<Vec<RawPeriod>>,
}

impl RawMaintenance {
    fn level(&self) -> MaintenanceLevel<'_> {
        MaintenanceLevel {
            path: "maintenance",
            span: self.span,
            time_zone: &self.time_zone,
            strategy: &self.strategy,
            fleet_lock_url: &self.fleet_lock_url,
            window_minutes: &self.window_minutes,
            reboot_allowance_minutes: &self.reboot_allowance_minutes,
            period: &self.period,
        }
    }
}

impl RawGroupMaintenance {
    fn level<'a>(&'a self, path: &'a str) -> MaintenanceLevel<'a> {
        MaintenanceLevel {
            path,
            span: self.span,
            time_zone: &self.time_zone,
            strategy: &self.strategy,
            fleet_lock_url: &self.fleet_lock_url,
            window_minutes: &self.window_minutes,
            reboot_allowance_minutes: &self.reboot_allowance_minutes,
            period: &self.period,
        }
    }
}

/// Where a node came from, for errors found after expansion (duplicates).
#[derive(Debug, Clone, Copy)]
struct NodeOrigin {
    name: Span,
    hostname: Span,
    address: Span,
    /// Set when the MAC was written by the user.
    mac: Option<Span>,
    /// The hostname was written by the user (not derived from the name).
    hostname_written: bool,
}

/// What every group needs from the fleet level.
struct FleetLevel<'a> {
    /// The [fleet] table, or the start of the file without one.
    span: Span,
    settings: &'a SettingsDraft,
    maintenance: &'a MaintenanceDraft,
    hosts: &'a [Host],
}

struct Validator<'c, 'a> {
    context: &'c mut Context<'a>,
    files: &'c mut FileRefs,
    domain: Option<String>,
    fleet_name: String,
    /// A reused buffer for hashing node names into UUIDs.
    scratch: Vec<u8>,
}

impl Validator<'_, '_> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.context.error(span, message);
    }

    fn location(&self, span: Span) -> Location {
        self.context.location(span)
    }

    /// A required key: reports it when missing; `None` when missing or already reported as invalid.
    fn required<'f, T>(
        &mut self,
        field: &'f Field<T>,
        table_span: Span,
        table_path: &str,
        key: &str,
        hint: &str,
    ) -> Option<&'f Located<T>> {
        match field {
            Field::Present(located) => Some(located),
            Field::Invalid => None,
            Field::Missing => {
                self.error(
                    table_span,
                    format!(
                        "{table_path}: missing key `{key_shown}`{hint}",
                        key_shown = shown(key)
                    ),
                );
                None
            }
        }
    }

    fn fleet(&mut self, raw: &RawDocument) -> Fleet {
        let fleet_table = raw.fleet.value();
        if raw.fleet.is_missing() {
            self.error(
                Span::default(),
                "missing [fleet] table: a fleet needs at least [fleet] name and one [[group]]",
            );
        }
        let default_fleet = RawFleet::default();
        let fleet_table = fleet_table.unwrap_or(&default_fleet);
        let table_known = !raw.fleet.is_missing() && !raw.fleet.is_invalid();

        let name = if table_known {
            self.required(
                &fleet_table.name,
                fleet_table.span,
                "fleet",
                "name",
                ": every fleet needs a name",
            )
            .map(|name| {
                if let Err(problem) = check_fleet_name(&name.value) {
                    self.error(name.span, format!("fleet.name: {problem}"));
                }
                name.value.clone()
            })
            .unwrap_or_default()
        } else {
            String::new()
        };
        self.fleet_name = name.clone();

        let connection = fleet_table
            .connect
            .value()
            .map(|uri| uri.0.clone())
            .unwrap_or_else(|| "qemu:///system".to_owned());
        let domain_type = match fleet_table.domain_type.value() {
            Some(DomainTypeName::Kvm) => DomainType::Kvm,
            Some(DomainTypeName::Qemu) => DomainType::Qemu,
            Some(DomainTypeName::Auto) | None => DomainType::Auto,
        };
        let network = match fleet_table.network.get() {
            Some(network) => {
                if let Err(problem) = check_libvirt_object_name("network", &network.value) {
                    self.error(network.span, format!("fleet.network: {problem}"));
                }
                network.value.clone()
            }
            None => "default".to_owned(),
        };
        let ignition_version = fleet_table
            .ignition_version
            .value()
            .map(|version| version.0.clone());
        if let Some(domain) = fleet_table.domain.get() {
            match check_domain(&domain.value) {
                Ok(()) => self.domain = Some(domain.value.clone()),
                Err(problem) => self.error(domain.span, format!("fleet.domain: {problem}")),
            }
        }
        let (image, direct_kernel_boot) = self.image(fleet_table, table_known);
        let pool = self.pool(fleet_table, &name);

        let mut settings = SettingsDraft::fleet_defaults();
        if let Some(defaults) = raw.defaults.value() {
            self.defaults(defaults, &mut settings);
        }
        let mut maintenance = MaintenanceDraft::fleet_defaults();
        let mut max_concurrent_reboots = None;
        if let Some(raw_maintenance) = raw.maintenance.value() {
            self.apply_maintenance(&mut maintenance, &raw_maintenance.level());
            max_concurrent_reboots = raw_maintenance
                .max_concurrent_reboots
                .value()
                .map(|count| count.as_u32());
        }
        let hosts = raw
            .host
            .value()
            .map(|hosts| self.hosts(hosts))
            .unwrap_or_default();

        let fleet_level_span = if table_known {
            fleet_table.span
        } else {
            Span::default()
        };
        let fleet_level = FleetLevel {
            span: fleet_level_span,
            settings: &settings,
            maintenance: &maintenance,
            hosts: &hosts,
        };
        let mut groups = Vec::new();
        // Reserve once for every node the groups will generate.
        let expected_nodes = raw
            .group
            .value()
            .map(|groups| {
                groups
                    .iter()
                    .map(|group| match group.count.value() {
                        Some(count) => count.as_u32() as usize,
                        None => group.node.value().map_or(0, Vec::len),
                    })
                    .sum::<usize>()
                    .min(MAX_FLEET_NODES)
            })
            .unwrap_or(0);
        let mut nodes = Vec::with_capacity(expected_nodes);
        let mut origins = Vec::with_capacity(expected_nodes);
        match raw.group.get() {
            Some(raw_groups) if !raw_groups.value.is_empty() => {
                let mut group_names: HashMap<&str, Span> = HashMap::new();
                for (group_index, raw_group) in raw_groups.value.iter().enumerate() {
                    if let Some(group_name) = raw_group.name.get()
                        && let Some(first) = group_names.insert(&group_name.value, group_name.span)
                    {
                        let line = self.location(first).line;
                        self.error(
                            group_name.span,
                            format!(
                                "group[{group_index}].name: duplicate group name `{}`: the first is on line {line}",
                                shown(&group_name.value)
                            ),
                        );
                    }
                    let group = self.group(
                        group_index,
                        raw_group,
                        &fleet_level,
                        &mut nodes,
                        &mut origins,
                    );
                    groups.push(group);
                }
            }
            Some(raw_groups) => self.error(
                raw_groups.span,
                "a fleet needs at least one [[group]]: add one with a `name` and a `count`",
            ),
            None if raw.group.is_missing() => self.error(
                if table_known {
                    fleet_table.span
                } else {
                    Span::default()
                },
                "a fleet needs at least one [[group]]: add one with a `name` and a `count`",
            ),
            None => {}
        }

        self.check_duplicates(&nodes, &origins);
        self.assign_macs(&mut nodes, &origins);
        let declared_at = FleetLocations {
            fleet: self.location(fleet_level_span),
            max_concurrent_reboots: raw
                .maintenance
                .value()
                .and_then(|maintenance| maintenance.max_concurrent_reboots.span())
                .map(|span| self.location(span)),
            ignition_version: fleet_table
                .ignition_version
                .span()
                .map(|span| self.location(span)),
        };

        Fleet {
            name,
            connection,
            domain_type,
            image,
            direct_kernel_boot,
            pool,
            network,
            ignition_version,
            max_concurrent_reboots,
            hosts,
            groups,
            nodes,
            declared_at,
        }
    }

    fn image(
        &mut self,
        fleet: &RawFleet,
        table_known: bool,
    ) -> (BaseImage, Option<DirectKernelBoot>) {
        let placeholder = BaseImage {
            source: ImageSource::Volume(String::new()),
            stream: "stable".to_owned(),
        };
        let image = match &fleet.image {
            Field::Present(image) => &image.value,
            Field::Invalid => return (placeholder, None),
            Field::Missing => {
                if table_known {
                    self.error(
                        fleet.span,
                        "missing [fleet.image]: give path = \"fedora-coreos-qemu.x86_64.qcow2\" (a qcow2 file) or volume = \"NAME\" (a volume already in the pool)",
                    );
                }
                return (placeholder, None);
            }
        };
        let source = match (image.path.get(), image.volume.get()) {
            (Some(_), Some(volume)) => {
                self.error(
                    volume.span,
                    "fleet.image: give either `path` (a qcow2 file) or `volume` (a pool volume), not both",
                );
                None
            }
            (Some(path), None) => Some(ImageSource::File(path.value.0.clone())),
            (None, Some(volume)) => {
                if let Err(problem) = check_libvirt_object_name("volume", &volume.value) {
                    self.error(volume.span, format!("fleet.image.volume: {problem}"));
                }
                Some(ImageSource::Volume(volume.value.clone()))
            }
            (None, None) => {
                if image.path.is_missing() && image.volume.is_missing() {
                    self.error(
                        image.span,
                        "fleet.image: missing key `path` (a Fedora CoreOS qcow2 file) or `volume` (a volume already in the pool)",
                    );
                }
                None
            }
        };
        let stream = image
            .stream
            .value()
            .map(|stream| stream.as_str())
            .unwrap_or("stable")
            .to_owned();
        let direct_kernel_boot = match (image.kernel.get(), image.initrd.get()) {
            (Some(kernel), Some(initrd)) => Some(DirectKernelBoot {
                kernel: kernel.value.0.clone(),
                initrd: initrd.value.0.clone(),
                cmdline: image.cmdline.value().cloned().unwrap_or_default(),
            }),
            (Some(kernel), None) => {
                if image.initrd.is_missing() {
                    self.error(
                        kernel.span,
                        "fleet.image.kernel: direct kernel boot needs `initrd` too",
                    );
                }
                None
            }
            (None, Some(initrd)) => {
                if image.kernel.is_missing() {
                    self.error(
                        initrd.span,
                        "fleet.image.initrd: direct kernel boot needs `kernel` too",
                    );
                }
                None
            }
            (None, None) => {
                if let Some(cmdline) = image.cmdline.get()
                    && image.kernel.is_missing()
                    && image.initrd.is_missing()
                {
                    self.error(
                        cmdline.span,
                        "fleet.image.cmdline: a kernel command line is only used with direct kernel boot (`kernel` and `initrd`)",
                    );
                }
                None
            }
        };
        (
            BaseImage {
                source: source.unwrap_or(placeholder.source),
                stream,
            },
            direct_kernel_boot,
        )
    }

    fn pool(&mut self, fleet: &RawFleet, fleet_name: &str) -> StoragePool {
        let pool = fleet.pool.value();
        let name = match pool.and_then(|pool| pool.name.get()) {
            Some(name) => {
                if let Err(problem) = check_libvirt_object_name("pool", &name.value) {
                    self.error(name.span, format!("fleet.pool.name: {problem}"));
                }
                name.value.clone()
            }
            None => format!("fleet-{fleet_name}"),
        };
        let path = match pool.and_then(|pool| pool.path.get()) {
            Some(path) => {
                if !path.value.starts_with('/') {
                    self.error(
                        path.span,
                        format!(
                            "fleet.pool.path: `{}` must be an absolute directory on the host, such as /var/lib/libvirt/fleet-{}",
                            shown(&path.value),
                            if fleet_name.is_empty() { "NAME" } else { fleet_name }
                        ),
                    );
                }
                PathBuf::from(&path.value)
            }
            None => PathBuf::from(format!("/var/lib/libvirt/fleet-{fleet_name}")),
        };
        StoragePool { name, path }
    }

    fn defaults(&mut self, defaults: &RawDefaults, settings: &mut SettingsDraft) {
        self.apply_settings(settings, defaults.settings(), "defaults");
    }

    /// Apply one level's overrides: scalars replace, snippets accumulate, users merge by name,
    /// kernel arguments accumulate with the later level winning a conflict.
    fn apply_settings(&mut self, draft: &mut SettingsDraft, level: SettingsLevel<'_>, path: &str) {
        if let Some(vcpus) = level.vcpus.value() {
            draft.vcpus = vcpus.as_u32();
        }
        if let Some(memory) = level.memory_mib.value() {
            draft.memory_mib = memory.as_u64();
        }
        if let Some(disk) = level.disk_gib.value() {
            draft.disk_gib = disk.as_u64();
        }
        if let Some(snippets) = level.butane.value() {
            for snippet in &snippets.0 {
                let declared_at = self.location(snippet.span);
                self.files
                    .snippets
                    .push((snippet.value.0.clone(), declared_at));
                if !draft
                    .butane
                    .iter()
                    .any(|known| known.path == snippet.value.0)
                {
                    draft.butane.push(SnippetRef {
                        path: snippet.value.0.clone(),
                        declared_at,
                    });
                }
            }
        }
        if let Some(users) = level.users.value() {
            for user in self.users(users, path) {
                match draft.users.iter_mut().find(|known| known.name == user.name) {
                    Some(known) => *known = user,
                    None => draft.users.push(user),
                }
            }
        }
        if let Some(zone) = level.time_zone.value() {
            draft.time_zone = Some(zone.0);
        }
        if let Some(arguments) = level.kernel_arguments.value() {
            let merged = &mut draft.kernel_arguments;
            for argument in &arguments.0.should_exist {
                merged.should_not_exist.retain(|known| known != argument);
                if !merged.should_exist.contains(argument) {
                    merged.should_exist.push(argument.clone());
                }
            }
            for argument in &arguments.0.should_not_exist {
                merged.should_exist.retain(|known| known != argument);
                if !merged.should_not_exist.contains(argument) {
                    merged.should_not_exist.push(argument.clone());
                }
            }
        }
    }

    fn users(&mut self, raw_users: &[RawUser], path: &str) -> Vec<User> {
        let mut users = Vec::with_capacity(raw_users.len());
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (position, raw) in raw_users.iter().enumerate() {
            let user_path = format!("{path}.users[{position}]");
            let Some(name) = self.required(&raw.name, raw.span, &user_path, "name", "") else {
                continue;
            };
            if let Err(problem) = check_user_name(&name.value) {
                self.error(name.span, format!("{user_path}.name: {problem}"));
            }
            if let Some(first) = seen.insert(&name.value, name.span) {
                let line = self.location(first).line;
                self.error(
                    name.span,
                    format!(
                        "{user_path}.name: user `{}` is listed twice at this level: the first is on line {line}",
                        shown(&name.value)
                    ),
                );
            }
            let ssh_key_files = raw
                .ssh_key_files
                .value()
                .map(|files| {
                    files
                        .0
                        .iter()
                        .map(|file| {
                            let declared_at = self.location(file.span);
                            self.files
                                .key_files
                                .push((file.value.0.clone(), declared_at));
                            FileRef {
                                path: file.value.0.clone(),
                                declared_at,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(groups) = raw.groups.get() {
                for group in &groups.value {
                    if let Err(problem) = check_user_name(group) {
                        self.error(
                            groups.span,
                            format!(
                                "{user_path}.groups: `{group_shown}` is not a valid group name: {problem}", group_shown = shown(group)),
                        );
                    }
                }
            }
            users.push(User {
                name: name.value.clone(),
                ssh_authorized_keys: raw
                    .ssh_authorized_keys
                    .value()
                    .map(|keys| keys.0.iter().map(|key| key.0.clone()).collect())
                    .unwrap_or_default(),
                ssh_key_files,
                password_hash: raw.password_hash.value().map(|hash| hash.0.clone()),
                groups: raw.groups.value().cloned().unwrap_or_default(),
            });
        }
        users
    }

    fn apply_maintenance(&mut self, draft: &mut MaintenanceDraft, level: &MaintenanceLevel<'_>) {
        let origin = |span: Span, key: &str| Origin {
            span,
            path: format!("{}.{key_shown}", level.path, key_shown = shown(key)),
        };
        draft.table_origin = Some(Origin {
            span: level.span,
            path: level.path.to_owned(),
        });
        if let Some(zone) = level.time_zone.value() {
            draft.time_zone = zone.0;
        }
        if let Some(strategy) = level.strategy.get() {
            draft.strategy = strategy.value;
            draft.strategy_origin = Some(origin(strategy.span, "strategy"));
        }
        if let Some(url) = level.fleet_lock_url.value() {
            draft.fleet_lock_url = Some(url.0.clone());
        }
        if let Some(window) = level.window_minutes.get() {
            draft.window_minutes = window.value.as_u32();
            draft.window_origin = Some(origin(window.span, "window_minutes"));
        }
        if let Some(allowance) = level.reboot_allowance_minutes.value() {
            draft.reboot_allowance_minutes = allowance.as_u32();
        }
        draft.strategy_unreadable |=
            level.strategy.is_invalid() || level.fleet_lock_url.is_invalid();
        draft.window_unreadable |= level.window_minutes.is_invalid();
        match level.period {
            Field::Present(periods) => {
                let (converted, usable) = self.periods(&periods.value, level.path);
                draft.periods = converted;
                draft.periods_origin = Some(origin(periods.span, "period"));
                draft.periods_unreadable = !usable;
            }
            Field::Invalid => draft.periods_unreadable = true,
            Field::Missing => {}
        }
    }

    fn periods(&mut self, raw_periods: &[RawPeriod], path: &str) -> (Vec<MaintenancePeriod>, bool) {
        let mut periods = Vec::with_capacity(raw_periods.len());
        let mut usable = true;
        for (position, raw) in raw_periods.iter().enumerate() {
            let period_path = format!("{path}.period[{position}]");
            let days = self.required(
                &raw.days,
                raw.span,
                &period_path,
                "days",
                ": list the days the period starts on, e.g. days = [\"Sat\", \"Sun\"]",
            );
            let days = days.and_then(|days| {
                if days.value.is_empty() {
                    self.error(
                        days.span,
                        format!("{period_path}.days: list at least one day, e.g. [\"Sat\"]"),
                    );
                    return None;
                }
                let mut unique = Vec::with_capacity(days.value.len());
                for day in &days.value {
                    if unique.contains(&day.0) {
                        self.error(
                            days.span,
                            format!("{period_path}.days: {} is listed twice", day.0),
                        );
                        return None;
                    }
                    unique.push(day.0);
                }
                Some(unique)
            });
            let start = self
                .required(
                    &raw.start,
                    raw.span,
                    &period_path,
                    "start",
                    ": the time the period opens, e.g. start = \"22:00\"",
                )
                .map(|start| start.value.0);
            let length = match (raw.length_minutes.get(), raw.end.get()) {
                (Some(_), Some(end)) => {
                    self.error(
                        end.span,
                        format!("{period_path}: give either `length_minutes` or `end`, not both"),
                    );
                    None
                }
                (Some(length), None) => Some(length.value.as_u32()),
                (None, Some(end)) => start.and_then(|start| {
                    let start_minute = u32::from(start.hour) * 60 + u32::from(start.minute);
                    let end_minute = u32::from(end.value.0.hour) * 60 + u32::from(end.value.0.minute);
                    let length = (end_minute + 24 * 60 - start_minute) % (24 * 60);
                    if length == 0 {
                        self.error(
                            end.span,
                            format!("{period_path}.end: the period ends when it starts; for a whole day write length_minutes = 1440"),
                        );
                        None
                    } else {
                        Some(length)
                    }
                }),
                (None, None) => {
                    if raw.length_minutes.is_missing() && raw.end.is_missing() {
                        self.error(
                            raw.span,
                            format!("{period_path}: missing key `length_minutes` or `end`, e.g. length_minutes = 120"),
                        );
                    }
                    None
                }
            };
            match (days, start, length) {
                (Some(days), Some(start), Some(length_minutes)) => {
                    periods.push(MaintenancePeriod {
                        days,
                        start,
                        length_minutes,
                    })
                }
                _ => usable = false,
            }
        }
        (periods, usable)
    }

    /// Check a group's resolved maintenance policy and turn it into the model's.
    fn maintenance_policy(
        &mut self,
        draft: &MaintenanceDraft,
        unwritten: &Origin,
    ) -> MaintenancePolicy {
        let policy = draft
            .strategy_origin
            .as_ref()
            .or(draft.periods_origin.as_ref())
            .or(draft.table_origin.as_ref())
            .unwrap_or(unwritten)
            .clone();
        let strategy = match draft.strategy {
            StrategyName::Periodic => {
                if !draft.strategy_unreadable
                    && !draft.periods_unreadable
                    && draft.periods.is_empty()
                {
                    self.error(
                        policy.span,
                        format!(
                            "{}: the periodic strategy needs at least one [[maintenance.period]], e.g. days = [\"Sat\"], start = \"02:00\", length_minutes = 120; or set strategy = \"immediate\"",
                            policy.path
                        ),
                    );
                }
                let longest = draft
                    .periods
                    .iter()
                    .map(|period| period.length_minutes)
                    .max();
                if let Some(longest) = longest
                    && !draft.window_unreadable
                    && !draft.periods_unreadable
                    && draft.window_minutes > longest
                {
                    let window = draft.window_origin.as_ref().unwrap_or(&policy);
                    self.error(
                        window.span,
                        format!(
                            "{}: a node's window of {} minutes does not fit in any maintenance period (the longest lasts {longest} minutes)",
                            window.path, draft.window_minutes
                        ),
                    );
                }
                UpdateStrategy::Periodic
            }
            StrategyName::FleetLock => match &draft.fleet_lock_url {
                Some(url) => UpdateStrategy::FleetLock {
                    base_url: url.clone(),
                },
                None => {
                    if !draft.strategy_unreadable {
                        self.error(
                            policy.span,
                            format!(
                                "{}: strategy = \"fleet_lock\" needs fleet_lock_url, the FleetLock server (e.g. airlock) such as \"http://airlock.example.com:3333\"",
                                policy.path
                            ),
                        );
                    }
                    UpdateStrategy::FleetLock {
                        base_url: String::new(),
                    }
                }
            },
            StrategyName::Immediate => UpdateStrategy::Immediate,
        };
        MaintenancePolicy {
            time_zone: draft.time_zone,
            periods: draft.periods.clone(),
            window_minutes: draft.window_minutes,
            reboot_allowance_minutes: draft.reboot_allowance_minutes,
            strategy,
        }
    }

    fn hosts(&mut self, raw_hosts: &[RawHost]) -> Vec<Host> {
        let mut hosts = Vec::with_capacity(raw_hosts.len());
        let mut names: HashMap<&str, Span> = HashMap::new();
        let mut connections: HashMap<String, (&String, Span)> = HashMap::new();
        for (position, raw) in raw_hosts.iter().enumerate() {
            let path = format!("host[{position}]");
            let name = self.required(&raw.name, raw.span, &path, "name", "");
            if let Some(name) = name {
                if let Err(problem) = check_node_name(&name.value) {
                    self.error(
                        name.span,
                        format!("{path}.name: {}", problem.replace("node name", "host name")),
                    );
                }
                if let Some(first) = names.insert(&name.value, name.span) {
                    let line = self.location(first).line;
                    self.error(
                        name.span,
                        format!(
                            "{path}.name: duplicate host name `{}`: the first is on line {line}",
                            shown(&name.value)
                        ),
                    );
                }
            }
            let connect = self.required(
                &raw.connect,
                raw.span,
                &path,
                "connect",
                ": the libvirt URI of the host, e.g. connect = \"qemu+ssh://root@hv1/system\"",
            );
            // Spellings of one hypervisor (`qemu:///system`, `qemu+unix:///system`) are one URI.
            if let Some(connect) = connect
                && let Some((first_uri, first)) = connections.insert(
                    crate::libvirt_uri::normal_form(&connect.value.0),
                    (&connect.value.0, connect.span),
                )
            {
                let line = self.location(first).line;
                let same = if *first_uri == connect.value.0 {
                    "is already the URI of the host".to_owned()
                } else {
                    format!("reaches the same hypervisor as `{first_uri}`, the URI of the host")
                };
                self.error(
                    connect.span,
                    format!(
                        "{path}.connect: `{}` {same} on line {line}; two hosts on one hypervisor would count its capacity twice",
                        shown(&connect.value.0)
                    ),
                );
            }
            if let Some(labels) = raw.labels.get() {
                for (key, value) in &labels.value {
                    if key.is_empty() || value.is_empty() {
                        self.error(
                            labels.span,
                            format!("{path}.labels: labels need a non-empty name and value"),
                        );
                    }
                }
            }
            hosts.push(Host {
                name: name.map(|name| name.value.clone()).unwrap_or_default(),
                connection: connect
                    .map(|connect| connect.value.0.clone())
                    .unwrap_or_default(),
                capacity: HostCapacity {
                    vcpus: raw.vcpus.value().map(|vcpus| vcpus.as_u32()),
                    memory_mib: raw.memory_mib.value().map(|memory| memory.as_u64()),
                    disk_gib: raw.disk_gib.value().map(|disk| disk.as_u64()),
                },
                vcpu_overcommit: raw
                    .vcpu_overcommit
                    .value()
                    .map(|ratio| ratio.0)
                    .unwrap_or(1.0),
                labels: raw.labels.value().cloned().unwrap_or_default(),
            });
        }
        hosts
    }

    fn group(
        &mut self,
        group_index: usize,
        raw: &RawGroup,
        fleet: &FleetLevel<'_>,
        nodes: &mut Vec<Node>,
        origins: &mut Vec<NodeOrigin>,
    ) -> Group {
        let path = format!("group[{group_index}]");
        let mut name_usable = false;
        let name = self
            .required(&raw.name, raw.span, &path, "name", "")
            .map(|name| {
                match check_group_name(&name.value) {
                    Ok(()) => name_usable = true,
                    Err(problem) => self.error(name.span, format!("{path}.name: {problem}")),
                }
                name.value.clone()
            })
            .unwrap_or_default();

        let mut settings = fleet.settings.clone();
        self.apply_settings(&mut settings, raw.settings(), &path);
        let group_settings = Arc::new(settings.to_settings());

        let network_path = format!("{path}.network");
        let GroupAddressing {
            addressing,
            first_address,
            usable: addresses_checkable,
        } = if raw.network.is_invalid() {
            GroupAddressing {
                addressing: Addressing::Dhcp,
                first_address: None,
                usable: false,
            }
        } else {
            self.addressing(raw.network.value(), &network_path)
        };

        let mut maintenance = fleet.maintenance.clone();
        if let Some(group_maintenance) = raw.maintenance.value() {
            let maintenance_path = format!("{path}.maintenance");
            self.apply_maintenance(
                &mut maintenance,
                &group_maintenance.level(&maintenance_path),
            );
        }
        // Problems of a policy nobody wrote belong to the fleet, once, not to every group.
        let unwritten = Origin {
            span: fleet.span,
            path: "maintenance".to_owned(),
        };
        let maintenance = self.maintenance_policy(&maintenance, &unwritten);

        let spread_over = raw.spread_over.get().map(|label| {
            if !fleet.hosts.is_empty()
                && !fleet
                    .hosts
                    .iter()
                    .any(|host| host.labels.contains_key(&label.value))
            {
                let known: Vec<&str> = fleet
                    .hosts
                    .iter()
                    .flat_map(|host| host.labels.keys().map(String::as_str))
                    .collect();
                let mut message = format!(
                    "{path}.spread_over: no [[host]] has the label `{}`",
                    shown(&label.value)
                );
                if let Some(closest) = crate::hints::closest(&label.value, known.iter().copied()) {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                } else {
                    message.push_str(&format!(
                        "; add labels = {{ {} = \"...\" }} to the hosts",
                        shown(&label.value)
                    ));
                }
                self.error(label.span, message);
            }
            label.value.clone()
        });

        let first_node = nodes.len();
        let expansion = GroupExpansion {
            group_index,
            group_name: &name,
            name_usable,
            path: &path,
            settings: &settings,
            shared_settings: &group_settings,
            addressing: &addressing,
            first_address,
            addresses_checkable,
            hosts: fleet.hosts,
        };
        self.expand_nodes(raw, &expansion, nodes, origins);
        let group_size = nodes.len() - first_node;

        let rollout = self.rollout(raw, &path, &name, group_size);
        let declared_at = self.location(raw.name.span().unwrap_or(raw.span));
        Group {
            name,
            rollout,
            maintenance,
            addressing,
            spread_over,
            nodes: first_node..nodes.len(),
            declared_at,
        }
    }

    fn rollout(
        &mut self,
        raw: &RawGroup,
        path: &str,
        name: &str,
        group_size: usize,
    ) -> RolloutPolicy {
        let rollout = raw.rollout.value();
        let max_unavailable = rollout
            .and_then(|rollout| rollout.max_unavailable.value())
            .map(|max| max.0)
            .unwrap_or(MaxUnavailable::Count(1));
        let canaries = match rollout.and_then(|rollout| rollout.canaries.get()) {
            Some(canaries) => {
                if let Canaries::Count(count) = canaries.value.0
                    && group_size > 0
                    && count as usize > group_size
                {
                    self.error(
                        canaries.span,
                        format!(
                            "{path}.rollout.canaries: group `{name_shown}` has {group_size} node{} but asks for {count} canaries",
                            if group_size == 1 { "" } else { "s" }, name_shown = shown(name)),
                    );
                }
                canaries.value.0
            }
            None => Canaries::Count(1),
        };
        let soak_minutes = rollout
            .and_then(|rollout| rollout.soak_minutes.value())
            .map(|soak| soak.0)
            .unwrap_or(60);
        RolloutPolicy {
            max_unavailable,
            canaries,
            soak_minutes,
        }
    }

    /// The group's addressing, its first address with where it comes from (for sequential allocation),
    /// and whether the network could be read well enough to check node addresses against it.
    fn addressing(&mut self, network: Option<&RawNetwork>, path: &str) -> GroupAddressing {
        let dhcp = |usable| GroupAddressing {
            addressing: Addressing::Dhcp,
            first_address: None,
            usable,
        };
        let Some(network) = network else {
            return dhcp(true);
        };
        if network.mode.is_invalid() {
            return dhcp(false);
        }
        let mode = network.mode.value().copied().unwrap_or(NetworkMode::Dhcp);
        if mode == NetworkMode::Dhcp {
            let unused = [
                ("cidr", network.cidr.span()),
                ("first_address", network.first_address.span()),
                ("gateway", network.gateway.span()),
                ("dns", network.dns.span()),
            ];
            for (key, span) in unused {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!("{path}.{key_shown}: only used with mode = \"reserved\" or \"static\" (the mode is dhcp)", key_shown = shown(key)),
                    );
                }
            }
            return dhcp(true);
        }
        let mode_word = if mode == NetworkMode::Static {
            "static"
        } else {
            "reserved"
        };
        let Some(cidr) = self.required(
            &network.cidr,
            network.span,
            path,
            "cidr",
            &format!(": mode = \"{mode_word}\" needs the subnet, e.g. cidr = \"192.168.122.0/24\""),
        ) else {
            return dhcp(false);
        };
        let cidr = cidr.value.0;
        let mut usable = !network.gateway.is_invalid() && !network.first_address.is_invalid();
        let gateway = match network.gateway.get() {
            Some(gateway) => {
                let address = gateway.value.0;
                let problem = if !cidr.contains(&address) {
                    Some(format!("{address} is outside {cidr}"))
                } else if address == cidr.network() {
                    Some(format!("{address} is the network address of {cidr}"))
                } else if address == cidr.broadcast() && cidr.prefix_len() < 31 {
                    Some(format!("{address} is the broadcast address of {cidr}"))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    self.error(gateway.span, format!("{path}.gateway: {problem}"));
                    usable = false;
                }
                address
            }
            None => Ipv4Addr::from(u32::from(cidr.network()).saturating_add(1)),
        };
        let dns = network
            .dns
            .value()
            .map(|servers| servers.iter().map(|server| server.0).collect())
            .unwrap_or_else(|| vec![IpAddr::V4(gateway)]);
        let static_network = StaticNetwork { cidr, gateway, dns };
        let first_address = match network.first_address.get() {
            Some(first) => {
                if usable && let Err(problem) = check_address(&static_network, first.value.0) {
                    self.error(first.span, format!("{path}.first_address: {problem}"));
                    usable = false;
                }
                Some((first.value.0, first.span))
            }
            None => Some((
                Ipv4Addr::from(u32::from(gateway).saturating_add(1)),
                network.span,
            )),
        };
        let addressing = if mode == NetworkMode::Static {
            Addressing::Static(static_network)
        } else {
            Addressing::Reserved(static_network)
        };
        GroupAddressing {
            addressing,
            first_address: first_address.filter(|_| usable),
            usable,
        }
    }

    fn expand_nodes(
        &mut self,
        raw: &RawGroup,
        group: &GroupExpansion<'_>,
        nodes: &mut Vec<Node>,
        origins: &mut Vec<NodeOrigin>,
    ) {
        let path = group.path;
        let pattern = match raw.hostname.get() {
            Some(pattern) => match HostnamePattern::parse(&pattern.value) {
                Ok(parsed) => Some((parsed, pattern.span, true)),
                Err(problem) => {
                    self.error(pattern.span, format!("{path}.hostname: {problem}"));
                    None
                }
            },
            None if raw.hostname.is_missing() => HostnamePattern::parse("{group}-{index}")
                .ok()
                .map(|parsed| (parsed, raw.span, false)),
            None => None,
        };
        let explicit_nodes: &[RawNode] = raw.node.value().map(Vec::as_slice).unwrap_or(&[]);

        if let Some(count) = raw.count.get() {
            let count_value = count.value.as_u32();
            if nodes.len() + count_value as usize > MAX_FLEET_NODES {
                self.error(
                    count.span,
                    format!("{path}.count: the fleet would have more than {MAX_FLEET_NODES} nodes"),
                );
                return;
            }
            let Some((pattern, pattern_span, written)) = pattern else {
                return;
            };
            if !group.name_usable && pattern.uses_group() {
                // Every generated name would repeat the group name's problem, already reported.
                return;
            }
            if count_value > 1 && !pattern.has_index() {
                let sample = pattern.render(group.group_name, 1);
                self.error(
                    pattern_span,
                    format!(
                        "{path}.hostname: the pattern has no {{index}}, so all {count_value} nodes would be named `{sample_shown}`; write e.g. \"{sample_shown}-{{index}}\"", sample_shown = shown(&sample)),
                );
                return;
            }
            // Only the digits vary between nodes, and the widest index gives the longest name:
            // checking that one name checks them all.
            let widest = pattern.render(group.group_name, count_value);
            let source = if written {
                "the pattern gives"
            } else {
                "the default pattern {group}-{index} gives"
            };
            let key = if written { "hostname" } else { "name" };
            if let Err(problem) = check_node_name(&widest) {
                self.error(
                    pattern_span,
                    format!(
                        "{path}.{key_shown}: {source} `{widest_shown}`: {problem}",
                        key_shown = shown(key),
                        widest_shown = shown(&widest)
                    ),
                );
                return;
            }
            if let Err(problem) = check_hostname(&self.qualified(&widest)) {
                self.error(
                    pattern_span,
                    format!(
                        "{path}.{key_shown}: {source} `{widest_shown}`: {problem}",
                        key_shown = shown(key),
                        widest_shown = shown(&widest)
                    ),
                );
                return;
            }
            self.check_sequential_range(group, count_value);

            let mut overrides: HashMap<&str, (usize, &RawNode)> = HashMap::new();
            for (position, node) in explicit_nodes.iter().enumerate() {
                match node.name.get() {
                    Some(name) if overrides.insert(&name.value, (position, node)).is_some() => {
                        self.error(
                            name.span,
                            format!("{path}.node[{position}].name: node `{}` is overridden twice", name.value),
                        );
                    }
                    Some(_) => {}
                    None if node.name.is_missing() => self.error(
                        node.span,
                        format!(
                            "{path}.node[{position}]: missing key `name`: in a group with `count`, each [[group.node]] changes the generated node of that name (e.g. \"{}\")",
                            shown(&pattern.render(group.group_name, 1))
                        ),
                    ),
                    None => {}
                }
            }
            for index in 1..=count_value {
                let name = pattern.render(group.group_name, index);
                let raw_node = if overrides.is_empty() {
                    None
                } else {
                    overrides.remove(name.as_str())
                };
                let origin_span = raw_node.map(|(_, node)| node.span).unwrap_or(count.span);
                let address = match (
                    raw_node.and_then(|(_, node)| node.address.get()),
                    group.first_address,
                ) {
                    (Some(_), _) => None,
                    (None, Some((first, _))) => {
                        Some(Ipv4Addr::from(u32::from(first).wrapping_add(index - 1)))
                    }
                    (None, None) => None,
                };
                let input = NodeInput {
                    index,
                    name,
                    name_checked: true,
                    raw: raw_node,
                    origin_span,
                    sequential_address: address,
                };
                self.push_node(group, input, nodes, origins);
            }
            let mut leftovers: Vec<(usize, &RawNode)> = overrides.into_values().collect();
            leftovers.sort_by_key(|(position, _)| *position);
            for (position, node) in leftovers {
                if let Some(name) = node.name.get() {
                    let its_nodes = if count_value == 1 {
                        format!(
                            "its one node is {}",
                            shown(&pattern.render(group.group_name, 1))
                        )
                    } else {
                        format!(
                            "its {count_value} nodes are {} to {}",
                            shown(&pattern.render(group.group_name, 1)),
                            shown(&pattern.render(group.group_name, count_value)),
                        )
                    };
                    self.error(
                        name.span,
                        format!(
                            "{path}.node[{position}].name: group `{}` has no node `{}` to change: {its_nodes}",
                            shown(group.group_name),
                            shown(&name.value),
                        ),
                    );
                }
            }
            return;
        }

        if explicit_nodes.is_empty() {
            if raw.count.is_missing() && !raw.node.is_invalid() {
                self.error(
                    raw.span,
                    format!(
                        "{path}: group `{}` has no nodes: give `count` (with a `hostname` pattern such as \"web-{{index:02}}\") or list [[group.node]] entries",
                        shown(group.group_name)
                    ),
                );
            }
            return;
        }
        if nodes.len() + explicit_nodes.len() > MAX_FLEET_NODES {
            self.error(
                raw.span,
                format!("{path}: the fleet would have more than {MAX_FLEET_NODES} nodes"),
            );
            return;
        }
        for (position, node) in explicit_nodes.iter().enumerate() {
            let index = u32::try_from(position + 1).unwrap_or(u32::MAX);
            let node_path = format!("{path}.node[{position}]");
            let name = match node.name.get() {
                Some(name) => {
                    if let Err(problem) = check_node_name(&name.value) {
                        self.error(name.span, format!("{node_path}.name: {problem}"));
                    }
                    name.value.clone()
                }
                None => match (&pattern, node.name.is_missing()) {
                    (Some((pattern, _, _)), true) => {
                        let name = pattern.render(group.group_name, index);
                        if (group.name_usable || !pattern.uses_group())
                            && let Err(problem) = check_node_name(&name)
                        {
                            self.error(
                                node.span,
                                format!(
                                    "{node_path}: the pattern gives `{name_shown}`: {problem}",
                                    name_shown = shown(&name)
                                ),
                            );
                        }
                        name
                    }
                    _ => String::new(),
                },
            };
            let address = match (node.address.get(), group.first_address) {
                (Some(_), _) => None,
                (None, Some((first, span))) => {
                    let address = Ipv4Addr::from(u32::from(first).wrapping_add(index - 1));
                    if let Some(network) = static_network(group.addressing)
                        && let Err(problem) = check_address(network, address)
                    {
                        self.error(
                            span,
                            format!("{node_path}: node `{name_shown}` would get the address {address}, but {problem}", name_shown = shown(&name)),
                        );
                    }
                    Some(address)
                }
                (None, None) => {
                    if static_network(group.addressing).is_some()
                        && group.addresses_checkable
                        && node.address.is_missing()
                    {
                        self.error(
                            node.span,
                            format!(
                                "{node_path}: node `{name_shown}` needs an `address` (or set first_address in [group.network])", name_shown = shown(&name)),
                        );
                    }
                    None
                }
            };
            let input = NodeInput {
                index,
                name,
                name_checked: false,
                raw: Some((position, node)),
                origin_span: node.span,
                sequential_address: address,
            };
            self.push_node(group, input, nodes, origins);
        }
    }

    /// Sequential addresses of a count group must fit in the network and skip the gateway.
    fn check_sequential_range(&mut self, group: &GroupExpansion<'_>, count: u32) {
        let (Some(network), Some((first, span))) =
            (static_network(group.addressing), group.first_address)
        else {
            return;
        };
        let path = group.path;
        let cidr = network.cidr;
        let last_usable = if cidr.prefix_len() >= 31 {
            u32::from(cidr.broadcast())
        } else {
            u32::from(cidr.broadcast()).saturating_sub(1)
        };
        let first_number = u32::from(first);
        let last_number = first_number.checked_add(count - 1);
        match last_number {
            Some(last_number) if last_number <= last_usable => {
                let gateway = u32::from(network.gateway);
                if (first_number..=last_number).contains(&gateway) && first_number != gateway {
                    self.error(
                        span,
                        format!(
                            "{path}.network: the addresses {first} to {} of group `{}` include the gateway {}; start first_address after the gateway",
                            Ipv4Addr::from(last_number),
                            shown(group.group_name),
                            network.gateway
                        ),
                    );
                }
            }
            _ => self.error(
                span,
                format!(
                    "{path}.network: group `{}` needs {count} addresses from {first}, but the last usable address of {cidr} is {}",
                    shown(group.group_name),
                    Ipv4Addr::from(last_usable)
                ),
            ),
        }
    }

    /// A node name with the fleet's domain appended: the default hostname.
    fn qualified(&self, name: &str) -> String {
        match &self.domain {
            Some(domain) => {
                let mut qualified = String::with_capacity(name.len() + 1 + domain.len());
                qualified.push_str(name);
                qualified.push('.');
                qualified.push_str(domain);
                qualified
            }
            None => name.to_owned(),
        }
    }

    /// A written `hostname`: short names get the fleet's domain, names with dots are taken as they are.
    fn qualified_hostname(&self, hostname: &str) -> String {
        if hostname.contains('.') {
            hostname.to_owned()
        } else {
            self.qualified(hostname)
        }
    }

    fn push_node(
        &mut self,
        group: &GroupExpansion<'_>,
        input: NodeInput<'_>,
        nodes: &mut Vec<Node>,
        origins: &mut Vec<NodeOrigin>,
    ) {
        let NodeInput {
            index,
            name,
            name_checked,
            raw,
            origin_span,
            sequential_address,
        } = input;
        let node_path = || match raw {
            Some((position, _)) => format!("{}.node[{position}]", group.path),
            None => group.path.to_owned(),
        };
        let raw = raw.map(|(_, node)| node);
        let name_span = raw.and_then(|node| node.name.span()).unwrap_or(origin_span);
        let hostname_written = raw.is_some_and(|node| node.hostname.get().is_some());
        let (hostname, hostname_span) = match raw.and_then(|node| node.hostname.get()) {
            Some(hostname) => {
                let qualified = self.qualified_hostname(&hostname.value);
                if let Err(problem) = check_hostname(&qualified) {
                    self.error(
                        hostname.span,
                        format!("{}.hostname: {problem}", node_path()),
                    );
                }
                (qualified, hostname.span)
            }
            None => {
                let qualified = self.qualified(&name);
                if !name_checked
                    && !name.is_empty()
                    && check_node_name(&name).is_ok()
                    && let Err(problem) = check_hostname(&qualified)
                {
                    self.error(
                        name_span,
                        format!("{}: the node's hostname would be `{qualified_shown}`: {problem}; set `hostname`", node_path(), qualified_shown = shown(&qualified)),
                    );
                }
                (qualified, name_span)
            }
        };
        let (address, address_span) = match raw.and_then(|node| node.address.get()) {
            // The network could not be read: the address cannot be judged (the cause is reported).
            Some(address)
                if !group.addresses_checkable && static_network(group.addressing).is_none() =>
            {
                (Some(address.value.0), address.span)
            }
            Some(address) => {
                match static_network(group.addressing) {
                    Some(network) => {
                        if let Err(problem) = check_address(network, address.value.0) {
                            self.error(address.span, format!("{}.address: {problem}", node_path()));
                        }
                    }
                    None => self.error(
                        address.span,
                        format!(
                            "{}.address: addresses need [group.network] mode = \"reserved\" or \"static\" (the group uses DHCP)",
                            node_path()
                        ),
                    ),
                }
                (Some(address.value.0), address.span)
            }
            None => (
                sequential_address.filter(|_| static_network(group.addressing).is_some()),
                group
                    .first_address
                    .map(|(_, span)| span)
                    .unwrap_or(origin_span),
            ),
        };
        let mac = raw.and_then(|node| node.mac.get());
        let pinned_host = raw.and_then(|node| node.host.get()).map(|host| {
            if !group.hosts.iter().any(|known| known.name == host.value) {
                let message = if group.hosts.is_empty() {
                    format!(
                        "{}.host: the node is pinned to host `{}`, but the fleet has no [[host]]",
                        node_path(),
                        shown(&host.value)
                    )
                } else {
                    let mut message = format!(
                        "{}.host: there is no [[host]] named `{}`",
                        node_path(),
                        shown(&host.value)
                    );
                    if let Some(closest) = crate::hints::closest(
                        &host.value,
                        group.hosts.iter().map(|known| known.name.as_str()),
                    ) {
                        message.push_str(&format!("; did you mean `{closest}`?"));
                    }
                    message
                };
                self.error(host.span, message);
            }
            host.value.clone()
        });
        let settings = match raw {
            Some(node) if !node.settings().is_empty() => {
                let mut draft = group.settings.clone();
                let settings_path = node_path();
                self.apply_settings(&mut draft, node.settings(), &settings_path);
                Arc::new(draft.to_settings())
            }
            _ => Arc::clone(group.shared_settings),
        };
        let uuid = self.uuid_of(&name);
        nodes.push(Node {
            hostname,
            group: group.group_index,
            index,
            mac: mac.map(|mac| mac.value.0).unwrap_or(MacAddress([0; 6])),
            uuid,
            address,
            pinned_role: raw
                .and_then(|node| node.role.value())
                .map(|role| match role {
                    RoleName::Canary => Role::Canary,
                    RoleName::Cautious => Role::Cautious,
                }),
            pinned_wariness: raw
                .and_then(|node| node.rollout_wariness.value())
                .map(|wariness| wariness.0),
            pinned_host,
            settings,
            name,
        });
        origins.push(NodeOrigin {
            name: name_span,
            hostname: hostname_span,
            address: address_span,
            mac: mac.map(|mac| mac.span),
            hostname_written,
        });
    }

    /// Node names, hostnames, addresses and written MACs must each be unique across the fleet.
    ///
    /// This runs once per node of fleets with 100,000 nodes, so it avoids work it can prove unneeded: names
    /// are keyed by the node's UUID (a hash of the name, already computed), and a hostname that is just the
    /// node's lowercase name plus the fleet's domain is unique exactly when the name is, so only the other
    /// hostnames are compared, with each other and with the names.
    fn check_duplicates(&mut self, nodes: &[Node], origins: &[NodeOrigin]) {
        use std::collections::hash_map::Entry;

        let mut reporter = DuplicateReporter::default();
        // A fast hash matters here, resistance to crafted keys does not.
        let mut names: FxHashMap<u128, usize> =
            FxHashMap::with_capacity_and_hasher(nodes.len(), Default::default());
        let mut other_hostnames: Vec<usize> = Vec::new();
        let mut addresses: FxHashMap<Ipv4Addr, usize> = FxHashMap::default();
        let mut macs: FxHashMap<u64, usize> = FxHashMap::default();
        for (position, node) in nodes.iter().enumerate() {
            if node.name.is_empty() {
                continue;
            }
            match names.entry(node.uuid.as_u128()) {
                // Equal UUIDs mean equal names (the UUID is a hash of the name); the comparison only
                // guards against a SHA-1 collision.
                Entry::Occupied(first) if nodes[*first.get()].name == node.name => {
                    let first = *first.get();
                    let line = self.location(origins[first].name).line;
                    reporter.report(
                        self,
                        "node names",
                        origins[position].name,
                        format!(
                            "duplicate node name `{}`: the first is on line {line}",
                            shown(&node.name)
                        ),
                    );
                }
                Entry::Occupied(_) => {}
                Entry::Vacant(vacant) => {
                    vacant.insert(position);
                }
            }
            if origins[position].hostname_written
                || node.name.bytes().any(|byte| byte.is_ascii_uppercase())
            {
                other_hostnames.push(position);
            }
            if let Some(address) = node.address {
                match addresses.entry(address) {
                    Entry::Occupied(first) => {
                        let first = *first.get();
                        let line = self.location(origins[first].address).line;
                        reporter.report(
                            self,
                            "addresses",
                            origins[position].address,
                            format!(
                                "duplicate address {address}: nodes `{}` and `{}` both get it (the first on line {line})",
                                shown(&nodes[first].name), shown(&node.name)
                            ),
                        );
                    }
                    Entry::Vacant(vacant) => {
                        vacant.insert(position);
                    }
                }
            }
            if let Some(mac_span) = origins[position].mac {
                match macs.entry(mac_key(node.mac)) {
                    Entry::Occupied(first) => {
                        let first = *first.get();
                        let line = origins[first]
                            .mac
                            .map(|span| self.location(span).line)
                            .unwrap_or(0);
                        reporter.report(
                            self,
                            "MAC addresses",
                            mac_span,
                            format!(
                                "duplicate MAC address {}: nodes `{}` and `{}` both use it (the first on line {line})",
                                node.mac, shown(&nodes[first].name), shown(&node.name)
                            ),
                        );
                    }
                    Entry::Vacant(vacant) => {
                        vacant.insert(position);
                    }
                }
            }
        }

        // Hostnames that are not simply NAME.DOMAIN: compare them with each other, and with the plain
        // hostname of the node whose name they would be.
        let mut clashes: Vec<(usize, usize)> = Vec::new();
        let mut seen: FxHashMap<String, usize> = FxHashMap::default();
        for &position in &other_hostnames {
            let key = nodes[position].hostname.to_ascii_lowercase();
            let plain_name = match &self.domain {
                Some(domain) => key
                    .strip_suffix(domain.as_str())
                    .and_then(|rest| rest.strip_suffix('.')),
                None => Some(key.as_str()),
            };
            if let Some(plain_name) = plain_name {
                let uuid = self.uuid_of(plain_name);
                if let Some(&other) = names.get(&uuid.as_u128())
                    && other != position
                    && nodes[other].name == plain_name
                    && !origins[other].hostname_written
                {
                    clashes.push((other.min(position), other.max(position)));
                }
            }
            match seen.entry(key) {
                Entry::Occupied(first) => clashes.push((*first.get(), position)),
                Entry::Vacant(vacant) => {
                    vacant.insert(position);
                }
            }
        }
        // Each later node is reported once, against the first node with its hostname.
        clashes.sort_unstable_by_key(|&(first, position)| (position, first));
        clashes.dedup_by_key(|&mut (_, position)| position);
        clashes.sort_unstable();
        for (first, position) in clashes {
            // Two nodes of the same name already got an error.
            if nodes[first].name == nodes[position].name {
                continue;
            }
            let line = self.location(origins[first].hostname).line;
            reporter.report(
                self,
                "hostnames",
                origins[position].hostname,
                format!(
                    "duplicate hostname `{}` (nodes `{}` and `{}`): the first is on line {line}",
                    shown(&nodes[position].hostname),
                    shown(&nodes[first].name),
                    shown(&nodes[position].name)
                ),
            );
        }
        reporter.summarize(self);
    }

    fn uuid_of(&mut self, node_name: &str) -> uuid::Uuid {
        node_uuid(&mut self.scratch, &self.fleet_name, node_name)
    }

    /// Derive MACs for nodes without one: a hash of fleet and node name, bumped past any MAC already
    /// taken (written MACs first, then derived ones in fleet order), so the result depends only on the
    /// file. Derived MACs all lie in the 52:54:00 prefix, so a bitmap of its 2^24 addresses (2 MiB) is the
    /// set of taken ones.
    fn assign_macs(&mut self, nodes: &mut [Node], origins: &[NodeOrigin]) {
        let mut taken = vec![0u64; (1 << 24) / 64];
        let mut take = |seed: u32| -> bool {
            let (word, bit) = ((seed >> 6) as usize, seed & 63);
            let free = taken[word] & (1 << bit) == 0;
            taken[word] |= 1 << bit;
            free
        };
        for (node, origin) in nodes.iter().zip(origins) {
            if origin.mac.is_some() && node.mac.0[..3] == MAC_PREFIX {
                let [_, _, _, a, b, c] = node.mac.0;
                take(u32::from_be_bytes([0, a, b, c]));
            }
        }
        for (node, origin) in nodes.iter_mut().zip(origins) {
            if origin.mac.is_some() {
                continue;
            }
            let mut seed = mac_seed(&mut self.scratch, &self.fleet_name, &node.name);
            while !take(seed) {
                seed = (seed + 1) & 0x00ff_ffff;
            }
            node.mac = mac_from_seed(seed);
        }
    }
}

/// What `expand_nodes` needs to know about the group being expanded.
struct GroupExpansion<'a> {
    group_index: usize,
    group_name: &'a str,
    /// The group's name is valid: names made from `{group}` can be judged.
    name_usable: bool,
    path: &'a str,
    settings: &'a SettingsDraft,
    shared_settings: &'a Arc<NodeSettings>,
    addressing: &'a Addressing,
    first_address: Option<(Ipv4Addr, Span)>,
    /// The group's network was read without problems; when false, nodes without an address are not
    /// reported (their sequential address would come from a broken network).
    addresses_checkable: bool,
    hosts: &'a [Host],
}

/// What `addressing` makes of a group's [group.network].
struct GroupAddressing {
    addressing: Addressing,
    first_address: Option<(Ipv4Addr, Span)>,
    usable: bool,
}

/// One node to add: its number, name, and the [[group.node]] entry (with its position) that shapes it.
struct NodeInput<'r> {
    index: u32,
    name: String,
    /// The name came from a pattern already checked for the whole group.
    name_checked: bool,
    raw: Option<(usize, &'r RawNode)>,
    /// Where errors about the node point when it has no entry of its own.
    origin_span: Span,
    sequential_address: Option<Ipv4Addr>,
}

fn static_network(addressing: &Addressing) -> Option<&StaticNetwork> {
    match addressing {
        Addressing::Dhcp => None,
        Addressing::Reserved(network) | Addressing::Static(network) => Some(network),
    }
}

/// An address a node may have in `network`.
fn check_address(network: &StaticNetwork, address: Ipv4Addr) -> Result<(), String> {
    let cidr = network.cidr;
    if !cidr.contains(&address) {
        Err(format!("{address} is outside the group's network {cidr}"))
    } else if address == cidr.network() && cidr.prefix_len() < 31 {
        Err(format!("{address} is the network address of {cidr}"))
    } else if address == cidr.broadcast() && cidr.prefix_len() < 31 {
        Err(format!("{address} is the broadcast address of {cidr}"))
    } else if address == network.gateway {
        Err(format!("{address} is the gateway"))
    } else {
        Ok(())
    }
}

/// Lists the first few duplicates of each kind, then one line with how many more there are.
#[derive(Default)]
struct DuplicateReporter {
    counts: Vec<(&'static str, usize, Span)>,
}

impl DuplicateReporter {
    fn report(
        &mut self,
        validator: &mut Validator<'_, '_>,
        kind: &'static str,
        span: Span,
        message: String,
    ) {
        let entry = match self.counts.iter_mut().find(|(known, _, _)| *known == kind) {
            Some(entry) => entry,
            None => {
                self.counts.push((kind, 0, span));
                self.counts.last_mut().expect("just pushed")
            }
        };
        entry.1 += 1;
        if entry.1 <= DUPLICATES_LISTED {
            validator.error(span, message);
        } else if entry.1 == DUPLICATES_LISTED + 1 {
            entry.2 = span;
        }
    }

    fn summarize(self, validator: &mut Validator<'_, '_>) {
        for (kind, count, span) in self.counts {
            if count > DUPLICATES_LISTED {
                validator.error(
                    span,
                    format!(
                        "{} more duplicate {kind} from here on are not listed",
                        count - DUPLICATES_LISTED
                    ),
                );
            }
        }
    }
}

/// Fleet names end up in pool names, paths and libvirt metadata.
fn check_fleet_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid fleet name: use letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters",
            shown(name)
        ))
    }
}

/// Group names are Zincati identity groups too (`^[a-zA-Z0-9.-]+$`).
fn check_group_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid group name: use letters, digits, `-` and `.` (it is also Zincati's update group), at most 63 characters",
            shown(name)
        ))
    }
}

/// Linux user and group names as useradd accepts them by default.
fn check_user_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid name: use lowercase letters, digits, `_` and `-`, starting with a letter or `_`, at most 32 characters",
            shown(name)
        ))
    }
}

/// Names of libvirt networks, pools and volumes: non-empty, no `/`, no whitespace or control characters.
fn check_libvirt_object_name(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("the {kind} name is empty"));
    }
    if name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{}` is not a valid libvirt {kind} name: no `/`, spaces or control characters",
            shown(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::model::{Canaries, MaxUnavailable, Role};

    const EXAMPLE: &str = include_str!("../../../fleet/fleet.toml");

    fn parse(text: &str) -> Fleet {
        match crate::parse("test.toml", text) {
            Ok(fleet) => fleet,
            Err(diagnostics) => panic!("unexpected problems:\n{diagnostics}"),
        }
    }

    fn problems(text: &str) -> String {
        match crate::parse("test.toml", text) {
            Ok(_) => panic!("expected problems"),
            Err(diagnostics) => diagnostics.to_string(),
        }
    }

    const HEADER: &str = r#"
[fleet]
name = "t"
[fleet.image]
path = "fcos.qcow2"
[[maintenance.period]]
days = ["Sat"]
start = "02:00"
length_minutes = 120
"#;

    #[test]
    fn the_example_fleet_expands_to_its_eleven_nodes() {
        let fleet = parse(EXAMPLE);
        assert_eq!(fleet.name, "demo");
        let names: Vec<&str> = fleet.nodes.iter().map(|node| node.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "web-01", "web-02", "web-03", "web-04", "web-05", "web-06", "db-1", "db-2", "db-3",
                "edge-1", "edge-2"
            ]
        );
        let web = &fleet.groups[0];
        assert_eq!(fleet.group_nodes(web).len(), 6);
        assert_eq!(web.rollout.max_unavailable, MaxUnavailable::Percent(34));
        assert_eq!(fleet.nodes[0].hostname, "web-01.demo.internal");
        assert_eq!(
            fleet.nodes[5].address,
            Some(Ipv4Addr::new(192, 168, 122, 16))
        );
        let db = fleet.node("db-1").expect("db-1");
        assert_eq!(db.pinned_role, Some(Role::Canary));
        assert_eq!(db.settings.memory_mib, 4096);
        assert_eq!(db.settings.disk_gib, 20);
        assert_eq!(fleet.group_of(db).maintenance.window_minutes, 60);
        assert_eq!(
            fleet.node("db-3").and_then(|node| node.pinned_wariness),
            Some(0.9)
        );
        let edge = fleet.node("edge-1").expect("edge-1");
        assert_eq!(edge.address, None);
        assert_eq!(
            fleet.group_of(edge).rollout.canaries,
            Canaries::Fraction(0.5)
        );
        assert_eq!(fleet.max_concurrent_reboots, Some(4));
        assert_eq!(fleet.pool.name, "fleet-demo");
    }

    #[test]
    fn snippets_accumulate_and_users_merge_by_name() {
        let text = format!(
            r#"{HEADER}
[defaults]
butane = ["a.bu", "b.bu"]
kernel_arguments = ["console=ttyS0", "quiet"]
[[defaults.users]]
name = "core"
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw one"]
[[defaults.users]]
name = "ops"
groups = ["wheel"]
[[group]]
name = "g"
count = 2
butane = ["c.bu", "a.bu"]
kernel_arguments = {{ should_not_exist = ["quiet"], should_exist = ["mitigations=off"] }}
[[group.users]]
name = "ops"
groups = ["docker"]
[[group.node]]
name = "g-2"
butane = ["d.bu"]
vcpus = 8
"#
        );
        let fleet = parse(&text);
        let first = &fleet.nodes[0].settings;
        let snippets: Vec<&str> = first
            .butane
            .iter()
            .map(|snippet| snippet.path.to_str().unwrap_or(""))
            .collect();
        assert_eq!(snippets, ["a.bu", "b.bu", "c.bu"]);
        let users: Vec<(&str, &[String])> = first
            .users
            .iter()
            .map(|user| (user.name.as_str(), user.groups.as_slice()))
            .collect();
        assert_eq!(
            users,
            [("core", &[][..]), ("ops", &["docker".to_owned()][..])]
        );
        assert_eq!(
            first.kernel_arguments.should_exist,
            ["console=ttyS0", "mitigations=off"]
        );
        assert_eq!(first.kernel_arguments.should_not_exist, ["quiet"]);
        let second = &fleet.nodes[1].settings;
        assert_eq!(second.vcpus, 8);
        assert_eq!(second.butane.len(), 4);
        assert_eq!(second.butane[3].path, PathBuf::from("d.bu"));
        let line = text
            .lines()
            .position(|line| line == r#"butane = ["d.bu"]"#)
            .expect("the node's butane line")
            + 1;
        assert_eq!(
            second.butane[3].declared_at,
            Location {
                line: u32::try_from(line).expect("small"),
                column: 11
            }
        );
    }

    #[test]
    fn nodes_without_overrides_share_their_settings() {
        let fleet = parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 3\n[[group.node]]\nname = \"g-3\"\nmemory_mib = 512\n[[group.node]]\nname = \"g-2\"\nrole = \"canary\"\n"
        ));
        assert!(Arc::ptr_eq(
            &fleet.nodes[0].settings,
            &fleet.nodes[1].settings
        ));
        assert!(!Arc::ptr_eq(
            &fleet.nodes[0].settings,
            &fleet.nodes[2].settings
        ));
        assert_eq!(fleet.nodes[2].settings.memory_mib, 512);
    }

    #[test]
    fn expansion_is_deterministic() {
        assert_eq!(parse(EXAMPLE), parse(EXAMPLE));
    }

    #[test]
    fn derived_macs_step_past_taken_ones() {
        let taken = mac_from_seed(mac_seed(&mut Vec::new(), "t", "g-1"));
        let fleet = parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 2\n[[group.node]]\nname = \"g-2\"\nmac = \"{taken}\"\n"
        ));
        assert_eq!(fleet.nodes[1].mac, taken);
        let bumped = mac_from_seed((mac_seed(&mut Vec::new(), "t", "g-1") + 1) & 0x00ff_ffff);
        assert_eq!(fleet.nodes[0].mac, bumped);
    }

    #[test]
    fn every_node_gets_a_distinct_derived_mac_even_in_large_groups() {
        let fleet = parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 20000\n"
        ));
        let macs: HashSet<MacAddress> = fleet.nodes.iter().map(|node| node.mac).collect();
        assert_eq!(macs.len(), 20_000);
        assert!(
            fleet
                .nodes
                .iter()
                .all(|node| node.mac.0[..3] == [0x52, 0x54, 0x00])
        );
    }

    #[test]
    fn hostnames_take_the_domain_unless_written_fully_qualified() {
        let fleet = parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g.x\"\n[[group.node]]\n[[group.node]]\nhostname = \"short\"\n[[group.node]]\nhostname = \"full.example.net\"\n"
        ));
        let hostnames: Vec<&str> = fleet
            .nodes
            .iter()
            .map(|node| node.hostname.as_str())
            .collect();
        assert_eq!(hostnames, ["g.x-1", "short", "full.example.net"]);
        let with_domain = parse(
            &format!("{HEADER}\n[[group]]\nname = \"g.x\"\n[[group.node]]\n[[group.node]]\nhostname = \"short\"\n[[group.node]]\nhostname = \"full.example.net\"\n")
                .replace("name = \"t\"", "name = \"t\"\ndomain = \"lab\""),
        );
        let hostnames: Vec<&str> = with_domain
            .nodes
            .iter()
            .map(|node| node.hostname.as_str())
            .collect();
        assert_eq!(hostnames, ["g.x-1.lab", "short.lab", "full.example.net"]);
    }

    #[test]
    fn reserved_addresses_follow_the_gateway_by_default() {
        let fleet = parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 2\n[group.network]\nmode = \"reserved\"\ncidr = \"10.0.0.0/24\"\n"
        ));
        let addresses: Vec<Option<Ipv4Addr>> =
            fleet.nodes.iter().map(|node| node.address).collect();
        assert_eq!(
            addresses,
            [
                Some(Ipv4Addr::new(10, 0, 0, 2)),
                Some(Ipv4Addr::new(10, 0, 0, 3))
            ]
        );
        match &fleet.groups[0].addressing {
            Addressing::Reserved(network) => {
                assert_eq!(network.gateway, Ipv4Addr::new(10, 0, 0, 1));
                assert_eq!(network.dns, [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))]);
            }
            other => panic!("unexpected addressing {other:?}"),
        }
    }

    #[test]
    fn maintenance_periods_read_ends_across_midnight_and_local_times() {
        let fleet = parse(
            r#"
[fleet]
name = "t"
[fleet.image]
path = "fcos.qcow2"
[maintenance]
time_zone = "Europe/Berlin"
[[maintenance.period]]
days = ["Sat", "sunday"]
start = 22:00
end = "06:00"
[[group]]
name = "g"
count = 1
[group.maintenance]
window_minutes = 30
"#,
        );
        let policy = &fleet.groups[0].maintenance;
        assert_eq!(policy.time_zone, Tz::Europe__Berlin);
        assert_eq!(policy.window_minutes, 30);
        assert_eq!(policy.reboot_allowance_minutes, 10);
        assert_eq!(
            policy.periods,
            [MaintenancePeriod {
                days: vec![chrono::Weekday::Sat, chrono::Weekday::Sun],
                start: crate::model::WallTime {
                    hour: 22,
                    minute: 0
                },
                length_minutes: 480,
            }]
        );
    }

    #[test]
    fn duplicates_are_listed_up_to_a_limit() {
        let message = problems(&format!(
            "{HEADER}\n[[group]]\nname = \"a\"\ncount = 30\nhostname = \"n-{{index}}\"\n[[group]]\nname = \"b\"\ncount = 30\nhostname = \"n-{{index}}\"\n"
        ));
        assert_eq!(
            message.matches("duplicate node name `").count(),
            10,
            "{message}"
        );
        assert!(
            message.contains("20 more duplicate node names"),
            "{message}"
        );
    }

    #[test]
    fn hostnames_clash_ignoring_case_whether_written_or_derived() {
        let text = format!(
            "{HEADER}\n[[group]]\nname = \"g\"\n[[group.node]]\nname = \"Web-1\"\n[[group.node]]\nname = \"web-1\"\n[[group.node]]\nname = \"c\"\nhostname = \"WEB-2.lab\"\n[[group.node]]\nname = \"web-2\"\n[[group.node]]\nname = \"d\"\nhostname = \"e\"\n[[group.node]]\nname = \"e\"\n[[group.node]]\nname = \"f\"\nhostname = \"web-2\"\n"
        )
        .replace("name = \"t\"", "name = \"t\"\ndomain = \"lab\"");
        let message = problems(&text);
        assert!(
            message.contains("duplicate hostname `web-1.lab` (nodes `Web-1` and `web-1`)"),
            "{message}"
        );
        assert!(
            message.contains("duplicate hostname `web-2.lab` (nodes `c` and `web-2`)"),
            "{message}"
        );
        assert!(
            message.contains("duplicate hostname `web-2.lab` (nodes `c` and `f`)"),
            "{message}"
        );
        assert!(
            message.contains("duplicate hostname `e.lab` (nodes `d` and `e`)"),
            "{message}"
        );
        assert_eq!(message.lines().count(), 4, "{message}");
    }

    #[test]
    fn a_time_zone_in_the_wrong_case_suggests_its_iana_spelling() {
        let message = problems(&format!(
            "{HEADER}\n[defaults]\ntime_zone = \"utc\"\n[[group]]\nname = \"g\"\ncount = 1\n"
        ));
        assert!(
            message.contains("unknown time zone `utc`; did you mean `UTC`?"),
            "{message}"
        );
        let message = problems(&format!(
            "{HEADER}\n[defaults]\ntime_zone = \"EUROPE/BERLIN\"\n[[group]]\nname = \"g\"\ncount = 1\n"
        ));
        assert!(
            message.contains("did you mean `Europe/Berlin`?"),
            "{message}"
        );
    }

    #[test]
    fn huge_values_are_shortened_wherever_a_message_repeats_them() {
        let huge = "x".repeat(1_000_000);
        let text = format!(
            "[fleet]\nname = \"{huge}\"\ndomain = \"{huge}\"\n{huge} = 1\n[fleet.image]\nvolume = \"a/{huge}\"\n\
             [defaults]\ntime_zone = \"{huge}\"\nbutane = [\"/{huge}\", \"{huge}.bu\"]\n\
             [[defaults.users]]\nname = \"core\"\nssh_key_files = [\"{huge}.pub\"]\n\
             [[maintenance.period]]\ndays = [\"{huge}\"]\nstart = \"{huge}\"\nlength_minutes = 60\n\
             [[group]]\nname = \"{huge}!\"\ncount = 2\nhostname = \"{huge}\"\n\
             [group.network]\nmode = \"static\"\ncidr = \"{huge}\"\n\
             [[group]]\nname = \"g\"\n[[group.node]]\nname = \"{huge}\"\nhostname = \"{huge}.x\"\nhost = \"{huge}\"\n"
        );
        let message = problems(&text);
        assert!(message.lines().count() >= 10, "{message}");
        for line in message.lines() {
            assert!(
                line.len() < 1_000,
                "a line of {} bytes: {}",
                line.len(),
                &line[..200]
            );
        }
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        let message = problems(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 1\n[[group.node]]\nname = \"g-2\"\n"
        ));
        assert!(message.contains("its one node is g-1"), "{message}");
    }

    #[test]
    fn the_same_problem_in_many_groups_is_reported_once() {
        let message = problems(
            "[fleet]\nname = \"t\"\n[fleet.image]\npath = \"x\"\n[[group]]\nname = \"a\"\ncount = 1\n[[group]]\nname = \"b\"\ncount = 1\n",
        );
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("periodic strategy needs"), "{message}");
    }
}
