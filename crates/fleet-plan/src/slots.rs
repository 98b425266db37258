//! Cutting a group's maintenance periods into disjoint reboot slots, and gathering slots that open at the
//! same time of day into classes (one Zincati window entry with several days).

use fleet_spec::MaintenancePeriod;

use crate::week::{MINUTES_PER_DAY, MINUTES_PER_WEEK, WeekSpan, day_start, minute_of_day};

/// The slots of one maintenance policy on the weekly wall clock.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotLayout {
    /// Minute of the week at which each slot's window opens, ascending.
    pub(crate) slot_starts: Vec<i64>,
    /// The minutes Zincati admits per slot: the window length plus its closing minute.
    pub(crate) admitted_minutes: i64,
    /// How long a slot's node may be down: admitted minutes plus the reboot allowance.
    pub(crate) footprint_minutes: i64,
    /// Daylight-saving spans that fell inside the periods and were left out.
    pub(crate) left_out: Vec<WeekSpan>,
    /// Where the circle was cut: the first minute of the week (from Monday 00:00) that lies in a period
    /// and follows one outside every period (0 when there is none). The slots were placed from it on.
    pub(crate) cycle_start: i64,
}

/// Greedily place slots, earliest first, so that each slot's admitted minutes lie inside the periods and
/// no two slots' footprints (admitted minutes plus allowance) overlap, nor touch an unsafe span; a slot
/// opens only on a wall-clock minute that is a multiple of `alignment_minutes` (1: any minute).
///
/// Greedy earliest-start is optimal for equal-length footprints on a line, also when only some starts are
/// allowed; the circle is cut at the start of a period that follows a minute outside every period, so at
/// most the wrap-around costs one slot.
pub(crate) fn cut_slots(
    periods: &[MaintenancePeriod],
    window_minutes: u32,
    allowance_minutes: u32,
    unsafe_spans: &[WeekSpan],
    alignment_minutes: i64,
) -> SlotLayout {
    let week = MINUTES_PER_WEEK as usize;
    let admitted = i64::from(window_minutes) + 1;
    let footprint = admitted + i64::from(allowance_minutes);

    let mut allowed = vec![false; week];
    for period in periods {
        let start_of_day = minute_of_day(period.start);
        for day in &period.days {
            let span = WeekSpan::new(
                day_start(*day) + start_of_day,
                i64::from(period.length_minutes),
            );
            for offset in 0..span.length {
                allowed[((span.start + offset) % MINUTES_PER_WEEK) as usize] = true;
            }
        }
    }
    let mut blocked = vec![false; week];
    for span in unsafe_spans {
        for offset in 0..span.length {
            blocked[((span.start + offset) % MINUTES_PER_WEEK) as usize] = true;
        }
    }
    let left_out = unsafe_spans
        .iter()
        .copied()
        .filter(|span| {
            (0..span.length)
                .any(|offset| allowed[((span.start + offset) % MINUTES_PER_WEEK) as usize])
        })
        .collect();

    // Cut the circle where a period starts after a minute outside every period (or at Monday 00:00).
    let cut = (0..week)
        .find(|&minute| allowed[minute] && !allowed[(minute + week - 1) % week])
        .unwrap_or(0);
    let position = |unrolled: usize| (cut + unrolled) % week;
    // Prefix sums over the unrolled circle (twice round, for footprints that run past the cut).
    let mut allowed_prefix = vec![0_u32; 2 * week + 1];
    let mut blocked_prefix = vec![0_u32; 2 * week + 1];
    for unrolled in 0..2 * week {
        allowed_prefix[unrolled + 1] =
            allowed_prefix[unrolled] + u32::from(allowed[position(unrolled)]);
        blocked_prefix[unrolled + 1] =
            blocked_prefix[unrolled] + u32::from(blocked[position(unrolled)]);
    }
    let admitted_len = admitted.min(MINUTES_PER_WEEK) as usize;
    let footprint_len = footprint.min(MINUTES_PER_WEEK) as usize;
    let alignment = usize::try_from(alignment_minutes.max(1)).unwrap_or(1);
    let can_open_at = |unrolled: usize| {
        position(unrolled) % alignment == 0
            && unrolled + admitted_len <= week
            && (allowed_prefix[unrolled + admitted_len] - allowed_prefix[unrolled]) as usize
                == admitted_len
            && blocked_prefix[unrolled + footprint_len] == blocked_prefix[unrolled]
    };

    let mut unrolled_starts = Vec::new();
    let mut unrolled = 0;
    while unrolled + admitted_len <= week {
        if can_open_at(unrolled) {
            unrolled_starts.push(unrolled);
            unrolled += footprint_len.max(1);
        } else {
            unrolled += 1;
        }
    }
    // The last footprint must not run round the week into the first slot.
    if unrolled_starts.len() >= 2 {
        let first = unrolled_starts[0];
        let last = unrolled_starts[unrolled_starts.len() - 1];
        if last + footprint_len > week + first {
            unrolled_starts.pop();
        }
    }
    if footprint >= MINUTES_PER_WEEK {
        unrolled_starts.truncate(1);
    }
    let mut slot_starts: Vec<i64> = unrolled_starts
        .into_iter()
        .map(|unrolled| position(unrolled) as i64)
        .collect();
    slot_starts.sort_unstable();
    SlotLayout {
        slot_starts,
        admitted_minutes: admitted,
        footprint_minutes: footprint,
        left_out,
        cycle_start: cut as i64,
    }
}

