//! What a container table's keys hold: published ports, volumes, image references, podman durations,
//! memory and CPU limits, podman networks' subnets, and the words `auto_update`, `restart` and
//! `health.on_failure` choose from.

use std::borrow::Cow;
use std::net::IpAddr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::model::{ContainerVolume, PortProtocol, PublishedPort, VolumeSource};
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

string_value!(
    /// `[IP:]HOST:CONTAINER[/tcp|udp]`, e.g. `8080:80` or `127.0.0.1:8080:80/tcp`.
    PortValue(PublishedPort),
    schema "PublishedPort" { "type": "string", "pattern": "^(\\[[0-9A-Fa-f:.]+\\]:|[0-9.]+:)?[0-9]{1,5}:[0-9]{1,5}(/(tcp|udp))?$" },
    parse parse_port
);

string_value!(
    /// `SOURCE:PATH[:OPTIONS]`: a named volume or an absolute host path, the path in the container, options.
    VolumeValue(ContainerVolume),
    schema "ContainerVolume" { "type": "string", "pattern": "^[^:]+:/[^:]*(:[A-Za-z,]+)?$" },
    parse parse_volume
);

string_value!(
    /// An image reference such as `docker.io/library/nginx:1.27` (no spaces, not empty).
    ImageReference(String),
    schema "ImageReference" { "type": "string", "pattern": "^[^\\s]+$" },
    parse |text: &str| {
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(format!("`{}` is not an image reference: write one such as `docker.io/library/nginx:1.27`, without spaces", shown(text)))
        } else {
            Ok(text.to_owned())
        }
    }
);

string_value!(
    /// A duration as podman reads it (Go's form): `30s`, `1m30s`, `500ms`.
    PodmanDuration(String),
    schema "PodmanDuration" { "type": "string", "pattern": "^([0-9]+(ns|us|ms|s|m|h))+$" },
    parse parse_podman_duration
);

string_value!(
    /// A memory limit as podman reads it: a number and `b`, `k`, `m` or `g` (`512m`, `2g`).
    MemoryLimit(String),
    schema "MemoryLimit" { "type": "string", "pattern": "^[0-9]+[bkmgBKMG]$" },
    parse |text: &str| {
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let number_ok = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !number.trim_start_matches('0').is_empty();
        if number_ok && matches!(unit, "b" | "k" | "m" | "g" | "B" | "K" | "M" | "G") {
            Ok(text.to_ascii_lowercase())
        } else {
            Err(format!("`{}` is not a memory limit: write a positive number and its unit b, k, m or g, such as `512m` or `2g`", shown(text)))
        }
    }
);

string_value!(
    /// A podman network's subnet or address range: IPv4 or IPv6 in CIDR notation, with its network address.
    PodmanSubnet(ipnet::IpNet),
    schema "PodmanSubnet" { "type": "string", "pattern": "^[0-9A-Fa-f:.]+/[0-9]{1,3}$" },
    parse parse_subnet
);

fn parse_subnet(text: &str) -> Result<ipnet::IpNet, String> {
    let subnet: ipnet::IpNet = text.parse().map_err(|_| {
        format!(
            "`{}` is not a subnet: write an address and a prefix length, such as `10.89.1.0/24` or `fd00:89::/64`",
            shown(text)
        )
    })?;
    if subnet.addr() != subnet.network() {
        return Err(format!(
            "`{}` is not the network address of its subnet: write `{}`",
            shown(text),
            subnet.trunc()
        ));
    }
    Ok(subnet)
}

/// A quadlet key's value: one string, or a list for a key written several times (`AddCapability`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuadletValue(pub(crate) Vec<String>);

impl FromToml for QuadletValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Array(_) => Vec::<String>::from_toml(value, context, path).map(QuadletValue),
            _ => String::from_toml(value, context, path).map(|text| QuadletValue(vec![text])),
        }
    }
}

impl JsonSchema for QuadletValue {
    fn schema_name() -> Cow<'static, str> {
        "QuadletValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] })
    }
}

fn parse_port_number(text: &str, which: &str, whole: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(format!(
            "`{}` has `{}` as its {which} port; a port is a number from 1 to 65535 (the form is `[IP:]HOST:CONTAINER[/tcp|udp]`, e.g. `8080:80`)",
            shown(whole),
            shown(text)
        )),
    }
}

fn parse_port(text: &str) -> Result<PublishedPort, String> {
    let form =
        "the form is `[IP:]HOST:CONTAINER[/tcp|udp]`, e.g. `8080:80` or `127.0.0.1:8080:80/tcp`";
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((mapping, "tcp")) => (mapping, PortProtocol::Tcp),
        Some((mapping, "udp")) => (mapping, PortProtocol::Udp),
        Some((_, other)) => {
            return Err(format!(
                "`{}`: unknown protocol `{}`; use `tcp` or `udp` ({form})",
                shown(text),
                shown(other)
            ));
        }
        None => (text, PortProtocol::Tcp),
    };
    let (host_ip, host, container) = if let Some(rest) = mapping.strip_prefix('[') {
        let Some((address, ports)) = rest.split_once("]:") else {
            return Err(format!("`{}` is not a published port; {form}", shown(text)));
        };
        let address = address.parse::<std::net::Ipv6Addr>().map_err(|_| {
            format!(
                "`{}`: `{}` is not an IPv6 address",
                shown(text),
                shown(address)
            )
        })?;
        let Some((host, container)) = ports.split_once(':') else {
            return Err(format!("`{}` is not a published port; {form}", shown(text)));
        };
        (Some(IpAddr::V6(address)), host, container)
    } else {
        match mapping.split(':').collect::<Vec<_>>().as_slice() {
            [host, container] => (None, *host, *container),
            [address, host, container] => {
                let address = address.parse::<std::net::Ipv4Addr>().map_err(|_| {
                    format!(
                        "`{}`: `{}` is not an IPv4 address (write IPv6 addresses in brackets: `[::1]:8080:80`)",
                        shown(text),
                        shown(address)
                    )
                })?;
                (Some(IpAddr::V4(address)), *host, *container)
            }
            [_] => {
                return Err(format!(
                    "`{}` names no host port; fleet publishes fixed host ports so that it can check that no two containers of a node take the same one ({form})",
                    shown(text)
                ));
            }
            _ => return Err(format!("`{}` is not a published port; {form}", shown(text))),
        }
    };
    Ok(PublishedPort {
        host_ip,
        host_port: parse_port_number(host, "host", text)?,
        container_port: parse_port_number(container, "container", text)?,
        protocol,
    })
}

