//! An independent check of a plan on real instants: it reads the Zincati fragments back as Zincati
//! would, converts every simulated minute to each group's wall clock with chrono-tz, and counts who may
//! be down. It shares no code with the planner beyond the public types.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike, Utc};
use fleet_plan::{Plan, Prediction, Rollout, ZincatiFragment, zincati_fragments};
use fleet_spec::{Fleet, Role, Tz, UpdateStrategy};

const WEEK: usize = 7 * 24 * 60;

/// Zincati's merged view of a node's fragments.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedZincati {
    pub rollout_wariness: Option<f64>,
    pub group: Option<String>,
    pub strategy: Option<String>,
    pub time_zone: Option<String>,
    pub fleet_lock_base_url: Option<String>,
    /// (day as written, start_time as written, length_minutes), one per day, in merge order.
    pub windows: Vec<(String, String, i64)>,
}

/// Parse fragments as TOML and merge them as Zincati does: by file name, scalars last-wins, windows appended.
pub fn merge_fragments(fragments: &[ZincatiFragment]) -> MergedZincati {
    let mut sorted: Vec<&ZincatiFragment> = fragments.iter().collect();
    sorted.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let mut merged = MergedZincati {
        rollout_wariness: None,
        group: None,
        strategy: None,
        time_zone: None,
        fleet_lock_base_url: None,
        windows: Vec::new(),
    };
    for fragment in sorted {
        let value: toml::Table = toml::from_str(&fragment.contents).expect("fragments are TOML");
        if let Some(identity) = value.get("identity").and_then(|v| v.as_table()) {
            if let Some(wariness) = identity.get("rollout_wariness") {
                merged.rollout_wariness = Some(wariness.as_float().expect("wariness is a float"));
            }
            if let Some(group) = identity.get("group") {
                merged.group = Some(group.as_str().expect("group is a string").to_owned());
            }
        }
        if let Some(updates) = value.get("updates").and_then(|v| v.as_table()) {
            if let Some(strategy) = updates.get("strategy") {
                merged.strategy = Some(strategy.as_str().expect("strategy is a string").to_owned());
            }
            if let Some(lock) = updates.get("fleet_lock").and_then(|v| v.as_table())
                && let Some(url) = lock.get("base_url")
            {
                merged.fleet_lock_base_url = Some(url.as_str().expect("url").to_owned());
            }
            if let Some(periodic) = updates.get("periodic").and_then(|v| v.as_table()) {
                if let Some(zone) = periodic.get("time_zone") {
                    merged.time_zone = Some(zone.as_str().expect("zone").to_owned());
                }
                if let Some(windows) = periodic.get("window").and_then(|v| v.as_array()) {
                    for window in windows {
                        let window = window.as_table().expect("a window is a table");
                        let start = window["start_time"]
                            .as_str()
                            .expect("start_time")
                            .to_owned();
                        let length = window["length_minutes"].as_integer().expect("length");
                        for day in window["days"].as_array().expect("days") {
                            merged.windows.push((
                                day.as_str().expect("day").to_owned(),
                                start.clone(),
                                length,
                            ));
                        }
                    }
                }
            }
        }
    }
    merged
}

/// Zincati's own parsing rules (src/weekly/utils.rs): the day index, or why Zincati refuses it.
pub fn zincati_day(name: &str) -> Result<usize, String> {
    match name.to_lowercase().as_str() {
        "mon" | "monday" => Ok(0),
        // Upstream accepts the misspelling "tuesady", not "tuesday".
        "tue" | "tuesady" => Ok(1),
        "wed" | "wednesday" => Ok(2),
        "thu" | "thursday" => Ok(3),
        "fri" | "friday" => Ok(4),
        "sat" | "saturday" => Ok(5),
        "sun" | "sunday" => Ok(6),
        _ => Err(format!("unrecognized week day: {name}")),
    }
}

pub fn zincati_time(text: &str) -> Result<(usize, usize), String> {
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() != 2 {
        return Err(format!("unrecognized time value: {text}"));
    }
    let hour: u8 = fields[0].parse().map_err(|_| format!("bad hour {text}"))?;
    let minute: u8 = fields[1]
        .parse()
        .map_err(|_| format!("bad minute {text}"))?;
    if hour > 23 || minute > 59 {
        return Err(format!("invalid time: {text}"));
    }
    Ok((usize::from(hour), usize::from(minute)))
}

