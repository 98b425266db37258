//! `cargo xtask docs [--check]`: keep the docs in step with the CLI.
//!
//! The test `crates/fleet-cli/tests/cli_reference.rs` owns both rules: `docs/cli.md` is the help
//! of every command made from the clap definition, and every command is mentioned as
//! `fleet COMMAND` in README.md or a hand-written page under docs/. `cargo test` checks them;
//! this runs that test alone, with `UPDATE_EXPECT=1` to write `docs/cli.md` anew, or without it
//! for `--check` (implied by `CI=true`).

use anyhow::{Context, Result};

use crate::process::{self, cargo, workspace_root};

#[derive(Debug, Clone, Copy)]
pub(crate) struct DocsOptions {
    pub(crate) check: bool,
}

pub(crate) fn run(options: DocsOptions) -> Result<()> {
    let check = options.check || process::in_ci();
    let mut test = cargo();
    test.current_dir(workspace_root()).args([
        "test",
        "--package",
        "fleet-cli",
        "--test",
        "cli_reference",
    ]);
    if check {
        test.env_remove("UPDATE_EXPECT");
    } else {
        test.env("UPDATE_EXPECT", "1");
    }
    process::run(&mut test).with_context(|| {
        if check {
            "docs are out of step with the CLI: run `cargo xtask docs` and commit docs/cli.md"
        } else {
            "cannot bring docs/cli.md up to date"
        }
    })
}
