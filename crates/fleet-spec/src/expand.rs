//! The deterministic parts of expansion: hostname patterns, derived MAC addresses and UUIDs, and name rules.
//!
//! Same fleet name and node name → same MAC (before collision bumps) and same UUID, on every machine, forever:
//! changing anything here renames every deployed node's identity, so the constants are part of the file format.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::diagnostics::shown;
use crate::model::MacAddress;

/// The namespace of node UUIDs: UUID v5 of the URL `https://example.invalid/fleet/node` in the URL namespace.
/// A node's UUID is UUID v5 of `FLEET/NODE` in this namespace.
pub(crate) const NODE_UUID_NAMESPACE: Uuid =
    Uuid::from_u128(0xbde0_6839_2229_5738_b9d6_0022_71fc_92b4);

/// The libvirt/QEMU locally administered prefix every derived MAC starts with.
pub(crate) const MAC_PREFIX: [u8; 3] = [0x52, 0x54, 0x00];

/// The node's UUID; `scratch` is a buffer reused across calls (this runs once per node).
pub(crate) fn node_uuid(scratch: &mut Vec<u8>, fleet: &str, node: &str) -> Uuid {
    scratch.clear();
    scratch.extend_from_slice(fleet.as_bytes());
    scratch.push(b'/');
    scratch.extend_from_slice(node.as_bytes());
    Uuid::new_v5(&NODE_UUID_NAMESPACE, scratch)
}

/// The low 24 bits of a derived MAC: the first three bytes of SHA-256(`FLEET` NUL `NODE`).
/// `scratch` is a buffer reused across calls (this runs once per node).
pub(crate) fn mac_seed(scratch: &mut Vec<u8>, fleet: &str, node: &str) -> u32 {
    scratch.clear();
    scratch.extend_from_slice(fleet.as_bytes());
    scratch.push(0);
    scratch.extend_from_slice(node.as_bytes());
    let digest = Sha256::digest(scratch.as_slice());
    u32::from_be_bytes([0, digest[0], digest[1], digest[2]])
}

pub(crate) fn mac_from_seed(seed: u32) -> MacAddress {
    let [_, a, b, c] = seed.to_be_bytes();
    MacAddress([MAC_PREFIX[0], MAC_PREFIX[1], MAC_PREFIX[2], a, b, c])
}

/// A MAC as one number, for sets.
pub(crate) fn mac_key(mac: MacAddress) -> u64 {
    let [a, b, c, d, e, f] = mac.0;
    u64::from_be_bytes([0, 0, a, b, c, d, e, f])
}

/// A parsed hostname pattern such as `web-{index:02}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostnamePattern {
    parts: Vec<PatternPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternPart {
    Literal(String),
    /// The node's index from 1, left-padded with zeros to `width` digits.
    Index {
        width: usize,
    },
    Group,
}

impl HostnamePattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = pattern;
        while let Some(position) = rest.find(['{', '}']) {
            literal.push_str(&rest[..position]);
            if rest[position..].starts_with('}') {
                return Err(format!(
                    "pattern `{pattern_shown}` has a `}}` without `{{`; placeholders are {{index}}, {{index:02}} and {{group}}",
                    pattern_shown = shown(pattern)
                ));
            }
            let after = &rest[position + 1..];
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "pattern `{pattern_shown}` has a `{{` without `}}`; placeholders are {{index}}, {{index:02}} and {{group}}",
                    pattern_shown = shown(pattern)
                ));
            };
            let placeholder = &after[..close];
            let part = match placeholder {
                "index" => PatternPart::Index { width: 0 },
                "group" => PatternPart::Group,
                _ => match placeholder.strip_prefix("index:") {
                    Some(width)
                        if (1..=2).contains(&width.len())
                            && width.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        let width: usize = width.parse().unwrap_or(0);
                        if width == 0 || width > 9 {
                            return Err(format!(
                                "pattern `{pattern_shown}`: the width in {{{placeholder}}} must be from 1 to 9, as in {{index:02}}",
                                pattern_shown = shown(pattern)
                            ));
                        }
                        PatternPart::Index { width }
                    }
                    _ => {
                        return Err(format!(
                            "pattern `{pattern_shown}` has an unknown placeholder {{{placeholder}}}; use {{index}}, {{index:02}} or {{group}}",
                            pattern_shown = shown(pattern)
                        ));
                    }
                },
            };
            if !literal.is_empty() {
                parts.push(PatternPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(PatternPart::Literal(literal));
        }
        Ok(HostnamePattern { parts })
    }

    pub(crate) fn has_index(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, PatternPart::Index { .. }))
    }

    pub(crate) fn uses_group(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, PatternPart::Group))
    }

    /// The name of node `index` (called once per node: kept free of the formatting machinery).
    pub(crate) fn render(&self, group: &str, index: u32) -> String {
        let mut out = String::with_capacity(24);
        for part in &self.parts {
            match part {
                PatternPart::Literal(text) => out.push_str(text),
                PatternPart::Group => out.push_str(group),
                PatternPart::Index { width } => {
                    let mut digits = [0u8; 10];
                    let mut start = digits.len();
                    let mut rest = index;
                    loop {
                        start -= 1;
                        digits[start] = b'0' + (rest % 10) as u8;
                        rest /= 10;
                        if rest == 0 {
                            break;
                        }
                    }
                    for _ in (digits.len() - start)..*width {
                        out.push('0');
                    }
                    for &digit in &digits[start..] {
                        out.push(char::from(digit));
                    }
                }
            }
        }
        out
    }
}

