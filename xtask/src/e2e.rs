//! `cargo xtask e2e`: everything the end-to-end tests need, then the tests themselves.
//!
//! The tests read what this sets up from the environment (documented in docs/testing.md):
//! `FLEET_E2E=1`, `FLEET_E2E_CONNECT`, `FLEET_E2E_TCP_CONNECT`, `FLEET_E2E_SECOND_CONNECT`,
//! `FLEET_E2E_SECOND_ROOT`, `FLEET_E2E_GUEST_KERNEL`, `FLEET_E2E_GUEST_INITRD`, `FLEET_BIN`, and
//! `FLEET_IGNITION_BIN` (the Ignition the guest runs, for the host-side twin when run by hand),
//! `FLEET_ANSIBLE_BIN_DIR` (the real Ansible, for `e2e_ansible.rs`).

use std::time::Instant;

use anyhow::{Context, Result};

use crate::ansible;
use crate::binaries;
use crate::daemons::{self, SECOND_HOST_URI, SYSTEM_URI, TCP_URI};
use crate::guest;
use crate::ignition;
use crate::process::{self, cargo};
use crate::setup::{self, SetupOptions};

#[derive(Debug, Default)]
pub(crate) struct E2eOptions {
    /// Stop the daemons (and network) this run started; always so in CI.
    pub(crate) stop_daemons: bool,
    /// Extra arguments for the test binaries (after `--`).
    pub(crate) test_arguments: Vec<String>,
    /// Prepare the machine and print the test environment, but run no test (for running one by hand).
    pub(crate) prepare_only: bool,
}

pub(crate) fn run(options: E2eOptions) -> Result<()> {
    let mut timings = Timings::default();

    timings.measure("setup --e2e", || {
        setup::run(SetupOptions {
            e2e: true,
            demo: false,
        })
    })?;
    let started = timings.measure("daemons and network", || {
        daemons::ensure_running(daemons::Hypervisors::SystemAndSecond)
    })?;
    let outcome = run_with_daemons(&options, &mut timings);

    // With --prepare-only the daemons are what the caller wants next: never stop them then.
    let stop = !options.prepare_only && (options.stop_daemons || process::in_ci());
    if started.is_empty() {
        eprintln!("e2e: the daemons were already running; left as they were");
    } else if stop {
        eprintln!(
            "e2e: stopping what this run started: {}",
            started.describe()
        );
        daemons::stop(started)?;
    } else {
        eprintln!(
            "e2e: left running for the next run: {} (`cargo xtask e2e --stop-daemons` stops them at the end)",
            started.describe()
        );
    }
    timings.report();
    outcome
}

fn run_with_daemons(options: &E2eOptions, timings: &mut Timings) -> Result<()> {
    timings.measure("loopback TCP", daemons::check_tcp_listener)?;
    timings.measure("qemu capabilities", daemons::warm_qemu_capabilities)?;
    let guest = timings.measure("tiny guest", guest::ensure_built)?;
    let ignition = ignition::ensure_fetched()?;
    let ansible = timings.measure("install ansible", ansible::ensure_installed)?;
    let fleet_binary = timings.measure("build fleet", binaries::debug)?;
    if options.prepare_only {
        println!("export FLEET_E2E=1");
        println!("export FLEET_E2E_CONNECT={SYSTEM_URI}");
        println!("export FLEET_E2E_TCP_CONNECT={TCP_URI}");
        println!("export FLEET_E2E_SECOND_CONNECT={SECOND_HOST_URI}");
        println!(
            "export FLEET_E2E_SECOND_ROOT={}",
            daemons::second_host_root().display()
        );
        println!("export FLEET_E2E_GUEST_KERNEL={}", guest.kernel.display());
        println!("export FLEET_E2E_GUEST_INITRD={}", guest.initrd.display());
        println!("export FLEET_BIN={}", fleet_binary.display());
        println!("export FLEET_IGNITION_BIN={}", ignition.binary.display());
        println!("export FLEET_ANSIBLE_BIN_DIR={}", ansible.bin_dir.display());
        return Ok(());
    }
    timings.measure("e2e tests", || {
        process::run(
            cargo()
                // `--workspace` (only fleet-tests has e2e_* targets) keeps cargo's feature
                // unification identical to `cargo test --workspace`, so nothing is rebuilt.
                .args(["test", "--workspace", "--test", "e2e_*", "--"])
                .args(&options.test_arguments)
                .env("FLEET_E2E", "1")
                .env("FLEET_E2E_CONNECT", SYSTEM_URI)
                .env("FLEET_E2E_TCP_CONNECT", TCP_URI)
                .env("FLEET_E2E_SECOND_CONNECT", SECOND_HOST_URI)
                .env("FLEET_E2E_SECOND_ROOT", daemons::second_host_root())
                .env("FLEET_E2E_GUEST_KERNEL", &guest.kernel)
                .env("FLEET_E2E_GUEST_INITRD", &guest.initrd)
                .env("FLEET_BIN", &fleet_binary)
                .env("FLEET_IGNITION_BIN", &ignition.binary)
                .env("FLEET_ANSIBLE_BIN_DIR", &ansible.bin_dir),
        )
        .context("end-to-end tests failed")
    })
}

/// Wall-clock time per phase, printed at the end so slow phases are visible in CI logs.
#[derive(Debug, Default)]
pub(crate) struct Timings {
    phases: Vec<(String, std::time::Duration, bool)>,
}

impl Timings {
    pub(crate) fn measure<T>(
        &mut self,
        phase: &str,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let start = Instant::now();
        let result = work();
        self.phases
            .push((phase.to_owned(), start.elapsed(), result.is_ok()));
        result
    }

    pub(crate) fn report(&self) {
        eprintln!("timings:");
        for (phase, elapsed, succeeded) in &self.phases {
            let mark = if *succeeded { "ok" } else { "FAILED" };
            eprintln!("  {phase:<24} {:>8.1} s  {mark}", elapsed.as_secs_f64());
        }
    }
}
