//! Suggestions for mistyped or misplaced keys and values: "did you mean", and keys that belong elsewhere.

use crate::diagnostics::shown;

/// Inputs longer than this are no typo of a known word, and comparing them costs time for nothing.
const LONGEST_TYPO: usize = 100;

/// The known value closest to `input`, when it is close enough to be a plausible typo.
pub fn closest<'a>(input: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if input.len() > LONGEST_TYPO {
        return None;
    }
    let lowered = input.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in known {
        if candidate.to_lowercase() == lowered {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&lowered, &candidate.to_lowercase());
        if best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.8)
        .map(|(_, candidate)| candidate)
}

/// The hint after "unknown key `KEY` in TABLE; ", or `None` when nothing useful can be said.
pub(crate) fn unknown_key_hint(table: &str, key: &str, known: &[&str]) -> Option<String> {
    if let Some(hint) = misplaced_key_hint(table, key, known) {
        return Some(hint);
    }
    closest(key, known.iter().copied()).map(|suggestion| format!("did you mean `{suggestion}`?"))
}

/// Keys that people coming from Butane, Zincati or virt-install write, and keys at the wrong level.
fn misplaced_key_hint(table: &str, key: &str, known: &[&str]) -> Option<String> {
    let renamed = |ours: &str| {
        known
            .contains(&ours)
            .then(|| format!("fleet calls it `{ours}`"))
    };
    match key {
        "password" => Some(
            "plaintext passwords are refused because the file (and every Ignition config made from it) \
             would carry them; write `password_hash` with a crypt(3) hash instead, made with \
             `mkpasswd --method=yescrypt` (package whois)"
                .to_owned(),
        ),
        "ssh_keys" | "ssh_key" | "authorized_keys" => renamed("ssh_authorized_keys"),
        "ssh_authorized_keys_local" | "ssh_keys_files" | "ssh_key_file" => renamed("ssh_key_files"),
        "memory" | "ram" | "memory_mb" => renamed("memory_mib"),
        "disk" | "disk_size" | "disk_gb" => renamed("disk_gib"),
        "cpus" | "vcpu" | "cpu" => renamed("vcpus"),
        "start_time" => renamed("start"),
        "uri" | "connection" | "url" if known.contains(&"connect") => renamed("connect"),
        "base_url" | "url" | "fleet_lock_base_url" => renamed("fleet_lock_url"),
        "ip" | "ip_address" => renamed("address"),
        "window" | "windows" | "periods" => renamed("period"),
        "nodes" => renamed("node"),
        "groups" if table == "the top level" => Some("write each group as [[group]]".to_owned()),
        "hosts" if table == "the top level" => Some("write each host as [[host]]".to_owned()),
        "max_concurrent_reboots" if table == "[group.maintenance]" => Some(
            "it is fleet-wide: set it in [maintenance]".to_owned(),
        ),
        "count" | "hostname" | "network" | "rollout" | "spread_over" if table == "[defaults]" => {
            Some(format!("`{key_shown}` is set per group, in [[group]]", key_shown = shown(key)))
        }
        "vcpus" | "memory_mib" | "disk_gib" | "butane" | "users" | "kernel_arguments"
            if table == "[fleet]" =>
        {
            Some(format!("settings every node inherits go in [defaults]: move `{key_shown}` there", key_shown = shown(key)))
        }
        "count" if table == "[[group.node]]" => {
            Some("`count` belongs to the group, not to one of its nodes".to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(closest("colour", ["color", "name"]), Some("color"));
        assert_eq!(closest("NAME", ["color", "name"]), Some("name"));
        assert_eq!(closest("zzzz", ["color", "name"]), None);
    }

    #[test]
    fn explains_refused_and_renamed_keys() {
        let user_keys = [
            "name",
            "ssh_authorized_keys",
            "ssh_key_files",
            "password_hash",
            "groups",
        ];
        let hint =
            unknown_key_hint("[[defaults.users]]", "password", &user_keys).unwrap_or_default();
        assert!(hint.contains("mkpasswd --method=yescrypt"), "{hint}");
        assert_eq!(
            unknown_key_hint("[[defaults.users]]", "ssh_keys", &user_keys).as_deref(),
            Some("fleet calls it `ssh_authorized_keys`")
        );
    }
}
