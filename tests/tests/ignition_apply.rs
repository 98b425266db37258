//! The host-side twin of the end-to-end guest (issue 13): the real Ignition (Debian's 2.14, the binary
//! the guest runs) applies every node of the example fleet, rendered at spec 3.3.0, into a scratch
//! root with `-platform file`, and the manifest check the guests get runs on what it wrote: exactly
//! what each config asks for, and what the fleet asks of each node (hostname, keyfile 0600 for static
//! groups, users' keys, Zincati's settings from `fleet plan`). A config Ignition refuses fails with
//! Ignition's message.
//!
//! Needs root and the Ignition binary `cargo xtask test` fetches (see `fleet_tests::ignition_apply`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fleet_tests::binary::render_fleet;
use fleet_tests::ignition_apply::{apply_on_host, host_ignition};
use fleet_tests::ignition_manifest::{
    FleetContainer, FleetExpectations, FleetUser, check_manifest, check_node, find_manifest,
};
use fleet_tests::workdir::WorkDir;

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

#[test]
fn every_node_of_the_example_fleet_applies_with_the_real_ignition_as_its_config_and_the_fleet_ask()
{
    let Some(ignition) =
        host_ignition("every_node_of_the_example_fleet_applies_with_the_real_ignition")
    else {
        return;
    };
    let workdir = WorkDir::new("ignition-apply").unwrap();
    let fleet_toml = scratch_copy_at_spec_3_3(&repository_path("fleet"), &workdir.join("fleet"));
    let (static_groups, users, group_extras) = groups_and_users_of(&fleet_toml).unwrap();
    let static_groups: Vec<&str> = static_groups.iter().map(String::as_str).collect();
    let mut expectations = FleetExpectations::gather(&fleet_toml, &static_groups, &users).unwrap();
    for (group, (group_users, containers)) in &group_extras {
        expectations.for_group(group, group_users, containers);
    }
    let rendered = render_fleet(&fleet_toml, &workdir.join("rendered")).unwrap();
    assert_eq!(
        rendered.ignition.keys().collect::<Vec<_>>(),
        expectations.nodes.keys().collect::<Vec<_>>(),
        "render and plan name the same nodes"
    );

    let mut failures = Vec::new();
    for (node, config) in &rendered.ignition {
        let config_path = workdir.join("rendered").join(format!("{node}.ign"));
        let output = apply_on_host(&ignition, &config_path, &workdir.join(node)).unwrap();
        match check_node(&output, config, Some(expectations.node(node).unwrap())) {
            Ok(report) => eprintln!("{node}: {report}"),
            Err(error) => failures.push(format!("{node}: {error:#}")),
        }
    }
    assert!(
        failures.is_empty(),
        "the real Ignition's result differs for {} of {} nodes:\n{}",
        failures.len(),
        rendered.ignition.len(),
        failures.join("\n")
    );
}

/// `everything.ign` uses every kind of entry the checker knows: the real Ignition's result matches
/// each rule, and a changed mode, a missing entry, an extra entry or a changed account in the very
/// manifest it printed is reported.
#[test]
fn every_rule_of_the_checker_holds_for_the_real_ignition_and_each_kind_of_difference_is_caught() {
    let Some(ignition) = host_ignition("every_rule_of_the_checker_holds_for_the_real_ignition")
    else {
        return;
    };
    let workdir = WorkDir::new("ignition-rules").unwrap();
    let config_path = repository_path("tests/data/ignition/everything.ign");
    let config = std::fs::read(&config_path).unwrap();
    let output = apply_on_host(&ignition, &config_path, &workdir.join("everything")).unwrap();
    let report = check_node(&output, &config, None).unwrap_or_else(|error| {
        panic!("{error:#}\n\nwhat the script printed:\n{output}");
    });
    eprintln!("{report}");
    assert_eq!(
        report.checked.expected.not_applied,
        [
            "kernelArguments (the kargs stage)",
            "storage.disks (the disks and mount stages)"
        ]
    );

    let manifest = find_manifest(&output).unwrap().unwrap();
    let line_of = |path: &str| {
        output
            .lines()
            .find(|line| line.starts_with(&format!("wrote\tfile\t{path}\t")))
            .unwrap_or_else(|| panic!("no line for {path}"))
            .to_owned()
    };
    let notes = line_of("/var/home/plain/notes");
    let keys = line_of("/var/lib/ops/.ssh/authorized_keys.d/ignition");
    let changed = [
        (
            output.replace(&notes, &notes.replace("mode=0640", "mode=0644")),
            "/var/home/plain/notes (storage.files[2] /home/plain/notes): mode 0644, expected 0640",
        ),
        (
            output.replace(&format!("{keys}\n"), ""),
            "/var/lib/ops/.ssh/authorized_keys.d/ignition (passwd.users[2] ops: sshAuthorizedKeys): missing",
        ),
        (
            output.replace(
                &notes,
                &format!("{notes}\nwrote\tdir\t/var/home/plain/stray\tmode=0755\towner=0:0"),
            ),
            "/var/home/plain/stray: written (directory 0755 0:0) but the config does not ask for it",
        ),
        (
            output.replace("groups=docker,sudo\t", "groups=docker,sudo,wheel\t"),
            "user core: groups [\"docker\", \"sudo\", \"wheel\"], expected [\"docker\", \"sudo\"]",
        ),
    ];
    for (text, wanted) in changed {
        assert_ne!(text, output, "the change to show `{wanted}` applied");
        let changed_manifest = find_manifest(&text).unwrap().unwrap();
        let error = format!(
            "{:#}",
            check_manifest(changed_manifest, &config).unwrap_err()
        );
        assert!(error.contains(wanted), "expected `{wanted}` in:\n{error}");
    }
    assert!(check_manifest(manifest, &config).is_ok());
}

