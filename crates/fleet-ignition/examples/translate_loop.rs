//! Translate one Butane file many times, for profiling: `cargo run --release --example translate_loop FILE [N]`.

#![expect(
    clippy::disallowed_methods,
    reason = "an example is a program: it reads its arguments and input and times itself"
)]

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a Butane file");
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let input = std::fs::read(&path).expect("readable input");
    let options = fleet_ignition::TranslateOptions {
        no_resource_auto_compression: std::env::var_os("NO_GZIP").is_some(),
        ..fleet_ignition::TranslateOptions::default()
    };
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..count {
        let translation = fleet_ignition::translate(&input, &options).expect("translates");
        bytes += translation.to_json(false).len();
    }
    let elapsed = started.elapsed();
    println!(
        "{count} translations of {path} in {elapsed:?}: {:.1} µs each ({bytes} bytes written)",
        elapsed.as_secs_f64() * 1e6 / count as f64
    );
}
