//! `fleet check` calling a fleet valid means `fleet plan`, `fleet render` and `fleet deploy --dry-run`
//! accept it, and calling it invalid means one of them refuses it: over every fleet file of the tests'
//! data (a table of hostile cases written over time) and over generated fleets that mix what each
//! command can refuse (windows, soak, caps, strategies, hosts and pins, snippets that do not
//! translate, versions and fields the version lacks, duplicate keys).
//!
//! `PROPTEST_CASES=500 cargo test -p fleet-tests --test check_means_works` hunts longer.

use std::fmt::Write as _;

use fleet_tests::data::{data_dir, repository, toml_files};
use fleet_tests::verdicts::verdicts;
use proptest::prelude::*;

#[test]
fn check_agrees_with_plan_and_render_on_every_fleet_of_the_tests() {
    let data = data_dir();
    let mut cases = vec![repository().join("fleet/fleet.toml")];
    for directory in ["check/valid", "check/invalid", "plan"] {
        cases.extend(toml_files(&data.join(directory)));
    }
    let mut disagreements = Vec::new();
    for case in &cases {
        let scratch = tempfile::tempdir().expect("temporary directory");
        let verdicts = verdicts(case, scratch.path(), None).expect("the commands run");
        if let Err(report) = verdicts.agree() {
            disagreements.push(format!("{}: {report}", case.display()));
        }
    }
    assert!(cases.len() > 40, "only {} cases", cases.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Snippets a generated group may name, written beside every generated fleet.
const SNIPPETS: &[(&str, &str)] = &[
    (
        "good.bu",
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: hello\n",
    ),
    ("broken.bu", "variant: fcos\nversion: 1.5.0\nstorage: [\n"),
    (
        "escape.bu",
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/x\n      contents:\n        local: ../../x\n",
    ),
    // Kernel arguments need Ignition 3.3.0: refused when the fleet writes an older spec.
    (
        "kargs.bu",
        "variant: fcos\nversion: 1.5.0\nkernel_arguments:\n  should_exist:\n    - mitigations=auto\n",
    ),
];

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com";

#[derive(Debug, Clone)]
struct RandomPeriod {
    days: Vec<&'static str>,
    start: (u8, u8),
    length_minutes: u32,
}

#[derive(Debug, Clone)]
struct RandomGroup {
    count: u32,
    max_unavailable: &'static str,
    canaries: &'static str,
    soak: &'static str,
    strategy: &'static str,
    snippet: Option<&'static str>,
    vcpus: u32,
    /// Pin the first node to this host (an index into the hosts, when there are any).
    pin: Option<usize>,
    /// Periods of its own instead of the fleet's.
    periods: Option<Vec<RandomPeriod>>,
}

#[derive(Debug, Clone)]
struct RandomFleet {
    ignition_version: Option<&'static str>,
    cap: Option<u32>,
    kernel_arguments: bool,
    duplicate_key: bool,
    time_zone: &'static str,
    window_minutes: u32,
    allowance_minutes: u32,
    periods: Vec<RandomPeriod>,
    groups: Vec<RandomGroup>,
    /// vCPUs of each host.
    hosts: Vec<u32>,
}

fn random_period() -> impl Strategy<Value = RandomPeriod> {
    let day = prop::sample::select(vec!["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    (
        prop::collection::btree_set(day, 1..4),
        0_u8..24,
        prop::sample::select(vec![0_u8, 30]),
        prop::sample::select(vec![20_u32, 60, 300, 600, 1440, 1440]),
    )
        .prop_map(|(days, hour, minute, length_minutes)| RandomPeriod {
            days: days.into_iter().collect(),
            start: (hour, minute),
            length_minutes,
        })
}

prop_compose! {
    fn random_group()(
        count in 1_u32..7,
        max_unavailable in prop::sample::select(vec!["1", "2", "\"50%\"", "\"100%\""]),
        canaries in prop::sample::select(vec!["0", "1", "2", "\"25%\""]),
        soak in prop::sample::select(vec!["0", "60", "\"1d\"", "\"7d\""]),
        strategy in prop::sample::select(vec!["periodic", "periodic", "periodic", "immediate", "fleet_lock"]),
        snippet in prop::option::of(prop::sample::select(vec![
            "good.bu", "good.bu", "broken.bu", "escape.bu", "kargs.bu",
        ])),
        vcpus in prop::sample::select(vec![1_u32, 2, 8]),
        pin in prop::option::of(0_usize..3),
        periods in prop::option::weighted(0.3, prop::collection::vec(random_period(), 1..3)),
    ) -> RandomGroup {
        RandomGroup { count, max_unavailable, canaries, soak, strategy, snippet, vcpus, pin, periods }
    }
}

prop_compose! {
    fn random_fleet()(
        ignition_version in prop::option::weighted(
            0.4,
            prop::sample::select(vec!["3.0.0", "3.2.0", "3.4.0", "3.6.0", "3.9.0"]),
        ),
        cap in prop::option::weighted(0.3, prop::sample::select(vec![1_u32, 2, 3, 6, 20])),
        kernel_arguments in prop::bool::weighted(0.2),
        duplicate_key in prop::bool::weighted(0.1),
        time_zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York"]),
        window_minutes in prop::sample::select(vec![5_u32, 10, 30, 60]),
        allowance_minutes in prop::sample::select(vec![0_u32, 10, 30]),
        periods in prop::collection::vec(random_period(), 1..3),
        groups in prop::collection::vec(random_group(), 1..4),
        hosts in prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(vec![4_u32, 64, 64]), 1..4),
        ],
    ) -> RandomFleet {
        RandomFleet {
            ignition_version,
            cap,
            kernel_arguments,
            duplicate_key,
            time_zone,
            window_minutes,
            allowance_minutes,
            periods,
            groups,
            hosts,
        }
    }
}

fn write_periods(toml: &mut String, table: &str, periods: &[RandomPeriod]) {
    for period in periods {
        let days: Vec<String> = period.days.iter().map(|day| format!("\"{day}\"")).collect();
        let _ = write!(
            toml,
            "\n[[{table}]]\ndays = [{}]\nstart = \"{}:{:02}\"\nlength_minutes = {}\n",
            days.join(", "),
            period.start.0,
            period.start.1,
            period.length_minutes
        );
    }
}

impl RandomFleet {
    fn to_toml(&self) -> String {
        let mut toml = String::from("[fleet]\nname = \"generated\"\n");
        if let Some(version) = self.ignition_version {
            let _ = writeln!(toml, "ignition_version = \"{version}\"");
        }
        toml.push_str("\n[fleet.image]\npath = \"fcos.qcow2\"\n\n[defaults]\n");
        if self.kernel_arguments {
            toml.push_str("kernel_arguments = [\"console=ttyS0\"]\n");
        }
        if self.duplicate_key {
            let _ = write!(
                toml,
                "\n[[defaults.users]]\nname = \"core\"\nssh_authorized_keys = [\"{KEY}\", \"{KEY}\"]\n"
            );
        }
        let _ = write!(
            toml,
            "\n[maintenance]\ntime_zone = \"{}\"\nwindow_minutes = {}\nreboot_allowance_minutes = {}\n",
            self.time_zone, self.window_minutes, self.allowance_minutes
        );
        if let Some(cap) = self.cap {
            let _ = writeln!(toml, "max_concurrent_reboots = {cap}");
        }
        write_periods(&mut toml, "maintenance.period", &self.periods);
        for (position, host_vcpus) in self.hosts.iter().enumerate() {
            let _ = write!(
                toml,
                "\n[[host]]\nname = \"hv{position}\"\nconnect = \"qemu+ssh://root@hv{position}/system\"\nvcpus = {host_vcpus}\nmemory_mib = 65536\ndisk_gib = 1000\n"
            );
        }
        for (position, group) in self.groups.iter().enumerate() {
            let _ = write!(
                toml,
                "\n[[group]]\nname = \"g{position}\"\ncount = {}\nvcpus = {}\n",
                group.count, group.vcpus
            );
            if let Some(snippet) = group.snippet {
                let _ = writeln!(toml, "butane = [\"{snippet}\"]");
            }
            let _ = write!(
                toml,
                "\n[group.rollout]\nmax_unavailable = {}\ncanaries = {}\nsoak_minutes = {}\n",
                group.max_unavailable, group.canaries, group.soak
            );
            let _ = write!(
                toml,
                "\n[group.maintenance]\nstrategy = \"{}\"\n",
                group.strategy
            );
            if group.strategy == "fleet_lock" {
                toml.push_str("fleet_lock_url = \"http://airlock.example.com:3333\"\n");
            }
            if let Some(periods) = &group.periods {
                write_periods(&mut toml, "group.maintenance.period", periods);
            }
            if let Some(pin) = group.pin
                && !self.hosts.is_empty()
            {
                let _ = write!(
                    toml,
                    "\n[[group.node]]\nname = \"g{position}-1\"\nhost = \"hv{}\"\n",
                    pin % self.hosts.len()
                );
            }
        }
        toml
    }
}

proptest! {
    // 24 cases by default (each runs four commands); PROPTEST_CASES=500 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn check_accepts_exactly_the_generated_fleets_plan_render_and_deploy_accept(fleet in random_fleet()) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let fleet_toml = directory.path().join("fleet.toml");
        std::fs::write(&fleet_toml, fleet.to_toml()).expect("write the fleet");
        for (name, text) in SNIPPETS {
            std::fs::write(directory.path().join(name), text).expect("write a snippet");
        }
        let image = directory.path().join("fcos.qcow2");
        std::fs::write(&image, b"").expect("write the placeholder image");
        // deploy runs on libvirt's in-process test driver, which stands in for the fleet's single
        // connection; fleets with [[host]] would need their hosts.
        let deploy_image = fleet.hosts.is_empty().then_some(image.as_path());
        let verdicts = verdicts(&fleet_toml, directory.path(), deploy_image).expect("the commands run");
        if let Err(report) = verdicts.agree() {
            panic!("{report}\nthe fleet:\n{}", fleet.to_toml());
        }
    }
}
