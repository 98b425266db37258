//! `[group.network]`: how a group's nodes get their addresses (DHCP, reservations or static), and the rule
//! for an address a node may have in its group's network.

use std::net::{IpAddr, Ipv4Addr};

use crate::diagnostics::shown;
use crate::model::{Addressing, StaticNetwork};
use crate::raw::RawNetwork;
use crate::read::Span;
use crate::values::NetworkMode;

use super::checker::Checker;

/// What `validate` makes of a group's [group.network].
pub(super) struct GroupAddressing {
    pub(super) addressing: Addressing,
    pub(super) first_address: Option<(Ipv4Addr, Span)>,
    pub(super) usable: bool,
}

/// The group's addressing, its first address with where it comes from (for sequential allocation),
/// and whether the network could be read well enough to check node addresses against it.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    network: Option<&RawNetwork>,
    path: &str,
) -> GroupAddressing {
    let dhcp = |usable| GroupAddressing {
        addressing: Addressing::Dhcp,
        first_address: None,
        usable,
    };
    let Some(network) = network else {
        return dhcp(true);
    };
    if network.mode.is_invalid() {
        return dhcp(false);
    }
    let mode = network.mode.value().copied().unwrap_or(NetworkMode::Dhcp);
    if mode == NetworkMode::Dhcp {
        let unused = [
            ("cidr", network.cidr.span()),
            ("first_address", network.first_address.span()),
            ("gateway", network.gateway.span()),
            ("dns", network.dns.span()),
        ];
        for (key, span) in unused {
            if let Some(span) = span {
                checker.error(
                    span,
                    format!("{path}.{key_shown}: only used with mode = \"reserved\" or \"static\" (the mode is dhcp)", key_shown = shown(key)),
                );
            }
        }
        return dhcp(true);
    }
    let mode_word = if mode == NetworkMode::Static {
        "static"
    } else {
        "reserved"
    };
    let Some(cidr) = checker.required(
        &network.cidr,
        network.span,
        path,
        "cidr",
        &format!(": mode = \"{mode_word}\" needs the subnet, e.g. cidr = \"192.168.122.0/24\""),
    ) else {
        return dhcp(false);
    };
    let cidr = cidr.value.0;
    let mut usable = !network.gateway.is_invalid() && !network.first_address.is_invalid();
    let gateway = match network.gateway.get() {
        Some(gateway) => {
            let address = gateway.value.0;
            let problem = if !cidr.contains(&address) {
                Some(format!("{address} is outside {cidr}"))
            } else if address == cidr.network() {
                Some(format!("{address} is the network address of {cidr}"))
            } else if address == cidr.broadcast() && cidr.prefix_len() < 31 {
                Some(format!("{address} is the broadcast address of {cidr}"))
            } else {
                None
            };
            if let Some(problem) = problem {
                checker.error(gateway.span, format!("{path}.gateway: {problem}"));
                usable = false;
            }
            address
        }
        None => Ipv4Addr::from(u32::from(cidr.network()).saturating_add(1)),
    };
    let dns = network
        .dns
        .value()
        .map(|servers| servers.iter().map(|server| server.0).collect())
        .unwrap_or_else(|| vec![IpAddr::V4(gateway)]);
    let static_network = StaticNetwork { cidr, gateway, dns };
    let first_address = match network.first_address.get() {
        Some(first) => {
            if usable && let Err(problem) = check_address(&static_network, first.value.0) {
                checker.error(first.span, format!("{path}.first_address: {problem}"));
                usable = false;
            }
            Some((first.value.0, first.span))
        }
        None => Some((
            Ipv4Addr::from(u32::from(gateway).saturating_add(1)),
            network.span,
        )),
    };
    let addressing = if mode == NetworkMode::Static {
        Addressing::Static(static_network)
    } else {
        Addressing::Reserved(static_network)
    };
    GroupAddressing {
        addressing,
        first_address: first_address.filter(|_| usable),
        usable,
    }
}

pub(super) fn static_network(addressing: &Addressing) -> Option<&StaticNetwork> {
    match addressing {
        Addressing::Dhcp => None,
        Addressing::Reserved(network) | Addressing::Static(network) => Some(network),
    }
}

/// An address a node may have in `network`.
pub(super) fn check_address(network: &StaticNetwork, address: Ipv4Addr) -> Result<(), String> {
    let cidr = network.cidr;
    if !cidr.contains(&address) {
        Err(format!("{address} is outside the group's network {cidr}"))
    } else if address == cidr.network() && cidr.prefix_len() < 31 {
        Err(format!("{address} is the network address of {cidr}"))
    } else if address == cidr.broadcast() && cidr.prefix_len() < 31 {
        Err(format!("{address} is the broadcast address of {cidr}"))
    } else if address == network.gateway {
        Err(format!("{address} is the gateway"))
    } else {
        Ok(())
    }
}
