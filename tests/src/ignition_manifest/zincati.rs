//! Zincati's update settings as the agent reads them from the fragments in `/etc/zincati/config.d/`,
//! and as `fleet plan --format json` states them for a node: the two must agree.
//!
//! Zincati's rules (coreos/zincati v0.0.32 `src/config/`): `*.toml` fragments in file-name order;
//! scalar keys, the last fragment wins; `[[updates.periodic.window]]` entries are appended across
//! fragments; unknown keys are ignored. Defaults: strategy `immediate`, time zone `UTC`.

use anyhow::{Context, Result};
use serde_json::Value;

/// What the agent ends up with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZincatiSettings {
    pub strategy: Option<String>,
    pub rollout_wariness: Option<f64>,
    pub time_zone: Option<String>,
    pub windows: Vec<Window>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub days: Vec<String>,
    pub start_time: String,
    pub length_minutes: i64,
}

impl std::fmt::Display for Window {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} {} {} min",
            self.days.join(","),
            self.start_time,
            self.length_minutes
        )
    }
}

/// The settings Zincati reads from these fragments, given as (file name, bytes) in any order.
pub fn effective_settings(fragments: &[(String, Vec<u8>)]) -> Result<ZincatiSettings> {
    let mut sorted: Vec<&(String, Vec<u8>)> = fragments
        .iter()
        .filter(|(name, _)| name.ends_with(".toml"))
        .collect();
    sorted.sort_by(|left, right| left.0.cmp(&right.0));
    let mut settings = ZincatiSettings::default();
    for (name, bytes) in sorted {
        let text = std::str::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))?;
        let fragment: toml::Table =
            toml::from_str(text).with_context(|| format!("{name} is not TOML Zincati reads"))?;
        if let Some(wariness) = fragment
            .get("identity")
            .and_then(|identity| identity.get("rollout_wariness"))
        {
            settings.rollout_wariness = Some(
                wariness
                    .as_float()
                    .with_context(|| format!("{name}: rollout_wariness is not a float"))?,
            );
        }
        let Some(updates) = fragment.get("updates") else {
            continue;
        };
        if let Some(strategy) = updates.get("strategy") {
            settings.strategy = Some(
                strategy
                    .as_str()
                    .with_context(|| format!("{name}: updates.strategy is not a string"))?
                    .to_owned(),
            );
        }
        let Some(periodic) = updates.get("periodic") else {
            continue;
        };
        if let Some(zone) = periodic.get("time_zone") {
            settings.time_zone = Some(
                zone.as_str()
                    .with_context(|| format!("{name}: time_zone is not a string"))?
                    .to_owned(),
            );
        }
        for window in periodic
            .get("window")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            settings.windows.push(
                window_from_toml(window)
                    .with_context(|| format!("{name}: a window Zincati cannot read"))?,
            );
        }
    }
    Ok(settings)
}

fn window_from_toml(window: &toml::Value) -> Result<Window> {
    let days = window
        .get("days")
        .and_then(toml::Value::as_array)
        .context("no days")?
        .iter()
        .map(|day| {
            day.as_str()
                .map(str::to_owned)
                .context("a day is not a string")
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Window {
        days,
        start_time: window
            .get("start_time")
            .and_then(toml::Value::as_str)
            .context("no start_time")?
            .to_owned(),
        length_minutes: window
            .get("length_minutes")
            .and_then(toml::Value::as_integer)
            .context("no length_minutes")?,
    })
}

/// A node's Zincati settings in `fleet plan --format json` (`nodes[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedZincati {
    pub strategy: String,
    pub rollout_wariness: f64,
    pub time_zone: String,
    pub windows: Vec<Window>,
}