/// Mount options podman's `--volume` takes.
const VOLUME_OPTIONS: &[&str] = &[
    "ro", "rw", "z", "Z", "U", "O", "copy", "nocopy", "dev", "nodev", "exec", "noexec", "suid",
    "nosuid", "shared", "rshared", "slave", "rslave", "private", "rprivate", "bind", "rbind",
    "idmap",
];

fn parse_volume(text: &str) -> Result<ContainerVolume, String> {
    let form = "the form is `SOURCE:PATH[:OPTIONS]`, e.g. `data:/var/lib/data:Z` or `/srv/site:/usr/share/nginx/html:ro,Z`";
    let parts: Vec<&str> = text.split(':').collect();
    let (source, container_path, options) = match parts.as_slice() {
        [source, path] => (*source, *path, ""),
        [source, path, options] => (*source, *path, *options),
        _ => return Err(format!("`{}` is not a volume; {form}", shown(text))),
    };
    let source = if source.starts_with('/') {
        VolumeSource::HostPath(source.to_owned())
    } else if !source.is_empty()
        && source.starts_with(|c: char| c.is_ascii_alphanumeric())
        && source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        VolumeSource::Named(source.to_owned())
    } else {
        return Err(format!(
            "`{}`: the source `{}` is neither an absolute host path nor a volume name (letters, digits, `_`, `.`, `-`); {form}",
            shown(text),
            shown(source)
        ));
    };
    if !container_path.starts_with('/') {
        return Err(format!(
            "`{}`: the path in the container `{}` must be absolute; {form}",
            shown(text),
            shown(container_path)
        ));
    }
    let mut parsed_options = Vec::new();
    if !options.is_empty() {
        for option in options.split(',') {
            if !VOLUME_OPTIONS.contains(&option) {
                let mut message = format!(
                    "`{}`: unknown volume option `{}`",
                    shown(text),
                    shown(option)
                );
                if let Some(closest) = crate::hints::closest(option, VOLUME_OPTIONS.iter().copied())
                {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                } else {
                    message.push_str("; podman takes ro, rw, z, Z, U, O, copy, nocopy, ...");
                }
                return Err(message);
            }
            parsed_options.push(option.to_owned());
        }
    }
    Ok(ContainerVolume {
        source,
        container_path: container_path.to_owned(),
        options: parsed_options,
    })
}

/// Go's duration form without signs or fractions, which is what podman's health options read.
fn parse_podman_duration(text: &str) -> Result<String, String> {
    let problem = || {
        format!(
            "`{}` is not a duration podman reads: write numbers with units h, m, s or ms, such as `30s`, `1m30s` or `500ms`",
            shown(text)
        )
    };
    if text.is_empty() {
        return Err(problem());
    }
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(problem());
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "ms", "s", "m", "h"]
            .into_iter()
            .find(|unit| rest.starts_with(unit))
            .ok_or_else(problem)?;
        rest = &rest[unit.len()..];
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_every_documented_form() {
        assert_eq!(parse_port("8080:80").unwrap().to_string(), "8080:80/tcp");
        assert_eq!(
            parse_port("127.0.0.1:8080:80/udp").unwrap().to_string(),
            "127.0.0.1:8080:80/udp"
        );
        assert_eq!(
            parse_port("[::1]:8443:443").unwrap().to_string(),
            "[::1]:8443:443/tcp"
        );
        assert!(parse_port("80").unwrap_err().contains("names no host port"));
        assert!(parse_port("0:80").is_err());
        assert!(parse_port("8080:80/sctp").unwrap_err().contains("protocol"));
        assert!(parse_port("host:8080:80").unwrap_err().contains("IPv4"));
        assert!(parse_port("+80:80").is_err());
    }

    #[test]
    fn volumes_are_named_or_host_paths_with_known_options() {
        let named = parse_volume("data:/var/lib/data:Z").unwrap();
        assert_eq!(named.source, VolumeSource::Named("data".to_owned()));
        assert_eq!(named.to_string(), "data:/var/lib/data:Z");
        let host = parse_volume("/srv/site:/usr/share/nginx/html:ro,Z").unwrap();
        assert_eq!(host.source, VolumeSource::HostPath("/srv/site".to_owned()));
        assert!(
            parse_volume("data:relative")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(
            parse_volume("data:/x:ZZ")
                .unwrap_err()
                .contains("did you mean")
        );
        assert!(parse_volume("../up:/x").is_err());
    }

    #[test]
    fn podman_durations_are_go_durations_without_fractions() {
        for good in ["30s", "1m30s", "500ms", "1h"] {
            assert!(parse_podman_duration(good).is_ok(), "{good}");
        }
        for bad in ["", "30", "1.5s", "1d", "s", "-1s"] {
            assert!(parse_podman_duration(bad).is_err(), "{bad}");
        }
    }
}
