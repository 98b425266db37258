//! A node's payload placed as Ignition: files, directories and links in `storage`, system units in
//! `systemd.units`, and a user's units as the files, directories and links systemd's user manager
//! reads (Ignition has no user units).
//!
//! Files and links replace what is at their path (`overwrite: true`: fleet speaks for those paths);
//! directories do not (an existing one only gets its mode and owner). Contents are data URLs encoded
//! as `butane` would encode them for the target spec.

use super::payload::{NodePayload, Owner, PayloadDirectory, PayloadLink, PayloadUnit, UnitScope};
use crate::IgnitionVersion;
use crate::ignition::{
    self, Config, Directory, Dropin, File, Link, Node, NodeGroup, NodeUser, Resource, Unit,
};

/// Where a user's manager reads units the user installed, below the home directory.
const USER_UNIT_DIR: &str = ".config/systemd/user";
/// Where the OS ships user units (what an enablement link of a unit without contents names).
const VENDOR_USER_UNIT_DIR: &str = "/usr/lib/systemd/user";
/// Directories fleet makes for a user's units, and the units themselves.
const USER_DIRECTORY_MODE: u32 = 0o755;
const UNIT_FILE_MODE: u32 = 0o644;

/// The payloads, in order, as one Ignition config (storage and systemd only).
pub(super) fn place(payloads: &[&NodePayload], version: IgnitionVersion) -> Config {
    let mut placed = Placed {
        version,
        config: Config::default(),
    };
    for file in payloads.iter().flat_map(|payload| &payload.files) {
        placed.file(&file.path, file.mode, &file.owner, &file.contents);
    }
    for directory in payloads.iter().flat_map(|payload| &payload.directories) {
        placed.directory(directory);
    }
    for link in payloads.iter().flat_map(|payload| &payload.links) {
        placed.link(link);
    }
    for unit in payloads.iter().flat_map(|payload| &payload.units) {
        match &unit.scope {
            UnitScope::System { enabled } => {
                placed
                    .config
                    .systemd
                    .units
                    .push(system_unit(unit, *enabled));
            }
            UnitScope::User {
                user,
                home,
                wanted_by,
            } => placed.user_unit(unit, user, home, wanted_by),
        }
    }
    placed.config
}

/// The config being placed, in the order entries are made.
struct Placed {
    version: IgnitionVersion,
    config: Config,
}

impl Placed {
    /// A file written with `overwrite: true`, its contents encoded as `butane` would for the
    /// target spec (3.0.0 takes only percent-encoding).
    fn file(&mut self, path: &str, mode: u32, owner: &Owner, contents: &[u8]) {
        let (source, compression) = if self.version == IgnitionVersion::V3_0 {
            (ignition::make_percent_data_url(contents), None)
        } else {
            let url = ignition::make_data_url(contents, None, true);
            (url.url, url.compression)
        };
        self.config.storage.files.push(File {
            node: node(path, owner, Some(true)),
            contents: Resource {
                source: Some(source),
                compression,
                ..Resource::default()
            },
            mode: Some(i64::from(mode)),
            append: Vec::new(),
        });
    }

    /// A directory, once however often it is asked for.
    fn directory(&mut self, directory: &PayloadDirectory) {
        let directories = &mut self.config.storage.directories;
        if !directories
            .iter()
            .any(|known| known.node.path == directory.path)
        {
            directories.push(Directory {
                node: node(&directory.path, &directory.owner, None),
                mode: Some(i64::from(directory.mode)),
            });
        }
    }

    fn link(&mut self, link: &PayloadLink) {
        self.config.storage.links.push(Link {
            node: node(&link.path, &link.owner, Some(true)),
            target: Some(link.target.clone()),
            hard: None,
        });
    }

    /// `HOME/.config/systemd/user/NAME`, its drop-ins in `NAME.d/`, and a link per target in
    /// `TARGET.wants/`; every directory from the home directory down is the user's, since
    /// Ignition would make missing ones root's and the user's manager could not write there.
    fn user_unit(&mut self, unit: &PayloadUnit, user: &str, home: &str, wanted_by: &[String]) {
        let owner = Owner::user(user);
        let home = home.trim_end_matches('/');
        let unit_dir = format!("{home}/{USER_UNIT_DIR}");
        let mut path = home.to_owned();
        for component in USER_UNIT_DIR.split('/') {
            path = format!("{path}/{component}");
            self.owned_directory(&path, &owner);
        }
        let unit_path = format!("{unit_dir}/{}", unit.name);
        if let Some(contents) = &unit.contents {
            self.file(&unit_path, UNIT_FILE_MODE, &owner, contents.as_bytes());
        }
        if !unit.dropins.is_empty() {
            let dropin_dir = format!("{unit_dir}/{}.d", unit.name);
            self.owned_directory(&dropin_dir, &owner);
            for dropin in &unit.dropins {
                self.file(
                    &format!("{dropin_dir}/{}", dropin.name),
                    UNIT_FILE_MODE,
                    &owner,
                    dropin.contents.as_bytes(),
                );
            }
        }
        let target = if unit.contents.is_some() {
            unit_path
        } else {
            format!("{VENDOR_USER_UNIT_DIR}/{}", unit.name)
        };
        for wanted_by in wanted_by {
            let wants_dir = format!("{unit_dir}/{wanted_by}.wants");
            self.owned_directory(&wants_dir, &owner);
            self.link(&PayloadLink {
                path: format!("{wants_dir}/{}", unit.name),
                target: target.clone(),
                owner: owner.clone(),
            });
        }
    }

