//! From raw tables to the validated model: defaults and inheritance resolved, groups expanded into nodes,
//! every cross-key rule checked, every problem recorded with its location.
//!
//! The validator always runs to the end, filling in placeholders where a value is unusable, so that one
//! mistake does not hide the next; the caller discards the result whenever any problem was recorded.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::Diagnostic;
use crate::expand::{
    HostnamePattern, check_domain, check_hostname, check_node_name, mac_from_seed, mac_key,
    mac_seed, node_uuid,
};
use crate::model::{
    Addressing, BaseImage, Canaries, DirectKernelBoot, DomainType, FileRef, Fleet, Group, Host,
    HostCapacity, ImageSource, KernelArguments, Location, MacAddress, MaintenancePeriod,
    MaintenancePolicy, MaxUnavailable, Node, NodeSettings, Role, RolloutPolicy, SnippetRef,
    StaticNetwork, StoragePool, UpdateStrategy, User,
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
                    "invalid TOML: `{key}` is defined twice; each key and table may be defined once"
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
    strategy_span: Option<Span>,
    fleet_lock_url: Option<String>,
    window_minutes: u32,
    window_span: Option<Span>,
    reboot_allowance_minutes: u32,
    periods: Vec<MaintenancePeriod>,
    periods_span: Option<Span>,
    /// Some period could not be read: rules about periods are skipped (the problem is already reported).
    periods_unusable: bool,
    table_span: Option<Span>,
}