/// What a node's payload asks for, as the renderer places it, is what the real Ignition writes: a
/// user's units under the user's home (unit, drop-in, the `.wants` links enablement is), every
/// directory fleet makes there owned by the user, a user-owned directory, a linger file and a system
/// unit's drop-in.
#[test]
fn a_payload_with_a_users_units_is_written_by_the_real_ignition_owned_by_the_user() {
    use fleet_ignition::IgnitionVersion;
    use fleet_ignition::ignition::{JsonOptions, to_json};
    use fleet_ignition::render::{
        NodePayload, Owner, PayloadDirectory, PayloadFile, PayloadUnit, SnippetLibrary, UnitDropin,
        UnitScope, compose_node,
    };

    let Some(ignition) =
        host_ignition("a_payload_with_a_users_units_is_written_by_the_real_ignition")
    else {
        return;
    };
    let workdir = WorkDir::new("ignition-payload").unwrap();
    let toml = "[fleet]\nname = \"p\"\nignition_version = \"3.3.0\"\n[fleet.image]\npath = \"fcos.qcow2\"\n\
                [maintenance]\nstrategy = \"immediate\"\n[[defaults.users]]\nname = \"app\"\n\
                [[group]]\nname = \"g\"\ncount = 1\n";
    let loaded = fleet_spec::load(
        "fleet.toml",
        toml.as_bytes(),
        &fleet_spec::MemoryFiles::new(),
    )
    .unwrap_or_else(|diagnostics| panic!("{diagnostics}"));
    let user_scope = |wanted_by: &str| UnitScope::User {
        user: "app".to_owned(),
        home: "/home/app".to_owned(),
        wanted_by: vec![wanted_by.to_owned()],
    };
    let payload = NodePayload {
        files: vec![PayloadFile::new("/var/lib/systemd/linger/app", 0o644, "")],
        directories: vec![PayloadDirectory {
            path: "/var/lib/app-data".to_owned(),
            mode: 0o750,
            owner: Owner::user("app"),
        }],
        units: vec![
            PayloadUnit {
                name: "app.service".to_owned(),
                scope: user_scope("default.target"),
                contents: Some(
                    "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=default.target\n"
                        .to_owned(),
                ),
                dropins: vec![UnitDropin {
                    name: "10-nice.conf".to_owned(),
                    contents: "[Service]\nNice=1\n".to_owned(),
                }],
            },
            PayloadUnit {
                name: "podman-auto-update.timer".to_owned(),
                scope: user_scope("timers.target"),
                contents: None,
                dropins: vec![UnitDropin {
                    name: "10-fleet-schedule.conf".to_owned(),
                    contents: "[Timer]\nOnCalendar=\nOnCalendar=Tue 03:10\n".to_owned(),
                }],
            },
            PayloadUnit {
                name: "zincati.service".to_owned(),
                scope: UnitScope::System { enabled: None },
                contents: None,
                dropins: vec![UnitDropin {
                    name: "10-after-health.conf".to_owned(),
                    contents: "[Unit]\nAfter=fleet-health.service\n".to_owned(),
                }],
            },
        ],
        ..NodePayload::default()
    };
    let fleet = &loaded.fleet;
    let composed = compose_node(
        fleet,
        &fleet.nodes[0],
        &SnippetLibrary::default(),
        &payload,
        IgnitionVersion::V3_3,
    )
    .unwrap();
    let config = to_json(
        &composed.config,
        IgnitionVersion::V3_3,
        JsonOptions { pretty: false },
    )
    .unwrap();
    let config_path = workdir.write("payload.ign", &config).unwrap();
    let output = apply_on_host(&ignition, &config_path, &workdir.join("apply")).unwrap();
    let report = check_node(&output, config.as_bytes(), None)
        .unwrap_or_else(|error| panic!("{error:#}\n\nwhat the script printed:\n{output}"));
    eprintln!("{report}");
    let wrote = &report.checked.manifest.wrote;
    for path in [
        "/var/home/app/.config",
        "/var/home/app/.config/systemd/user/app.service",
        "/var/home/app/.config/systemd/user/app.service.d/10-nice.conf",
        "/var/home/app/.config/systemd/user/default.target.wants/app.service",
        "/var/home/app/.config/systemd/user/timers.target.wants/podman-auto-update.timer",
        "/var/home/app/.config/systemd/user/podman-auto-update.timer.d/10-fleet-schedule.conf",
        "/var/lib/app-data",
    ] {
        let line = output
            .lines()
            .find(|line| line.starts_with("wrote\t") && line.split('\t').nth(2) == Some(path))
            .unwrap_or_else(|| panic!("{path} is not written:\n{output}"));
        assert!(
            !line.contains("owner=0:"),
            "{path} is root's, not the user's: {line}"
        );
        assert!(wrote.contains_key(path), "{path}: {report}");
    }
}

