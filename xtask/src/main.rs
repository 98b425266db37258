//! `cargo xtask`: set-up of system packages, tests, CI, end-to-end runs, benchmarks and docs.

fn main() {}
