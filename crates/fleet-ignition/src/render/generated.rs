//! What the fleet file generates for one node, as an Ignition config: hostname, time zone,
//! NetworkManager keyfile for static addressing, users, kernel arguments and Zincati fragments.

use std::fmt::Write as _;
use std::net::IpAddr;

use fleet_spec::{Addressing, Fleet, Node, StaticNetwork};

use super::ZincatiFragmentFile;
use crate::IgnitionVersion;
use crate::ignition::{self, Config, File, Link, Node as IgnitionNode, PasswdUser, Resource};

pub const HOSTNAME_PATH: &str = "/etc/hostname";
pub const TIME_ZONE_PATH: &str = "/etc/localtime";
/// The keyfile static addressing writes; NetworkManager reads only keyfiles of mode 0600.
pub const STATIC_KEYFILE_PATH: &str =
    "/etc/NetworkManager/system-connections/fleet-static.nmconnection";
/// Zincati reads `*.toml` fragments here in file-name order, after `/usr/lib/zincati/config.d/`.
pub const ZINCATI_FRAGMENT_DIR: &str = "/etc/zincati/config.d/";

pub(super) fn generate(
    fleet: &Fleet,
    node: &Node,
    zincati_fragments: &[ZincatiFragmentFile],
    version: IgnitionVersion,
) -> Config {
    let settings = &node.settings;
    let mut config = Config::default();
    let files = &mut config.storage.files;
    files.push(file(
        HOSTNAME_PATH,
        format!("{}\n", node.hostname).as_bytes(),
        0o644,
        version,
    ));
    if let (Addressing::Static(network), Some(address)) =
        (&fleet.group_of(node).addressing, node.address)
    {
        files.push(file(
            STATIC_KEYFILE_PATH,
            static_keyfile(node, network, address).as_bytes(),
            0o600,
            version,
        ));
    }
    for fragment in zincati_fragments {
        files.push(file(
            &format!("{ZINCATI_FRAGMENT_DIR}{}", fragment.file_name),
            fragment.contents.as_bytes(),
            0o644,
            version,
        ));
    }
    if let Some(zone) = settings.time_zone {
        config.storage.links.push(Link {
            node: IgnitionNode {
                path: TIME_ZONE_PATH.to_owned(),
                overwrite: Some(true),
                ..IgnitionNode::default()
            },
            target: Some(format!("../usr/share/zoneinfo/{}", zone.name())),
            hard: None,
        });
    }
    config.passwd.users = settings
        .users
        .iter()
        .map(|user| PasswdUser {
            name: user.name.clone(),
            ssh_authorized_keys: user.ssh_authorized_keys.clone(),
            password_hash: user
                .password_hash
                .as_ref()
                .map(|hash| hash.expose().to_owned()),
            groups: user.groups.clone(),
            ..PasswdUser::default()
        })
        .collect();
    config.kernel_arguments.should_exist = settings.kernel_arguments.should_exist.clone();
    config.kernel_arguments.should_not_exist = settings.kernel_arguments.should_not_exist.clone();
    config
}

/// A file written with `overwrite: true`, its contents encoded as `butane` would for `version`.
fn file(path: &str, contents: &[u8], mode: i64, version: IgnitionVersion) -> File {
    let (source, compression) = if version == IgnitionVersion::V3_0 {
        (ignition::make_percent_data_url(contents), None)
    } else {
        let url = ignition::make_data_url(contents, None, true);
        (url.url, url.compression)
    };
    File {
        node: IgnitionNode {
            path: path.to_owned(),
            overwrite: Some(true),
            ..IgnitionNode::default()
        },
        contents: Resource {
            source: Some(source),
            compression,
            ..Resource::default()
        },
        mode: Some(mode),
        append: Vec::new(),
    }
}

/// A NetworkManager keyfile that binds the node's address to the interface with its MAC, so it
/// holds whatever the interface is called.
fn static_keyfile(node: &Node, network: &StaticNetwork, address: std::net::Ipv4Addr) -> String {
    let mut text = String::new();
    let (dns4, dns6): (Vec<IpAddr>, Vec<IpAddr>) =
        network.dns.iter().partition(|dns| dns.is_ipv4());
    let list = |servers: &[IpAddr]| {
        servers
            .iter()
            .map(|server| format!("{server};"))
            .collect::<String>()
    };
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "[connection]\nid=fleet-static\ntype=ethernet\nautoconnect-priority=100\n\n\
         [ethernet]\nmac-address={}\n\n\
         [ipv4]\nmethod=manual\naddresses={}/{}\ngateway={}\n",
        node.mac,
        address,
        network.cidr.prefix_len(),
        network.gateway,
    );
    if !dns4.is_empty() {
        let _ = writeln!(text, "dns={}", list(&dns4));
    }
    text.push_str("\n[ipv6]\nmethod=auto\n");
    if !dns6.is_empty() {
        let _ = writeln!(text, "dns={}", list(&dns6));
    }
    text
}