/// A node name must be a valid libvirt domain name that is also safe in file and volume names
/// (`fleet render` also trusts only such names from a manifest it reads back).
pub fn check_node_name(name: &str) -> Result<(), String> {
    const RULE: &str = "use letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 63 characters";
    if name.is_empty() {
        return Err(format!("a node name cannot be empty; {RULE}"));
    }
    if name.len() > 63 {
        return Err(format!(
            "node name `{name_shown}` is {} characters long; {RULE}",
            name.len(),
            name_shown = shown(name)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "node name `{}` is not a valid libvirt domain name: it contains {}; {RULE}",
            shown(name),
            describe_char(bad)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "node name `{name_shown}` must start with a letter or digit; {RULE}",
            name_shown = shown(name)
        ));
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() || c.is_control() {
        format!("the character {:?}", c)
    } else {
        format!("`{c}`")
    }
}

/// RFC 1123 host names: dot-separated labels of letters, digits and `-`, 1 to 63 characters each, not starting or
/// ending with `-`. The whole name may be at most 64 characters: Linux (HOST_NAME_MAX) refuses longer ones,
/// although DNS would allow 253.
pub(crate) fn check_hostname(hostname: &str) -> Result<(), String> {
    if hostname.is_empty() {
        return Err("the hostname is empty".to_owned());
    }
    if hostname.len() > 64 {
        return Err(format!(
            "hostname `{hostname_shown}` is {} characters long; Linux accepts at most 64",
            hostname.len(),
            hostname_shown = shown(hostname)
        ));
    }
    for label in hostname.split('.') {
        check_dns_label(label).map_err(|problem| {
            format!(
                "hostname `{}` is not a valid DNS name: {problem}",
                shown(hostname)
            )
        })?;
    }
    Ok(())
}

/// A DNS domain (the fleet's `domain`): RFC 1123 labels, at most 253 characters.
pub(crate) fn check_domain(domain: &str) -> Result<(), String> {
    if domain.len() > 253 {
        return Err(format!(
            "domain `{domain_shown}` is longer than 253 characters",
            domain_shown = shown(domain)
        ));
    }
    for label in domain.split('.') {
        check_dns_label(label).map_err(|problem| {
            format!("`{}` is not a valid DNS domain: {problem}", shown(domain))
        })?;
    }
    Ok(())
}

fn check_dns_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("it has an empty label (two dots in a row, or a dot at an end)".to_owned());
    }
    if label.len() > 63 {
        return Err(format!(
            "the label `{label_shown}` is {} characters long; at most 63",
            label.len(),
            label_shown = shown(label)
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "the label `{}` contains {}; use letters, digits and `-`",
            shown(label),
            describe_char(bad)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "the label `{label_shown}` starts or ends with `-`",
            label_shown = shown(label)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_render_padded_indexes_and_group_names() {
        let pattern = HostnamePattern::parse("{group}-{index:02}").expect("valid pattern");
        assert_eq!(pattern.render("web", 1), "web-01");
        assert_eq!(pattern.render("web", 123), "web-123");
        assert!(pattern.has_index());
        let plain = HostnamePattern::parse("db-{index}").expect("valid pattern");
        assert_eq!(plain.render("db", 7), "db-7");
        assert!(!HostnamePattern::parse("solo").expect("valid").has_index());
    }

    #[test]
    fn broken_patterns_are_explained() {
        for bad in [
            "web-{index",
            "web-}",
            "web-{idx}",
            "web-{index:0}",
            "web-{index:x}",
        ] {
            assert!(HostnamePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identities_are_stable() {
        // Fixed forever: deployed nodes keep these identities across fleet versions.
        assert_eq!(
            node_uuid(&mut Vec::new(), "demo", "web-01").to_string(),
            "e7737c1e-d2fa-599e-82b3-0424ffc2d43d"
        );
        let seed = mac_seed(&mut Vec::new(), "demo", "web-01");
        assert_eq!(mac_from_seed(seed).to_string(), "52:54:00:fc:db:43");
        assert_ne!(seed, mac_seed(&mut Vec::new(), "demo", "web-02"));
    }

    #[test]
    fn hostnames_follow_rfc_1123_and_linux() {
        assert!(check_hostname("web-01.demo.internal").is_ok());
        assert!(check_hostname("web_01").is_err());
        assert!(check_hostname("-web").is_err());
        assert!(check_hostname("web..internal").is_err());
        assert!(check_hostname(&"a".repeat(64)).is_err());
        assert!(check_hostname(&format!("{}.{}", "a".repeat(32), "b".repeat(31))).is_ok());
        assert!(check_hostname(&format!("{}.{}", "a".repeat(32), "b".repeat(32))).is_err());
    }

    #[test]
    fn node_names_are_libvirt_safe() {
        assert!(check_node_name("web-01").is_ok());
        assert!(check_node_name("web/01").is_err());
        assert!(check_node_name("").is_err());
        assert!(check_node_name(".hidden").is_err());
        assert!(check_node_name(&"n".repeat(64)).is_err());
    }
}
