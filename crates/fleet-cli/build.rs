//! Link the `fleet` binary position-dependent (`-no-pie`): a PIE of this size applies some 35,000
//! relocations and copies their pages at every start, which doubles the time of a short command
//! such as `fleet butane` (see docs/ARCHITECTURE.md, "Start-up time").
//!
//! Not with `+crt-static`: rustc then links a static PIE, and `-no-pie` on top of it gives a binary
//! that names an interpreter it does not use and crashes at start.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|feature| feature == "crt-static"));
    if !static_crt {
        println!("cargo:rustc-link-arg-bin=fleet=-no-pie");
    }
}