/// Slots that open at the same time of day, on several days: one Zincati window entry.
pub(crate) type SlotClass = Vec<i64>;

/// Gather slots by time of day (ordered by their first slot in the week); when there are fewer classes
/// than `needed`, split the classes with the most days (earliest first) into single days until there are
/// enough or every class is a single slot.
pub(crate) fn slot_classes(layout: &SlotLayout, needed: usize) -> Vec<SlotClass> {
    let mut by_time_of_day: std::collections::BTreeMap<i64, SlotClass> =
        std::collections::BTreeMap::new();
    for &start in &layout.slot_starts {
        by_time_of_day
            .entry(start % MINUTES_PER_DAY)
            .or_default()
            .push(start);
    }
    let mut classes: Vec<SlotClass> = by_time_of_day.into_values().collect();
    classes.sort_by_key(|class| class[0]);
    while classes.len() < needed {
        let Some((widest, _)) = classes
            .iter()
            .enumerate()
            .filter(|(_, class)| class.len() > 1)
            .max_by_key(|(index, class)| (class.len(), std::cmp::Reverse(*index)))
        else {
            break;
        };
        let class = classes.remove(widest);
        classes.extend(class.into_iter().map(|start| vec![start]));
        classes.sort_by_key(|class| class[0]);
    }
    classes
}

