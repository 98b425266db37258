//! `fleet diff`: what `fleet deploy` would do, node by node, as a table or JSON, optionally saved;
//! and `fleet deploy --plan`, which applies exactly such a saved diff.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use fleet_libvirt::{Action, DeployOptions};
use fleet_spec::ReadLimit;
use tabled::{Table, Tabled};

use fleet_cli::cmd::diff::Args;
use fleet_cli::local_files::read_regular_file;
use fleet_cli::output_file::{Access, write_output_file};
use fleet_cli::tables::{colours_wanted, finish_table, trimmed};

use crate::cmd::deploy::deploy_and_report;
use crate::deploy_input::{DeployInput, deploy_input};
use crate::digest_cache::image_digest_cache;
use crate::fleet_diff::{DiffTarget, FleetDiff};
use crate::progress::Progress;
use crate::views::print_report;

/// A saved diff of a million nodes is a few hundred megabytes of JSON.
const SAVED_DIFF: ReadLimit = ReadLimit {
    bytes: 1 << 30,
    what: "a saved diff",
};

/// The exit status when something would change (as `terraform plan -detailed-exitcode`).
const CHANGES: u8 = 2;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = DiffTarget::new(&args.target, args.replace, args.prune);
    let (diff, input, _) = make_diff(&args.fleet, target, args.jobs)?;
    input.session.close();
    if let Some(path) = &args.out {
        let mut json = serde_json::to_vec_pretty(&diff)?;
        json.push(b'\n');
        write_output_file(path, &json, Access::Default)?;
        eprintln!(
            "wrote the diff to {}; `fleet deploy --plan {}` applies exactly it",
            path.display(),
            path.display()
        );
    }
    print_report(args.format, &diff, |out| {
        write_diff_table(out, &diff, colours_wanted())
    })?;
    Ok(if diff.errors > 0 {
        ExitCode::FAILURE
    } else if diff.changes > 0 {
        ExitCode::from(CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

/// Deploy's dry-run decision for the fleet with `target`'s arguments, as a diff; what it was
/// decided from, for a deploy that follows; and each node's action, to hold that deploy to.
fn make_diff(
    fleet_file: &Path,
    target: DiffTarget,
    jobs: u16,
) -> anyhow::Result<(FleetDiff, DeployInput, BTreeMap<String, Action>)> {
    let input = deploy_input(fleet_file, &target.target_args(), jobs)?;
    let options = DeployOptions {
        jobs: usize::from(jobs),
        dry_run: true,
        replace: target.replace,
        image_digest_cache: image_digest_cache(),
        reviewed: None,
    };
    let progress = Progress::new(
        input.desired.nodes.iter().map(|node| node.host.as_str()),
        "comparing",
    );
    let report = input
        .session
        .deploy(&input.desired, &options, &|event| progress.on_event(event));
    progress.finish();
    let fleet_nodes: BTreeSet<&str> = input
        .planned
        .loaded
        .fleet
        .nodes
        .iter()
        .map(|node| node.name.as_str())
        .collect();
    let diff = FleetDiff::new(fleet_file, target, &input.desired, &report, &fleet_nodes)?;
    let actions = report
        .nodes
        .iter()
        .filter_map(|node| Some((node.node.clone(), node.action.clone()?)))
        .collect();
    Ok((diff, input, actions))
}

/// `fleet deploy --plan FILE`: make the diff again with the saved arguments and deploy only when
/// it is the one saved (same digest, same actions and differences for every node).
pub(crate) fn deploy_plan(
    plan_file: &Path,
    args: &fleet_cli::cmd::deploy::Args,
) -> anyhow::Result<ExitCode> {
    let bytes = read_regular_file(plan_file, SAVED_DIFF)
        .with_context(|| format!("cannot read the diff {}", plan_file.display()))?;
    let saved: FleetDiff = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a diff saved by `fleet diff --out FILE`",
            plan_file.display()
        )
    })?;
    if saved.errors > 0 {
        anyhow::bail!(
            "the diff {} has {} node(s) that cannot be deployed; nothing was deployed: fix them, then run `fleet diff --out {}` again",
            plan_file.display(),
            saved.errors,
            plan_file.display()
        );
    }
    let (now, input, reviewed) =
        make_diff(Path::new(&saved.fleet), saved.target.clone(), args.jobs)?;
    let again = format!(
        "nothing was deployed; run `fleet diff --out {}` again and review it",
        plan_file.display()
    );
    if now.fleet_digest != saved.fleet_digest {
        input.session.close();
        anyhow::bail!(
            "{} changed since the diff {} was made (the fleet file, a file it names or the base image: digest {}, now {}); {again}",
            saved.fleet,
            plan_file.display(),
            saved.fleet_digest,
            now.fleet_digest
        );
    }
    let changed = saved.changed_since(&now);
    if !changed.is_empty() {
        input.session.close();
        anyhow::bail!(
            "what runs changed since the diff {} was made; {again}:\n  {}",
            plan_file.display(),
            changed.join("\n  ")
        );
    }
    let options = DeployOptions {
        jobs: usize::from(args.jobs),
        dry_run: false,
        replace: saved.target.replace,
        image_digest_cache: image_digest_cache(),
        // The saved diff equals this dry run's, node by node: a node whose decision changes in the
        // instant before the deploy reaches it fails untouched instead of doing what nobody read.
        reviewed: Some(reviewed),
    };
    deploy_and_report(input, &options, args.format, saved.target.prune)
}

