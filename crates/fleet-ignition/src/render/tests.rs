//! Rendering tests on small fleets loaded from memory: generated parts, precedence, version
//! handling, the Butane view, and a cross-check with Fedora CoreOS's own `ignition-config` types.

use std::collections::BTreeMap;

use fleet_spec::{LoadedFleet, MemoryFiles};

use super::*;
use crate::TranslateOptions;
use crate::ignition::data_url_contents;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com";
const HASH: &str = "$6$fleetsalt$UQJM/G.2VxdBTPg8aIJBBZ..kFrsVtjpUkRXo6OCg.Uc0aG7XEvvKeRSXGk8DCdmgIjAFeStRI.UUjC96lgfh/";

fn fleet_toml(extra_group: &str, version: &str) -> String {
    format!(
        r#"
[fleet]
name = "t"
{version}

[fleet.image]
path = "fcos.qcow2"

[defaults]
butane = ["base.bu"]
kernel_arguments = ["console=ttyS0"]
time_zone = "America/New_York"

[[defaults.users]]
name = "core"
ssh_authorized_keys = ["{KEY}"]
password_hash = "{HASH}"
groups = ["wheel"]

[maintenance]
time_zone = "UTC"
window_minutes = 30

[[maintenance.period]]
days = ["Sat", "Sun"]
start = "22:00"
length_minutes = 480

[[group]]
name = "web"
count = 2
hostname = "web-{{index}}"
butane = ["web.bu"]

[group.network]
mode = "static"
cidr = "10.0.0.0/24"
first_address = "10.0.0.10"
gateway = "10.0.0.1"
dns = ["10.0.0.1", "fd00::1"]
{extra_group}
"#
    )
}

const BASE: &str = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: from-snippet\n    - path: /etc/motd\n      mode: 0644\n      contents:\n        inline: |\n          hello\n          world\n";
const WEB: &str = "variant: fcos\nversion: 1.6.0\nsystemd:\n  units:\n    - name: web.service\n      enabled: true\n      contents: |\n        [Service]\n        ExecStart=/bin/true\n        [Install]\n        WantedBy=multi-user.target\n";

fn load(toml: &str, snippets: &[(&str, &str)]) -> LoadedFleet {
    let mut files = MemoryFiles::new();
    for (path, text) in snippets {
        files.insert(*path, text.as_bytes());
    }
    match fleet_spec::load("fleet.toml", toml.as_bytes(), &files) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("test fleet is invalid:\n{diagnostics}"),
    }
}

fn library(loaded: &LoadedFleet) -> SnippetLibrary {
    SnippetLibrary::translate(&loaded.snippets, None).expect("snippets translate")
}

/// What the CLI hands in for a planned node: a Zincati fragment, and the claim on their directory.
fn fragments() -> NodePayload {
    NodePayload {
        files: vec![PayloadFile::new(
            "/etc/zincati/config.d/51-rollout-wariness.toml",
            0o644,
            "[identity]\nrollout_wariness = 0.25\n",
        )],
        claimed_directories: vec![ClaimedDirectory {
            path: "/etc/zincati/config.d/".to_owned(),
            what: "the Zincati fragment".to_owned(),
            why: "which the rollout plan does not account for".to_owned(),
        }],
        ..NodePayload::default()
    }
}

fn file_text(config: &Config, path: &str) -> String {
    let file = config
        .storage
        .files
        .iter()
        .find(|file| file.node.path == path)
        .unwrap_or_else(|| panic!("{path} is written"));
    let bytes = data_url_contents(
        file.contents.source.as_deref().expect("inline source"),
        file.contents.compression.as_deref(),
    )
    .expect("data URL decodes");
    String::from_utf8(bytes).expect("text")
}

fn default_fleet() -> LoadedFleet {
    load(&fleet_toml("", ""), &[("base.bu", BASE), ("web.bu", WEB)])
}

