//! `cargo xtask bench [NAME...]`: every criterion bench of the workspace, found through `cargo metadata`,
//! plus process-level timings of the `fleet` binary, summarised as medians at the end.
//!
//! A crate adds a bench by adding `benches/NAME.rs` (criterion, `harness = false`) to its Cargo.toml;
//! nothing here needs to change. Process-level benchmarks are the `PROCESS_BENCHES` table below.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::process::{self, cargo, output, target_dir, workspace_root};

/// A command line of `fleet` to time as a whole process (start-up included), from the workspace root.
#[derive(Debug)]
struct ProcessBench {
    name: &'static str,
    arguments: &'static [&'static str],
}

const PROCESS_BENCHES: &[ProcessBench] = &[
    ProcessBench {
        name: "process/fleet-check-example",
        arguments: &["check", "fleet/fleet.toml"],
    },
    ProcessBench {
        name: "process/fleet-butane-web",
        arguments: &["butane", "fleet/butane/web.bu"],
    },
    ProcessBench {
        name: "process/fleet-plan-example",
        arguments: &["plan", "fleet/fleet.toml"],
    },
];

/// Runs per process bench after warm-up; enough for a stable median of a ~10 ms process.
const PROCESS_RUNS: usize = 30;
const PROCESS_WARMUP_RUNS: usize = 3;

/// A criterion bench target of a workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BenchTarget {
    package: String,
    target: String,
}

/// One line of the final report.
#[derive(Debug)]
struct Measurement {
    name: String,
    median: Duration,
    detail: String,
}

pub(crate) fn run(filters: &[String]) -> Result<()> {
    let matches = |names: &[&str]| {
        filters.is_empty()
            || filters
                .iter()
                .any(|filter| names.iter().any(|name| name.contains(filter.as_str())))
    };
    let targets: Vec<BenchTarget> = discover_bench_targets()?
        .into_iter()
        .filter(|bench| matches(&[&bench.package, &bench.target]))
        .collect();
    let process_benches: Vec<&ProcessBench> = PROCESS_BENCHES
        .iter()
        .filter(|bench| matches(&[bench.name, "process"]))
        .collect();
    if targets.is_empty() && process_benches.is_empty() {
        bail!("no benchmark matches {filters:?}");
    }

    let started = SystemTime::now();
    let mut failures = Vec::new();
    for bench in &targets {
        let result = process::run(cargo().current_dir(workspace_root()).args([
            "bench",
            "--package",
            &bench.package,
            "--bench",
            &bench.target,
        ]));
        if let Err(error) = result {
            failures.push(format!("{}/{}: {error:#}", bench.package, bench.target));
        }
    }
    let mut measurements = criterion_results_since(&target_dir().join("criterion"), started)?;

    if !process_benches.is_empty() {
        process::run(cargo().current_dir(workspace_root()).args([
            "build",
            "--release",
            "--package",
            "fleet-cli",
            "--bin",
            "fleet",
        ]))?;
        let fleet = target_dir().join("release").join("fleet");
        for bench in process_benches {
            match time_process(&fleet, bench) {
                Ok(measurement) => measurements.push(measurement),
                Err(error) => failures.push(format!("{}: {error:#}", bench.name)),
            }
        }
    }

    print_report(&measurements);
    if !failures.is_empty() {
        bail!("some benchmarks failed:\n  {}", failures.join("\n  "));
    }
    Ok(())
}

