//! Checks the end-to-end deploy tests share: reading fleet's JSON reports by node, the guests'
//! proof that each received exactly its own Ignition and that the real Ignition applied it as the
//! config and the fleet ask, and what a fleet leaves in a storage pool.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::binary::RenderedFleet;
use crate::console::{
    GuestLease, GuestReport, parse_lease, parse_report, sha256_hex, wait_for_console,
};
use crate::e2e::say;
use crate::ignition_manifest::{FleetExpectations, check_node, find_manifest};
use crate::virsh::Virsh;

/// TCG boots the tiny guest in ~8 s on 2 cores when alone; several at once on a loaded machine take
/// a few times that. The limit is per wait, and the guests boot in parallel.
pub const REPORT_LIMIT: Duration = Duration::from_secs(300);

/// `fleet SUBCOMMAND FLEET_TOML EXTRA...` as arguments.
pub fn fleet_args(subcommand: &str, fleet_toml: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut arguments = vec![
        OsString::from(subcommand),
        fleet_toml.as_os_str().to_owned(),
    ];
    arguments.extend(extra.iter().map(OsString::from));
    arguments
}

/// The `nodes` array of a deploy, status or destroy JSON report, by node name.
pub fn nodes_by_name(report: &Value) -> Result<BTreeMap<String, Value>> {
    let nodes = report["nodes"]
        .as_array()
        .with_context(|| format!("no `nodes` array in {report}"))?;
    nodes
        .iter()
        .map(|node| {
            let name = node["name"]
                .as_str()
                .with_context(|| format!("a node without a name in {report}"))?;
            Ok((name.to_owned(), node.clone()))
        })
        .collect()
}

/// The `hosts` array of a JSON report, by host name.
pub fn hosts_by_name(report: &Value) -> Result<BTreeMap<String, Value>> {
    let hosts = report["hosts"]
        .as_array()
        .with_context(|| format!("no `hosts` array in {report}"))?;
    Ok(hosts
        .iter()
        .filter_map(|host| Some((host["name"].as_str()?.to_owned(), host.clone())))
        .collect())
}

/// `fleet render --out` agrees with itself: every expected node has a file whose sha256 is the
/// manifest's, and no two nodes share a config (so a guest's hash names exactly one node).
pub fn check_rendered(rendered: &RenderedFleet, nodes: &[String]) -> Result<()> {
    let listed: BTreeSet<&String> = rendered.manifest.keys().collect();
    let expected: BTreeSet<&String> = nodes.iter().collect();
    ensure!(
        listed == expected,
        "the manifest lists {listed:?}, the fleet has {expected:?}"
    );
    let mut seen = BTreeMap::new();
    for (node, bytes) in &rendered.ignition {
        let sha256 = sha256_hex(bytes);
        ensure!(
            rendered.manifest[node] == sha256,
            "{node}.ign has sha256 {sha256}, the manifest says {}",
            rendered.manifest[node]
        );
        if let Some(other) = seen.insert(sha256, node) {
            bail!("{node} and {other} were rendered the same config");
        }
    }
    Ok(())
}

/// A node whose guest should report its config: where its console log is (as a path here) and
/// which daemon runs it.
#[derive(Debug, Clone)]
pub struct GuestToCheck {
    pub node: String,
    pub console_log: PathBuf,
    pub virsh: Virsh,
}

impl GuestToCheck {
    /// The guest's console once `ready` holds for it (`what` names it in the error), within
    /// `REPORT_LIMIT`, failing fast when the guest stopped without it.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> Result<String> {
        wait_for_console(
            &self.console_log,
            REPORT_LIMIT,
            || self.virsh.is_running(&self.node),
            what,
            ready,
        )
        .with_context(|| format!("guest {} on {}", self.node, self.virsh.connect()))
    }
}

