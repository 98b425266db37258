//! Keeps the rules of docs/ARCHITECTURE.md true: which crate may depend on which (from `cargo
//! metadata`), what the static `fleet` binary links (its whole dependency closure, and its dynamic
//! section), and what library code may call (clippy, run over every library crate).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The companion binary's package: the only crate that may link libvirt and network code together
/// with the CLI, and one that nothing may depend on.
const COMPANION: &str = "fleet-connected";

/// The pure cores: no clock, file system, environment, process, threads or network.
const PURE_CORES: [&str; 3] = ["fleet-spec", "fleet-ignition", "fleet-plan"];

/// The fleet crates each workspace package may depend on (normal dependencies). Every workspace
/// package must be listed, so a new crate is given its place here and in docs/ARCHITECTURE.md.
const ALLOWED_FLEET_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("fleet-spec", &[]),
    ("fleet-ignition", &["fleet-spec"]),
    ("fleet-plan", &["fleet-spec"]),
    ("fleet-libvirt", &["fleet-spec"]),
    ("fleet-image", &[]),
    ("fleet-cli", &["fleet-spec", "fleet-ignition", "fleet-plan"]),
    (
        COMPANION,
        &[
            "fleet-cli",
            "fleet-spec",
            "fleet-ignition",
            "fleet-plan",
            "fleet-libvirt",
            "fleet-image",
        ],
    ),
    ("fleet-tests", &[]),
    ("xtask", &[]),
];

/// Crates that must not be anywhere in the static `fleet` binary's dependency closure, and why: it
/// loads no libvirt (start-up time), and resolves no names and opens no connections (a static glibc
/// cannot use NSS), so no HTTP, TLS or OpenPGP code belongs in it. They belong in the companion.
const NOT_IN_THE_FLEET_BINARY: &[(&str, &str)] = &[
    (COMPANION, "the companion binary"),
    ("fleet-libvirt", "libvirt"),
    ("virt", "libvirt"),
    ("virt-sys", "libvirt"),
    ("fleet-image", "image downloads (network, TLS, OpenPGP)"),
    ("ureq", "HTTP"),
    ("ureq-proto", "HTTP"),
    ("hyper", "HTTP"),
    ("reqwest", "HTTP"),
    ("curl", "HTTP"),
    ("curl-sys", "HTTP"),
    ("rustls", "TLS"),
    ("rustls-platform-verifier", "TLS"),
    ("rustls-webpki", "TLS"),
    ("webpki-roots", "TLS"),
    ("ring", "TLS"),
    ("aws-lc-rs", "TLS"),
    ("native-tls", "TLS"),
    ("openssl", "TLS"),
    ("openssl-sys", "TLS"),
    ("pgp", "OpenPGP"),
    ("sequoia-openpgp", "OpenPGP"),
    ("gpgme", "OpenPGP"),
];

/// The only shared libraries the `fleet` binary may load when it is linked dynamically (debug
/// builds): the C runtime. `cargo xtask build` links it statically, so it then loads none.
const C_RUNTIME: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
];

/// One workspace package as `cargo metadata` describes it.
#[derive(Debug)]
struct Package {
    id: String,
    /// Names of its normal (non-dev, non-build) dependencies.
    normal: BTreeSet<String>,
    /// Names of every dependency, of any kind.
    any_kind: BTreeSet<String>,
    /// Target kinds: lib, bin, test, bench, example, custom-build…
    target_kinds: BTreeSet<String>,
}

/// The workspace as `cargo metadata` (with the resolved graph, for this machine's platform) sees it.
#[derive(Debug)]
struct Workspace {
    packages: BTreeMap<String, Package>,
    /// Package id → its name.
    names: BTreeMap<String, String>,
    /// Package id → ids of its normal dependencies, as resolved.
    normal_edges: BTreeMap<String, Vec<String>>,
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package is inside the workspace")
}

/// The host's target triple, as cargo reports it (`cargo -vV`).
fn host_triple() -> String {
    let output = cargo().arg("-vV").output().expect("cargo -vV runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("cargo -vV names the host")
        .to_owned()
}

fn workspace() -> &'static Workspace {
    static WORKSPACE: OnceLock<Workspace> = OnceLock::new();
    WORKSPACE.get_or_init(read_workspace)
}

