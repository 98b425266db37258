//! Link the `fleet` binary position-dependent (`-no-pie`): a PIE of this size applies some 35,000
//! relocations and copies their pages at every start, which doubles the time of a short command
//! such as `fleet butane` (see docs/ARCHITECTURE.md, "Start-up time").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bin=fleet=-no-pie");
}
