//! The manifest against the expectations: every expected entry there as asked, nothing written that
//! was not asked for, nothing of the seed removed, and the accounts exactly as expected. Every
//! difference is listed, not just the first.

use std::collections::BTreeSet;

use super::expected::{Expected, ExpectedAccounts, ExpectedWhat, PRESET_FILE, PrimaryGroup};
use super::manifest::{Entry, Manifest};
use crate::console::sha256_hex;

/// Every way `manifest` differs from `expected`, one line each; empty when it matches.
pub(super) fn differences(manifest: &Manifest, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, wanted) in &expected.entries {
        let found = manifest
            .wrote
            .get(path)
            .or_else(|| manifest.seed.tree.get(path));
        match found {
            None => problems.push(format!("{path} ({}): missing", wanted.because)),
            Some(found) => {
                for difference in entry_differences(&wanted.what, found) {
                    problems.push(format!("{path} ({}): {difference}", wanted.because));
                }
            }
        }
    }
    for (path, found) in &manifest.wrote {
        if expected.entries.contains_key(path) {
            continue;
        }
        if expected.incidental.contains(path) {
            // The shadow tools rewrite these; they must keep the seed's mode and owner.
            if let Some(seeded) = manifest.seed.tree.get(path)
                && (mode_of(seeded) != mode_of(found) || seeded.owner() != found.owner())
            {
                problems.push(format!(
                    "{path}: was {} {}, is {} {} after the shadow tools ran",
                    mode_text(seeded),
                    seeded.owner(),
                    mode_text(found),
                    found.owner()
                ));
            }
            continue;
        }
        problems.push(format!(
            "{path}: written ({}) but the config does not ask for it",
            describe(found)
        ));
    }
    for path in &manifest.removed {
        problems.push(format!("{path}: was in the seed and is gone"));
    }
    // In any order: Ignition writes them from a map.
    let mut presets: Vec<&String> = manifest
        .presets
        .iter()
        .filter(|(file, _)| file == PRESET_FILE)
        .map(|(_, line)| line)
        .collect();
    let mut wanted_presets: Vec<&String> = expected.presets.iter().collect();
    presets.sort();
    wanted_presets.sort();
    if presets != wanted_presets {
        problems.push(format!(
            "presets {presets:?}, the config asks for {wanted_presets:?}"
        ));
    }
    for (file, line) in &manifest.presets {
        if file != PRESET_FILE {
            problems.push(format!("preset {line:?} in {file}, not {PRESET_FILE}"));
        }
    }
    problems.extend(account_differences(manifest, &expected.accounts));
    problems
}

fn entry_differences(wanted: &ExpectedWhat, found: &Entry) -> Vec<String> {
    let mut differences = Vec::new();
    let mut compare = |what: &str, wanted: String, found: String| {
        if wanted != found {
            differences.push(format!("{what} {found}, expected {wanted}"));
        }
    };
    match (wanted, found) {
        (
            ExpectedWhat::File {
                mode,
                owner,
                contents,
            },
            Entry::File {
                mode: found_mode,
                owner: found_owner,
                size,
                sha256,
            },
        ) => {
            compare("mode", format!("{mode:04o}"), format!("{found_mode:04o}"));
            compare("owner", owner.to_string(), found_owner.to_string());
            if let Some(contents) = contents {
                compare(
                    "contents",
                    format!("{} bytes sha256={}", contents.len(), sha256_hex(contents)),
                    format!("{size} bytes sha256={sha256}"),
                );
            }
        }
        (
            ExpectedWhat::Directory { mode, owner },
            Entry::Directory {
                mode: found_mode,
                owner: found_owner,
            },
        ) => {
            compare("mode", format!("{mode:04o}"), format!("{found_mode:04o}"));
            compare("owner", owner.to_string(), found_owner.to_string());
        }
        (
            ExpectedWhat::Link { owner, target },
            Entry::Link {
                owner: found_owner,
                target: found_target,
            },
        ) => {
            compare("target", target.clone(), found_target.clone());
            compare("owner", owner.to_string(), found_owner.to_string());
        }
        (wanted, found) => differences.push(format!(
            "is {}, expected a {}",
            describe(found),
            match wanted {
                ExpectedWhat::File { .. } => "file",
                ExpectedWhat::Directory { .. } => "directory",
                ExpectedWhat::Link { .. } => "link",
            }
        )),
    }
    differences
}