impl PlannedZincati {
    pub fn from_plan_node(node: &Value) -> Result<PlannedZincati> {
        let text = |key: &str| {
            node[key]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the plan's node has no {key}: {node}"))
        };
        let windows = node["windows"]
            .as_array()
            .with_context(|| format!("the plan's node has no windows: {node}"))?
            .iter()
            .map(|window| {
                Ok(Window {
                    days: window["days"]
                        .as_array()
                        .context("a window without days")?
                        .iter()
                        .map(|day| day.as_str().map(str::to_owned).context("a day"))
                        .collect::<Result<Vec<_>>>()?,
                    start_time: window["start_time"]
                        .as_str()
                        .context("a window without start_time")?
                        .to_owned(),
                    length_minutes: window["length_minutes"]
                        .as_i64()
                        .context("a window without length_minutes")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PlannedZincati {
            strategy: text("strategy")?,
            rollout_wariness: node["rollout_wariness"]
                .as_f64()
                .with_context(|| format!("the plan's node has no rollout_wariness: {node}"))?,
            time_zone: text("time_zone")?,
            windows,
        })
    }

    /// Where what Zincati reads differs from the plan; the time zone and windows count only for
    /// `periodic`, the one strategy that uses them.
    pub fn differences(&self, effective: &ZincatiSettings) -> Vec<String> {
        let mut problems = Vec::new();
        let strategy = effective.strategy.as_deref().unwrap_or("immediate");
        if strategy != self.strategy {
            problems.push(format!(
                "Zincati's strategy is {strategy:?}, the plan's {:?}",
                self.strategy
            ));
        }
        if effective.rollout_wariness != Some(self.rollout_wariness) {
            problems.push(format!(
                "Zincati's rollout_wariness is {:?}, the plan's {}",
                effective.rollout_wariness, self.rollout_wariness
            ));
        }
        if self.strategy == "periodic" {
            let zone = effective.time_zone.as_deref().unwrap_or("UTC");
            if zone != self.time_zone {
                problems.push(format!(
                    "Zincati's time zone is {zone:?}, the plan's {:?}",
                    self.time_zone
                ));
            }
            // A set of windows: their order in the fragments means nothing to Zincati.
            let mut found = effective.windows.clone();
            let mut planned = self.windows.clone();
            found.sort();
            planned.sort();
            if found != planned {
                problems.push(format!(
                    "Zincati's windows are [{}], the plan's [{}]",
                    joined(&found),
                    joined(&planned)
                ));
            }
        }
        problems
    }
}

impl std::fmt::Display for PlannedZincati {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}, rollout_wariness {}",
            self.strategy, self.rollout_wariness
        )?;
        if self.strategy == "periodic" {
            write!(
                formatter,
                ", {} [{}]",
                self.time_zone,
                joined(&self.windows)
            )?;
        }
        Ok(())
    }
}

fn joined(windows: &[Window]) -> String {
    windows
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(name: &str, text: &str) -> (String, Vec<u8>) {
        (name.to_owned(), text.as_bytes().to_vec())
    }

    #[test]
    fn later_fragments_win_and_windows_add_up() {
        let fragments = [
            fragment(
                "60-late.toml",
                "[identity]\nrollout_wariness = 0.5\n[[updates.periodic.window]]\ndays = [\"Sat\"]\nstart_time = \"22:00\"\nlength_minutes = 60\n",
            ),
            fragment(
                "51-wariness.toml",
                "[identity]\nrollout_wariness = 0.25\n[updates]\nstrategy = \"periodic\"\n[updates.periodic]\ntime_zone = \"Europe/Berlin\"\n[[updates.periodic.window]]\ndays = [\"Tue\", \"Wed\"]\nstart_time = \"01:00\"\nlength_minutes = 30\n",
            ),
            fragment("README", "not a fragment"),
        ];
        let settings = effective_settings(&fragments).unwrap();
        assert_eq!(settings.rollout_wariness, Some(0.5));
        assert_eq!(settings.strategy.as_deref(), Some("periodic"));
        assert_eq!(settings.windows.len(), 2);
        let planned = PlannedZincati {
            strategy: "periodic".to_owned(),
            rollout_wariness: 0.5,
            time_zone: "Europe/Berlin".to_owned(),
            windows: settings.windows.iter().rev().cloned().collect(),
        };
        assert!(planned.differences(&settings).is_empty());
        let other_wariness = PlannedZincati {
            rollout_wariness: 0.25,
            ..planned
        };
        assert_eq!(other_wariness.differences(&settings).len(), 1);
    }

    #[test]
    fn the_flattened_form_zincati_ignores_counts_as_missing() {
        let settings =
            effective_settings(&[fragment("51-x.toml", "rollout_wariness = 0.5\n")]).unwrap();
        assert_eq!(settings.rollout_wariness, None);
    }
}