#[test]
fn generated_parts_are_what_the_fleet_file_says() {
    let loaded = default_fleet();
    let fleet = &loaded.fleet;
    let node = &fleet.nodes[1];
    let composed = compose_node(
        fleet,
        node,
        &library(&loaded),
        &fragments(),
        IgnitionVersion::V3_5,
    )
    .unwrap();
    let config = &composed.config;

    assert_eq!(file_text(config, HOSTNAME_PATH), "web-2\n");
    let keyfile = config
        .storage
        .files
        .iter()
        .find(|file| file.node.path == STATIC_KEYFILE_PATH)
        .expect("a keyfile for static addressing");
    assert_eq!(keyfile.mode, Some(0o600));
    let keyfile_text = file_text(config, STATIC_KEYFILE_PATH);
    assert!(
        keyfile_text.contains(&format!("mac-address={}\n", node.mac)),
        "{keyfile_text}"
    );
    assert!(
        keyfile_text
            .contains("method=manual\naddresses=10.0.0.11/24\ngateway=10.0.0.1\ndns=10.0.0.1;\n"),
        "{keyfile_text}"
    );
    assert!(
        keyfile_text.contains("[ipv6]\nmethod=auto\ndns=fd00::1;\n"),
        "{keyfile_text}"
    );

    assert_eq!(
        file_text(config, "/etc/zincati/config.d/51-rollout-wariness.toml"),
        "[identity]\nrollout_wariness = 0.25\n"
    );
    let link = config
        .storage
        .links
        .iter()
        .find(|link| link.node.path == TIME_ZONE_PATH)
        .unwrap();
    assert_eq!(
        link.target.as_deref(),
        Some("../usr/share/zoneinfo/America/New_York")
    );

    let core = config
        .passwd
        .users
        .iter()
        .find(|user| user.name == "core")
        .unwrap();
    assert_eq!(core.ssh_authorized_keys, vec![KEY.to_owned()]);
    assert_eq!(core.password_hash.as_deref(), Some(HASH));
    assert_eq!(core.groups, vec!["wheel".to_owned()]);
    assert_eq!(
        config.kernel_arguments.should_exist,
        vec!["console=ttyS0".to_owned()]
    );

    // The snippets are there too, in order: base's motd and web's unit.
    assert_eq!(file_text(config, "/etc/motd"), "hello\nworld\n");
    assert_eq!(config.systemd.units[0].name, "web.service");
}

#[test]
fn generated_paths_replace_snippet_entries_with_a_warning_naming_both() {
    let loaded = default_fleet();
    let fleet = &loaded.fleet;
    let composed = compose_node(
        fleet,
        &fleet.nodes[0],
        &library(&loaded),
        &NodePayload::default(),
        IgnitionVersion::V3_5,
    )
    .unwrap();
    let hostnames: Vec<_> = composed
        .config
        .storage
        .files
        .iter()
        .filter(|file| file.node.path == HOSTNAME_PATH)
        .collect();
    assert_eq!(hostnames.len(), 1, "one /etc/hostname");
    assert_eq!(file_text(&composed.config, HOSTNAME_PATH), "web-1\n");
    assert_eq!(composed.warnings.len(), 1, "{:?}", composed.warnings);
    let warning = composed.warnings[0].to_string();
    assert!(
        warning.contains("web-1")
            && warning.contains("base.bu")
            && warning.contains("/etc/hostname"),
        "{warning}"
    );
}

#[test]
fn snippet_files_in_a_claimed_directory_are_flagged_unless_fleet_writes_them() {
    // 51-rollout-wariness.toml is the payload's own (replaced, with that warning); 60-windows.toml
    // is the snippet's alone, in the directory the payload claims.
    let base = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/zincati/config.d/60-windows.toml\n      contents:\n        inline: \"[updates]\\nstrategy = \\\"immediate\\\"\\n\"\n    - path: /etc/zincati/config.d/51-rollout-wariness.toml\n      contents:\n        inline: x\n";
    let loaded = load(&fleet_toml("", ""), &[("base.bu", base), ("web.bu", WEB)]);
    let fleet = &loaded.fleet;
    let composed = compose_node(
        fleet,
        &fleet.nodes[0],
        &library(&loaded),
        &fragments(),
        IgnitionVersion::V3_5,
    )
    .unwrap();
    let messages: Vec<&str> = composed
        .warnings
        .iter()
        .map(|warning| warning.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "/etc/zincati/config.d/51-rollout-wariness.toml from base.bu is replaced by what fleet.toml generates for this node",
            "base.bu writes the Zincati fragment /etc/zincati/config.d/60-windows.toml, which the rollout plan does not account for",
        ]
    );
}

