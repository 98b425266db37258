//! Progress of deploy and destroy on stderr, from libvirt's events: bars on a terminal, plain
//! lines elsewhere.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use fleet_libvirt::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::views::is_host_failure;

/// Progress on stderr: on a terminal an overall bar, with several hosts a bar per host, and one
/// line per node in flight under its host; plain lines otherwise (logs, CI).
pub(crate) struct Progress {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    /// Per host, when there are several.
    hosts: BTreeMap<String, ProgressBar>,
    in_flight: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    /// `nodes` is the host of every node the run handles.
    pub(crate) fn new<'a>(nodes: impl IntoIterator<Item = &'a str>, verb: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let mut per_host: BTreeMap<String, u64> = BTreeMap::new();
        for host in nodes {
            *per_host.entry(host.to_owned()).or_default() += 1;
        }
        let total = per_host.values().sum();
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30}] {pos}/{len} nodes  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.set_prefix(verb.to_owned());
        overall.enable_steady_tick(Duration::from_millis(120));
        let mut hosts = BTreeMap::new();
        if per_host.len() > 1 {
            for (host, count) in per_host {
                let bar = multi.add(ProgressBar::new(count));
                bar.set_style(
                    ProgressStyle::with_template("  {prefix} [{bar:20}] {pos}/{len}  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(host.clone());
                hosts.insert(host, bar);
            }
        }
        Progress {
            bars: Some(Bars {
                multi,
                overall,
                hosts,
                in_flight: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub(crate) fn on_event(&self, event: Event<'_>) {
        match &self.bars {
            Some(bars) => bars.on_event(event),
            None => plain_line(event),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bars) = &self.bars {
            for (_, bar) in std::mem::take(&mut *lock(&bars.in_flight)) {
                bar.finish_and_clear();
            }
            for bar in bars.hosts.values() {
                bar.finish_and_clear();
            }
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Bars {
    fn count_done(&self, host: &str) {
        self.overall.inc(1);
        if let Some(bar) = self.hosts.get(host) {
            bar.inc(1);
        }
    }

    fn on_event(&self, event: Event<'_>) {
        match event {
            Event::HostStep { host, step } => match self.hosts.get(host) {
                Some(bar) => bar.set_message(host_step(step)),
                None => self
                    .overall
                    .set_message(format!("{host}: {}", host_step(step))),
            },
            Event::HostReady { host, error } => {
                match self.hosts.get(host) {
                    Some(bar) => bar.set_message(""),
                    None => self.overall.set_message(String::new()),
                }
                if let Some(error) = error {
                    let _ = self.multi.println(format!("host {host}: {error}"));
                }
            }
            Event::NodeStarted { node, host, action } => {
                if action.is_some_and(|action| !action.modifies()) {
                    return;
                }
                // Under its host's bar, or under the overall one.
                let anchor = self.hosts.get(host).unwrap_or(&self.overall);
                let bar = self.multi.insert_after(anchor, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(match action {
                    Some(action) => format!("{node} {}:", action.as_str()),
                    None => format!("{node}:"),
                });
                bar.enable_steady_tick(Duration::from_millis(120));
                lock(&self.in_flight).insert(node.to_owned(), bar);
            }
            Event::NodeStep { node, step, .. } => {
                if let Some(bar) = lock(&self.in_flight).get(node) {
                    bar.set_message(step.as_str());
                }
            }
            Event::NodeFinished { node, host } => {
                if let Some(bar) = lock(&self.in_flight).remove(node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                self.count_done(host);
            }
            Event::NodeFailed {
                node,
                host,
                step,
                error,
            } => {
                if let Some(bar) = lock(&self.in_flight).remove(node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if !is_host_failure(error) {
                    let _ = self
                        .multi
                        .println(format!("{node} ({host}): failed at {step}: {error}"));
                }
                self.count_done(host);
            }
        }
    }
}

fn host_step(step: fleet_libvirt::HostStep) -> &'static str {
    match step {
        fleet_libvirt::HostStep::Inspect => "inspecting",
        fleet_libvirt::HostStep::CreatePool => "creating the storage pool",
        fleet_libvirt::HostStep::ImportImage => "importing the base image",
        fleet_libvirt::HostStep::Scan => "listing the fleet's domains",
    }
}

fn plain_line(event: Event<'_>) {
    let line = match event {
        Event::HostStep { host, step } => format!("host {host}: {}", host_step(step)),
        Event::HostReady {
            host,
            error: Some(error),
        } => format!("host {host}: {error}"),
        Event::HostReady { error: None, .. } => return,
        Event::NodeStarted { node, host, action } => match action {
            Some(action) if action.modifies() => format!("{node} ({host}): {}", action.as_str()),
            _ => return,
        },
        // Steps of many nodes interleave into noise in a log: starts and ends are enough there.
        Event::NodeStep { .. } => return,
        Event::NodeFinished { node, .. } => format!("{node}: done"),
        Event::NodeFailed { error, .. } if is_host_failure(error) => return,
        Event::NodeFailed {
            node,
            host,
            step,
            error,
        } => format!("{node} ({host}): failed at {step}: {error}"),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