/// A rendered config Ignition refuses fails the check with Ignition's own message: at fetch-offline
/// (a spec Ignition 2.14 cannot read) and at files (a group that does not exist).
#[test]
fn a_config_ignition_refuses_fails_the_check_with_ignitions_message() {
    let Some(ignition) = host_ignition("a_config_ignition_refuses_fails_the_check") else {
        return;
    };
    let workdir = WorkDir::new("ignition-refuses").unwrap();
    for (name, config, message) in [
        (
            "newer-spec",
            r#"{"ignition":{"version":"3.4.0"}}"#,
            "fetch-offline: CRITICAL : Ignition failed: unsupported config version",
        ),
        (
            "unknown-group",
            r#"{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"ops","groups":["no-such-group"]}]}}"#,
            "useradd: group 'no-such-group' does not exist",
        ),
    ] {
        let config_path = workdir.write(format!("{name}.ign"), config).unwrap();
        let output = apply_on_host(&ignition, &config_path, &workdir.join(name)).unwrap();
        let error = format!(
            "{:#}",
            check_node(&output, config.as_bytes(), None).unwrap_err()
        );
        assert!(error.contains("Ignition failed"), "{name}: {error}");
        assert!(
            error.contains(message),
            "{name}: expected `{message}` in:\n{error}"
        );
    }
}

/// Names in the root come from the config: quotes, `$(...)`, backquotes, pipes and spaces in a file's
/// or a link's path and target are listed as they are and run nothing.
#[test]
fn hostile_names_in_a_config_are_listed_and_never_run() {
    let Some(ignition) = host_ignition("hostile_names_in_a_config_are_listed_and_never_run") else {
        return;
    };
    let workdir = WorkDir::new("ignition-hostile").unwrap();
    let witness = workdir.join("ran");
    let payload = format!(
        "$(touch {0}) `touch {0}` \"|touch {0}|\"",
        witness.display()
    );
    let config = serde_json::json!({
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [{"path": format!("/etc/file {payload}"), "contents": {"source": "data:,x"}}],
            "links": [{"path": format!("/etc/link {payload}"), "target": format!("../{payload}")}]
        }
    })
    .to_string();
    let config_path = workdir.write("hostile.ign", &config).unwrap();
    let output = apply_on_host(&ignition, &config_path, &workdir.join("apply")).unwrap();
    let report = check_node(&output, config.as_bytes(), None)
        .unwrap_or_else(|error| panic!("{error:#}\n\nwhat the script printed:\n{output}"));
    assert!(
        report
            .checked
            .manifest
            .wrote
            .contains_key(&format!("/etc/link {payload}")),
        "{report}"
    );
    assert!(!witness.exists(), "a name from the config ran as a command");
}

