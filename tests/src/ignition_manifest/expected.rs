//! What a rendered Ignition config (spec 3.3.0) makes Ignition 2.14's files stage write into a fresh
//! root seeded like Fedora CoreOS's: every file, directory and link with its mode, owner and bytes,
//! the accounts after it ran, and the presets it records. Each rule was seen on the real Ignition
//! (`tests/data/ignition/everything.ign` uses every one of them).
//!
//! A config entry this module does not know is an error naming it, never silently accepted: a later
//! kind of entry (quadlets, linger files, health-check units) gets its expectation here.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail, ensure};
use ignition_config::v3_3 as spec;

use super::contents::resource_bytes;
use super::manifest::{Accounts, Entry, Manifest, Owner, Snapshot};
use crate::console::sha256_hex;

/// Ignition's record of a files stage that ran, in every root it provisions.
pub const RESULT_FILE: &str = "/etc/.ignition-result.json";
/// Where Ignition records `systemd.units[].enabled`.
pub const PRESET_FILE: &str = "/etc/systemd/system-preset/20-ignition.preset";
/// The account databases the shadow tools rewrite (with their `-` backups and lock file) when
/// Ignition creates or changes users and groups; their contents are checked as accounts.
const ACCOUNT_DATABASES: &[&str] = &[
    "/etc/passwd",
    "/etc/passwd-",
    "/etc/group",
    "/etc/group-",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/subuid",
    "/etc/subuid-",
    "/etc/subgid",
    "/etc/subgid-",
    "/etc/.pwd.lock",
];
/// `UID_MIN`/`GID_MIN` of the seed's login.defs: useradd assigns ids from here.
const FIRST_ASSIGNED_ID: u32 = 1000;

