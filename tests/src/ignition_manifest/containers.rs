//! What the fleet's containers ask of a node, checked on what Ignition wrote: a root-owned 0644
//! quadlet per container (and declared pod, volume or network) in `/etc/containers/systemd/` for root, or in
//! `/etc/containers/systemd/users/UID/` where UID is the ID Ignition gave the container's user (so
//! podman's generator finds it for exactly that user, and which is the fleet file's when it fixes
//! one), and that user's empty lingering file, so that the user's manager, and the containers,
//! start at boot. No other quadlet is written.

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
                if let Some(uid) = container.uid {
                    ensure!(
                        user.uid == uid,
                        "container {} runs as {}, who got user ID {}, not the {uid} of the fleet file",
                        container.name,
                        container.user,
                        user.uid
                    );
                }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ignition_manifest::expected::{Expected, ExpectedEntry, ExpectedWhat};
    use crate::ignition_manifest::zincati::PlannedZincati;
    use crate::ignition_manifest::{FleetContainer, find_manifest};

    const QUADLET: &str = "/etc/containers/systemd/users/4242/site.container";
    const ROOT_QUADLET: &str = "/etc/containers/systemd/cache.container";

    /// What Ignition wrote for a rootless `site` of `ops` (uid 4242) and a rootful `cache`.
    fn checked(linger: bool) -> CheckedManifest {
        let mut text = String::from(
            "FLEET-IGNITION-BEGIN\nstage\tfetch-offline\texit=0\nstage\tfiles\texit=0\n",
        );
        text.push_str("now\tuser\tops\tuid=4242\tgid=4242\tgecos=\thome=/var/home/ops\tshell=/bin/bash\tgroups=\tpassword=*\n");
        let mut files = vec![(QUADLET, "Image=x\n"), (ROOT_QUADLET, "Image=y\n")];
        if linger {
            files.push(("/var/lib/systemd/linger/ops", ""));
        }
        let mut expected = Expected::default();
        for (path, contents) in &files {
            text.push_str(&format!(
                "wrote\tfile\t{path}\tmode=0644\towner=0:0\tsize={}\tsha256={}\n",
                contents.len(),
                "0".repeat(64)
            ));
            expected.entries.insert(
                (*path).to_owned(),
                ExpectedEntry {
                    what: ExpectedWhat::File {
                        mode: 0o644,
                        owner: Owner::ROOT,
                        contents: Some(contents.as_bytes().to_vec()),
                    },
                    because: "test".to_owned(),
                },
            );
        }
        text.push_str("FLEET-IGNITION-END\n");
        CheckedManifest {
            manifest: find_manifest(&text).unwrap().unwrap(),
            expected,
        }
    }

    fn node(site_uid: Option<u32>) -> NodeExpectations {
        NodeExpectations {
            node: "n".to_owned(),
            group: "g".to_owned(),
            containers: vec![
                FleetContainer {
                    name: "site".to_owned(),
                    user: "ops".to_owned(),
                    kind: "container".to_owned(),
                    uid: site_uid,
                },
                FleetContainer {
                    name: "cache".to_owned(),
                    user: "root".to_owned(),
                    kind: "container".to_owned(),
                    uid: None,
                },
            ],
            hostname: "n".to_owned(),
            static_address: None,
            users: BTreeMap::new(),
            zincati: PlannedZincati {
                strategy: "immediate".to_owned(),
                rollout_wariness: 0.5,
                time_zone: "UTC".to_owned(),
                windows: Vec::new(),
            },
            health_gated: false,
        }
    }

    #[test]
    fn quadlets_linger_files_and_the_fixed_user_id_are_checked() {
        let found = node(Some(4242)).check_containers(&checked(true)).unwrap();
        assert_eq!(found, format!("quadlets {QUADLET}, {ROOT_QUADLET}"));
        assert!(node(None).check_containers(&checked(true)).is_ok());
        let wrong_uid = node(Some(4243))
            .check_containers(&checked(true))
            .unwrap_err()
            .to_string();
        assert!(
            wrong_uid.contains("got user ID 4242, not the 4243 of the fleet file"),
            "{wrong_uid}"
        );
        let no_linger = node(Some(4242))
            .check_containers(&checked(false))
            .unwrap_err()
            .to_string();
        assert!(
            no_linger.contains("linger/ops was not written"),
            "{no_linger}"
        );
    }
}
