//! The release binaries as fleet ships them: `fleet` linked statically and position-dependent, so
//! that a short command such as `fleet butane` starts without the dynamic loader (see
//! docs/ARCHITECTURE.md, "Start-up time"); `fleet-provision` dynamically, since it loads libvirt.

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

/// Build both binaries into `<target>/release/` and return that directory.
pub(crate) fn build() -> Result<PathBuf> {
    process::run(cargo().current_dir(workspace_root()).args([
        "build",
        "--release",
        "--package",
        "fleet-provision",
        "--bin",
        "fleet-provision",
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
