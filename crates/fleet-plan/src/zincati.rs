//! A node's plan as Zincati configuration fragments (the sectioned TOML Zincati reads from
//! `/etc/zincati/config.d/`), refusing anything Zincati would reject, and the matching airlock configuration.
//!
//! Upstream rules (coreos/zincati): fragments are merged in file-name order, scalars last-wins and
//! `[[updates.periodic.window]]` entries appended (`src/config/inputs.rs`); day names are `mon|monday` ...
//! except that "tuesday" is misspelled upstream, so only three-letter names are safe (`src/weekly/utils.rs`);
//! `start_time` is `H:M` with hour ≤ 23 and minute ≤ 59; a length of 0 or more than a week fails; a periodic
//! calendar must not be empty and its zone must exist (`src/strategy/periodic.rs`); the group must match
//! `^[a-zA-Z0-9.-]+$` (`src/identity/mod.rs`); fleet_lock needs a base URL (`src/strategy/fleet_lock.rs`);
//! wariness must be within 0.0..=1.0.

use serde::Serialize;

use crate::PlanError;
use crate::planner::{NodePlan, Plan, PlannedStrategy};
use crate::week::{MINUTES_PER_WEEK, ZincatiWindow, day_abbreviation};

/// Where fragments go on the node: Zincati reads `*.toml` here in file-name order, after
/// `/usr/lib/zincati/config.d/`.
pub const ZINCATI_CONFIG_DIR: &str = "/etc/zincati/config.d/";

/// One file for [`ZINCATI_CONFIG_DIR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZincatiFragment {
    /// E.g. `51-rollout-wariness.toml`; Zincati reads fragments in file-name order.
    pub file_name: String,
    pub contents: String,
}

impl ZincatiFragment {
    /// The fragment's absolute path on the node.
    pub fn path(&self) -> String {
        format!("{ZINCATI_CONFIG_DIR}{}", self.file_name)
    }
}

/// The file holding the node's wariness.
pub const WARINESS_FRAGMENT: &str = "51-rollout-wariness.toml";
/// The file holding the FleetLock group (fleet_lock only).
pub const GROUP_FRAGMENT: &str = "52-reboot-group.toml";
/// The file holding the strategy and its settings (windows or the FleetLock URL).
pub const STRATEGY_FRAGMENT: &str = "55-updates-strategy.toml";

const HEADER: &str = "# Written by fleet from fleet.toml; `fleet plan` explains it. Edit fleet.toml, not this file.\n";

#[derive(Serialize)]
struct IdentityFile {
    identity: Identity,
}

#[derive(Serialize)]
struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout_wariness: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
}

#[derive(Serialize)]
struct StrategyFile {
    updates: Updates,
}

#[derive(Serialize)]
struct Updates {
    strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet_lock: Option<FleetLockSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    periodic: Option<PeriodicSection>,
}

#[derive(Serialize)]
struct FleetLockSection {
    base_url: String,
}

#[derive(Serialize)]
struct PeriodicSection {
    time_zone: String,
    window: Vec<WindowEntry>,
}

#[derive(Serialize)]
struct WindowEntry {
    days: Vec<&'static str>,
    start_time: String,
    length_minutes: u32,
}