/// Every guest reports on its console the size and sha256 of exactly its own rendered Ignition, and
/// the real Ignition in it applied that config: it succeeded, wrote exactly what the config asks for,
/// and what it wrote holds what the fleet asks of the node (`expectations`, see
/// `ignition_manifest::fleet`). The guests boot in parallel; the waits follow one another. Each
/// guest's checked manifest is printed.
pub fn check_guests_apply_their_own_ignition(
    guests: &[GuestToCheck],
    rendered: &RenderedFleet,
    expectations: &FleetExpectations,
) -> Result<()> {
    for guest in guests {
        let where_ = format!("guest {} on {}", guest.node, guest.virsh.connect());
        let expected = rendered
            .ignition
            .get(&guest.node)
            .with_context(|| format!("{} was not rendered", guest.node))?;
        let console = guest.wait_for("the manifest of what Ignition wrote", |console| {
            find_manifest(console).is_some()
        })?;
        let report = parse_report(&console)
            .with_context(|| format!("{where_}: no fw_cfg report before the manifest"))??;
        ensure!(
            report == GuestReport::expected_for(expected),
            "{where_} reported {report:?}, its rendered Ignition is {:?}",
            GuestReport::expected_for(expected)
        );
        let checked = check_node(&console, expected, Some(expectations.node(&guest.node)?))
            .with_context(|| format!("{where_}: what the real Ignition wrote"))?;
        say(&format!(
            "{where_}: received its own Ignition ({} bytes, sha256 {}); {checked}",
            report.size, report.sha256
        ));
    }
    Ok(())
}

/// What the health gate's console line starts with (docs/health.md, "The console line").
pub const HEALTH_LINE_PREFIX: &str = "FLEET-HEALTH {";

/// A node's health as the test expects `fleet status` to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedHealth {
    /// Every check passed.
    Healthy,
    /// A check failed on the first boot: no deployment passed before, so no rollback.
    UnhealthyOnFirstBoot,
}

impl ExpectedHealth {
    /// The state the scripts write and `fleet status --format json` carries.
    pub fn state(self) -> &'static str {
        match self {
            ExpectedHealth::Healthy => "healthy",
            ExpectedHealth::UnhealthyOnFirstBoot => "rollback-skipped",
        }
    }
}

/// The health gate's last console line of each guest (the tiny guest runs the generated check, and
/// the rollback when the check fails, after Ignition; a failing check retries until its timeout).
pub fn wait_for_health_lines(guests: &[GuestToCheck]) -> Result<BTreeMap<String, String>> {
    let mut lines = BTreeMap::new();
    for guest in guests {
        let console = guest.wait_for("the health gate's FLEET-HEALTH line", |console| {
            console.contains(HEALTH_LINE_PREFIX)
        })?;
        let line = console
            .lines()
            .rev()
            .find(|line| line.contains(HEALTH_LINE_PREFIX))
            .unwrap_or_default()
            .trim_end()
            .to_owned();
        say(&format!("guest {}: {line}", guest.node));
        lines.insert(guest.node.clone(), line);
    }
    Ok(lines)
}

/// Wait for each guest's DHCP lease line (guests of a fleet that holds leases,
/// `E2eFleet::guests_hold_a_lease`) and return the lease each took, by node.
pub fn wait_for_leases(guests: &[GuestToCheck]) -> Result<BTreeMap<String, GuestLease>> {
    let mut leases = BTreeMap::new();
    for guest in guests {
        let console = guest.wait_for("the guest's DHCP lease line", |console| {
            parse_lease(console).is_some()
        })?;
        let lease = parse_lease(&console)
            .context("the lease line vanished")?
            .with_context(|| format!("guest {}", guest.node))?;
        say(&format!(
            "guest {}: lease {} for {}",
            guest.node, lease.address, lease.mac
        ));
        leases.insert(guest.node.clone(), lease);
    }
    Ok(leases)
}