    fn owned_directory(&mut self, path: &str, owner: &Owner) {
        self.directory(&PayloadDirectory {
            path: path.to_owned(),
            mode: USER_DIRECTORY_MODE,
            owner: owner.clone(),
        });
    }
}

fn system_unit(unit: &PayloadUnit, enabled: Option<bool>) -> Unit {
    Unit {
        name: unit.name.clone(),
        contents: unit.contents.clone(),
        dropins: unit
            .dropins
            .iter()
            .map(|dropin| Dropin {
                name: dropin.name.clone(),
                contents: Some(dropin.contents.clone()),
            })
            .collect(),
        enabled,
        mask: None,
    }
}

fn node(path: &str, owner: &Owner, overwrite: Option<bool>) -> Node {
    Node {
        path: path.to_owned(),
        overwrite,
        user: NodeUser {
            id: None,
            name: owner.user.clone(),
        },
        group: NodeGroup {
            id: None,
            name: owner.group.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::payload::UnitDropin;

    fn user_timer(contents: Option<&str>) -> NodePayload {
        NodePayload {
            units: vec![PayloadUnit {
                name: "podman-auto-update.timer".to_owned(),
                scope: UnitScope::User {
                    user: "app".to_owned(),
                    home: "/home/app/".to_owned(),
                    wanted_by: vec!["timers.target".to_owned()],
                },
                contents: contents.map(str::to_owned),
                dropins: vec![UnitDropin {
                    name: "10-fleet-schedule.conf".to_owned(),
                    contents: "[Timer]\nOnCalendar=\nOnCalendar=Tue 03:10\n".to_owned(),
                }],
            }],
            ..NodePayload::default()
        }
    }

    #[test]
    fn a_users_unit_is_files_directories_and_links_the_user_owns() {
        let config = place(&[&user_timer(None)], IgnitionVersion::V3_4);
        let directories: Vec<(&str, Option<&str>)> = config
            .storage
            .directories
            .iter()
            .map(|directory| {
                (
                    directory.node.path.as_str(),
                    directory.node.user.name.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            directories,
            [
                ("/home/app/.config", Some("app")),
                ("/home/app/.config/systemd", Some("app")),
                ("/home/app/.config/systemd/user", Some("app")),
                (
                    "/home/app/.config/systemd/user/podman-auto-update.timer.d",
                    Some("app")
                ),
                (
                    "/home/app/.config/systemd/user/timers.target.wants",
                    Some("app")
                ),
            ]
        );
        let files: Vec<&str> = config
            .storage
            .files
            .iter()
            .map(|file| file.node.path.as_str())
            .collect();
        assert_eq!(
            files,
            ["/home/app/.config/systemd/user/podman-auto-update.timer.d/10-fleet-schedule.conf"]
        );
        assert_eq!(
            config.storage.files[0].node.group.name.as_deref(),
            Some("app")
        );
        let link = &config.storage.links[0];
        assert_eq!(
            link.node.path,
            "/home/app/.config/systemd/user/timers.target.wants/podman-auto-update.timer"
        );
        // Without contents of its own, the link names the unit the OS ships.
        assert_eq!(
            link.target.as_deref(),
            Some("/usr/lib/systemd/user/podman-auto-update.timer")
        );
        assert!(config.systemd.units.is_empty(), "no system unit");

        let own = place(&[&user_timer(Some("[Timer]\n"))], IgnitionVersion::V3_4);
        assert_eq!(
            own.storage.links[0].target.as_deref(),
            Some("/home/app/.config/systemd/user/podman-auto-update.timer")
        );
        assert_eq!(own.storage.files.len(), 2, "the unit and its drop-in");
    }

    #[test]
    fn system_units_go_to_ignitions_systemd_section() {
        let payload = NodePayload {
            units: vec![PayloadUnit {
                name: "zincati.service".to_owned(),
                scope: UnitScope::System { enabled: None },
                contents: None,
                dropins: vec![UnitDropin {
                    name: "10-after-health.conf".to_owned(),
                    contents: "[Unit]\nAfter=fleet-health.service\n".to_owned(),
                }],
            }],
            ..NodePayload::default()
        };
        let config = place(&[&payload], IgnitionVersion::V3_4);
        assert_eq!(config.systemd.units.len(), 1);
        let unit = &config.systemd.units[0];
        assert_eq!(unit.contents, None);
        assert_eq!(unit.enabled, None);
        assert_eq!(
            unit.dropins[0].contents.as_deref(),
            Some("[Unit]\nAfter=fleet-health.service\n")
        );
        assert!(config.storage.files.is_empty());
    }
}