#[test]
fn units_fleet_writes_replace_a_snippets_contents_and_drop_ins_with_a_warning() {
    let web = "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: web.service\n      enabled: true\n      contents: \"[Service]\\nExecStart=/bin/true\\n\"\n      dropins:\n        - name: 10-limits.conf\n          contents: \"[Service]\\nMemoryMax=1G\\n\"\n        - name: 20-own.conf\n          contents: \"[Service]\\nNice=5\\n\"\n";
    let loaded = load(&fleet_toml("", ""), &[("base.bu", BASE), ("web.bu", web)]);
    let fleet = &loaded.fleet;
    let payload = NodePayload {
        units: vec![PayloadUnit {
            name: "web.service".to_owned(),
            scope: UnitScope::System { enabled: None },
            contents: Some("[Service]\nExecStart=/bin/false\n".to_owned()),
            dropins: vec![UnitDropin {
                name: "10-limits.conf".to_owned(),
                contents: "[Service]\nMemoryMax=2G\n".to_owned(),
            }],
        }],
        ..NodePayload::default()
    };
    let composed = compose_node(
        fleet,
        &fleet.nodes[0],
        &library(&loaded),
        &payload,
        IgnitionVersion::V3_5,
    )
    .unwrap();
    let unit = &composed.config.systemd.units[0];
    assert_eq!(
        unit.contents.as_deref(),
        Some("[Service]\nExecStart=/bin/false\n")
    );
    // Enablement the payload leaves open stays the snippet's; its other drop-in stays too.
    assert_eq!(unit.enabled, Some(true));
    let dropins: Vec<(&str, Option<&str>)> = unit
        .dropins
        .iter()
        .map(|dropin| (dropin.name.as_str(), dropin.contents.as_deref()))
        .collect();
    assert_eq!(
        dropins,
        [
            ("10-limits.conf", Some("[Service]\nMemoryMax=2G\n")),
            ("20-own.conf", Some("[Service]\nNice=5\n")),
        ]
    );
    let messages: Vec<&str> = composed
        .warnings
        .iter()
        .filter(|warning| !warning.message.contains("/etc/hostname"))
        .map(|warning| warning.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "drop-in 10-limits.conf of unit web.service from web.bu is replaced by what fleet.toml generates for this node",
            "unit web.service from web.bu is replaced by what fleet.toml generates for this node",
        ]
    );
}

#[test]
fn output_is_written_for_the_fleet_version_and_parses_with_ignition_config() {
    for (setting, version) in [
        ("", IgnitionVersion::V3_6),
        ("ignition_version = \"3.5.0\"", IgnitionVersion::V3_5),
        ("ignition_version = \"3.3.0\"", IgnitionVersion::V3_3),
    ] {
        let web = if version < IgnitionVersion::V3_5 {
            WEB.replace("1.6.0", "1.4.0")
        } else {
            WEB.to_owned()
        };
        let loaded = load(
            &fleet_toml("", setting),
            &[("base.bu", BASE), ("web.bu", &web)],
        );
        let fleet = &loaded.fleet;
        assert_eq!(target_version(fleet).unwrap(), version);
        let rendered = render_node(
            fleet,
            &fleet.nodes[0],
            &library(&loaded),
            &fragments(),
            version,
        )
        .unwrap();
        assert!(
            rendered
                .json
                .starts_with(&format!("{{\"ignition\":{{\"version\":\"{version}\"}}"))
        );
        assert!(rendered.json.ends_with("}\n"));
        let (_, warnings) = ignition_config::Config::parse_str(&rendered.json)
            .unwrap_or_else(|error| panic!("{version}: {error}\n{}", rendered.json));
        assert!(warnings.is_empty(), "{version}: {warnings:?}");
    }
}