fn read_workspace() -> Workspace {
    // Offline, and for this platform only: every crate it resolves is in the lock file and built.
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let is_normal = |dependency: &Value| dependency["kind"].is_null();
    let mut names = BTreeMap::new();
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let id = package["id"].as_str().expect("id").to_owned();
        let name = package["name"].as_str().expect("name").to_owned();
        names.insert(id.clone(), name.clone());
        if !members.contains(id.as_str()) {
            continue;
        }
        let dependencies = package["dependencies"].as_array().expect("dependencies");
        let dependency_name =
            |dependency: &Value| dependency["name"].as_str().expect("name").to_owned();
        packages.insert(
            name,
            Package {
                id,
                normal: dependencies
                    .iter()
                    .filter(|dependency| is_normal(dependency))
                    .map(dependency_name)
                    .collect(),
                any_kind: dependencies.iter().map(dependency_name).collect(),
                target_kinds: package["targets"]
                    .as_array()
                    .expect("targets")
                    .iter()
                    .flat_map(|target| target["kind"].as_array().expect("kind").iter())
                    .filter_map(|kind| kind.as_str().map(str::to_owned))
                    .collect(),
            },
        );
    }
    let mut normal_edges = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
        let edges = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|dependency| {
                dependency["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(is_normal)
            })
            .map(|dependency| dependency["pkg"].as_str().expect("pkg").to_owned())
            .collect();
        normal_edges.insert(node["id"].as_str().expect("id").to_owned(), edges);
    }
    Workspace {
        packages,
        names,
        normal_edges,
    }
}

impl Workspace {
    fn package(&self, name: &str) -> &Package {
        self.packages
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a workspace package"))
    }