fn account_differences(manifest: &Manifest, expected: &ExpectedAccounts) -> Vec<String> {
    let seed = &manifest.seed.accounts;
    let now = &manifest.accounts;
    let mut problems = Vec::new();
    let taken_uids: BTreeSet<u32> = seed.users.values().map(|user| user.uid).collect();
    let taken_gids: BTreeSet<u32> = seed.groups.values().map(|group| group.gid).collect();

    for (name, wanted_gid) in &expected.groups {
        match now.groups.get(name) {
            None => problems.push(format!("group {name}: missing")),
            Some(group) if !wanted_gid.admits(group.gid, &taken_gids) => {
                problems.push(format!(
                    "group {name}: gid {}, expected {wanted_gid:?}",
                    group.gid
                ));
            }
            Some(_) => {}
        }
    }
    for name in now.groups.keys() {
        if !expected.groups.contains_key(name) {
            problems.push(format!(
                "group {name}: created but the config does not ask for it"
            ));
        }
    }

    for (name, wanted) in &expected.users {
        let Some(user) = now.users.get(name) else {
            problems.push(format!("user {name}: missing"));
            continue;
        };
        let mut fields = Vec::new();
        if !wanted.uid.admits(user.uid, &taken_uids) {
            fields.push(format!("uid {}, expected {:?}", user.uid, wanted.uid));
        }
        let wanted_gid = match &wanted.primary_group {
            PrimaryGroup::Gid(gid) => Some(*gid),
            PrimaryGroup::Named(group) => now.groups.get(group).map(|group| group.gid),
        };
        if wanted_gid != Some(user.gid) {
            fields.push(format!(
                "gid {}, expected that of {:?}",
                user.gid, wanted.primary_group
            ));
        }
        for (field, found, wanted) in [
            ("gecos", &user.gecos, &wanted.gecos),
            ("home", &user.home, &wanted.home),
            ("shell", &user.shell, &wanted.shell),
            ("password", &user.password, &wanted.password),
        ] {
            if found != wanted {
                fields.push(format!("{field} {found:?}, expected {wanted:?}"));
            }
        }
        if user.groups != wanted.groups {
            fields.push(format!(
                "groups {:?}, expected {:?}",
                user.groups, wanted.groups
            ));
        }
        for field in fields {
            problems.push(format!("user {name}: {field}"));
        }
    }
    for name in now.users.keys() {
        if !expected.users.contains_key(name) {
            problems.push(format!(
                "user {name}: created but the config does not ask for it"
            ));
        }
    }
    problems
}

fn mode_of(entry: &Entry) -> Option<u32> {
    match entry {
        Entry::File { mode, .. } | Entry::Directory { mode, .. } | Entry::Other { mode, .. } => {
            Some(*mode)
        }
        Entry::Link { .. } => None,
    }
}

fn mode_text(entry: &Entry) -> String {
    mode_of(entry).map_or_else(|| "link".to_owned(), |mode| format!("{mode:04o}"))
}

/// An entry as a person reads it, e.g. `file 0644 0:0 21 bytes`.
pub fn describe(entry: &Entry) -> String {
    match entry {
        Entry::File {
            mode, owner, size, ..
        } => format!("file {mode:04o} {owner} {size} bytes"),
        Entry::Directory { mode, owner } => format!("directory {mode:04o} {owner}"),
        Entry::Link { owner, target } => format!("link {owner} -> {target}"),
        Entry::Other { mode, owner } => format!("special file {mode:04o} {owner}"),
    }
}
