//! What `TargetArgs` select: the hosts to connect to (with `--connect` applied), the fleet's shared
//! settings (with `--image`), and the nodes (`--node`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use fleet_libvirt::{BackingImage, FleetTarget, HostTarget, ImageRelease};
use fleet_spec::Fleet;

use fleet_cli::cmd::shared_args::TargetArgs;
use fleet_cli::local_files::fleet_directory;
use fleet_cli::pipeline::Selection;

/// The hosts to connect to: the fleet's, with `--connect` overrides applied.
pub(crate) fn host_targets(fleet: &Fleet, target: &TargetArgs) -> anyhow::Result<Vec<HostTarget>> {
    let mut single = None;
    let mut by_host: BTreeMap<&str, &str> = BTreeMap::new();
    for connect in &target.connect {
        let named = connect
            .split_once('=')
            .filter(|(host, _)| fleet.hosts.iter().any(|known| known.name == *host));
        match named {
            Some((host, uri)) => {
                if by_host.insert(host, uri).is_some() {
                    anyhow::bail!("--connect names host {host} twice");
                }
            }
            None if fleet.hosts.is_empty() => {
                if single.replace(connect.as_str()).is_some() {
                    anyhow::bail!(
                        "--connect URI is given twice; a fleet without [[host]] has one connection"
                    );
                }
            }
            None => anyhow::bail!(
                "--connect {connect}: the fleet lists hosts ({}); write HOST=URI, e.g. --connect {}=test:///default",
                fleet
                    .hosts
                    .iter()
                    .map(|host| host.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                fleet.hosts[0].name
            ),
        }
    }
    let mut hosts = HostTarget::for_fleet(fleet, single);
    for host in &mut hosts {
        if let Some(uri) = by_host.get(host.name.as_str()) {
            host.uri = (*uri).to_owned();
        }
    }
    refuse_shared_hypervisors(&hosts, &by_host)?;
    Ok(hosts)
}

/// Two hosts on one hypervisor would count its capacity twice and make placement's anti-affinity
/// meaningless. The fleet file refuses that; `--connect` overrides must not bring it back, so the
/// hosts as overridden are compared in the same normal form the fleet file's check uses.
fn refuse_shared_hypervisors(
    hosts: &[HostTarget],
    overridden: &BTreeMap<&str, &str>,
) -> anyhow::Result<()> {
    let mut seen: BTreeMap<String, &HostTarget> = BTreeMap::new();
    for host in hosts {
        let Some(first) = seen.insert(fleet_spec::libvirt_uri::normal_form(&host.uri), host) else {
            continue;
        };
        let given = |host: &HostTarget| {
            if overridden.contains_key(host.name.as_str()) {
                format!("--connect {}={}", host.name, host.uri)
            } else {
                format!("{} in the fleet file", host.uri)
            }
        };
        anyhow::bail!(
            "hosts {} ({}) and {} ({}) would reach the same hypervisor; two hosts on one hypervisor would count its capacity twice and make placement's anti-affinity meaningless: give each host its own URI",
            first.name,
            given(first),
            host.name,
            given(host)
        );
    }
    Ok(())
}

/// The fleet's shared settings, with paths resolved against the fleet file's directory (absolute:
/// libvirt reads kernel and initrd paths on the host), and `--image` applied.
pub(crate) fn fleet_target(
    fleet: &Fleet,
    fleet_file: &Path,
    target: &TargetArgs,
) -> anyhow::Result<FleetTarget> {
    let directory = fleet_directory(fleet_file);
    let root = std::fs::canonicalize(directory)
        .with_context(|| format!("cannot resolve the directory {}", directory.display()))?;
    let mut fleet_target = FleetTarget::from_spec(fleet, &root);
    if let Some(image) = &target.image {
        let image = std::fs::canonicalize(image)
            .with_context(|| format!("cannot find the image {}", image.display()))?;
        fleet_target.image = BackingImage::File(image);
    }
    if let BackingImage::File(image) = &fleet_target.image {
        fleet_target.image_release = image_release(image);
    }
    Ok(fleet_target)
}

/// What the record `fleet image pull` wrote beside the image says it is (deploy believes it only
/// for the file whose sha256 it records). No record, or one that cannot be read, is no release:
/// the deploy goes on, its nodes just do not learn which release they were made from.
fn image_release(image: &Path) -> Option<ImageRelease> {
    match fleet_image::ImageRecord::read_beside(image) {
        Ok(record) => record.map(|record| ImageRelease {
            release: record.release,
            uncompressed_sha256: record.uncompressed_sha256.as_hex().to_owned(),
        }),
        Err(error) => {
            tracing::warn!(%error, "the image's release record is not used");
            None
        }
    }
}

/// Every name given with --node must be a node of the fleet.
pub(crate) fn check_selection(fleet: &Fleet, names: &[String], path: &Path) -> anyhow::Result<()> {
    for name in names {
        if fleet.node(name).is_none() {
            anyhow::bail!(
                "no node named {name:?} in {}; `fleet nodes` lists them",
                path.display()
            );
        }
    }
    Ok(())
}

pub(crate) fn selection(names: &[String]) -> Selection<'_> {
    if names.is_empty() {
        Selection::All
    } else {
        Selection::Named(names)
    }
}