/// Every class split into single slots.
pub(crate) fn single_slot_classes(layout: &SlotLayout) -> Vec<SlotClass> {
    layout
        .slot_starts
        .iter()
        .map(|&start| vec![start])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_spec::{WallTime, Weekday};

    fn period(days: &[Weekday], hour: u8, minute: u8, length_minutes: u32) -> MaintenancePeriod {
        MaintenancePeriod {
            days: days.to_vec(),
            start: WallTime { hour, minute },
            length_minutes,
        }
    }

    #[test]
    fn the_issue_example_holds_six() {
        // Sat–Sun 22:00–02:00, 60-minute windows, 10-minute allowance.
        let periods = [period(&[Weekday::Sat, Weekday::Sun], 22, 0, 240)];
        let layout = cut_slots(&periods, 60, 10, &[], 1);
        assert_eq!(layout.slot_starts.len(), 6);
        // Cut where Saturday's period starts; Sunday's runs over the week end into Monday 00:22.
        let saturday_ten = 5 * MINUTES_PER_DAY + 22 * 60;
        let sunday_ten = saturday_ten + MINUTES_PER_DAY;
        assert_eq!(
            layout.slot_starts,
            vec![
                22,
                saturday_ten,
                saturday_ten + 71,
                saturday_ten + 142,
                sunday_ten,
                sunday_ten + 71,
            ]
        );
    }

    #[test]
    fn footprints_never_overlap_and_windows_stay_inside() {
        let periods = [
            period(&[Weekday::Tue, Weekday::Wed, Weekday::Thu], 1, 0, 240),
            period(&[Weekday::Sat], 22, 0, 480),
        ];
        let layout = cut_slots(&periods, 30, 10, &[], 1);
        // 240 minutes hold 6 slots of 41 minutes (the last window closes at 04:56), 480 hold 11.
        assert_eq!(layout.slot_starts.len(), 3 * 6 + 11);
        for pair in layout.slot_starts.windows(2) {
            assert!(pair[1] - pair[0] >= layout.footprint_minutes);
        }
    }

    #[test]
    fn unsafe_spans_are_left_out() {
        let periods = [period(&[Weekday::Sun], 0, 0, 360)];
        let sunday_two = 6 * MINUTES_PER_DAY + 120;
        let unsafe_spans = [WeekSpan::new(sunday_two, 60)];
        let layout = cut_slots(&periods, 20, 10, &unsafe_spans, 1);
        for &start in &layout.slot_starts {
            let footprint = WeekSpan::new(start, layout.footprint_minutes);
            assert!(!footprint.intersects(&unsafe_spans[0]), "slot at {start}");
        }
        assert_eq!(layout.left_out, unsafe_spans.to_vec());
    }

    #[test]
    fn whole_week_wraps_without_overlap() {
        let every_day: Vec<Weekday> = (0..7)
            .map(|day| crate::week::weekday_of(day * MINUTES_PER_DAY))
            .collect();
        let periods = [period(&every_day, 0, 0, 1440)];
        let layout = cut_slots(&periods, 59, 0, &[], 1);
        assert_eq!(layout.slot_starts.len(), 168);
        let layout = cut_slots(&periods, 60, 0, &[], 1);
        // 61-minute footprints: 165 fit in 10080 minutes.
        assert_eq!(layout.slot_starts.len(), 165);
    }

    #[test]
    fn aligned_slots_open_on_five_minute_boundaries() {
        // Tue–Thu 01:00–05:00, 30-minute windows, 10-minute allowance: a 41-minute stride holds six a
        // night (01:00, 01:41, …, 04:25); on 5-minute boundaries the stride is 45 and five fit.
        let periods = [period(
            &[Weekday::Tue, Weekday::Wed, Weekday::Thu],
            1,
            0,
            240,
        )];
        let any_minute = cut_slots(&periods, 30, 10, &[], 1);
        let aligned = cut_slots(&periods, 30, 10, &[], 5);
        assert_eq!(any_minute.slot_starts.len(), 18);
        assert_eq!(aligned.slot_starts.len(), 15);
        let tuesday = MINUTES_PER_DAY;
        assert_eq!(
            aligned.slot_starts[..5],
            [60, 105, 150, 195, 240].map(|minute| tuesday + minute)
        );
        // A period starting off the grid: the first window waits for 01:05.
        let periods = [period(&[Weekday::Mon], 1, 3, 120)];
        assert_eq!(cut_slots(&periods, 20, 0, &[], 5).slot_starts[0], 65);
        // 60-minute windows with a 10-minute allowance: 71-minute and 75-minute strides both hold three.
        let periods = [period(&[Weekday::Tue], 1, 0, 240)];
        assert_eq!(cut_slots(&periods, 60, 10, &[], 5).slot_starts.len(), 3);
        assert_eq!(cut_slots(&periods, 60, 10, &[], 1).slot_starts.len(), 3);
    }

    #[test]
    fn classes_gather_days_and_split_when_short() {
        let periods = [period(
            &[Weekday::Tue, Weekday::Wed, Weekday::Thu],
            1,
            0,
            100,
        )];
        let layout = cut_slots(&periods, 30, 10, &[], 1);
        assert_eq!(layout.slot_starts.len(), 6);
        let classes = slot_classes(&layout, 2);
        assert_eq!(classes.len(), 2);
        assert_eq!(classes[0].len(), 3);
        let classes = slot_classes(&layout, 3);
        assert_eq!(
            classes.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 3, 1, 1]
        );
        assert_eq!(slot_classes(&layout, 10).len(), 6);
    }
}