/// Zincati's configuration for one planned node, one fragment per concern.
pub fn zincati_fragments(node: &NodePlan) -> Result<Vec<ZincatiFragment>, PlanError> {
    let reject = |reason: String| PlanError::ZincatiWouldReject {
        node: node.name.clone(),
        reason,
    };
    let wariness = node.rollout_wariness;
    if !wariness.is_finite() || !(0.0..=1.0).contains(&wariness) {
        return Err(reject(format!(
            "rollout_wariness {wariness} is outside 0.0..=1.0"
        )));
    }
    let mut fragments = vec![fragment(
        WARINESS_FRAGMENT,
        &IdentityFile {
            identity: Identity {
                rollout_wariness: Some(wariness),
                group: None,
            },
        },
    )?];
    let updates = match &node.strategy {
        PlannedStrategy::Periodic { time_zone, windows } => {
            if windows.is_empty() {
                return Err(reject(
                    "the periodic strategy needs at least one window (\"weekly calendar length is zero\")".to_owned(),
                ));
            }
            let zone_name = time_zone.name();
            if zone_name.parse::<fleet_spec::Tz>().is_err() {
                return Err(reject(format!("unknown time zone {zone_name:?}")));
            }
            let window = windows
                .iter()
                .map(|window| window_entry(window).map_err(&reject))
                .collect::<Result<Vec<_>, _>>()?;
            Updates {
                strategy: "periodic",
                fleet_lock: None,
                periodic: Some(PeriodicSection {
                    time_zone: zone_name.to_owned(),
                    window,
                }),
            }
        }
        PlannedStrategy::FleetLock { base_url, group } => {
            if base_url.trim().is_empty() {
                return Err(reject("fleet_lock needs a non-empty base_url".to_owned()));
            }
            if group.is_empty()
                || !group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return Err(reject(format!(
                    "group {group:?} is not a valid Zincati group (letters, digits, '.' and '-' only)"
                )));
            }
            fragments.push(fragment(
                GROUP_FRAGMENT,
                &IdentityFile {
                    identity: Identity {
                        rollout_wariness: None,
                        group: Some(group.clone()),
                    },
                },
            )?);
            Updates {
                strategy: "fleet_lock",
                fleet_lock: Some(FleetLockSection {
                    base_url: base_url.clone(),
                }),
                periodic: None,
            }
        }
        PlannedStrategy::Immediate => Updates {
            strategy: "immediate",
            fleet_lock: None,
            periodic: None,
        },
    };
    fragments.push(fragment(STRATEGY_FRAGMENT, &StrategyFile { updates })?);
    fragments.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(fragments)
}

fn window_entry(window: &ZincatiWindow) -> Result<WindowEntry, String> {
    if window.days.is_empty() {
        return Err("a window without days would admit nothing".to_owned());
    }
    if window.start.hour > 23 || window.start.minute > 59 {
        return Err(format!("start_time {} is not a time of day", window.start));
    }
    if window.length_minutes == 0 || i64::from(window.length_minutes) > MINUTES_PER_WEEK {
        return Err(format!(
            "length_minutes {} is outside 1..={MINUTES_PER_WEEK}",
            window.length_minutes
        ));
    }
    let mut days: Vec<_> = window.days.clone();
    days.sort_by_key(|day| day.num_days_from_monday());
    days.dedup();
    Ok(WindowEntry {
        days: days.into_iter().map(day_abbreviation).collect(),
        start_time: window.start_time(),
        length_minutes: window.length_minutes,
    })
}

fn fragment(file_name: &str, value: &impl Serialize) -> Result<ZincatiFragment, PlanError> {
    let body = toml::to_string(value).map_err(|error| PlanError::ZincatiWouldReject {
        node: file_name.to_owned(),
        reason: format!("cannot write TOML: {error}"),
    })?;
    Ok(ZincatiFragment {
        file_name: file_name.to_owned(),
        contents: format!("{HEADER}{body}"),
    })
}

/// Settings of the airlock server that `fleet plan --airlock-config` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirlockOptions {
    /// etcd v3 endpoints airlock keeps its semaphores in.
    pub etcd_endpoints: Vec<String>,
    /// The address airlock listens on; the port comes from the groups' `base_url`.
    pub listen_address: String,
}

impl Default for AirlockOptions {
    fn default() -> Self {
        AirlockOptions {
            etcd_endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            listen_address: "0.0.0.0".to_owned(),
        }
    }
}

#[derive(Serialize)]
struct AirlockFile {
    service: AirlockService,
    etcd3: AirlockEtcd,
    lock: AirlockLock,
}

