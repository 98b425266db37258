//! Shared helpers for the end-to-end tests in `tests/tests/`: the `fleet` binary, the real-libvirt gate,
//! the tiny guest's console report, virsh, temporary fleet files, and the one checker of what the
//! real Ignition wrote (in the guest and in its host-side twin).
//!
//! The end-to-end tests (`tests/tests/e2e_*.rs`) need root, a running libvirtd and the tiny guest; `cargo
//! xtask e2e` prepares all three and sets the variables `e2e::environment` reads (see docs/testing.md).

pub mod ansible;
pub mod binary;
pub mod checks;
pub mod ci_workflow;
pub mod console;
pub mod data;
pub mod e2e;
pub mod fleet_toml;
pub mod health_gate;
pub mod hostile;
pub mod ignition_apply;
pub mod ignition_manifest;
pub mod poll;
pub mod quadlet;
pub mod verdicts;
pub mod virsh;
pub mod workdir;