#[derive(Tabled)]
struct DiffRow {
    #[tabled(rename = "NODE")]
    node: String,
    #[tabled(rename = "HOST")]
    host: String,
    #[tabled(rename = "ACTION")]
    action: String,
    #[tabled(rename = "NEEDS REPLACE")]
    needs_replace: &'static str,
    #[tabled(rename = "DETAILS")]
    details: String,
}

fn write_diff_table(out: &mut dyn Write, diff: &FleetDiff, colour: bool) -> anyhow::Result<()> {
    let rows: Vec<DiffRow> = diff
        .nodes
        .iter()
        .map(|node| {
            let mut details = node.details();
            if node.action == "remove" {
                details.push("no longer in the fleet file; deploy leaves it".to_owned());
            }
            DiffRow {
                node: node.node.clone(),
                host: node.host.clone(),
                action: node.action.clone(),
                needs_replace: if node.needs_replace { "yes" } else { "" },
                details: details.join("\n"),
            }
        })
        .collect();
    let mut table = Table::new(&rows);
    finish_table(&mut table, colour);
    writeln!(out, "{}", trimmed(&table))?;
    let count = |action: &str| {
        diff.nodes
            .iter()
            .filter(|node| node.action == action)
            .count()
    };
    writeln!(
        out,
        "\n{} nodes: {} create, {} unchanged, {} change, {} remove, {} cannot be deployed",
        diff.nodes.len(),
        count("create"),
        count("unchanged"),
        count("change"),
        count("remove"),
        diff.errors
    )?;
    let to_replace = diff.nodes.iter().filter(|node| node.needs_replace).count();
    if to_replace > 0 {
        if diff.target.replace {
            writeln!(
                out,
                "{to_replace} changed node(s) would be rebuilt (--replace)"
            )?;
        } else {
            writeln!(
                out,
                "{to_replace} changed node(s) would be left as they are; `fleet diff --replace` shows a deploy that rebuilds them"
            )?;
        }
    }
    let to_remove = count("remove");
    if to_remove > 0 {
        if diff.target.prune {
            writeln!(
                out,
                "{to_remove} domain(s) the fleet file no longer has would be removed (--prune)"
            )?;
        } else {
            writeln!(
                out,
                "{to_remove} domain(s) the fleet file no longer has would be left as they are; `fleet diff --prune` shows a deploy that removes them"
            )?;
        }
    }
    if diff.changes == 0 && diff.errors == 0 {
        writeln!(out, "no changes: every node runs as {} says", diff.fleet)?;
    }
    Ok(())
}

