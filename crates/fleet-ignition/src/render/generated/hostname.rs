//! The node's name and clock: `/etc/hostname` and the `/etc/localtime` link of its time zone.

use fleet_spec::Node;

use crate::render::payload::{Owner, PayloadFile, PayloadLink};

pub const HOSTNAME_PATH: &str = "/etc/hostname";
pub const TIME_ZONE_PATH: &str = "/etc/localtime";

pub(super) fn hostname_file(node: &Node) -> PayloadFile {
    PayloadFile::new(HOSTNAME_PATH, 0o644, format!("{}\n", node.hostname))
}

/// `/etc/localtime` pointing into the zone database, as `timedatectl set-timezone` links it.
pub(super) fn time_zone_link(node: &Node) -> Option<PayloadLink> {
    let zone = node.settings.time_zone?;
    Some(PayloadLink {
        path: TIME_ZONE_PATH.to_owned(),
        target: format!("../usr/share/zoneinfo/{}", zone.name()),
        owner: Owner::ROOT,
    })
}
