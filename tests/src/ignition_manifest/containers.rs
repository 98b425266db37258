//! What the fleet's containers ask of a node, checked on what Ignition wrote: a root-owned 0644
//! quadlet per container (and declared pod, volume or network) in `/etc/containers/systemd/` for root, or in
//! `/etc/containers/systemd/users/UID/` where UID is the ID Ignition gave the container's user (so
//! podman's generator finds it for exactly that user), and that user's empty lingering file, so
//! that the user's manager, and the containers, start at boot. No other quadlet is written.

use anyhow::{Context, Result, ensure};

use super::CheckedManifest;
use super::fleet::NodeExpectations;
use super::manifest::{Entry, Owner};

const QUADLETS: &str = "/etc/containers/systemd/";
const LINGER: &str = "/var/lib/systemd/linger/";

impl NodeExpectations {
    pub(super) fn check_containers(&self, checked: &CheckedManifest) -> Result<String> {
        let manifest = &checked.manifest;
        let mut expected_paths = Vec::new();
        for container in &self.containers {
            let path = if container.user == "root" {
                format!("{QUADLETS}{}.{}", container.name, container.kind)
            } else {
                let user = manifest
                    .accounts
                    .users
                    .get(&container.user)
                    .with_context(|| {
                        format!(
                            "{} {} runs as {}, who does not exist",
                            container.kind, container.name, container.user
                        )
                    })?;
                let linger = format!("{LINGER}{}", container.user);
                let contents = checked.file(&linger, 0o644, Owner::ROOT)?;
                ensure!(contents.is_empty(), "{linger} is not empty");
                format!(
                    "{QUADLETS}users/{}/{}.{}",
                    user.uid, container.name, container.kind
                )
            };
            let contents = String::from_utf8_lossy(checked.file(&path, 0o644, Owner::ROOT)?);
            let named = match container.kind.as_str() {
                "container" => "Image=",
                "pod" => "PodName=",
                "volume" => "VolumeName=",
                _ => "NetworkName=",
            };
            ensure!(
                contents.lines().any(|line| line.starts_with(named)),
                "{path} has no {named}:\n{contents}"
            );
            expected_paths.push(path);
        }
        let written: Vec<&String> = manifest
            .wrote
            .iter()
            .filter(|(path, entry)| {
                path.starts_with(QUADLETS)
                    && [".container", ".pod", ".volume", ".network"]
                        .iter()
                        .any(|kind| path.ends_with(kind))
                    && matches!(entry, Entry::File { .. })
            })
            .map(|(path, _)| path)
            .collect();
        ensure!(
            written.len() == expected_paths.len()
                && written.iter().all(|path| expected_paths.contains(path)),
            "quadlets written: {written:?}, the fleet's containers need {expected_paths:?}"
        );
        if expected_paths.is_empty() {
            return Ok("no containers".to_owned());
        }
        Ok(format!("quadlets {}", expected_paths.join(", ")))
    }
}