/// `fleet diff` and `fleet deploy --plan` run in this process on libvirt's `test:///default`,
/// whose state every connection of a process shares while one is open: what one deploy created
/// the next diff sees, as on a real hypervisor.
#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use fleet_cli::cmd::shared_args::{TableOrJson, TargetArgs};
    use fleet_libvirt::{HostTarget, Session, SessionOptions};

    use super::*;
    use crate::fleet_diff::{DiffEntry, NodeDiff};

    /// A fleet on `test:///default` in its own directory: groups `vcpus`, `memory`, `disk`,
    /// `config` (with a snippet) and `gone`, one node each, named after the fleet (domain names are
    /// one namespace on a host, and the tests share one).
    struct TestFleet {
        directory: tempfile::TempDir,
        name: String,
    }

    impl TestFleet {
        fn new(name: &str) -> TestFleet {
            let fleet = TestFleet {
                directory: tempfile::tempdir().unwrap(),
                name: name.to_owned(),
            };
            std::fs::write(fleet.path("base.qcow2"), b"QFI\xfbthe first build").unwrap();
            std::fs::write(fleet.path("newer.qcow2"), b"QFI\xfba later build").unwrap();
            fleet.write_snippet("motd one");
            fleet.write(&[("vcpus", ""), ("memory", ""), ("disk", ""), ("gone", "")]);
            fleet
        }

        fn path(&self, name: &str) -> PathBuf {
            self.directory.path().join(name)
        }

        fn fleet_file(&self) -> PathBuf {
            self.path("fleet.toml")
        }

        fn write_snippet(&self, motd: &str) {
            std::fs::write(
                self.path("motd.bu"),
                format!("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: {motd}\n"),
            )
            .unwrap();
        }

        /// The fleet with these groups, each with its extra keys, and group `config` always.
        fn write(&self, groups: &[(&str, &str)]) {
            let mut toml = format!(
                "[fleet]\nname = \"{}\"\nconnect = \"test:///default\"\n\n[fleet.image]\npath = \"base.qcow2\"\n\n[fleet.pool]\npath = \"{}\"\n\n[[maintenance.period]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength_minutes = 240\n",
                self.name,
                self.path("pool").display()
            );
            for (group, extra) in groups
                .iter()
                .chain(&[("config", "butane = [\"motd.bu\"]\n")])
            {
                toml.push_str(&format!(
                    "\n[[group]]\nname = \"{}-{group}\"\ncount = 1\n{extra}",
                    self.name
                ));
            }
            std::fs::write(self.fleet_file(), toml).unwrap();
        }

        fn target(&self, image: Option<&str>) -> TargetArgs {
            TargetArgs {
                connect: Vec::new(),
                image: image.map(|name| self.path(name)),
                nodes: Vec::new(),
            }
        }

        fn diff(&self, image: Option<&str>, replace: bool) -> FleetDiff {
            let (diff, input, _) = make_diff(
                &self.fleet_file(),
                DiffTarget::new(&self.target(image), replace, false),
                2,
            )
            .unwrap();
            input.session.close();
            diff
        }

        fn deploy_args(&self) -> fleet_cli::cmd::deploy::Args {
            fleet_cli::cmd::deploy::Args {
                fleet: self.fleet_file(),
                target: self.target(None),
                jobs: 2,
                dry_run: false,
                replace: false,
                prune: false,
                plan: None,
                format: TableOrJson::Json,
            }
        }

        fn deploy(&self) {
            crate::cmd::deploy::run(self.deploy_args()).unwrap();
        }
    }

    /// Keeps `test:///default`'s state alive between the commands' own sessions.
    fn keep_test_driver_state() -> Session {
        Session::open(
            &[HostTarget {
                name: "keeper".to_owned(),
                uri: "test:///default".to_owned(),
            }],
            &SessionOptions::default(),
        )
    }

    /// Each node's group and action, in the diff's order.
    fn actions(diff: &FleetDiff) -> Vec<(String, &str)> {
        diff.nodes
            .iter()
            .map(|node| {
                let group = node.node.rsplit('-').nth(1).unwrap_or_default();
                (group.to_owned(), node.action.as_str())
            })
            .collect()
    }

    /// The node of group `group` (its only one).
    fn node<'d>(diff: &'d FleetDiff, group: &str) -> &'d NodeDiff {
        diff.nodes
            .iter()
            .find(|node| node.node.ends_with(&format!("-{group}-1")))
            .unwrap()
    }

    fn entry(what: &str, from: &str, to: &str) -> DiffEntry {
        DiffEntry {
            what: what.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }

    #[test]
    fn diff_shows_create_unchanged_each_change_and_remove_as_deploy_decides_them() {
        let _keeper = keep_test_driver_state();
        let fleet = TestFleet::new("diff-kinds");
        let first = fleet.diff(None, false);
        assert_eq!(
            actions(&first),
            [
                ("config".to_owned(), "create"),
                ("disk".to_owned(), "create"),
                ("gone".to_owned(), "create"),
                ("memory".to_owned(), "create"),
                ("vcpus".to_owned(), "create")
            ]
        );
        assert_eq!((first.changes, first.errors), (5, 0));

        fleet.deploy();
        let deployed = fleet.diff(None, false);
        assert!(
            deployed.nodes.iter().all(|node| node.action == "unchanged"),
            "{deployed:?}"
        );
        assert_eq!((deployed.changes, deployed.errors), (0, 0));
        assert_eq!(deployed.fleet_digest, first.fleet_digest);

        fleet.write(&[
            ("vcpus", "vcpus = 4\n"),
            ("memory", "memory_mib = 4096\n"),
            ("disk", "disk_gib = 20\n"),
        ]);
        fleet.write_snippet("motd two");
        let changed = fleet.diff(None, false);
        assert_ne!(changed.fleet_digest, first.fleet_digest);
        assert_eq!(
            actions(&changed),
            [
                ("config".to_owned(), "change"),
                ("disk".to_owned(), "change"),
                ("gone".to_owned(), "remove"),
                ("memory".to_owned(), "change"),
                ("vcpus".to_owned(), "change")
            ]
        );
        assert_eq!(changed.changes, 5);
        assert_eq!(
            node(&changed, "vcpus").differences,
            [entry("vcpus", "2", "4")]
        );
        assert_eq!(
            node(&changed, "memory").differences,
            [entry("memory", "2048", "4096")]
        );
        assert_eq!(
            node(&changed, "disk").differences,
            [entry("disk", "10", "20")]
        );
        let config = &node(&changed, "config").differences;
        assert_eq!(config.len(), 1, "{config:?}");
        assert_eq!(config[0].what, "ignition");
        assert_ne!(config[0].from, config[0].to);
        for name in ["config", "disk", "memory", "vcpus"] {
            assert!(node(&changed, name).needs_replace, "{name}");
        }
        assert!(!node(&changed, "gone").needs_replace);

        // A new base image: every node was made from another one.
        let rebased = fleet.diff(Some("newer.qcow2"), false);
        for node in rebased.nodes.iter().filter(|node| node.action != "remove") {
            assert!(
                node.differences.iter().any(|entry| entry.what == "image"),
                "{node:?}"
            );
        }
    }

    #[test]
    fn a_saved_diff_is_applied_exactly_and_refused_once_what_runs_changed() {
        let _keeper = keep_test_driver_state();
        let fleet = TestFleet::new("diff-plan");
        fleet.deploy();
        fleet.write(&[
            ("vcpus", "vcpus = 4\n"),
            ("memory", ""),
            ("disk", ""),
            ("gone", ""),
        ]);
        let plan_file = fleet.path("plan.json");
        let saved = fleet.diff(None, true);
        std::fs::write(&plan_file, serde_json::to_vec(&saved).unwrap()).unwrap();

        // Someone deploys the reviewed change by hand: what runs is no longer what was reviewed.
        let mut by_hand = fleet.deploy_args();
        by_hand.replace = true;
        crate::cmd::deploy::run(by_hand).unwrap();
        let refused = deploy_plan(&plan_file, &fleet.deploy_args()).unwrap_err();
        assert!(
            format!("{refused:#}").contains("what runs changed since the diff")
                && format!("{refused:#}").contains(
                    "diff-plan-vcpus-1 on test:///default: was change (vcpus: 2 → 4), now unchanged"
                ),
            "{refused:#}"
        );

        // A fresh diff of the same change is applied, replacing the node, and then nothing is left.
        fleet.write(&[
            ("vcpus", "vcpus = 8\n"),
            ("memory", ""),
            ("disk", ""),
            ("gone", ""),
        ]);
        let saved = fleet.diff(None, true);
        assert_eq!(
            node(&saved, "vcpus").differences,
            [entry("vcpus", "4", "8")]
        );
        std::fs::write(&plan_file, serde_json::to_vec(&saved).unwrap()).unwrap();
        deploy_plan(&plan_file, &fleet.deploy_args()).unwrap();
        let after = fleet.diff(None, false);
        assert_eq!(after.changes, 0, "{after:?}");
    }
}