/// Everything one config should make Ignition write.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Entries by their path in the root (links of the seed resolved), each with the reason.
    pub entries: BTreeMap<String, ExpectedEntry>,
    /// Paths that may be written but need not be (see `ACCOUNT_DATABASES`).
    pub incidental: BTreeSet<String>,
    /// Every user and group after Ignition ran.
    pub accounts: ExpectedAccounts,
    /// The lines of `PRESET_FILE`, in config order (Ignition writes them in any order).
    pub presets: Vec<String>,
    /// What the config asks for that the stages run here do not do (fetch-offline and files, no
    /// disks, no kernel arguments), for the report.
    pub not_applied: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedEntry {
    pub what: ExpectedWhat,
    /// The config entry (or rule) that asks for it, e.g. `storage.files[2] /etc/hostname`.
    pub because: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedWhat {
    File {
        mode: u32,
        owner: Owner,
        /// `None`: any bytes (Ignition's own record).
        contents: Option<Vec<u8>>,
    },
    Directory {
        mode: u32,
        owner: Owner,
    },
    Link {
        owner: Owner,
        target: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct ExpectedAccounts {
    pub users: BTreeMap<String, ExpectedUser>,
    pub groups: BTreeMap<String, Id>,
}

impl ExpectedAccounts {
    /// Every account exactly as the seed has it.
    pub fn as_seeded(seed: &Accounts) -> ExpectedAccounts {
        ExpectedAccounts {
            users: seed
                .users
                .iter()
                .map(|(name, user)| {
                    let expected = ExpectedUser {
                        uid: Id::Exactly(user.uid),
                        primary_group: PrimaryGroup::Gid(user.gid),
                        gecos: user.gecos.clone(),
                        home: user.home.clone(),
                        shell: user.shell.clone(),
                        groups: user.groups.clone(),
                        password: user.password.clone(),
                    };
                    (name.clone(), expected)
                })
                .collect(),
            groups: seed
                .groups
                .iter()
                .map(|(name, group)| (name.clone(), Id::Exactly(group.gid)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedUser {
    pub uid: Id,
    /// The primary group, by name: its gid is the user's.
    pub primary_group: PrimaryGroup,
    pub gecos: String,
    pub home: String,
    pub shell: String,
    /// Supplementary groups, sorted.
    pub groups: Vec<String>,
    /// As the manifest shows it (`*`, or `sha256:` of the hash).
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryGroup {
    Gid(u32),
    Named(String),
}

/// A user or group id: the config's, or one useradd/groupadd assigns (not the seed's, from 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    Exactly(u32),
    Assigned,
}

impl Id {
    pub fn admits(self, id: u32, taken_in_seed: &BTreeSet<u32>) -> bool {
        match self {
            Id::Exactly(wanted) => id == wanted,
            Id::Assigned => id >= FIRST_ASSIGNED_ID && !taken_in_seed.contains(&id),
        }
    }
}

/// What Ignition should have written for this config, resolved against the manifest's seed (links on
/// the way, directories already there) and its accounts after the run (owners named by user name,
/// home directories).
pub fn expected_writes(config: &[u8], manifest: &Manifest) -> Result<Expected> {
    let (parsed, warnings) = ignition_config::Config::parse_slice(config)
        .context("the rendered config is not an Ignition config")?;
    ensure!(
        warnings.is_empty(),
        "the rendered config has keys Ignition's spec does not know: {}",
        warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let ignition_config::Config::V3_3(config) = parsed else {
        bail!(
            "the checker reads Ignition spec 3.3.0 configs, the newest Ignition 2.14 applies; render with ignition_version = \"3.3.0\""
        );
    };
    let spec::Config {
        ignition,
        kernel_arguments,
        passwd,
        storage,
        systemd,
    } = config;
    let mut builder = Builder {
        seed: &manifest.seed,
        now: &manifest.accounts,
        expected: Expected {
            // What the config does not change stays as seeded.
            accounts: ExpectedAccounts::as_seeded(&manifest.seed.accounts),
            ..Expected::default()
        },
    };
    builder.ignition(&ignition)?;
    if let Some(spec::KernelArguments {
        should_exist,
        should_not_exist,
    }) = &kernel_arguments
        && (should_exist.as_ref().is_some_and(|args| !args.is_empty())
            || should_not_exist
                .as_ref()
                .is_some_and(|args| !args.is_empty()))
    {
        builder
            .expected
            .not_applied
            .push("kernelArguments (the kargs stage)".to_owned());
    }
    if let Some(passwd) = &passwd {
        builder.passwd(passwd)?;
    }
    if let Some(storage) = &storage {
        builder.storage(storage)?;
    }
    if let Some(systemd) = &systemd {
        builder.systemd(systemd)?;
    }
    builder.entry(
        RESULT_FILE,
        ExpectedWhat::File {
            mode: 0o600,
            owner: Owner::ROOT,
            contents: None,
        },
        "Ignition's record of the files stage",
    )?;
    builder.parent_directories();
    Ok(builder.expected)
}

struct Builder<'manifest> {
    seed: &'manifest Snapshot,
    now: &'manifest Accounts,
    expected: Expected,
}

impl Builder<'_> {
    fn ignition(&mut self, ignition: &spec::Ignition) -> Result<()> {
        // Proxy, TLS and timeouts only change how remote resources are fetched.
        let spec::Ignition {
            config,
            proxy: _,
            security: _,
            timeouts: _,
            version: _,
        } = ignition;
        if let Some(spec::IgnitionConfig { merge, replace }) = config {
            ensure!(
                merge.as_ref().is_none_or(Vec::is_empty) && replace.is_none(),
                "ignition.config merge/replace: not checked yet (teach fleet_tests::ignition_manifest what the merged config writes)"
            );
        }
        Ok(())
    }

    fn passwd(&mut self, passwd: &spec::Passwd) -> Result<()> {
        let spec::Passwd { groups, users } = passwd;
        let groups = groups.as_deref().unwrap_or_default();
        let users = users.as_deref().unwrap_or_default();
        if !groups.is_empty() || !users.is_empty() {
            self.expected
                .incidental
                .extend(ACCOUNT_DATABASES.iter().map(|path| (*path).to_owned()));
        }
        for (index, group) in groups.iter().enumerate() {
            self.group(index, group)?;
        }
        for (index, user) in users.iter().enumerate() {
            self.user(index, user)?;
        }
        Ok(())
    }

    fn group(&mut self, index: usize, group: &spec::Group) -> Result<()> {
        let spec::Group {
            gid,
            name,
            password_hash,
            should_exist,
            system,
        } = group;
        let at = format!("passwd.groups[{index}] {name}");
        ensure!(
            password_hash.is_none()
                && should_exist.is_none_or(|exists| exists)
                && system.is_none_or(|system| !system),
            "{at}: passwordHash, shouldExist = false and system are not checked yet (the manifest does not show gshadow)"
        );
        ensure!(
            !self.seed.accounts.groups.contains_key(name),
            "{at}: the seed already has this group"
        );
        let gid = match gid {
            Some(gid) => {
                Id::Exactly(u32::try_from(*gid).with_context(|| format!("{at}: gid {gid}"))?)
            }
            None => Id::Assigned,
        };
        self.expected.accounts.groups.insert(name.clone(), gid);
        Ok(())
    }

    fn user(&mut self, index: usize, user: &spec::User) -> Result<()> {
        let spec::User {
            gecos,
            groups,
            home_dir,
            name,
            no_create_home,
            no_log_init,
            no_user_group,
            password_hash,
            primary_group,
            shell,
            should_exist,
            ssh_authorized_keys,
            system,
            uid,
        } = user;
        let at = format!("passwd.users[{index}] {name}");
        let unsupported = [
            (no_create_home.unwrap_or(false), "noCreateHome"),
            (no_log_init.unwrap_or(false), "noLogInit"),
            (no_user_group.unwrap_or(false), "noUserGroup"),
            (system.unwrap_or(false), "system"),
            (!should_exist.unwrap_or(true), "shouldExist = false"),
        ];
        if let Some((_, field)) = unsupported.iter().find(|(set, _)| *set) {
            bail!("{at}: {field} is not checked yet (teach fleet_tests::ignition_manifest)");
        }
        let uid = uid
            .map(|uid| u32::try_from(uid).with_context(|| format!("{at}: uid {uid}")))
            .transpose()?;
        let password = password_hash
            .as_ref()
            .map(|hash| format!("sha256:{}", sha256_hex(hash.as_bytes())));
        let sorted_groups = groups.as_ref().map(|groups| {
            let mut sorted = groups.clone();
            sorted.sort();
            sorted
        });
        let existing = self.expected.accounts.users.get(name).cloned();
        let expected = match existing {
            // usermod changes what the config names and leaves the rest.
            Some(mut seeded) => {
                if let Some(uid) = uid {
                    seeded.uid = Id::Exactly(uid);
                }
                if let Some(primary) = primary_group {
                    seeded.primary_group = PrimaryGroup::Named(primary.clone());
                }
                if let Some(gecos) = gecos {
                    seeded.gecos.clone_from(gecos);
                }
                if let Some(home) = home_dir {
                    seeded.home.clone_from(home);
                }
                if let Some(shell) = shell {
                    seeded.shell.clone_from(shell);
                }
                if let Some(groups) = sorted_groups {
                    seeded.groups = groups;
                }
                if let Some(password) = password {
                    seeded.password = password;
                }
                seeded
            }
            // useradd --create-home with the seed's defaults: a group of the user's own name, home
            // under /home, bash, and a password field of `*` unless the config gives a hash.
            None => {
                let primary_group = match primary_group {
                    Some(primary) => PrimaryGroup::Named(primary.clone()),
                    None => {
                        self.expected
                            .accounts
                            .groups
                            .insert(name.clone(), Id::Assigned);
                        PrimaryGroup::Named(name.clone())
                    }
                };
                let home = home_dir.clone().unwrap_or_else(|| format!("/home/{name}"));
                ExpectedUser {
                    uid: uid.map_or(Id::Assigned, Id::Exactly),
                    primary_group,
                    gecos: gecos.clone().unwrap_or_default(),
                    home,
                    shell: shell.clone().unwrap_or_else(|| "/bin/bash".to_owned()),
                    groups: sorted_groups.unwrap_or_default(),
                    password: password.unwrap_or_else(|| "*".to_owned()),
                }
            }
        };
        let created = !self.seed.accounts.users.contains_key(name);
        let home = self.resolve(&expected.home);
        self.expected.accounts.users.insert(name.clone(), expected);

        // Owned by the user as the root's accounts have it after the run; a user that is missing
        // there is reported by the accounts check.
        let Some(account) = self.now.users.get(name) else {
            return Ok(());
        };
        let owner = Owner {
            uid: account.uid,
            gid: account.gid,
        };
        if created {
            self.entry(
                &home,
                ExpectedWhat::Directory { mode: 0o700, owner },
                &format!("{at}: its home (useradd --create-home)"),
            )?;
        }
        let keys = ssh_authorized_keys.as_deref().unwrap_or_default();
        if !keys.is_empty() {
            let ssh = format!("{home}/.ssh");
            let fragments = format!("{ssh}/authorized_keys.d");
            for directory in [&ssh, &fragments] {
                self.entry(
                    directory,
                    ExpectedWhat::Directory { mode: 0o700, owner },
                    &format!("{at}: sshAuthorizedKeys"),
                )?;
            }
            self.entry(
                &format!("{fragments}/ignition"),
                ExpectedWhat::File {
                    mode: 0o600,
                    owner,
                    contents: Some(format!("{}\n", keys.join("\n")).into_bytes()),
                },
                &format!("{at}: sshAuthorizedKeys"),
            )?;
        }
        Ok(())
    }

    fn storage(&mut self, storage: &spec::Storage) -> Result<()> {
        let spec::Storage {
            directories,
            disks,
            files,
            filesystems,
            links,
            luks,
            raid,
        } = storage;
        for (present, what) in [
            (
                disks.as_ref().is_some_and(|list| !list.is_empty()),
                "storage.disks",
            ),
            (
                filesystems.as_ref().is_some_and(|list| !list.is_empty()),
                "storage.filesystems",
            ),
            (
                luks.as_ref().is_some_and(|list| !list.is_empty()),
                "storage.luks",
            ),
            (
                raid.as_ref().is_some_and(|list| !list.is_empty()),
                "storage.raid",
            ),
        ] {
            if present {
                self.expected
                    .not_applied
                    .push(format!("{what} (the disks and mount stages)"));
            }
        }
        for (index, directory) in directories.iter().flatten().enumerate() {
            let spec::Directory {
                group,
                mode,
                overwrite: _,
                path,
                user,
            } = directory;
            let at = format!("storage.directories[{index}] {path}");
            let what = ExpectedWhat::Directory {
                mode: mode_or(*mode, 0o755).with_context(|| at.clone())?,
                owner: self
                    .owner(user.as_ref(), group.as_ref())
                    .with_context(|| at.clone())?,
            };
            self.entry(&self.resolve(path), what, &at)?;
        }
        for (index, file) in files.iter().flatten().enumerate() {
            let spec::File {
                append,
                contents,
                group,
                mode,
                overwrite: _,
                path,
                user,
            } = file;
            let at = format!("storage.files[{index}] {path}");
            ensure!(
                append.as_ref().is_none_or(Vec::is_empty),
                "{at}: append is not checked yet (teach fleet_tests::ignition_manifest)"
            );
            let bytes = match contents {
                Some(resource) => resource_contents(resource).with_context(|| at.clone())?,
                None => Vec::new(),
            };
            let what = ExpectedWhat::File {
                mode: mode_or(*mode, 0o644).with_context(|| at.clone())?,
                owner: self
                    .owner(user.as_ref(), group.as_ref())
                    .with_context(|| at.clone())?,
                contents: Some(bytes),
            };
            self.entry(&self.resolve(path), what, &at)?;
        }
        for (index, link) in links.iter().flatten().enumerate() {
            let spec::Link {
                group,
                hard,
                overwrite: _,
                path,
                target,
                user,
            } = link;
            let at = format!("storage.links[{index}] {path}");
            ensure!(
                !hard.unwrap_or(false),
                "{at}: hard links are not checked yet (teach fleet_tests::ignition_manifest)"
            );
            let target = target.clone().with_context(|| format!("{at}: no target"))?;
            let what = ExpectedWhat::Link {
                owner: self
                    .owner(user.as_ref(), group.as_ref())
                    .with_context(|| at.clone())?,
                target,
            };
            self.entry(&self.resolve(path), what, &at)?;
        }
        Ok(())
    }

    fn systemd(&mut self, systemd: &spec::Systemd) -> Result<()> {
        let spec::Systemd { units } = systemd;
        for (index, unit) in units.iter().flatten().enumerate() {
            let spec::Unit {
                contents,
                dropins,
                enabled,
                mask,
                name,
            } = unit;
            let at = format!("systemd.units[{index}] {name}");
            let path = format!("/etc/systemd/system/{name}");
            let masked = mask.unwrap_or(false);
            ensure!(
                !(masked && contents.is_some()),
                "{at}: a masked unit with contents is not checked yet"
            );
            if masked {
                self.entry(
                    &path,
                    ExpectedWhat::Link {
                        owner: Owner::ROOT,
                        target: "/dev/null".to_owned(),
                    },
                    &format!("{at}: mask"),
                )?;
            }
            if let Some(contents) = contents {
                let what = ExpectedWhat::File {
                    mode: 0o644,
                    owner: Owner::ROOT,
                    contents: Some(contents.clone().into_bytes()),
                };
                self.entry(&path, what, &at)?;
            }
            if let Some(enabled) = enabled {
                ensure!(
                    !name.contains('@'),
                    "{at}: enabling template units is not checked yet (teach fleet_tests::ignition_manifest)"
                );
                let verb = if *enabled { "enable" } else { "disable" };
                self.expected.presets.push(format!("{verb} {name}"));
            }
            for (dropin_index, dropin) in dropins.iter().flatten().enumerate() {
                let spec::Dropin {
                    contents,
                    name: dropin_name,
                } = dropin;
                let Some(contents) = contents else {
                    continue;
                };
                let what = ExpectedWhat::File {
                    mode: 0o644,
                    owner: Owner::ROOT,
                    contents: Some(contents.clone().into_bytes()),
                };
                self.entry(
                    &format!("{path}.d/{dropin_name}"),
                    what,
                    &format!("{at}: dropins[{dropin_index}]"),
                )?;
            }
        }
        if !self.expected.presets.is_empty() {
            // Ignition 2.14 collects presets in a Go map: the file's line order changes from run to
            // run, so its lines are compared as a set (`compare.rs`), not its bytes.
            self.entry(
                PRESET_FILE,
                ExpectedWhat::File {
                    mode: 0o644,
                    owner: Owner::ROOT,
                    contents: None,
                },
                "systemd.units[].enabled",
            )?;
        }
        Ok(())
    }

    /// Record one expectation; two config entries asking for different things at one path is an error.
    fn entry(&mut self, path: &str, what: ExpectedWhat, because: &str) -> Result<()> {
        let entry = ExpectedEntry {
            what,
            because: because.to_owned(),
        };
        match self.expected.entries.get(path) {
            Some(earlier) if earlier.what != entry.what => bail!(
                "{path}: {} and {} ask for different things",
                earlier.because,
                entry.because
            ),
            Some(_) => Ok(()),
            None => {
                self.expected.entries.insert(path.to_owned(), entry);
                Ok(())
            }
        }
    }

    /// Directories Ignition creates on the way to what it writes: 0755, root's.
    fn parent_directories(&mut self) {
        let paths: Vec<String> = self.expected.entries.keys().cloned().collect();
        for path in paths {
            let mut ancestor = parent_of(&path);
            while let Some(directory) = ancestor {
                if directory == "/" || self.seed.tree.contains_key(directory) {
                    break;
                }
                self.expected
                    .entries
                    .entry(directory.to_owned())
                    .or_insert_with(|| ExpectedEntry {
                        what: ExpectedWhat::Directory {
                            mode: 0o755,
                            owner: Owner::ROOT,
                        },
                        because: format!("on the way to {path}"),
                    });
                ancestor = parent_of(directory);
            }
        }
    }

    /// A node's owner: ids as given, names looked up in the root's accounts, root by default.
    fn owner(
        &self,
        user: Option<&spec::NodeUser>,
        group: Option<&spec::NodeGroup>,
    ) -> Result<Owner> {
        let uid = match user {
            Some(spec::NodeUser { id: Some(id), .. }) => u32::try_from(*id)?,
            Some(spec::NodeUser {
                name: Some(name), ..
            }) => {
                self.now
                    .users
                    .get(name)
                    .with_context(|| format!("no user {name} in the root"))?
                    .uid
            }
            _ => 0,
        };
        let gid = match group {
            Some(spec::NodeGroup { id: Some(id), .. }) => u32::try_from(*id)?,
            Some(spec::NodeGroup {
                name: Some(name), ..
            }) => {
                self.now
                    .groups
                    .get(name)
                    .with_context(|| format!("no group {name} in the root"))?
                    .gid
            }
            _ => 0,
        };
        Ok(Owner { uid, gid })
    }

    fn resolve(&self, path: &str) -> String {
        resolve_in_seed(self.seed, path)
    }
}

/// `path` with the seed's links on the way followed (`/home/x` is `/var/home/x`), as Ignition's
/// writes through them land.
pub(crate) fn resolve_in_seed(seed: &Snapshot, path: &str) -> String {
    resolve_through_links(&seed.tree, path, 0)
}

fn resolve_through_links(tree: &BTreeMap<String, Entry>, path: &str, depth: u32) -> String {
    let components: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let mut resolved = String::new();
    for (index, component) in components.iter().enumerate() {
        let candidate = format!("{resolved}/{component}");
        let last = index + 1 == components.len();
        match tree.get(&candidate) {
            Some(Entry::Link { target, .. }) if !last && depth < 8 => {
                let joined = if target.starts_with('/') {
                    target.clone()
                } else {
                    format!("{resolved}/{target}")
                };
                resolved = normalise(&resolve_through_links(tree, &joined, depth + 1));
            }
            _ => resolved = candidate,
        }
    }
    if resolved.is_empty() {
        "/".to_owned()
    } else {
        resolved
    }
}

/// `.` and `..` removed, as the kernel walks a path.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent_of(path: &str) -> Option<&str> {
    let (parent, _) = path.rsplit_once('/')?;
    Some(if parent.is_empty() { "/" } else { parent })
}

fn mode_or(mode: Option<i64>, default: u32) -> Result<u32> {
    match mode {
        None => Ok(default),
        Some(mode) => {
            let mode = u32::try_from(mode).with_context(|| format!("mode {mode}"))?;
            ensure!(mode <= 0o7777, "mode {mode:o} has bits beyond 07777");
            Ok(mode)
        }
    }
}

fn resource_contents(resource: &spec::Resource) -> Result<Vec<u8>> {
    let spec::Resource {
        compression,
        http_headers,
        source,
        verification: _,
    } = resource;
    ensure!(
        http_headers.as_ref().is_none_or(Vec::is_empty),
        "httpHeaders need a remote source, which the guest cannot reach"
    );
    match source {
        Some(source) => resource_bytes(source, compression.as_deref()),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_with_home_link() -> BTreeMap<String, Entry> {
        BTreeMap::from([
            (
                "/home".to_owned(),
                Entry::Link {
                    owner: Owner::ROOT,
                    target: "var/home".to_owned(),
                },
            ),
            (
                "/var".to_owned(),
                Entry::Directory {
                    mode: 0o755,
                    owner: Owner::ROOT,
                },
            ),
        ])
    }

    #[test]
    fn paths_through_the_seeds_links_land_where_the_kernel_puts_them() {
        let tree = seed_with_home_link();
        assert_eq!(
            resolve_through_links(&tree, "/home/ops/.ssh", 0),
            "/var/home/ops/.ssh"
        );
        assert_eq!(resolve_through_links(&tree, "/home", 0), "/home");
        assert_eq!(resolve_through_links(&tree, "/etc/x", 0), "/etc/x");
        assert_eq!(normalise("/a/./b/../c"), "/a/c");
    }

    #[test]
    fn a_config_newer_than_ignition_2_14_reads_is_refused_with_the_fix() {
        let error = expected_writes(br#"{"ignition":{"version":"3.4.0"}}"#, &Manifest::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("ignition_version = \"3.3.0\""), "{error}");
    }

    #[test]
    fn entries_the_checker_does_not_know_are_errors_not_passes() {
        for config in [
            r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/x","append":[{"source":"data:,a"}]}]}}"#,
            r#"{"ignition":{"version":"3.3.0"},"storage":{"links":[{"path":"/x","target":"/y","hard":true}]}}"#,
            r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/x","contents":{"source":"https://example.com/x"}}]}}"#,
            r#"{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"x","system":true}]}}"#,
            r#"{"ignition":{"version":"3.3.0"},"systemd":{"units":[{"name":"x@.service","enabled":true}]}}"#,
            r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/x","contents":{"source":"data:,a"}},{"path":"/x","contents":{"source":"data:,b"}}]}}"#,
        ] {
            assert!(
                expected_writes(config.as_bytes(), &Manifest::default()).is_err(),
                "{config}"
            );
        }
    }

    #[test]
    fn parents_of_new_paths_are_expected_as_root_directories_and_disks_are_reported_not_applied() {
        let manifest = Manifest {
            seed: Snapshot {
                tree: seed_with_home_link(),
                ..Snapshot::default()
            },
            ..Manifest::default()
        };
        let config = br#"{"ignition":{"version":"3.3.0"},
            "storage":{"files":[{"path":"/var/lib/app/x","mode":384,"contents":{"source":"data:,hi"}}],
                       "disks":[{"device":"/dev/vdb"}]}}"#;
        let expected = expected_writes(config, &manifest).unwrap();
        assert_eq!(
            expected.entries["/var/lib/app/x"].what,
            ExpectedWhat::File {
                mode: 0o600,
                owner: Owner::ROOT,
                contents: Some(b"hi".to_vec())
            }
        );
        for parent in ["/var/lib", "/var/lib/app"] {
            assert_eq!(
                expected.entries[parent].what,
                ExpectedWhat::Directory {
                    mode: 0o755,
                    owner: Owner::ROOT
                },
                "{parent}"
            );
        }
        assert!(!expected.entries.contains_key("/var"), "the seed has /var");
        assert!(expected.entries.contains_key(RESULT_FILE));
        assert_eq!(
            expected.not_applied,
            ["storage.disks (the disks and mount stages)"]
        );
    }
}
