//! Building fleet's two binaries: for the tests (debug), and as fleet ships them (release), with
//! `fleet` linked statically and position-dependent so that a short command such as `fleet butane`
//! starts without the dynamic loader (see docs/ARCHITECTURE.md, "Start-up time"), and
//! `fleet-connected` dynamically, since it loads libvirt (and resolves names, which a static glibc
//! cannot).

use std::path::PathBuf;

use anyhow::Result;

use crate::process::{self, cargo, target_dir, workspace_root};

/// Flags for the final link of `fleet` alone. `cargo rustc` hands them to the binary crate only: as
/// RUSTFLAGS they would also reach proc macros, which cannot link a static C runtime. No crate of
/// `fleet` resolves names through NSS (users, hosts), the one thing a static glibc cannot do.
const STATIC_FLEET_FLAGS: &[&str] = &[
    "-C",
    "target-feature=+crt-static",
    "-C",
    "relocation-model=static",
];

/// Debug builds of both into `<target>/debug/`; returns the path of `fleet` (tests find it through
/// `FLEET_BIN`, which spares them a nested cargo build of their own).
pub(crate) fn debug() -> Result<PathBuf> {
    process::run(cargo().current_dir(workspace_root()).args([
        "build",
        "--package",
        "fleet-cli",
        "--package",
        "fleet-connected",
        "--bin",
        "fleet",
        "--bin",
        "fleet-connected",
    ]))?;
    Ok(target_dir().join("debug").join("fleet"))
}

/// Release builds of both, as shipped, into `<target>/release/`; returns that directory.
pub(crate) fn release() -> Result<PathBuf> {
    process::run(cargo().current_dir(workspace_root()).args([
        "build",
        "--release",
        "--package",
        "fleet-connected",
        "--bin",
        "fleet-connected",
    ]))?;
    process::run(
        cargo()
            .current_dir(workspace_root())
            .args([
                "rustc",
                "--release",
                "--package",
                "fleet-cli",
                "--bin",
                "fleet",
                "--",
            ])
            .args(STATIC_FLEET_FLAGS),
    )?;
    Ok(target_dir().join("release"))
}
