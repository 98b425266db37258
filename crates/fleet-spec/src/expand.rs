//! The deterministic parts of expansion: hostname patterns, derived MAC addresses and UUIDs.
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
}