/// `fleet status`'s JSON (`status`) and table (`table`) show each node's health as `expected`: its
/// state and booted deployment, and the failed command for an unhealthy one.
pub fn check_status_shows_health(
    status: &Value,
    table: &str,
    expected: &BTreeMap<String, (ExpectedHealth, &str)>,
) -> Result<()> {
    let nodes = nodes_by_name(status)?;
    for (node, (health, failing_command)) in expected {
        let report = &nodes
            .get(node)
            .with_context(|| format!("{node} missing from {status:#}"))?["health"]["report"];
        ensure!(
            report["state"] == health.state(),
            "{node}: expected {}, status says {report:#}",
            health.state()
        );
        ensure!(
            report["booted"]["checksum"]
                .as_str()
                .is_some_and(|checksum| !checksum.is_empty()),
            "{node}: no booted deployment in {report:#}"
        );
        match health {
            ExpectedHealth::Healthy => {
                ensure!(report["failed_check"].is_null(), "{node}: {report:#}")
            }
            ExpectedHealth::UnhealthyOnFirstBoot => ensure!(
                report["failed_check"].as_str().is_some_and(|failed| failed
                    .contains(failing_command)
                    && failed.contains("first boot")),
                "{node}: the failed check names neither {failing_command} nor the first boot: {report:#}"
            ),
        }
        let cells = table_row(table, node)?;
        // The table wraps its widest cells to fit 100 columns, a long word across lines.
        let shown_health: String = cells
            .get("HEALTH")
            .with_context(|| format!("no HEALTH column:\n{table}"))?
            .split_whitespace()
            .collect();
        ensure!(
            shown_health.starts_with(health.state())
                && (*health == ExpectedHealth::Healthy) == (shown_health == health.state()),
            "{node}: the table's HEALTH is not {}:\n{table}",
            health.state()
        );
    }
    Ok(())
}