#[derive(Serialize)]
struct AirlockService {
    address: String,
    port: u16,
    tls: bool,
}

#[derive(Serialize)]
struct AirlockEtcd {
    endpoints: Vec<String>,
}

#[derive(Serialize)]
struct AirlockLock {
    default_group_name: String,
    default_slots: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<AirlockGroup>,
}

#[derive(Serialize)]
struct AirlockGroup {
    name: String,
    slots: u64,
}

const AIRLOCK_HEADER: &str = "# airlock configuration written by `fleet plan --airlock-config`: one reboot group per fleet\n\
# group using the fleet_lock strategy, with as many slots as the group's max_unavailable.\n\
# airlock writes slot counts into etcd only when a group's key is first created: after changing\n\
# max_unavailable, update the semaphore in etcd too.\n";

/// An airlock (coreos/airlock) configuration giving every fleet_lock group as many slots as its
/// max-unavailable count. airlock refuses TLS (not implemented), so the service is plain HTTP.
pub fn airlock_config(plan: &Plan, options: &AirlockOptions) -> Result<String, PlanError> {
    let mut urls: Vec<&str> = Vec::new();
    let mut groups: Vec<AirlockGroup> = Vec::new();
    for group in &plan.groups {
        let Some(url) = plan
            .nodes
            .iter()
            .filter(|node| node.group == group.name)
            .find_map(|node| match &node.strategy {
                PlannedStrategy::FleetLock { base_url, .. } => Some(base_url.as_str()),
                _ => None,
            })
        else {
            continue;
        };
        if !urls.contains(&url) {
            urls.push(url);
        }
        groups.push(AirlockGroup {
            name: group.name.clone(),
            slots: group.max_unavailable as u64,
        });
    }
    let [url] = urls.as_slice() else {
        return Err(if urls.is_empty() {
            PlanError::NoFleetLockGroup
        } else {
            PlanError::SeveralFleetLockUrls {
                urls: urls.join(", "),
            }
        });
    };
    let port = url_port(url).ok_or_else(|| PlanError::InvalidFleetLockUrl {
        url: (*url).to_owned(),
    })?;
    // airlock always (re)defines its default group last: a fleet group named "default" becomes it.
    let (default_slots, groups): (u64, Vec<AirlockGroup>) =
        match groups.iter().position(|group| group.name == "default") {
            Some(index) => {
                let mut groups = groups;
                let default = groups.remove(index);
                (default.slots, groups)
            }
            None => (1, groups),
        };
    let file = AirlockFile {
        service: AirlockService {
            address: options.listen_address.clone(),
            port,
            tls: false,
        },
        etcd3: AirlockEtcd {
            endpoints: options.etcd_endpoints.clone(),
        },
        lock: AirlockLock {
            default_group_name: "default".to_owned(),
            default_slots,
            groups,
        },
    };
    let body = toml::to_string(&file).map_err(|error| PlanError::InvalidFleetLockUrl {
        url: format!("{url} ({error})"),
    })?;
    Ok(format!("{AIRLOCK_HEADER}{body}"))
}

/// The port of an `http://` or `https://` URL: explicit, else the scheme's default.
fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.is_empty() {
        return None;
    }
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let (_, after) = bracketed.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => port.parse().ok(),
            None if after.is_empty() => Some(default),
            None => None,
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port.parse().ok(),
        Some(_) => None,
        None => Some(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_the_url() {
        assert_eq!(url_port("http://airlock.example:3333/"), Some(3333));
        assert_eq!(url_port("http://airlock.example"), Some(80));
        assert_eq!(url_port("https://airlock.example/path"), Some(443));
        assert_eq!(url_port("http://[::1]:2222"), Some(2222));
        assert_eq!(url_port("ftp://x"), None);
        assert_eq!(url_port("http://"), None);
        assert_eq!(url_port("http://host:notaport"), None);
    }
}
