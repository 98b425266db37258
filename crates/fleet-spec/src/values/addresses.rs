//! Where things are: IPv4 addresses and networks, IP addresses, MAC addresses, libvirt URIs, HTTP URLs.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::model::MacAddress;
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

string_value!(
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    schema "Ipv4Address" { "type": "string", "format": "ipv4" },
    parse |text: &str| text.parse::<Ipv4Addr>().map_err(|_| format!("`{text_shown}` is not an IPv4 address such as 192.168.122.10", text_shown = shown(text)))
);

string_value!(
    /// An IPv4 network in CIDR notation, written with its network address (`10.0.0.0/24`).
    Cidr(Ipv4Net),
    schema "Ipv4Network" { "type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$" },
    parse parse_cidr
);

fn parse_cidr(text: &str) -> Result<Ipv4Net, String> {
    let network: Ipv4Net = text.parse().map_err(|_| {
        format!(
            "`{text_shown}` is not an IPv4 network such as 192.168.122.0/24",
            text_shown = shown(text)
        )
    })?;
    if network.addr() != network.network() {
        return Err(format!(
            "`{text_shown}` has host bits set; did you mean `{}`?",
            network.trunc(),
            text_shown = shown(text)
        ));
    }
    if network.prefix_len() > 30 {
        return Err(format!(
            "`{text_shown}` leaves no room for nodes: use a prefix of /30 or shorter",
            text_shown = shown(text)
        ));
    }
    Ok(network)
}

string_value!(
    /// An IPv4 or IPv6 address (DNS servers).
    IpAny(IpAddr),
    schema "IpAddress" { "type": "string", "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }] },
    parse |text: &str| text.parse::<IpAddr>().map_err(|_| format!("`{text_shown}` is not an IP address", text_shown = shown(text)))
);

string_value!(
    /// A unicast MAC address `xx:xx:xx:xx:xx:xx`.
    Mac(MacAddress),
    schema "MacAddress" { "type": "string", "pattern": "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$" },
    parse parse_mac
);

pub(crate) fn parse_mac(text: &str) -> Result<MacAddress, String> {
    let mut bytes = [0u8; 6];
    let parts: Vec<&str> = text.split(':').collect();
    let well_formed = parts.len() == 6
        && parts.iter().zip(bytes.iter_mut()).all(|(part, byte)| {
            part.len() == 2
                && u8::from_str_radix(part, 16)
                    .map(|parsed| *byte = parsed)
                    .is_ok()
        });
    if !well_formed {
        return Err(format!(
            "`{text_shown}` is not a MAC address such as 52:54:00:12:34:56",
            text_shown = shown(text)
        ));
    }
    if bytes[0] & 1 == 1 {
        return Err(format!(
            "`{text_shown}` is a multicast address; a node needs a unicast MAC (the first byte must be even)",
            text_shown = shown(text)
        ));
    }
    if bytes == [0; 6] {
        return Err("the all-zero MAC address cannot be used".to_owned());
    }
    Ok(MacAddress(bytes))
}

string_value!(
    /// A libvirt connection URI such as `qemu:///system`, `qemu+ssh://host/system` or `test:///default`.
    ConnectUri(String),
    schema "LibvirtUri" { "type": "string", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://" },
    parse parse_connect_uri
);

fn parse_connect_uri(text: &str) -> Result<String, String> {
    let valid = text.split_once("://").is_some_and(|(scheme, _)| {
        scheme
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    }) && !text.chars().any(char::is_whitespace);
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text_shown}` is not a libvirt URI such as qemu:///system, qemu+ssh://host/system or test:///default",
            text_shown = shown(text)
        ))
    }
}

string_value!(
    /// An `http://` or `https://` URL (a FleetLock server).
    HttpUrl(String),
    schema "HttpUrl" { "type": "string", "format": "uri", "pattern": "^https?://" },
    parse |text: &str| {
        let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
        match rest {
            Some(rest) if !rest.is_empty() && !text.chars().any(char::is_whitespace) => Ok(text.to_owned()),
            _ => Err(format!("`{text_shown}` is not an http:// or https:// URL such as http://airlock.example.com:3333", text_shown = shown(text))),
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_must_be_unicast_and_well_formed() {
        assert_eq!(
            parse_mac("52:54:00:AB:cd:01"),
            Ok(MacAddress([0x52, 0x54, 0x00, 0xab, 0xcd, 0x01]))
        );
        for bad in [
            "52:54:00:ab:cd",
            "01:00:5e:00:00:01",
            "00:00:00:00:00:00",
            "5254.00ab.cd01",
            "52:54:00:ab:cd:0g",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}