/// The cells of `node`'s row in a CLI table (`fleet_cli::tables`: no borders, each column starting
/// where its one-word header starts, a cell wrapped onto the row's following lines, which start
/// with a space), each the fragments of its lines joined by one space; the first column's (the
/// node's name, which has no spaces but may be cut anywhere) joined by none. The row is found by the
/// name it starts with: a name that is a prefix of another's, cut where that one ends, is ambiguous.
pub fn table_row(table: &str, node: &str) -> Result<BTreeMap<String, String>> {
    let mut lines = table.lines();
    let header = lines.next().context("an empty table")?;
    let mut columns: Vec<(usize, &str)> = Vec::new();
    let mut position = 0;
    for word in header.split_whitespace() {
        let start = position + header[position..].find(word).unwrap_or_default();
        columns.push((start, word));
        position = start + word.len();
    }
    let lines: Vec<&str> = lines.take_while(|line| !line.trim().is_empty()).collect();
    let cell_of = |line: &str, index: usize| -> String {
        let start = columns[index].0;
        let end = columns.get(index + 1).map_or(usize::MAX, |(next, _)| *next);
        line.get(start..end.min(line.len()))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    for first in 0..lines.len() {
        // The name may be cut onto the next lines; the row goes on while the first column is empty.
        let mut name = cell_of(lines[first], 0);
        let mut next = first + 1;
        while name != node && node.starts_with(&name) && !name.is_empty() && next < lines.len() {
            let part = cell_of(lines[next], 0);
            if part.is_empty() {
                break;
            }
            name.push_str(&part);
            next += 1;
        }
        if name != node {
            continue;
        }
        while next < lines.len() && cell_of(lines[next], 0).is_empty() {
            next += 1;
        }
        let row = &lines[first..next];
        let mut cells = BTreeMap::new();
        for (index, (_, header_name)) in columns.iter().enumerate() {
            let fragments: Vec<String> = row
                .iter()
                .map(|line| cell_of(line, index))
                .filter(|fragment| !fragment.is_empty())
                .collect();
            let separator = if index == 0 { "" } else { " " };
            cells.insert((*header_name).to_owned(), fragments.join(separator));
        }
        return Ok(cells);
    }
    bail!("{node} missing from the table:\n{table}")
}

/// The volumes of `pool` (refreshed) are exactly one base image plus, for each of `nodes`, its
/// overlay, Ignition volume and console log: nothing orphaned, nothing missing.
pub fn check_pool_holds_exactly(
    virsh: &Virsh,
    pool: &str,
    fleet_name: &str,
    nodes: &[String],
) -> Result<()> {
    let volumes: BTreeSet<String> = virsh.volume_names(pool)?.into_iter().collect();
    let mut expected: BTreeSet<String> = nodes
        .iter()
        .flat_map(|node| {
            [
                format!("{fleet_name}.{node}.qcow2"),
                format!("{fleet_name}.{node}.ign"),
                format!("{fleet_name}.{node}.console.log"),
            ]
        })
        .collect();
    let base_images: Vec<&String> = volumes
        .iter()
        .filter(|volume| volume.starts_with("fleet-base-") && volume.ends_with(".qcow2"))
        .collect();
    ensure!(
        base_images.len() == 1,
        "pool {pool} on {} should hold one base image, holds {base_images:?}",
        virsh.connect()
    );
    expected.insert(base_images[0].clone());
    ensure!(
        volumes == expected,
        "pool {pool} on {}: unexpected {:?}, missing {:?}",
        virsh.connect(),
        volumes.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&volumes).collect::<Vec<_>>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table `fleet status` printed in an e2e run, its HEALTH, OS and ADDRESS cells wrapped.
    const WRAPPED_TABLE: &str = include_str!("../data/status/wrapped-health-table.txt");

    #[test]
    fn a_table_row_joins_each_wrapped_cell_of_its_column() {
        let row = table_row(WRAPPED_TABLE, "e2e-d14443-db-1").unwrap();
        assert_eq!(row["ADDRESS"], "192.168.122.100 (reserved)");
        assert_eq!(row["STATE"], "shut off");
        assert_eq!(row["OS"], "43.20251024.3. 0 (36ff46d732)");
        assert!(row["HEALTH"].starts_with("rollback-skippe d: command /bin/false exited 1"));
        assert!(row["HEALTH"].ends_with("(first boot))"), "{row:?}");
        // Cut after `web-`, the name's last digit on the next line.
        let web = table_row(WRAPPED_TABLE, "e2e-d14443-web-3").unwrap();
        assert_eq!(web["HEALTH"], "healthy");
        assert_eq!(web["HOST"], "qemu:///system");
        assert!(table_row(WRAPPED_TABLE, "e2e-d14443-db-9").is_err());
    }

    #[test]
    fn reports_are_read_by_node_name() {
        let report: Value = serde_json::json!({
            "hosts": [{"name": "hv1", "error": null}],
            "nodes": [{"name": "a", "outcome": "done"}, {"name": "b", "outcome": "failed"}]
        });
        let nodes = nodes_by_name(&report).unwrap();
        assert_eq!(nodes["b"]["outcome"], "failed");
        assert_eq!(nodes.len(), 2);
        assert!(hosts_by_name(&report).unwrap()["hv1"]["error"].is_null());
        assert!(nodes_by_name(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_render_where_two_nodes_share_a_config_is_refused() {
        let same = b"{}".to_vec();
        let rendered = RenderedFleet {
            ignition: BTreeMap::from([("a".to_owned(), same.clone()), ("b".to_owned(), same)]),
            manifest: BTreeMap::from([
                ("a".to_owned(), sha256_hex(b"{}")),
                ("b".to_owned(), sha256_hex(b"{}")),
            ]),
        };
        let error = check_rendered(&rendered, &["a".to_owned(), "b".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("the same config"), "{error}");
    }

    #[test]
    fn a_manifest_hash_that_does_not_match_the_file_is_refused() {
        let rendered = RenderedFleet {
            ignition: BTreeMap::from([("a".to_owned(), b"{}".to_vec())]),
            manifest: BTreeMap::from([("a".to_owned(), sha256_hex(b"other"))]),
        };
        assert!(check_rendered(&rendered, &["a".to_owned()]).is_err());
    }
}
