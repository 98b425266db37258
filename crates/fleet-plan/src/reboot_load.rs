//! The reboot load: how many nodes of the whole fleet may be down at each minute of the week, across groups and time zones.
//!
//! Groups in different zones slide against each other when one changes to or from daylight-saving time
//! and another does not (or on another date). Each "regime" is one combination of zone offsets that
//! actually occurs within the planning horizon; a window counts in every regime at the UTC minutes its
//! wall-clock footprint maps to under that regime's offset. Because no footprint straddles its own zone's
//! transition (see `ZoneTable::unsafe_spans`), the count at a real instant is the count of the regime in
//! force at that instant: the cap holds at every instant when it holds in every regime.

use crate::week::{MINUTES_PER_WEEK, WeekSpan};
use crate::zone::ZoneTable;

#[derive(Debug, Clone)]
pub(crate) struct RebootLoad {
    cap: u64,
    /// Each regime's offset for every zone index.
    regime_offsets: Vec<Vec<i64>>,
    /// `counts[regime][utc minute of week]`.
    counts: Vec<Vec<u32>>,
}

impl RebootLoad {
    /// `zones` are the tables of every zone a windowed group uses, indexed as the callers index them.
    pub(crate) fn new(cap: u64, zones: &[&ZoneTable]) -> Self {
        let mut instants: Vec<i64> = zones
            .iter()
            .flat_map(|table| table.transitions().map(|transition| transition.utc))
            .collect();
        instants.push(i64::MIN);
        instants.sort_unstable();
        instants.dedup();
        let mut regime_offsets: Vec<Vec<i64>> = instants
            .iter()
            .map(|&instant| zones.iter().map(|table| table.offset_at(instant)).collect())
            .collect();
        regime_offsets.sort();
        regime_offsets.dedup();
        if regime_offsets.is_empty() {
            regime_offsets.push(Vec::new());
        }
        let counts = vec![vec![0_u32; MINUTES_PER_WEEK as usize]; regime_offsets.len()];
        RebootLoad {
            cap,
            regime_offsets,
            counts,
        }
    }

    fn utc_minutes<'a>(
        &'a self,
        regime: usize,
        zone: usize,
        footprints: &'a [WeekSpan],
    ) -> impl Iterator<Item = usize> + 'a {
        let offset = self.regime_offsets[regime].get(zone).copied().unwrap_or(0);
        footprints.iter().flat_map(move |span| {
            (0..span.length).map(move |minute| {
                (span.start - offset + minute).rem_euclid(MINUTES_PER_WEEK) as usize
            })
        })
    }

    /// Whether `nodes` more nodes down during each of `footprints` (wall clock of zone `zone`) stay under the cap.
    pub(crate) fn fits(&self, zone: usize, footprints: &[WeekSpan], nodes: u32) -> bool {
        (0..self.counts.len()).all(|regime| {
            self.utc_minutes(regime, zone, footprints)
                .all(|minute| u64::from(self.counts[regime][minute]) + u64::from(nodes) <= self.cap)
        })
    }

    pub(crate) fn add(&mut self, zone: usize, footprints: &[WeekSpan], nodes: u32) {
        for regime in 0..self.counts.len() {
            let minutes: Vec<usize> = self.utc_minutes(regime, zone, footprints).collect();
            for minute in minutes {
                self.counts[regime][minute] = self.counts[regime][minute].saturating_add(nodes);
            }
        }
    }

    pub(crate) fn cap(&self) -> u64 {
        self.cap
    }

    /// The most nodes down at once in any regime.
    pub(crate) fn worst(&self) -> u64 {
        self.counts
            .iter()
            .flat_map(|counts| counts.iter())
            .copied()
            .max()
            .map_or(0, u64::from)
    }
}

/// The most weight covering any minute of the week, for spans on the weekly circle.
pub(crate) fn deepest_overlap(spans: impl IntoIterator<Item = (WeekSpan, u64)>) -> u64 {
    let week = MINUTES_PER_WEEK as usize;
    let mut change = vec![0_i64; week + 1];
    let mut everywhere = 0_i64;
    for (span, weight) in spans {
        let weight = i64::try_from(weight).unwrap_or(i64::MAX / 4);
        if span.length >= MINUTES_PER_WEEK {
            everywhere += weight;
            continue;
        }
        let start = span.start as usize;
        let end = start + span.length as usize;
        change[start] += weight;
        if end <= week {
            change[end] -= weight;
        } else {
            change[week] -= weight;
            change[0] += weight;
            change[end - week] -= weight;
        }
    }
    let mut depth = 0_i64;
    let mut deepest = 0_i64;
    for delta in &change[..week] {
        depth += delta;
        deepest = deepest.max(depth);
    }
    u64::try_from(deepest + everywhere).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_depth_counts_wrapping_spans() {
        let spans = [
            (WeekSpan::new(MINUTES_PER_WEEK - 10, 20), 2),
            (WeekSpan::new(5, 10), 1),
            (WeekSpan::new(100, 10), 5),
        ];
        assert_eq!(deepest_overlap(spans), 5);
        let spans = [
            (WeekSpan::new(MINUTES_PER_WEEK - 10, 20), 2),
            (WeekSpan::new(5, 10), 4),
        ];
        assert_eq!(deepest_overlap(spans), 6);
    }

    #[test]
    fn zones_with_different_rules_get_several_regimes() {
        let from = 1_735_689_600 / 60; // 2025-01-01
        let to = from + 366 * 1440;
        let berlin = ZoneTable::build("Europe/Berlin".parse().unwrap(), from, to);
        let new_york = ZoneTable::build("America/New_York".parse().unwrap(), from, to);
        let load = RebootLoad::new(1, &[&berlin, &new_york]);
        // Winter; summer; EU winter with US summer (March and late October).
        assert_eq!(load.regime_offsets.len(), 3);
        // A window Monday 12:00 Berlin and one Monday 06:00 New York share UTC 11:00 in winter only...
        let mut load = load;
        load.add(0, &[WeekSpan::new(12 * 60, 30)], 1);
        assert!(!load.fits(1, &[WeekSpan::new(6 * 60, 30)], 1));
        // ...and Monday 07:30 New York never meets it.
        assert!(load.fits(1, &[WeekSpan::new(7 * 60 + 30, 30)], 1));
    }
}
