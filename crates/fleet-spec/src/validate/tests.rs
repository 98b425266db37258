//! Validation as a whole: the example fleet, inheritance across levels, expansion, derived identities and
//! the messages that span tables.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;

use crate::expand::{mac_from_seed, mac_seed};
use crate::model::{
    Addressing, Canaries, Fleet, Location, MacAddress, MaintenancePeriod, MaxUnavailable, Role,
};

const EXAMPLE: &str = include_str!("../../../../fleet/fleet.toml");

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
    let addresses: Vec<Option<Ipv4Addr>> = fleet.nodes.iter().map(|node| node.address).collect();
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

#[test]
fn a_soak_time_spelt_another_way_is_refused_with_the_one_spelling() {
    let soak = |written: &str| {
        problems(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 1\n[group.rollout]\nsoak_minutes = {written}\n"
        ))
    };
    let refused = |text: &str| {
        format!(
            "error: group[0].rollout.soak_minutes: `{text}` is not a duration such as \"90m\", \"2h\", \"1h30m\" or \"1d\""
        )
    };
    for (written, suggestion) in [
        ("\"30m2h\"", "2h30m"),
        ("\"1h1h\"", "2h"),
        ("\"90\"", "90m"),
        ("\" 2h\"", "2h"),
    ] {
        let message = soak(written);
        let text = written.trim_matches('"');
        assert!(
            message.ends_with(&format!("{}; did you mean `{suggestion}`?", refused(text))),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    assert!(soak("\"2 hours\"").ends_with(&refused("2 hours")));
    assert!(soak("\"30d1m\"").ends_with(
        "group[0].rollout.soak_minutes: must be between 0 and 43200 minutes (30 days), found 43201"
    ));
    assert_eq!(
        parse(&format!(
            "{HEADER}\n[[group]]\nname = \"g\"\ncount = 1\n[group.rollout]\nsoak_minutes = \"1d2h30m\"\n"
        ))
        .groups[0]
            .rollout
            .soak_minutes,
        1590
    );
}

#[test]
fn health_checks_accumulate_and_the_most_specific_settings_win() {
    let fleet = parse(&format!(
        r#"{HEADER}
[defaults.health]
units = ["sshd.service"]
commands = [["/usr/bin/true"]]
timeout_minutes = 3

[[group]]
name = "web"
count = 2
[group.health]
units = ["nginx.service", "sshd.service"]
retry_seconds = 5
rollback = false
[[group.health.http]]
url = "http://127.0.0.1:8080/healthz"

[[group.node]]
name = "web-2"
[group.node.health]
max_rollbacks = 2
rollback = true
[[group.node.health.http]]
url = "http://127.0.0.1:9090/ready"
status = 204
timeout_seconds = 2
"#
    ));
    let first = &fleet.nodes[0].settings.health;
    assert_eq!(first.units, ["sshd.service", "nginx.service"]);
    assert_eq!(first.commands[0].arguments, ["/usr/bin/true"]);
    assert_eq!(first.http.len(), 1);
    assert_eq!(first.http[0].status, 200);
    assert_eq!(first.http[0].timeout_seconds, 5);
    assert_eq!((first.timeout_minutes, first.retry_seconds), (3, 5));
    assert!(!first.rollback);
    assert_eq!(first.max_rollbacks, 1);
    assert!(first.gates_boot());
    let second = &fleet.nodes[1].settings.health;
    let urls: Vec<&str> = second.http.iter().map(|check| check.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:8080/healthz",
            "http://127.0.0.1:9090/ready"
        ]
    );
    assert_eq!(
        (second.http[1].status, second.http[1].timeout_seconds),
        (204, 2)
    );
    assert!(second.rollback);
    assert_eq!(second.max_rollbacks, 2);
}

#[test]
fn a_node_without_checks_is_not_health_gated() {
    let fleet = parse(&format!("{HEADER}\n[[group]]\nname = \"web\"\ncount = 1\n"));
    assert!(!fleet.nodes[0].settings.health.gates_boot());
}

#[test]
fn every_health_problem_is_reported_at_once() {
    let found = problems(&format!(
        r#"{HEADER}
[[group]]
name = "web"
count = 1
[group.health]
units = ["sshd", "nginx.service", "nginx.service", "getty@.service"]
commands = ["systemctl is-active x", [], [""]]
timeout_minutes = 1
retry_seconds = 60
max_rollbacks = 101
[[group.health.http]]
status = 200
[[group.health.http]]
url = "localhost:8080"
"#
    ));
    for expected in [
        "group[0].health.units[0]: `sshd` has no unit type; did you mean `sshd.service`?",
        "group[0].health.units: `nginx.service` is listed twice at this level",
        "group[0].health.units[3]: `getty@.service` is a template",
        "group[0].health.commands[0]: a command is a list of its arguments, found a string",
        "group[0].health.commands[1]: the command is empty",
        "group[0].health.commands[2]: the program (the first argument) is empty",
        "group[0].health.retry_seconds: 60 seconds between tries leaves no second try",
        "group[0].health.max_rollbacks: must be between 0 and 100, found 101",
        "group[0].health.http[0]: missing key `url`",
        "group[0].health.http[1].url: `localhost:8080` is not an http:// or https:// URL",
    ] {
        assert!(found.contains(expected), "{expected}\nin:\n{found}");
    }
    assert!(found.starts_with("test.toml:"), "{found}");
}

const SITE: &str = r#"
[[group.container]]
name = "site"
image = "docker.io/library/nginx:1.27"
user = "core"
"#;

#[test]
fn container_checks_accumulate_by_name_and_gate_the_boot() {
    let fleet = parse(&format!(
        r#"{HEADER}
[defaults.health]
containers = ["site"]

[[group]]
name = "web"
count = 2
{SITE}
[[group.container]]
name = "cache"
image = "docker.io/library/redis:7"
user = "root"

[[group.node]]
name = "web-2"
[group.node.health]
containers = ["cache", "site"]
"#
    ));
    let names = |index: usize| -> Vec<String> {
        fleet.nodes[index]
            .settings
            .health
            .containers
            .iter()
            .map(|check| check.name.clone())
            .collect()
    };
    assert_eq!(names(0), ["site"]);
    assert_eq!(names(1), ["site", "cache"]);
    assert!(fleet.nodes[0].settings.health.gates_boot());
    assert_eq!(fleet.nodes[1].settings.health.check_count(), 2);
}

#[test]
fn a_container_check_must_name_a_container_of_the_node() {
    let found = problems(&format!(
        r#"{HEADER}
[[group]]
name = "web"
count = 2
{SITE}
[group.health]
containers = ["stie", "site", "site", "db"]

[[group]]
name = "plain"
count = 1
[group.health]
containers = ["site"]
"#
    ));
    for expected in [
        "health.containers: node web-1 has no container `stie`; did you mean `site`?",
        "group[0].health.containers: `site` is listed twice at this level",
        "health.containers: node web-1 has no container `db`; its containers are `site`",
        "health.containers: node plain-1 has no container `site`; it runs no containers",
    ] {
        assert!(found.contains(expected), "{expected}\nin:\n{found}");
    }
    // Once per distinct composition: web-2 shares web-1's settings.
    assert!(!found.contains("node web-2"), "{found}");
}