/// A copy of the fleet directory whose fleet.toml renders Ignition spec 3.3.0, the newest Ignition
/// 2.14 reads; returns the copy's fleet.toml.
fn scratch_copy_at_spec_3_3(fleet: &Path, copy: &Path) -> PathBuf {
    copy_directory(fleet, copy).unwrap();
    let fleet_toml = copy.join("fleet.toml");
    let text = std::fs::read_to_string(&fleet_toml).unwrap();
    let mut replaced = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("ignition_version") {
                replaced += 1;
                "ignition_version = \"3.3.0\"".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(
        replaced, 1,
        "fleet/fleet.toml should set ignition_version once in [fleet]; teach this test the new shape"
    );
    std::fs::write(&fleet_toml, lines.join("\n") + "\n").unwrap();
    fleet_toml
}

fn copy_directory(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_directory(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The example fleet's static groups and the users every node gets (`[[defaults.users]]`: inline keys
/// and key files, as the fleet file gives them), read from the file itself.
/// What the fleet file gives each group beyond every node's: users and containers.
/// The fleet.toml tables that become quadlets, with the quadlet's kind (its file's extension).
const QUADLET_TABLES: [(&str, &str); 4] = [
    ("container", "container"),
    ("pod", "pod"),
    ("volume", "volume"),
    ("container_network", "network"),
];

type GroupExtras = BTreeMap<String, (BTreeMap<String, FleetUser>, Vec<FleetContainer>)>;

fn groups_and_users_of(
    fleet_toml: &Path,
) -> Result<(Vec<String>, BTreeMap<String, FleetUser>, GroupExtras)> {
    let document: toml::Table = toml::from_str(&std::fs::read_to_string(fleet_toml)?)?;
    let directory = fleet_toml.parent().context("fleet.toml has no directory")?;
    let groups = document
        .get("group")
        .and_then(toml::Value::as_array)
        .context("no [[group]]")?;
    let mut static_groups = Vec::new();
    let mut extras = GroupExtras::new();
    for group in groups {
        let name = group["name"]
            .as_str()
            .context("a group without a name")?
            .to_owned();
        if group
            .get("network")
            .and_then(|network| network.get("mode"))
            .and_then(toml::Value::as_str)
            == Some("static")
        {
            static_groups.push(name.clone());
        }
        if group
            .get("node")
            .and_then(toml::Value::as_array)
            .is_some_and(|nodes| {
                nodes.iter().any(|node| {
                    node.get("users").is_some()
                        || QUADLET_TABLES
                            .iter()
                            .any(|(table, _)| node.get(*table).is_some())
                })
            })
        {
            bail!("a node sets its own users or containers: teach this test to read them");
        }
        let users = users_of(directory, group.get("users"))?;
        // Containers and the pods, volumes and networks the group declares: one quadlet each.
        let containers = QUADLET_TABLES
            .iter()
            .flat_map(|(table, kind)| {
                group
                    .get(*table)
                    .and_then(toml::Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(move |declared| {
                        Ok(FleetContainer {
                            name: declared["name"]
                                .as_str()
                                .with_context(|| format!("a {table} name"))?
                                .to_owned(),
                            user: declared["user"]
                                .as_str()
                                .with_context(|| format!("a {table} user"))?
                                .to_owned(),
                            kind: (*kind).to_owned(),
                            // The example fleet fixes no user's `uid`: the rule derives it.
                            uid: None,
                        })
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        extras.insert(name, (users, containers));
    }
    let defaults = document.get("defaults");
    for (table, _) in QUADLET_TABLES {
        if defaults.is_some_and(|defaults| defaults.get(table).is_some()) {
            bail!("[[defaults.{table}]]: teach this test to read it");
        }
    }
    let users = users_of(
        directory,
        Some(
            defaults
                .and_then(|defaults| defaults.get("users"))
                .context("no [[defaults.users]]")?,
        ),
    )?;
    Ok((static_groups, users, extras))
}

/// The users of one `users` array, with their keys read from inline keys and key files.
fn users_of(
    directory: &Path,
    written: Option<&toml::Value>,
) -> Result<BTreeMap<String, FleetUser>> {
    let mut users = BTreeMap::new();
    for user in written
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut keys = Vec::new();
        for file in user
            .get("ssh_key_files")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            let path = directory.join(file.as_str().context("a key file name")?);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            keys.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        for key in user
            .get("ssh_authorized_keys")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            keys.push(key.as_str().context("a key")?.to_owned());
        }
        let groups = user
            .get("groups")
            .and_then(toml::Value::as_array)
            .map(|groups| {
                groups
                    .iter()
                    .filter_map(|group| group.as_str().map(str::to_owned))
                    .collect()
            });
        let name = user
            .get("name")
            .and_then(toml::Value::as_str)
            .context("a user without a name")?;
        users.insert(name.to_owned(), FleetUser { keys, groups });
    }
    Ok(users)
}
