//! `cargo xtask test` and `cargo xtask ci`: the whole test suite, and the checks CI adds in front of it.

use anyhow::{Context, Result};

use crate::ansible;
use crate::binaries;
use crate::demo;
use crate::docs;
use crate::e2e::{self, E2eOptions, Timings};
use crate::health_tools;
use crate::ignition;
use crate::process::{self, cargo};
use crate::quadlet;
use crate::setup::{self, SetupOptions};

/// Set-up (including the end-to-end packages), Ignition for the host-side twin of the end-to-end
/// check, the real Ansible (`ansible.rs`), busybox and shellcheck for the health harness,
/// `cargo test --workspace ARGS`, then `cargo xtask e2e` and `cargo xtask demo` (also when an
/// earlier step failed; the result fails if any did).
pub(crate) fn test(cargo_test_arguments: &[String]) -> Result<()> {
    setup::run(SetupOptions {
        e2e: true,
        demo: false,
    })?;
    let mut timings = Timings::default();
    let fleet_binary = timings.measure("build fleet", binaries::debug)?;
    let ignition = timings.measure("fetch ignition", ignition::ensure_fetched)?;
    let ansible = timings.measure("install ansible", ansible::ensure_installed)?;
    let health_tools =
        timings.measure("fetch busybox and shellcheck", health_tools::ensure_fetched)?;
    let quadlet = timings.measure("fetch quadlet", quadlet::ensure_fetched)?;
    let workspace_tests = timings.measure("cargo test --workspace", || {
        let mut command = cargo();
        command
            .args(["test", "--workspace"])
            .args(cargo_test_arguments)
            .env("FLEET_BIN", &fleet_binary)
            .env("FLEET_IGNITION_BIN", &ignition.binary)
            .env("FLEET_ANSIBLE_BIN_DIR", &ansible.bin_dir)
            .env("FLEET_BUSYBOX_BIN", &health_tools.busybox)
            .env("FLEET_SHELLCHECK_BIN", &health_tools.shellcheck)
            .env("FLEET_QUADLET_BIN", &quadlet);
        // The end-to-end tests run next, prepared by `cargo xtask e2e`; in this pass they skip on purpose
        // (without this they would fail in CI, where an unprepared skip is an error).
        if std::env::var_os("FLEET_E2E").is_none() {
            command.env("FLEET_E2E", "skip");
        }
        process::run(&mut command).context("workspace tests failed")
    });
    timings.report();
    // The end-to-end tests and the demo run even after a failure above, so one CI run shows every
    // failure.
    let end_to_end = e2e::run(E2eOptions::default());
    // The README's main command as a fresh machine runs it: release binaries (a static `fleet`),
    // check, plan and deploy of the example fleet.
    let readme_demo =
        demo::run(&[]).context("`cargo xtask demo`, the README's main command, failed");
    let failures: Vec<String> = [
        ("workspace tests", workspace_tests),
        ("end-to-end tests", end_to_end),
        ("demo", readme_demo),
    ]
    .into_iter()
    .filter_map(|(step, result)| result.err().map(|error| format!("{step}: {error:#}")))
    .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!("{}", failures.join("\n  ")))
    }
}

/// Formatting, lints with warnings denied, docs in step with the CLI, then `test`.
pub(crate) fn ci() -> Result<()> {
    setup::run(SetupOptions {
        e2e: false,
        demo: false,
    })?;
    process::run(cargo().args(["fmt", "--all", "--", "--check"]))
        .context("formatting differs: run `cargo fmt --all`")?;
    process::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy found problems")?;
    docs::run(docs::DocsOptions { check: true })?;
    test(&[])
}
