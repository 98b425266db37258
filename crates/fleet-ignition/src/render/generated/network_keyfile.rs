//! The NetworkManager keyfile of static addressing: the node's address bound to the interface with
//! its MAC, so it holds whatever the interface is called.

use std::net::{IpAddr, Ipv4Addr};

use fleet_spec::{Addressing, Fleet, Node, StaticNetwork};

use crate::ini::{Dialect, IniFile};
use crate::render::RenderError;
use crate::render::payload::PayloadFile;

/// The keyfile static addressing writes; NetworkManager reads only keyfiles of mode 0600.
pub const STATIC_KEYFILE_PATH: &str =
    "/etc/NetworkManager/system-connections/fleet-static.nmconnection";

/// The keyfile, when the node's group addresses it statically.
pub(super) fn static_keyfile(
    fleet: &Fleet,
    node: &Node,
) -> Result<Option<PayloadFile>, RenderError> {
    let (Addressing::Static(network), Some(address)) =
        (&fleet.group_of(node).addressing, node.address)
    else {
        return Ok(None);
    };
    let text = keyfile(node, network, address)
        .to_text()
        .map_err(|problem| RenderError::Generated {
            node: node.name.clone(),
            path: STATIC_KEYFILE_PATH.to_owned(),
            problem: Box::new(problem),
        })?;
    Ok(Some(PayloadFile::new(STATIC_KEYFILE_PATH, 0o600, text)))
}

fn keyfile(node: &Node, network: &StaticNetwork, address: Ipv4Addr) -> IniFile {
    let (dns4, dns6): (Vec<IpAddr>, Vec<IpAddr>) =
        network.dns.iter().partition(|dns| dns.is_ipv4());
    let mut file = IniFile::new(Dialect::KeyFile);
    file.section("connection")
        .entry("id", "fleet-static")
        .entry("type", "ethernet")
        .entry("autoconnect-priority", 100);
    file.section("ethernet").entry("mac-address", node.mac);
    let ipv4 = file.section("ipv4");
    ipv4.entry("method", "manual")
        .entry(
            "addresses",
            format_args!("{address}/{}", network.cidr.prefix_len()),
        )
        .entry("gateway", network.gateway);
    if !dns4.is_empty() {
        ipv4.list("dns", &dns4);
    }
    let ipv6 = file.section("ipv6");
    ipv6.entry("method", "auto");
    if !dns6.is_empty() {
        ipv6.list("dns", &dns6);
    }
    file
}
