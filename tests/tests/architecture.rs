//! Keeps the dependency rules of docs/ARCHITECTURE.md true, by reading `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace package with the names of its normal (non-dev, non-build) dependencies.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_owned();
        let dependencies = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|dependency| dependency["kind"].is_null())
            .map(|dependency| {
                dependency["name"]
                    .as_str()
                    .expect("dependency name")
                    .to_owned()
            })
            .collect();
        packages.insert(name, dependencies);
    }
    packages
}

fn depends(packages: &BTreeMap<String, BTreeSet<String>>, package: &str, dependency: &str) -> bool {
    packages[package].contains(dependency)
}

const LIBRARIES: [&str; 4] = [
    "fleet-spec",
    "fleet-ignition",
    "fleet-plan",
    "fleet-libvirt",
];

#[test]
fn fleet_crates_depend_in_one_direction() {
    let packages = workspace_dependencies();
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("fleet-spec", &[][..]),
        ("fleet-ignition", &["fleet-spec"][..]),
        ("fleet-plan", &["fleet-spec"][..]),
        (
            "fleet-libvirt",
            &["fleet-spec", "fleet-ignition", "fleet-plan"][..],
        ),
        (
            "fleet-cli",
            &[
                "fleet-spec",
                "fleet-ignition",
                "fleet-plan",
                "fleet-libvirt",
            ][..],
        ),
    ]);
    for (package, allowed_fleet_dependencies) in &allowed {
        for dependency in &packages[*package] {
            if dependency.starts_with("fleet-") {
                assert!(
                    allowed_fleet_dependencies.contains(&dependency.as_str()),
                    "{package} must not depend on {dependency} (see docs/ARCHITECTURE.md)"
                );
            }
        }
    }
}

#[test]
fn only_fleet_libvirt_links_virt() {
    let packages = workspace_dependencies();
    for (package, _) in packages.iter().filter(|(_, deps)| deps.contains("virt")) {
        assert!(
            package == "fleet-libvirt" || package == "fleet-tests",
            "{package} links virt; only fleet-libvirt may (tests may, to observe libvirt)"
        );
    }
}

#[test]
fn only_the_cli_draws_tables_progress_and_arguments() {
    let packages = workspace_dependencies();
    for library in LIBRARIES {
        for edge_only in [
            "clap",
            "indicatif",
            "tabled",
            "anyhow",
            "tracing-subscriber",
        ] {
            assert!(
                !depends(&packages, library, edge_only),
                "{library} must not use {edge_only}"
            );
        }
    }
}

/// `fleet` must start in about a millisecond (`fleet butane` is benchmarked at 2 ms): loading libvirt
/// and its libraries alone costs 10–20 ms, so only `fleet-provision` may link it.
#[test]
fn the_fleet_binary_does_not_load_libvirt() {
    let fleet = fleet_tests::binary::fleet_binary().expect("the fleet binary builds");
    let output = Command::new("readelf")
        .args(["--dynamic", "--wide"])
        .arg(&fleet)
        .output()
        .expect("readelf runs (binutils)");
    assert!(
        output.status.success(),
        "readelf failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .collect();
    assert!(!needed.is_empty(), "readelf listed no libraries: {dynamic}");
    assert!(
        needed.iter().all(|line| !line.contains("libvirt")),
        "fleet loads libvirt: {needed:?}; keep libvirt calls in fleet-provision"
    );
}

#[test]
fn pure_cores_do_not_reach_libvirt() {
    let packages = workspace_dependencies();
    for core in ["fleet-spec", "fleet-ignition", "fleet-plan"] {
        assert!(
            !depends(&packages, core, "virt"),
            "{core} must not link virt"
        );
        assert!(
            !depends(&packages, core, "rayon"),
            "{core} must stay sequential; the CLI parallelises"
        );
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let mut missing = Vec::new();
    for top in ["crates", "tests", "xtask"] {
        visit(&root.join(top), &mut |path| {
            if path.extension().is_some_and(|extension| extension == "rs") {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if !text.trim_start().starts_with("//!") {
                    missing.push(
                        path.strip_prefix(root)
                            .unwrap_or(path)
                            .display()
                            .to_string(),
                    );
                }
            }
        });
    }
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:?}"
    );
}

fn visit(directory: &std::path::Path, on_file: &mut dyn FnMut(&std::path::Path)) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if path.is_dir() {
            if name != "target" && name != "data" && !name.starts_with('.') {
                visit(&path, on_file);
            }
        } else {
            on_file(&path);
        }
    }
}