impl MaintenanceDraft {
    fn fleet_defaults() -> Self {
        MaintenanceDraft {
            time_zone: Tz::UTC,
            strategy: StrategyName::Periodic,
            strategy_span: None,
            fleet_lock_url: None,
            window_minutes: 60,
            window_span: None,
            reboot_allowance_minutes: 10,
            periods: Vec::new(),
            periods_span: None,
            periods_unusable: false,
            table_span: None,
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
}

/// What every group needs from the fleet level.
struct FleetLevel<'a> {
    settings: &'a SettingsDraft,
    maintenance: &'a MaintenanceDraft,
    hosts: &'a [Host],
}

struct Validator<'c, 'a> {
    context: &'c mut Context<'a>,
    files: &'c mut FileRefs,
    domain: Option<String>,
    fleet_name: String,
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
        table: &str,
        key: &str,
        hint: &str,
    ) -> Option<&'f Located<T>> {
        match field {
            Field::Present(located) => Some(located),
            Field::Invalid => None,
            Field::Missing => {
                self.error(table_span, format!("missing key `{key}` in {table}{hint}"));
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
                "[fleet]",
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

        let fleet_level = FleetLevel {
            settings: &settings,
            maintenance: &maintenance,
            hosts: &hosts,
        };
        let mut groups = Vec::new();
        let mut nodes = Vec::new();
        let mut origins = Vec::new();
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
                                group_name.value
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
                        "[fleet.image] needs `path` (a Fedora CoreOS qcow2 file) or `volume` (a volume already in the pool)",
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
                            "fleet.pool.path: `{}` must be an absolute directory on the host, such as /var/lib/libvirt/fleet-{fleet_name}",
                            path.value
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
            for snippet in snippets {
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
            let Some(name) = self.required(
                &raw.name,
                raw.span,
                &format!("[[{path}.users]]"),
                "name",
                "",
            ) else {
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
                        name.value
                    ),
                );
            }
            let ssh_key_files = raw
                .ssh_key_files
                .value()
                .map(|files| {
                    files
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
                                "{user_path}.groups: `{group}` is not a valid group name: {problem}"
                            ),
                        );
                    }
                }
            }
            users.push(User {
                name: name.value.clone(),
                ssh_authorized_keys: raw
                    .ssh_authorized_keys
                    .value()
                    .map(|keys| keys.iter().map(|key| key.0.clone()).collect())
                    .unwrap_or_default(),
                ssh_key_files,
                password_hash: raw.password_hash.value().map(|hash| hash.0.clone()),
                groups: raw.groups.value().cloned().unwrap_or_default(),
            });
        }
        users
    }

    fn apply_maintenance(&mut self, draft: &mut MaintenanceDraft, level: &MaintenanceLevel<'_>) {
        draft.table_span = Some(level.span);
        if let Some(zone) = level.time_zone.value() {
            draft.time_zone = zone.0;
        }
        if let Some(strategy) = level.strategy.get() {
            draft.strategy = strategy.value;
            draft.strategy_span = Some(strategy.span);
        }
        if let Some(url) = level.fleet_lock_url.value() {
            draft.fleet_lock_url = Some(url.0.clone());
        }
        if let Some(window) = level.window_minutes.get() {
            draft.window_minutes = window.value.as_u32();
            draft.window_span = Some(window.span);
        }
        if let Some(allowance) = level.reboot_allowance_minutes.value() {
            draft.reboot_allowance_minutes = allowance.as_u32();
        }
        match level.period {
            Field::Present(periods) => {
                let (converted, usable) = self.periods(&periods.value, level.path);
                draft.periods = converted;
                draft.periods_span = Some(periods.span);
                draft.periods_unusable = !usable;
            }
            Field::Invalid => draft.periods_unusable = true,
            Field::Missing => {}
        }
    }

    fn periods(&mut self, raw_periods: &[RawPeriod], path: &str) -> (Vec<MaintenancePeriod>, bool) {
        let mut periods = Vec::with_capacity(raw_periods.len());
        let mut usable = true;
        for (position, raw) in raw_periods.iter().enumerate() {
            let period_path = format!("{path}.period[{position}]");
            let table = format!("[[{path}.period]]");
            let days = self.required(
                &raw.days,
                raw.span,
                &table,
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
                    &table,
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
                            format!("{table} needs `length_minutes` or `end`, e.g. length_minutes = 120"),
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
        group_span: Span,
    ) -> MaintenancePolicy {
        let policy_span = draft
            .strategy_span
            .or(draft.periods_span)
            .or(draft.table_span)
            .unwrap_or(group_span);
        let strategy = match draft.strategy {
            StrategyName::Periodic => {
                if draft.periods.is_empty() && !draft.periods_unusable {
                    self.error(
                        policy_span,
                        "maintenance: the periodic strategy needs at least one [[maintenance.period]], e.g. days = [\"Sat\"], start = \"02:00\", length_minutes = 120; or set strategy = \"immediate\"",
                    );
                }
                let longest = draft
                    .periods
                    .iter()
                    .map(|period| period.length_minutes)
                    .max();
                if let Some(longest) = longest
                    && draft.window_minutes > longest
                {
                    self.error(
                        draft.window_span.unwrap_or(policy_span),
                        format!(
                            "maintenance.window_minutes: a node's window of {} minutes does not fit in any maintenance period (the longest lasts {longest} minutes)",
                            draft.window_minutes
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
                    self.error(
                        policy_span,
                        "maintenance: strategy = \"fleet_lock\" needs fleet_lock_url, the FleetLock server (e.g. airlock) such as \"http://airlock.example.com:3333\"",
                    );
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
        let mut connections: HashMap<&str, Span> = HashMap::new();
        for (position, raw) in raw_hosts.iter().enumerate() {
            let path = format!("host[{position}]");
            let name = self.required(&raw.name, raw.span, "[[host]]", "name", "");
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
                            name.value
                        ),
                    );
                }
            }
            let connect = self.required(
                &raw.connect,
                raw.span,
                "[[host]]",
                "connect",
                ": the libvirt URI of the host, e.g. connect = \"qemu+ssh://root@hv1/system\"",
            );
            if let Some(connect) = connect
                && let Some(first) = connections.insert(&connect.value.0, connect.span)
            {
                let line = self.location(first).line;
                self.error(
                    connect.span,
                    format!(
                        "{path}.connect: `{}` is already the URI of the host on line {line}; two hosts on one hypervisor would count its capacity twice",
                        connect.value.0
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
        let name = self
            .required(&raw.name, raw.span, "[[group]]", "name", "")
            .map(|name| {
                if let Err(problem) = check_group_name(&name.value) {
                    self.error(name.span, format!("{path}.name: {problem}"));
                }
                name.value.clone()
            })
            .unwrap_or_default();

        let mut settings = fleet.settings.clone();
        self.apply_settings(&mut settings, raw.settings(), &path);
        let group_settings = Arc::new(settings.to_settings());

        let network_path = format!("{path}.network");
        let (addressing, first_address) =
            self.addressing(raw.network.value(), &network_path, raw.span);

        let mut maintenance = fleet.maintenance.clone();
        if let Some(group_maintenance) = raw.maintenance.value() {
            let maintenance_path = format!("{path}.maintenance");
            self.apply_maintenance(
                &mut maintenance,
                &group_maintenance.level(&maintenance_path),
            );
        }
        let maintenance = self.maintenance_policy(&maintenance, raw.span);

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
                    label.value
                );
                if let Some(closest) = crate::hints::closest(&label.value, known.iter().copied()) {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                } else {
                    message.push_str(&format!(
                        "; add labels = {{ {} = \"...\" }} to the hosts",
                        label.value
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
            path: &path,
            settings: &settings,
            shared_settings: &group_settings,
            addressing: &addressing,
            first_address,
            hosts: fleet.hosts,
        };
        self.expand_nodes(raw, &expansion, nodes, origins);
        let group_size = nodes.len() - first_node;

        let rollout = self.rollout(raw, &path, &name, group_size);
        Group {
            name,
            rollout,
            maintenance,
            addressing,
            spread_over,
            nodes: first_node..nodes.len(),
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
                            "{path}.rollout.canaries: group `{name}` has {group_size} node{} but asks for {count} canaries",
                            if group_size == 1 { "" } else { "s" }
                        ),
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

    /// The group's addressing, and its first address with where it comes from (for sequential allocation).
    fn addressing(
        &mut self,
        network: Option<&RawNetwork>,
        path: &str,
        group_span: Span,
    ) -> (Addressing, Option<(Ipv4Addr, Span)>) {
        let Some(network) = network else {
            return (Addressing::Dhcp, None);
        };
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
                        format!("{path}.{key} is only used with mode = \"reserved\" or \"static\" (the mode is dhcp)"),
                    );
                }
            }
            return (Addressing::Dhcp, None);
        }
        let mode_word = if mode == NetworkMode::Static {
            "static"
        } else {
            "reserved"
        };
        let Some(cidr) = self.required(
            &network.cidr,
            network.span,
            &format!("[{path}]"),
            "cidr",
            &format!(": mode = \"{mode_word}\" needs the subnet, e.g. cidr = \"192.168.122.0/24\""),
        ) else {
            return (Addressing::Dhcp, None);
        };
        let cidr = cidr.value.0;
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
                if let Err(problem) = check_address(&static_network, first.value.0) {
                    self.error(first.span, format!("{path}.first_address: {problem}"));
                }
                Some((first.value.0, first.span))
            }
            None if network.first_address.is_missing() => Some((
                Ipv4Addr::from(u32::from(gateway).saturating_add(1)),
                network.span,
            )),
            None => None,
        };
        let _ = group_span;
        let addressing = if mode == NetworkMode::Static {
            Addressing::Static(static_network)
        } else {
            Addressing::Reserved(static_network)
        };
        (addressing, first_address)
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
            if count_value > 1 && !pattern.has_index() {
                let sample = pattern.render(group.group_name, 1);
                self.error(
                    pattern_span,
                    format!(
                        "{path}.hostname: the pattern has no {{index}}, so all {count_value} nodes would be named `{sample}`; write e.g. \"{sample}-{{index}}\""
                    ),
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
                    format!("{path}.{key}: {source} `{widest}`: {problem}"),
                );
                return;
            }
            if let Err(problem) = check_hostname(&self.qualified(&widest)) {
                self.error(
                    pattern_span,
                    format!("{path}.{key}: {source} `{widest}`: {problem}"),
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
                            "missing key `name` in [[group.node]]: in a group with `count`, each [[group.node]] overrides the generated node of that name (e.g. \"{}\")",
                            pattern.render(group.group_name, 1)
                        ),
                    ),
                    None => {}
                }
            }
            nodes.reserve(count_value as usize);
            origins.reserve(count_value as usize);
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
            let mut leftovers: Vec<&RawNode> =
                overrides.into_values().map(|(_, node)| node).collect();
            leftovers.sort_by_key(|node| node.span);
            for node in leftovers {
                if let Some(name) = node.name.get() {
                    self.error(
                        name.span,
                        format!(
                            "{path}.node: group `{}` has no node `{}`: its {count_value} nodes are {} to {}",
                            group.group_name,
                            name.value,
                            pattern.render(group.group_name, 1),
                            pattern.render(group.group_name, count_value),
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
                        "group `{}` has no nodes: give `count` (with a `hostname` pattern such as \"web-{{index:02}}\") or list [[group.node]] entries",
                        group.group_name
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
                        if let Err(problem) = check_node_name(&name) {
                            self.error(
                                node.span,
                                format!("{node_path}: the pattern gives `{name}`: {problem}"),
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
                            format!("{node_path}: node `{name}` would get the address {address}, but {problem}"),
                        );
                    }
                    Some(address)
                }
                (None, None) => {
                    if static_network(group.addressing).is_some() && node.address.is_missing() {
                        self.error(
                            node.span,
                            format!(
                                "{node_path}: node `{name}` needs an `address` (or set first_address in [group.network])"
                            ),
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
                            group.group_name,
                            network.gateway
                        ),
                    );
                }
            }
            _ => self.error(
                span,
                format!(
                    "{path}.network: group `{}` needs {count} addresses from {first}, but the last usable address of {cidr} is {}",
                    group.group_name,
                    Ipv4Addr::from(last_usable)
                ),
            ),
        }
    }

    /// The hostname with the fleet's domain, unless it already has dots.
    fn qualified(&self, hostname: &str) -> String {
        match &self.domain {
            Some(domain) if !hostname.contains('.') => format!("{hostname}.{domain}"),
            _ => hostname.to_owned(),
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
        let (hostname, hostname_span) = match raw.and_then(|node| node.hostname.get()) {
            Some(hostname) => {
                let qualified = self.qualified(&hostname.value);
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
                        format!("{}: the node's hostname would be `{qualified}`: {problem}; set `hostname`", node_path()),
                    );
                }
                (qualified, name_span)
            }
        };
        let (address, address_span) = match raw.and_then(|node| node.address.get()) {
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
                        host.value
                    )
                } else {
                    let mut message = format!(
                        "{}.host: there is no [[host]] named `{}`",
                        node_path(),
                        host.value
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
        let uuid = node_uuid(&self.fleet_name, &name);
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
        });
    }

    /// Node names, hostnames, addresses and written MACs must each be unique across the fleet.
    fn check_duplicates(&mut self, nodes: &[Node], origins: &[NodeOrigin]) {
        let mut reporter = DuplicateReporter::default();
        let mut names: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
        let mut hostnames: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(nodes.len());
        let mut addresses: HashMap<Ipv4Addr, usize> = HashMap::new();
        let mut macs: HashMap<u64, usize> = HashMap::new();
        for (position, node) in nodes.iter().enumerate() {
            if node.name.is_empty() {
                continue;
            }
            if let Some(&first) = names.get(node.name.as_str()) {
                let line = self.location(origins[first].name).line;
                reporter.report(
                    self,
                    "node names",
                    origins[position].name,
                    format!(
                        "duplicate node name `{}`: the first is on line {line}",
                        node.name
                    ),
                );
            } else {
                names.insert(&node.name, position);
            }
            let hostname = if node.hostname.bytes().any(|byte| byte.is_ascii_uppercase()) {
                Cow::Owned(node.hostname.to_ascii_lowercase())
            } else {
                Cow::Borrowed(node.hostname.as_str())
            };
            if let Some(&first) = hostnames.get(&hostname) {
                // Two nodes of the same name already got an error above.
                if nodes[first].name != node.name {
                    let line = self.location(origins[first].hostname).line;
                    reporter.report(
                        self,
                        "hostnames",
                        origins[position].hostname,
                        format!(
                            "duplicate hostname `{}` (nodes `{}` and `{}`): the first is on line {line}",
                            node.hostname, nodes[first].name, node.name
                        ),
                    );
                }
            } else {
                hostnames.insert(hostname, position);
            }
            if let Some(address) = node.address {
                if let Some(&first) = addresses.get(&address) {
                    let line = self.location(origins[first].address).line;
                    reporter.report(
                        self,
                        "addresses",
                        origins[position].address,
                        format!(
                            "duplicate address {address}: nodes `{}` and `{}` both get it (the first on line {line})",
                            nodes[first].name, node.name
                        ),
                    );
                } else {
                    addresses.insert(address, position);
                }
            }
            if let Some(mac_span) = origins[position].mac {
                let key = mac_key(node.mac);
                if let Some(&first) = macs.get(&key) {
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
                            node.mac, nodes[first].name, node.name
                        ),
                    );
                } else {
                    macs.insert(key, position);
                }
            }
        }
        reporter.summarize(self);
    }

    /// Derive MACs for nodes without one: hash of fleet and node name, bumped past any MAC already taken
    /// (written MACs first, then derived ones in fleet order), so the result depends only on the file.
    fn assign_macs(&mut self, nodes: &mut [Node], origins: &[NodeOrigin]) {
        let mut taken: HashSet<u64> = origins
            .iter()
            .zip(nodes.iter())
            .filter(|(origin, _)| origin.mac.is_some())
            .map(|(_, node)| mac_key(node.mac))
            .collect();
        taken.reserve(nodes.len());
        for (node, origin) in nodes.iter_mut().zip(origins) {
            if origin.mac.is_some() {
                continue;
            }
            let mut seed = mac_seed(&self.fleet_name, &node.name);
            loop {
                let mac = mac_from_seed(seed);
                if taken.insert(mac_key(mac)) {
                    node.mac = mac;
                    break;
                }
                seed = (seed + 1) & 0x00ff_ffff;
            }
        }
    }
}

/// What `expand_nodes` needs to know about the group being expanded.
struct GroupExpansion<'a> {
    group_index: usize,
    group_name: &'a str,
    path: &'a str,
    settings: &'a SettingsDraft,
    shared_settings: &'a Arc<NodeSettings>,
    addressing: &'a Addressing,
    first_address: Option<(Ipv4Addr, Span)>,
    hosts: &'a [Host],
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
            name.escape_debug()
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
            name.escape_debug()
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
            name.escape_debug()
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
            name.escape_debug()
        ));
    }
    Ok(())
}