#[test]
fn fields_the_target_spec_lacks_are_an_error_naming_the_node() {
    // Kernel arguments need spec 3.3.0; the web snippet (fcos 1.6.0) is fine as a 3.2.0 config
    // only while it uses nothing newer.
    let loaded = load(
        &fleet_toml("", "ignition_version = \"3.2.0\""),
        &[
            ("base.bu", &BASE.replace("1.4.0", "1.3.0")),
            ("web.bu", &WEB.replace("1.6.0", "1.3.0")),
        ],
    );
    let fleet = &loaded.fleet;
    let error = render_node(
        fleet,
        &fleet.nodes[0],
        &library(&loaded),
        &fragments(),
        IgnitionVersion::V3_2,
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("node web-1: Ignition spec 3.2.0 has no field"),
        "{message}"
    );
    assert!(message.contains("kernelArguments"), "{message}");
}

#[test]
fn failing_snippets_are_all_reported_with_file_and_line() {
    let bad = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/relative\n";
    let snippets = BTreeMap::from([
        ("a.bu".into(), bad.to_owned()),
        ("b.bu".into(), "variant: fcos\nversion: 1.9.0\n".to_owned()),
        ("c.bu".into(), WEB.to_owned()),
    ]);
    let errors = SnippetLibrary::translate(&snippets, None).unwrap_err();
    assert_eq!(errors.len(), 2);
    let first = errors[0].to_string();
    assert!(
        first.contains("a.bu:5:") && first.contains("path not absolute"),
        "{first}"
    );
    let second = errors[1].to_string();
    assert!(
        second.contains("b.bu") && second.contains("No translator exists"),
        "{second}"
    );
}

#[test]
fn rendering_is_deterministic() {
    let loaded = default_fleet();
    let fleet = &loaded.fleet;
    let once = render_node(
        fleet,
        &fleet.nodes[0],
        &library(&loaded),
        &fragments(),
        IgnitionVersion::V3_5,
    )
    .unwrap();
    let again = render_node(
        fleet,
        &fleet.nodes[0],
        &library(&default_fleet()),
        &fragments(),
        IgnitionVersion::V3_5,
    )
    .unwrap();
    assert_eq!(once, again);
}

#[test]
fn the_butane_view_translates_back_to_the_same_ignition() {
    let loaded = default_fleet();
    let fleet = &loaded.fleet;
    for version in [
        IgnitionVersion::V3_3,
        IgnitionVersion::V3_5,
        IgnitionVersion::V3_6,
    ] {
        let composed = compose_node(
            fleet,
            &fleet.nodes[0],
            &library(&loaded),
            &fragments(),
            version,
        )
        .unwrap();
        let butane = to_butane(&composed.config, version).unwrap();
        assert!(butane.contains("variant: fcos\n"), "{butane}");
        assert!(butane.contains("mode: 0600\n"), "{butane}");
        assert!(butane.contains("inline: |\n"), "{butane}");
        let translation = crate::translate(butane.as_bytes(), &TranslateOptions::default())
            .unwrap_or_else(|error| panic!("{error}: {:?}\n{butane}", error.report));
        assert_eq!(translation.ignition_version, version);
        assert!(
            translation.report.is_empty(),
            "{:?}\n{butane}",
            translation.report
        );
        assert_eq!(translation.config, composed.config, "{butane}");
    }
}

#[test]
fn the_butane_view_keeps_awkward_text_exact() {
    let texts = [
        "no newline",
        "one\n",
        "two\n\n",
        "  indented first\nline\n",
        "trailing space \nx\n",
        "tab\tinside\nand \"quotes\" & <html>\n",
        "\nleading empty line\n",
        "unicode ✓ and \u{2028} separator\n",
        "",
    ];
    for text in texts {
        let mut config = Config::default();
        config.storage.files.push(ignition::File {
            node: ignition::Node {
                path: "/etc/x".to_owned(),
                ..ignition::Node::default()
            },
            contents: ignition::Resource {
                source: Some(ignition::make_data_url(text.as_bytes(), None, true).url),
                compression: Some(String::new()),
                ..ignition::Resource::default()
            },
            ..ignition::File::default()
        });
        let butane = to_butane(&config, IgnitionVersion::V3_4).unwrap();
        let translation = crate::translate(butane.as_bytes(), &TranslateOptions::default())
            .unwrap_or_else(|error| panic!("{error}\n{butane}"));
        assert_eq!(file_text(&translation.config, "/etc/x"), text, "{butane}");
    }
}