    /// Every crate `package` links (its normal dependencies, transitively), each with the chain of
    /// crates through which it is reached.
    fn closure(&self, package: &str) -> BTreeMap<String, Vec<String>> {
        let root = &self.package(package).id;
        let mut reached: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([(root.clone(), Vec::new())]);
        let mut seen = BTreeSet::new();
        while let Some((id, mut chain)) = queue.pop_front() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let name = self.names[&id].clone();
            chain.push(name.clone());
            reached.entry(name).or_insert_with(|| chain.clone());
            for next in self.normal_edges.get(&id).into_iter().flatten() {
                queue.push_back((next.clone(), chain.clone()));
            }
        }
        reached
    }

    /// Crates whose only product is a library (tests, benches and examples aside): they print
    /// nothing and report through return values and event callbacks. fleet-tests is the tests'
    /// own support, which reports skipped tests on stderr.
    fn library_crates(&self) -> Vec<&str> {
        self.packages
            .iter()
            .filter(|(name, package)| {
                *name != "fleet-tests"
                    && package.target_kinds.contains("lib")
                    && !package.target_kinds.contains("bin")
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

#[test]
fn fleet_crates_depend_in_one_direction() {
    let workspace = workspace();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED_FLEET_DEPENDENCIES.iter().copied().collect();
    for (package, details) in &workspace.packages {
        let Some(allowed_fleet_dependencies) = allowed.get(package.as_str()) else {
            panic!(
                "{package} is a new workspace package: give it its place in \
                 ALLOWED_FLEET_DEPENDENCIES and in docs/ARCHITECTURE.md"
            );
        };
        for dependency in &details.normal {
            if dependency.starts_with("fleet-") {
                assert!(
                    allowed_fleet_dependencies.contains(&dependency.as_str()),
                    "{package} must not depend on {dependency} (see docs/ARCHITECTURE.md)"
                );
            }
        }
    }
}

/// `fleet` executes the companion; a crate that linked it would make the companion a library and
/// bring libvirt back into whatever depends on it.
#[test]
fn nothing_depends_on_the_companion() {
    for (package, details) in &workspace().packages {
        assert!(
            !details.any_kind.contains(COMPANION),
            "{package} depends on {COMPANION}; nothing may: the companion is a binary that `fleet` \
             executes (put shared code in fleet-cli's library)"
        );
    }
}

/// The whole closure, not only direct dependencies: a crate fleet-cli uses could bring TLS in.
#[test]
fn the_fleet_binary_links_no_libvirt_network_tls_or_openpgp_crate() {
    let closure = workspace().closure("fleet-cli");
    let found: Vec<String> = NOT_IN_THE_FLEET_BINARY
        .iter()
        .filter_map(|(forbidden, what)| {
            closure
                .get(*forbidden)
                .map(|chain| format!("{forbidden} ({what}), through {}", chain.join(" → ")))
        })
        .collect();
    assert!(
        found.is_empty(),
        "fleet-cli (the static `fleet` binary) links {}; keep it in {COMPANION} (see \
         docs/ARCHITECTURE.md, \"Dependency direction\")",
        found.join("; ")
    );
}

#[test]
fn only_fleet_libvirt_links_virt() {
    for (package, details) in &workspace().packages {
        assert!(
            package == "fleet-libvirt" || !details.normal.contains("virt"),
            "{package} links virt; only fleet-libvirt may"
        );
    }
}

#[test]
fn only_the_binaries_draw_tables_progress_and_arguments() {
    let workspace = workspace();
    for library in workspace.library_crates() {
        for edge_only in [
            "clap",
            "indicatif",
            "tabled",
            "anyhow",
            "tracing-subscriber",
        ] {
            assert!(
                !workspace.package(library).normal.contains(edge_only),
                "{library} must not use {edge_only}: it is a library (docs/ARCHITECTURE.md)"
            );
        }
    }
}

#[test]
fn pure_cores_do_not_reach_libvirt_or_threads() {
    let workspace = workspace();
    for core in PURE_CORES {
        let dependencies = &workspace.package(core).normal;
        assert!(!dependencies.contains("virt"), "{core} must not link virt");
        assert!(
            !dependencies.contains("rayon"),
            "{core} must stay sequential; the CLI parallelises"
        );
    }
}

/// `fleet` must start in about a millisecond (`fleet butane` is benchmarked at 2 ms): loading libvirt
/// and its libraries alone costs 10–20 ms, and TLS libraries are no better.
#[test]
fn the_fleet_binary_loads_only_the_c_runtime() {
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
        .filter_map(|line| line.split('[').nth(1)?.split(']').next())
        .collect();
    // A statically linked build (cargo xtask build, FLEET_BIN) has no dynamic section to read.
    let others: Vec<&&str> = needed
        .iter()
        .filter(|library| !C_RUNTIME.contains(library))
        .collect();
    assert!(
        others.is_empty(),
        "{} loads {others:?} beyond the C runtime; keep libvirt and network code in {COMPANION}",
        fleet.display()
    );
}

/// The rules clippy checks in library code, run as part of `cargo test` (CI's `cargo xtask test`
/// does not run clippy itself): pure cores call nothing their `clippy.toml` disallows, and no
/// library prints. Only these lints are denied here, so a new clippy warning elsewhere does not
/// fail this test (`cargo xtask ci` denies every warning).
#[test]
fn library_code_keeps_the_lint_rules() {
    let workspace = workspace();
    let build = fleet_tests::binary::test_build().expect("this test runs from a cargo build");
    let libraries = workspace.library_crates();
    let mut clippy = cargo();
    clippy
        .args(["clippy", "--offline", "--quiet", "--lib"])
        .args(["--profile", &build.profile])
        .arg("--target-dir")
        .arg(&build.target_dir)
        .args(libraries.iter().flat_map(|library| ["--package", library]))
        .args(["--", "--deny", "clippy::disallowed_methods"])
        .args([
            "--deny",
            "clippy::print_stdout",
            "--deny",
            "clippy::print_stderr",
        ])
        .args(["--deny", "clippy::dbg_macro"])
        .current_dir(workspace_root());
    let output = clippy.output().expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("no such command"),
        "cargo clippy is not installed (rustup component add clippy): {stderr}"
    );
    assert!(
        output.status.success(),
        "library code breaks a rule of docs/ARCHITECTURE.md (pure cores: no clock, file system, \
         environment, process, threads, network or standard streams; libraries: no printing) in \
         {libraries:?}:\n{stderr}"
    );
}

/// One list of what pure code may not call, in each pure crate (clippy reads the `clippy.toml` of
/// the crate it checks, and a shared one higher up would reach the binaries too).
#[test]
fn pure_cores_share_one_list_of_disallowed_methods() {
    let read = |core: &str| {
        let path = workspace_root()
            .join("crates")
            .join(core)
            .join("clippy.toml");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    };
    let first = read(PURE_CORES[0]);
    let config: toml::Table = first.parse().expect("clippy.toml is TOML");
    let disallowed: Vec<&str> = config["disallowed-methods"]
        .as_array()
        .expect("disallowed-methods is a list")
        .iter()
        .filter_map(|entry| entry.as_str().or_else(|| entry.get("path")?.as_str()))
        .collect();
    for essential in [
        "std::fs::read",
        "std::fs::File::open",
        "std::env::var",
        "std::process::Command::new",
        "std::time::SystemTime::now",
        "std::time::Instant::now",
        "chrono::Utc::now",
        "std::net::TcpStream::connect",
    ] {
        assert!(
            disallowed.contains(&essential),
            "crates/{}/clippy.toml must disallow {essential}",
            PURE_CORES[0]
        );
    }
    for core in &PURE_CORES[1..] {
        assert_eq!(
            read(core),
            first,
            "crates/{core}/clippy.toml differs from crates/{}/clippy.toml: keep the copies equal",
            PURE_CORES[0]
        );
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let root = workspace_root();
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

fn visit(directory: &Path, on_file: &mut dyn FnMut(&Path)) {
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