/// Which minutes of the week Zincati admits for these windows (closing minute included), checking each
/// window as Zincati would.
pub fn admitted_minutes(windows: &[(String, String, i64)]) -> Result<Vec<bool>, String> {
    let mut admitted = vec![false; WEEK];
    for (day, start, length) in windows {
        let day = zincati_day(day)?;
        let (hour, minute) = zincati_time(start)?;
        if *length <= 0 || *length as usize > WEEK {
            return Err(format!("length {length} outside 1..=10080"));
        }
        let open = day * 1440 + hour * 60 + minute;
        for offset in 0..=(*length as usize) {
            admitted[(open + offset) % WEEK] = true;
        }
    }
    Ok(admitted)
}

/// The wall-clock minute of the week at a UTC minute, straight from chrono-tz.
pub fn wall_minute_of_week(zone: Tz, utc_minute: i64) -> usize {
    let local = zone.from_utc_datetime(
        &DateTime::from_timestamp(utc_minute * 60, 0)
            .expect("in range")
            .naive_utc(),
    );
    local.weekday().num_days_from_monday() as usize * 1440
        + local.hour() as usize * 60
        + local.minute() as usize
}

/// The server's throttle at second `t` and the first second a node of `wariness` sees the release
/// (binary search, independent of the planner's arithmetic).
pub fn eligible_second(rollout: &Rollout, wariness: f64) -> i64 {
    let start = rollout.start.timestamp();
    let end = start + i64::from(rollout.duration_minutes.max(1)) * 60;
    let throttle = |t: i64| -> f64 {
        if t < start {
            0.0
        } else if t > end {
            1.0
        } else {
            let rate = (1.0 - rollout.start_fraction) / (end - start) as f64;
            rollout.start_fraction + rate * (t - start) as f64
        }
    };
    let (mut low, mut high) = (start, end + 1);
    if wariness <= throttle(start) {
        return start;
    }
    // Invariant: hidden at low, visible at high.
    while high - low > 1 {
        let middle = (low + high) / 2;
        if wariness <= throttle(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// Everything the checker derives from one planned node.
#[derive(Debug, Clone)]
pub struct CheckedNode {
    pub name: String,
    pub group: usize,
    pub role: Role,
    pub wariness: f64,
    pub wariness_pinned: bool,
    pub zone: Option<Tz>,
    pub admitted: Vec<bool>,
}

/// A zone's wall clock with its offset remembered per quarter hour: every offset change of the zone
/// database since 1970 falls on a quarter hour of UTC, so one lookup per quarter hour is exact.
pub struct WallClock {
    zone: Tz,
    quarter: i64,
    offset_minutes: i64,
}

impl WallClock {
    pub fn new(zone: Tz) -> Self {
        WallClock {
            zone,
            quarter: i64::MIN,
            offset_minutes: 0,
        }
    }

    /// The wall-clock minute of the week at a UTC minute.
    pub fn minute_of_week(&mut self, utc_minute: i64) -> usize {
        let quarter = utc_minute.div_euclid(15);
        if quarter != self.quarter {
            self.quarter = quarter;
            let start = quarter * 15;
            let wall = wall_minute_of_week(self.zone, start) as i64;
            // Offset modulo the week, recovered from the wall minute at the quarter's start.
            let utc_of_week = (start + 3 * 1440).rem_euclid(WEEK as i64);
            self.offset_minutes = wall - utc_of_week;
        }
        (utc_minute + 3 * 1440 + self.offset_minutes).rem_euclid(WEEK as i64) as usize
    }
}

/// The first minute at or after `from` (UTC) whose wall-clock minute `admitted` admits, within three weeks.
pub fn first_admitted(zone: Tz, admitted: &[bool], from: i64) -> Option<i64> {
    let mut clock = WallClock::new(zone);
    (from..from + 3 * WEEK as i64).find(|&minute| admitted[clock.minute_of_week(minute)])
}

fn minute_ceiling(second: i64) -> i64 {
    second.div_euclid(60) + i64::from(second.rem_euclid(60) != 0)
}

/// Read every node's plan back from its Zincati fragments as Zincati would, checking each node is planned
/// once, in fleet order, with its pins honoured and a configuration Zincati accepts.
pub fn read_back(fleet: &Fleet, plan: &Plan) -> Result<Vec<CheckedNode>, String> {
    let planned: Vec<&str> = plan.nodes.iter().map(|node| node.name.as_str()).collect();
    let expected: Vec<&str> = fleet.nodes.iter().map(|node| node.name.as_str()).collect();
    if planned != expected {
        return Err(format!(
            "planned nodes {planned:?} differ from the fleet's {expected:?}"
        ));
    }
    let mut checked = Vec::new();
    for (node, node_plan) in fleet.nodes.iter().zip(&plan.nodes) {
        let group = &fleet.groups[node.group];
        if node_plan.group != group.name {
            return Err(format!(
                "{} is planned in group {}",
                node.name, node_plan.group
            ));
        }
        if let Some(pinned) = node.pinned_role
            && pinned != node_plan.role
        {
            return Err(format!("{}: pinned role not honoured", node.name));
        }
        if let Some(pinned) = node.pinned_wariness
            && pinned != node_plan.rollout_wariness
        {
            return Err(format!("{}: pinned wariness not honoured", node.name));
        }
        let fragments = zincati_fragments(node_plan).map_err(|error| error.to_string())?;
        let merged = merge_fragments(&fragments);
        let wariness = merged
            .rollout_wariness
            .ok_or("no wariness in the fragments")?;
        if wariness != node_plan.rollout_wariness {
            return Err(format!(
                "{}: fragments carry wariness {wariness}",
                node.name
            ));
        }
        if !(0.0..=1.0).contains(&wariness) {
            return Err(format!("{}: wariness {wariness}", node.name));
        }
        let (zone, admitted) = match &group.maintenance.strategy {
            UpdateStrategy::Periodic => {
                if merged.strategy.as_deref() != Some("periodic") {
                    return Err(format!("{}: strategy {:?}", node.name, merged.strategy));
                }
                let zone_name = merged.time_zone.clone().ok_or("no time zone")?;
                let zone: Tz = zone_name
                    .parse()
                    .map_err(|_| format!("unknown zone {zone_name}"))?;
                if merged.windows.is_empty() {
                    return Err(format!("{}: no window", node.name));
                }
                (Some(zone), admitted_minutes(&merged.windows)?)
            }
            UpdateStrategy::FleetLock { base_url } => {
                if merged.strategy.as_deref() != Some("fleet_lock")
                    || merged.fleet_lock_base_url.as_deref() != Some(base_url.as_str())
                    || merged.group.as_deref() != Some(group.name.as_str())
                {
                    return Err(format!("{}: fleet_lock fragments {merged:?}", node.name));
                }
                (None, vec![true; WEEK])
            }
            UpdateStrategy::Immediate => (None, vec![true; WEEK]),
        };
        checked.push(CheckedNode {
            name: node.name.clone(),
            group: node.group,
            role: node_plan.role,
            wariness,
            wariness_pinned: node.pinned_wariness.is_some(),
            zone,
            admitted,
        });
    }
    Ok(checked)
}

/// Check a plan of `fleet` against every promise that does not depend on a rollout, minute by minute over
/// `simulated` (UTC minutes); returns the nodes as read back, for checking predictions.
pub fn check_plan(
    fleet: &Fleet,
    plan: &Plan,
    simulated: &[std::ops::Range<i64>],
) -> Result<Vec<CheckedNode>, String> {
    let checked = read_back(fleet, plan)?;
    check_bounds(fleet, &checked, simulated)?;
    Ok(checked)
}

/// What a prediction must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A typical rollout: canaries first with the soak in every group (no warning), and within a group,
    /// unpinned cautious nodes that reboot earlier are never more wary.
    Typical,
    /// Any rollout: exactly the groups (and nodes) where canaries would not come first are warned about.
    AnyRollout,
}

/// Check a prediction of a plan: eligibility by the server's formula, reboots by Zincati's reading of
/// the windows on the wall clock, and the canaries-first ordering as `expect` says.
pub fn check_prediction(
    fleet: &Fleet,
    checked: &[CheckedNode],
    prediction: &Prediction,
    expect: Expect,
) -> Result<(), String> {
    if prediction.nodes.len() != checked.len() {
        return Err(format!(
            "{} nodes predicted, {} planned",
            prediction.nodes.len(),
            checked.len()
        ));
    }
    let rollout = &prediction.rollout;
    let staging = i64::from(prediction.staging_allowance_minutes);
    // Per node: the reboot minute and the earliest minute it could reboot if staged at once.
    let mut minutes = Vec::with_capacity(checked.len());
    for (node, predicted) in checked.iter().zip(&prediction.nodes) {
        if node.name != predicted.name {
            return Err(format!(
                "{} predicted in place of {}",
                predicted.name, node.name
            ));
        }
        let eligible = eligible_second(rollout, node.wariness);
        if predicted.eligible_at.timestamp() != eligible {
            return Err(format!(
                "{}: eligible_at {} but the formula gives {}",
                node.name, predicted.eligible_at, eligible
            ));
        }
        let from = minute_ceiling(eligible);
        let (reboot, earliest) = match node.zone {
            Some(zone) => (
                first_admitted(zone, &node.admitted, from + staging).ok_or("never reboots")?,
                first_admitted(zone, &node.admitted, from).ok_or("never reboots")?,
            ),
            None => (from + staging, from),
        };
        if predicted.reboot_at.timestamp() != reboot * 60 {
            return Err(format!(
                "{}: reboot_at {} but the first admitted minute is {}",
                node.name,
                predicted.reboot_at,
                DateTime::from_timestamp(reboot * 60, 0).expect("time")
            ));
        }
        minutes.push((reboot, earliest));
    }

    // Canaries before cautious nodes, with the soak: where not, a warning says so.
    let mut early_groups: Vec<(String, Vec<String>)> = Vec::new();
    for (group_index, group) in fleet.groups.iter().enumerate() {
        let members: Vec<(&CheckedNode, &(i64, i64))> = checked
            .iter()
            .zip(&minutes)
            .filter(|(node, _)| node.group == group_index)
            .collect();
        let canaries_back = members
            .iter()
            .filter(|(node, _)| node.role == Role::Canary)
            .map(|(_, (reboot, _))| {
                reboot + 6 + i64::from(group.maintenance.reboot_allowance_minutes)
            })
            .max();
        let Some(canaries_back) = canaries_back else {
            continue;
        };
        let soak_end = canaries_back + i64::from(group.rollout.soak_minutes);
        let early: Vec<String> = members
            .iter()
            .filter(|(node, (_, earliest))| node.role == Role::Cautious && *earliest < soak_end)
            .map(|(node, _)| node.name.clone())
            .collect();
        if !early.is_empty() {
            early_groups.push((group.name.clone(), early));
        }
    }
    let warned: Vec<(String, Vec<String>)> = prediction
        .warnings
        .iter()
        .map(|warning| (warning.group.clone(), warning.nodes.clone()))
        .collect();
    match expect {
        Expect::Typical if !early_groups.is_empty() => {
            return Err(format!(
                "in the typical rollout from {}, cautious nodes may reboot before the canaries' soak ends: {early_groups:?}",
                rollout.start
            ));
        }
        _ if warned != early_groups => {
            return Err(format!(
                "rollout from {}: warnings {warned:?}, but cautious nodes may reboot early in {early_groups:?}",
                rollout.start
            ));
        }
        _ => {}
    }

    // Within a group, unpinned cautious nodes that reboot earlier are never more wary.
    if expect == Expect::Typical {
        for (group_index, _) in fleet.groups.iter().enumerate() {
            let cautious: Vec<(&CheckedNode, i64)> = checked
                .iter()
                .zip(&minutes)
                .filter(|(node, _)| {
                    node.group == group_index
                        && node.role == Role::Cautious
                        && !node.wariness_pinned
                })
                .map(|(node, (reboot, _))| (node, *reboot))
                .collect();
            for (a, a_reboot) in &cautious {
                for (b, b_reboot) in &cautious {
                    if a.wariness < b.wariness && a_reboot > b_reboot {
                        return Err(format!(
                            "rollout from {}: {} (wariness {}) reboots at minute {a_reboot} after {} (wariness {}) at {b_reboot}",
                            rollout.start, a.name, a.wariness, b.name, b.wariness
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The bound in every group and the fleet cap, at every simulated minute, on real instants.
pub fn check_bounds(
    fleet: &Fleet,
    checked: &[CheckedNode],
    simulated: &[std::ops::Range<i64>],
) -> Result<(), String> {
    let bound: Vec<usize> = fleet
        .groups
        .iter()
        .map(|group| {
            let size = group.nodes.len();
            group
                .rollout
                .max_unavailable
                .resolve(size)
                .clamp(1, size.max(1))
        })
        .collect();
    let zones: Vec<Tz> = {
        let mut zones: Vec<Tz> = checked.iter().filter_map(|node| node.zone).collect();
        zones.sort_by_key(|zone| zone.name());
        zones.dedup();
        zones
    };
    let unwindowed: usize = fleet
        .groups
        .iter()
        .enumerate()
        .filter(|(_, group)| !group.nodes.is_empty())
        .map(|(index, group)| match group.maintenance.strategy {
            UpdateStrategy::Periodic => 0,
            UpdateStrategy::FleetLock { .. } => bound[index],
            UpdateStrategy::Immediate => group.nodes.len(),
        })
        .sum();
    for range in simulated {
        // Recently admitted minutes per node: down while any of the last allowance + 1 minutes was admitted.
        let mut last_admitted: Vec<Option<i64>> = vec![None; checked.len()];
        // Warm up over the longest allowance so the count at `range.start` is right.
        let warm_up = fleet
            .groups
            .iter()
            .map(|group| i64::from(group.maintenance.reboot_allowance_minutes))
            .max()
            .unwrap_or(0);
        for minute in (range.start - warm_up)..range.end {
            let walls: BTreeMap<&str, usize> = zones
                .iter()
                .map(|zone| (zone.name(), wall_minute_of_week(*zone, minute)))
                .collect();
            let mut down_per_group = vec![0_usize; fleet.groups.len()];
            let mut windowed_down = 0;
            for (index, node) in checked.iter().enumerate() {
                let Some(zone) = node.zone else { continue };
                if node.admitted[walls[zone.name()]] {
                    last_admitted[index] = Some(minute);
                }
                let allowance = i64::from(
                    fleet.groups[node.group]
                        .maintenance
                        .reboot_allowance_minutes,
                );
                if last_admitted[index].is_some_and(|last| minute - last <= allowance) {
                    down_per_group[node.group] += 1;
                    windowed_down += 1;
                }
            }
            if minute < range.start {
                continue;
            }
            for (group_index, down) in down_per_group.iter().enumerate() {
                if *down > bound[group_index] {
                    return Err(format!(
                        "group {}: {down} nodes may be down at {} (bound {})",
                        fleet.groups[group_index].name,
                        DateTime::from_timestamp(minute * 60, 0).expect("time"),
                        bound[group_index]
                    ));
                }
            }
            if let Some(cap) = fleet.max_concurrent_reboots
                && windowed_down + unwindowed > cap as usize
            {
                return Err(format!(
                    "{} nodes may be down at {} (cap {cap})",
                    windowed_down + unwindowed,
                    DateTime::from_timestamp(minute * 60, 0).expect("time")
                ));
            }
        }
    }
    Ok(())
}

/// UTC minute ranges to simulate: a day either side of every offset change of `zones` within a year from
/// `from`, and a full week after each change (between changes the pattern repeats weekly).
pub fn simulation_ranges(zones: &[Tz], from: DateTime<Utc>) -> Vec<std::ops::Range<i64>> {
    let start = from.timestamp() / 60;
    let end = start + 366 * 1440;
    let offset = |zone: Tz, minute: i64| {
        zone.offset_from_utc_datetime(
            &DateTime::from_timestamp(minute * 60, 0)
                .expect("time")
                .naive_utc(),
        )
        .fix()
        .local_minus_utc()
    };
    let mut changes = vec![start];
    for &zone in zones {
        let mut minute = start;
        while minute < end {
            let next = minute + 60;
            if offset(zone, minute) != offset(zone, next) {
                changes.push(next);
            }
            minute = next;
        }
    }
    changes.sort_unstable();
    changes.dedup();
    let mut ranges: Vec<std::ops::Range<i64>> = changes
        .iter()
        .map(|&change| (change - 1440)..(change + 7 * 1440))
        .collect();
    ranges.sort_by_key(|range| range.start);
    // Merge overlapping ranges so no minute is simulated twice.
    let mut merged: Vec<std::ops::Range<i64>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}
