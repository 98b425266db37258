//! Deploy waves: a node of a later wave prepares its volumes and definition at once, but starts, repairs or removes a machine only after every node of the earlier waves has finished.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::report::Step;

/// How many nodes of each wave are still at work, and a way to wait for the earlier waves.
#[derive(Debug)]
pub(crate) struct WaveGate {
    unfinished: Mutex<BTreeMap<u32, usize>>,
    changed: Condvar,
}

impl WaveGate {
    /// A gate for nodes in these waves (one entry per node).
    pub(crate) fn new(waves: impl IntoIterator<Item = u32>) -> Self {
        let mut unfinished = BTreeMap::new();
        for wave in waves {
            *unfinished.entry(wave).or_insert(0) += 1;
        }
        WaveGate {
            unfinished: Mutex::new(unfinished),
            changed: Condvar::new(),
        }
    }

    /// Whether `step` changes a machine that runs or may run (so it waits for the earlier waves).
    pub(crate) fn holds(step: Step) -> bool {
        matches!(step, Step::Start | Step::Repair | Step::Remove)
    }

    /// Block until every node of the waves before `wave` has finished.
    pub(crate) fn wait_for_earlier_waves(&self, wave: u32) {
        let mut unfinished = self.lock();
        while unfinished.range(..wave).any(|(_, count)| *count > 0) {
            unfinished = self
                .changed
                .wait(unfinished)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// A node of `wave` is at work; it counts as finished when the returned guard drops, however
    /// its work ends (an error or a panic included), so that no later node waits forever.
    pub(crate) fn working(&self, wave: u32) -> Working<'_> {
        Working { gate: self, wave }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u32, usize>> {
        self.unfinished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// See [`WaveGate::working`].
#[derive(Debug)]
pub(crate) struct Working<'a> {
    gate: &'a WaveGate,
    wave: u32,
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        if let Some(count) = self.gate.lock().get_mut(&self.wave) {
            *count = count.saturating_sub(1);
        }
        self.gate.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn the_first_wave_never_waits() {
        let gate = WaveGate::new([0, 0, 1]);
        gate.wait_for_earlier_waves(0);
    }

    #[test]
    fn a_later_wave_waits_until_every_earlier_node_finished() {
        let gate = WaveGate::new([0, 0, 1, 2]);
        let opened = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let first = gate.working(0);
            let second = gate.working(0);
            let waiter = scope.spawn(|| {
                gate.wait_for_earlier_waves(2);
                opened.store(true, Ordering::SeqCst);
            });
            drop(first);
            std::thread::sleep(Duration::from_millis(20));
            assert!(
                !opened.load(Ordering::SeqCst),
                "one node of wave 0 still works"
            );
            drop(second);
            std::thread::sleep(Duration::from_millis(20));
            assert!(!opened.load(Ordering::SeqCst), "wave 1 still works");
            drop(gate.working(1));
            waiter.join().unwrap();
            assert!(opened.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn a_node_that_panics_still_counts_as_finished() {
        let gate = WaveGate::new([0, 1]);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _working = gate.working(0);
            panic!("killed");
        }));
        assert!(outcome.is_err());
        gate.wait_for_earlier_waves(1);
    }

    #[test]
    fn only_steps_that_touch_a_machine_are_held() {
        let held: Vec<Step> = [
            Step::Observe,
            Step::Volume,
            Step::Ignition,
            Step::Reservation,
            Step::Define,
            Step::Start,
            Step::Running,
            Step::Repair,
            Step::Remove,
            Step::Cleanup,
        ]
        .into_iter()
        .filter(|step| WaveGate::holds(*step))
        .collect();
        assert_eq!(held, [Step::Start, Step::Repair, Step::Remove]);
    }
}