/// Every `bench` target of every workspace member.
fn discover_bench_targets() -> Result<Vec<BenchTarget>> {
    let metadata = output(cargo().current_dir(workspace_root()).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))?;
    let metadata: Value = serde_json::from_str(&metadata).context("cargo metadata is not JSON")?;
    let mut targets = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let package_name = package["name"].as_str().unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bench = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"));
            if is_bench {
                targets.push(BenchTarget {
                    package: package_name.to_owned(),
                    target: target["name"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    targets.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    Ok(targets)
}

/// Criterion's `new/estimates.json` files written since `since`, with the id from `new/benchmark.json`.
fn criterion_results_since(criterion_dir: &Path, since: SystemTime) -> Result<Vec<Measurement>> {
    let mut estimates = Vec::new();
    collect_files(criterion_dir, &mut estimates, &|path| {
        path.ends_with("new/estimates.json")
    });
    let mut measurements = Vec::new();
    for estimates_path in estimates {
        let fresh = std::fs::metadata(&estimates_path)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified >= since);
        if !fresh {
            continue;
        }
        let directory = estimates_path.parent().unwrap_or(criterion_dir);
        let estimates: Value = read_json(&estimates_path)?;
        let benchmark: Value = read_json(&directory.join("benchmark.json")).unwrap_or(Value::Null);
        let name = benchmark["full_id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| directory.display().to_string());
        let median_ns = estimates["median"]["point_estimate"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let low_ns = estimates["median"]["confidence_interval"]["lower_bound"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let high_ns = estimates["median"]["confidence_interval"]["upper_bound"]
            .as_f64()
            .unwrap_or(f64::NAN);
        measurements.push(Measurement {
            name,
            median: Duration::from_secs_f64(median_ns.max(0.0) / 1e9),
            detail: format!(
                "criterion, 95% CI {} .. {}",
                human(Duration::from_secs_f64(low_ns.max(0.0) / 1e9)),
                human(Duration::from_secs_f64(high_ns.max(0.0) / 1e9))
            ),
        });
    }
    measurements.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(measurements)
}

fn collect_files(directory: &Path, found: &mut Vec<PathBuf>, wanted: &dyn Fn(&Path) -> bool) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, found, wanted);
        } else if wanted(&path) {
            found.push(path);
        }
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Wall-clock time of whole `fleet` processes: warm-up runs, then the median of `PROCESS_RUNS`.
fn time_process(fleet: &Path, bench: &ProcessBench) -> Result<Measurement> {
    let mut command = Command::new(fleet);
    command
        .current_dir(workspace_root())
        .args(bench.arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let line = process::display(&command);
    let mut samples = Vec::with_capacity(PROCESS_RUNS);
    for run in 0..PROCESS_WARMUP_RUNS + PROCESS_RUNS {
        let start = Instant::now();
        let result = command
            .output()
            .with_context(|| format!("cannot run `{line}`"))?;
        let elapsed = start.elapsed();
        if !result.status.success() {
            let stderr = String::from_utf8_lossy(&result.stderr);
            bail!(
                "`{line}` failed ({}): {}",
                result.status,
                stderr.lines().next().unwrap_or_default()
            );
        }
        if run >= PROCESS_WARMUP_RUNS {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    Ok(Measurement {
        name: bench.name.to_owned(),
        median,
        detail: format!(
            "{} runs of `fleet {}`, min {} max {}",
            samples.len(),
            bench.arguments.join(" "),
            human(samples[0]),
            human(samples[samples.len() - 1])
        ),
    })
}

fn print_report(measurements: &[Measurement]) {
    let width = measurements
        .iter()
        .map(|measurement| measurement.name.len())
        .max()
        .unwrap_or(9)
        .max(9);
    println!();
    println!("{:<width$}  {:>10}  detail", "benchmark", "median");
    for measurement in measurements {
        println!(
            "{:<width$}  {:>10}  {}",
            measurement.name,
            human(measurement.median),
            measurement.detail
        );
    }
}

/// A duration with a unit that keeps 3-4 significant digits.
fn human(duration: Duration) -> String {
    let nanos = duration.as_secs_f64() * 1e9;
    if nanos < 1e3 {
        format!("{nanos:.1} ns")
    } else if nanos < 1e6 {
        format!("{:.2} µs", nanos / 1e3)
    } else if nanos < 1e9 {
        format!("{:.2} ms", nanos / 1e6)
    } else {
        format!("{:.3} s", nanos / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_a_readable_unit() {
        assert_eq!(human(Duration::from_nanos(512)), "512.0 ns");
        assert_eq!(human(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(human(Duration::from_millis(2500)), "2.500 s");
    }
}
