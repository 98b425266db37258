//! The naming rules of fleet.toml: what a fleet, group, node, host, user, hostname, domain and libvirt
//! object may be called, each rule once with the message that explains it.

use crate::diagnostics::shown;

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

/// Fleet names end up in pool names, paths and libvirt metadata.
pub(crate) fn check_fleet_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid fleet name: use letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters",
            shown(name)
        ))
    }
}

/// Group names are Zincati identity groups too (`^[a-zA-Z0-9.-]+$`).
pub(crate) fn check_group_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid group name: use letters, digits, `-` and `.` (it is also Zincati's update group), at most 63 characters",
            shown(name)
        ))
    }
}

/// Linux user and group names as useradd accepts them by default.
pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid name: use lowercase letters, digits, `_` and `-`, starting with a letter or `_`, at most 32 characters",
            shown(name)
        ))
    }
}

/// Names of libvirt networks, pools and volumes: non-empty, no `/`, no whitespace or control characters.
pub(crate) fn check_libvirt_object_name(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("the {kind} name is empty"));
    }
    if name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{}` is not a valid libvirt {kind} name: no `/`, spaces or control characters",
            shown(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
