//! The health gate's scripts, as a rendered Ignition config carries them, run against stand-in
//! `rpm-ostree`, `systemctl`, `podman` and `runuser` (tests/data/health/stand-ins/) that record
//! their calls and answer `rpm-ostree status --json` in Fedora CoreOS's format (zincati v0.0.32's
//! fixture, one deployment per boot state) and `podman inspect` with each container's state. Each boot runs `fleet-health`'s script as its unit does (`SHELL SCRIPT`) and,
//! when it fails, the rollback as `OnFailure=` would; a reboot is the test writing the next status.
//! Every case runs under dash, bash and busybox's sh (with busybox's awk, sed and friends), and
//! shellcheck checks the scripts.
//!
//! The only change to what the config carries: `timeout_seconds` and `retry_seconds` in the check
//! file, so that a timeout takes seconds instead of minutes.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fleet_cli::health_report::last_health_report;
use fleet_tests::binary::render_fleet;
use fleet_tests::data::repository;
use fleet_tests::health_gate::{HealthGate, health_gate_of, health_tool};
use fleet_tests::workdir::WorkDir;
use serde_json::Value;

const CHECK_SCRIPT: &str = "/etc/fleet/health/health-check";
const ROLLBACK_SCRIPT: &str = "/etc/fleet/health/rollback";
const CHECK_FILE: &str = "/etc/fleet/health/checks.conf";
/// What busybox provides in the guest for what the scripts run.
const BUSYBOX_APPLETS: &[&str] = &[
    "awk", "cat", "date", "dirname", "grep", "head", "mkdir", "mv", "printf", "rm", "sed", "sleep",
    "timeout", "tr",
];

fn data(relative: &str) -> PathBuf {
    repository().join("tests/data/health").join(relative)
}

/// The health gate of the harness fleet's one node, rendered by the binary under test.
fn rendered_gate(workdir: &WorkDir) -> HealthGate {
    let fleet_dir = workdir.join("fleet");
    fs::create_dir_all(&fleet_dir).unwrap();
    fs::copy(data("fleet.toml"), fleet_dir.join("fleet.toml")).unwrap();
    let rendered = render_fleet(&fleet_dir.join("fleet.toml"), &workdir.join("rendered")).unwrap();
    let config = rendered
        .ignition
        .get("app-1")
        .expect("the node app-1 is rendered");
    health_gate_of(config).unwrap()
}

/// A shell the scripts run under, and the directory of tools it finds first on PATH.
#[derive(Debug, Clone)]
struct Shell {
    name: &'static str,
    argv0: Vec<PathBuf>,
    tools: Option<PathBuf>,
}

fn shells(workdir: &WorkDir, test_name: &str) -> Vec<Shell> {
    let mut found = Vec::new();
    for name in ["dash", "bash"] {
        let path = Path::new("/bin").join(name);
        assert!(path.is_file(), "{name} is part of Debian's base system");
        found.push(Shell {
            name,
            argv0: vec![path],
            tools: None,
        });
    }
    if let Some(busybox) = health_tool("FLEET_BUSYBOX_BIN", "busybox", test_name) {
        let tools = workdir.join("busybox-tools");
        fs::create_dir_all(&tools).unwrap();
        for applet in BUSYBOX_APPLETS {
            std::os::unix::fs::symlink(&busybox, tools.join(applet)).unwrap();
        }
        found.push(Shell {
            name: "busybox sh",
            argv0: vec![busybox, PathBuf::from("sh")],
            tools: Some(tools),
        });
    }
    found
}

/// One deployment in `rpm-ostree status --json`, in the order rpm-ostree lists them.
#[derive(Debug, Clone, Copy)]
struct Deployment {
    checksum: &'static str,
    version: &'static str,
    booted: bool,
}

const A: &str = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
const B: &str = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";

fn booted(checksum: &'static str, version: &'static str) -> Deployment {
    Deployment {
        checksum,
        version,
        booted: true,
    }
}

fn other(checksum: &'static str, version: &'static str) -> Deployment {
    Deployment {
        checksum,
        version,
        booted: false,
    }
}

/// Fedora CoreOS's answer with these deployments: each a copy of the fixture's deployment with its
/// checksum, version and `booted` changed.
fn status_json(deployments: &[Deployment]) -> String {
    let fixture: Value =
        serde_json::from_str(&fs::read_to_string(data("rpm-ostree-status.json")).unwrap()).unwrap();
    let template = fixture["deployments"][0].clone();
    let mut status = fixture.clone();
    status["deployments"] = deployments
        .iter()
        .map(|deployment| {
            let mut entry = template.clone();
            entry["checksum"] = deployment.checksum.into();
            entry["version"] = deployment.version.into();
            entry["booted"] = deployment.booted.into();
            entry
        })
        .collect();
    serde_json::to_string_pretty(&status).unwrap()
}

/// A node: the gate's files in a scratch root, its state directory, and what the stand-ins answer.
struct Node {
    root: PathBuf,
    scenario: PathBuf,
    path: String,
    shell: Shell,
}

/// What one boot printed and called.
#[derive(Debug)]
struct Boot {
    check: Output,
    rollback: Option<Output>,
    calls: Vec<String>,
    elapsed: Duration,
}

impl Boot {
    /// The FLEET-HEALTH lines of this boot, parsed.
    fn console_lines(&self) -> Vec<Value> {
        let mut text = String::from_utf8_lossy(&self.check.stdout).into_owned();
        if let Some(rollback) = &self.rollback {
            text.push_str(&String::from_utf8_lossy(&rollback.stdout));
        }
        text.lines()
            .map(|line| {
                let json = line
                    .strip_prefix("FLEET-HEALTH ")
                    .unwrap_or_else(|| panic!("not a FLEET-HEALTH line: {line:?}"));
                serde_json::from_str(json).unwrap_or_else(|error| panic!("{line}: {error}"))
            })
            .collect()
    }

    /// The one line of the boot.
    fn line(&self) -> Value {
        let lines = self.console_lines();
        assert_eq!(lines.len(), 1, "one console line per boot: {self:#?}");
        lines.into_iter().next().unwrap()
    }

    fn rollbacks(&self) -> usize {
        self.calls
            .iter()
            .filter(|call| call.starts_with("rpm-ostree rollback"))
            .count()
    }
}

impl Node {
    fn new(gate: &HealthGate, workdir: &WorkDir, shell: &Shell, case: &str) -> Node {
        let base = workdir.join(format!("{case}-{}", shell.name.replace(' ', "-")));
        let root = base.join("root");
        let scenario = base.join("scenario");
        fs::create_dir_all(&scenario).unwrap();
        for (path, (mode, bytes)) in &gate.files {
            let target = root.join(path.trim_start_matches('/'));
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(&target, bytes).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(*mode)).unwrap();
        }
        let stand_ins = data("stand-ins");
        let mut path = String::new();
        if let Some(tools) = &shell.tools {
            path.push_str(&format!("{}:", tools.display()));
        }
        path.push_str(&format!(
            "{}:{}",
            stand_ins.display(),
            std::env::var("PATH").unwrap_or_default()
        ));
        let node = Node {
            root,
            scenario,
            path,
            shell: shell.clone(),
        };
        node.set_timing(60, 1);
        node.set_active_units(&["app.service"]);
        node.set_app_failures("0");
        node.set_container("site", &["running healthy"]);
        node.set_container("cache", &["running"]);
        node
    }

    fn host_path(&self, node_path: &str) -> PathBuf {
        self.root.join(node_path.trim_start_matches('/'))
    }

    fn set_timing(&self, timeout_seconds: u32, retry_seconds: u32) {
        let file = self.host_path(CHECK_FILE);
        let text = fs::read_to_string(&file).unwrap();
        let changed: Vec<String> = text
            .lines()
            .map(|line| match line.split_once(' ') {
                Some(("timeout_seconds", _)) => format!("timeout_seconds {timeout_seconds}"),
                Some(("retry_seconds", _)) => format!("retry_seconds {retry_seconds}"),
                _ => line.to_owned(),
            })
            .collect();
        fs::write(&file, changed.join("\n") + "\n").unwrap();
    }

    fn set_active_units(&self, units: &[&str]) {
        let text: String = units.iter().map(|unit| format!("{unit}\n")).collect();
        fs::write(self.scenario.join("active-units"), text).unwrap();
    }

    /// `0`, a count, `always` or `hang` (see the stand-in `app-ready`).
    fn set_app_failures(&self, failures: &str) {
        fs::write(self.scenario.join("app-failures"), failures).unwrap();
    }

    /// What `podman inspect` answers for container `name`, one `STATUS [HEALTH]` a call, the last
    /// one from then on (see the stand-in `podman`).
    fn set_container(&self, name: &str, answers: &[&str]) {
        let text: String = answers.iter().map(|answer| format!("{answer}\n")).collect();
        fs::write(self.scenario.join(format!("container-{name}")), text).unwrap();
    }

    fn run(&self, script: &str) -> Output {
        let (program, arguments) = self.shell.argv0.split_first().unwrap();
        Command::new(program)
            .args(arguments)
            .arg(self.host_path(script))
            .env("PATH", &self.path)
            .env("SCENARIO", &self.scenario)
            .env("FLEET_HEALTH_CONFIG", self.host_path(CHECK_FILE))
            .env(
                "FLEET_HEALTH_STATE",
                self.host_path("/var/lib/fleet/health"),
            )
            .output()
            .unwrap()
    }

    /// Boot with these deployments: the health check, and the rollback when it fails.
    fn boot(&self, deployments: &[Deployment]) -> Boot {
        fs::write(self.scenario.join("status.json"), status_json(deployments)).unwrap();
        let _ = fs::remove_file(self.scenario.join("calls"));
        let started = Instant::now();
        let check = self.run(CHECK_SCRIPT);
        let elapsed = started.elapsed();
        let rollback = (!check.status.success()).then(|| {
            let output = self.run(ROLLBACK_SCRIPT);
            assert!(output.status.success(), "the rollback fails: {output:#?}");
            output
        });
        let calls = fs::read_to_string(self.scenario.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        Boot {
            check,
            rollback,
            calls,
            elapsed,
        }
    }

    fn state(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.host_path("/var/lib/fleet/health").join(name))
            .ok()
            .map(|text| text.trim().to_owned())
    }
}

fn deployment(checksum: &str, version: &str) -> Value {
    serde_json::json!({ "version": version, "checksum": checksum })
}

/// Runs `case` on a fresh node under every shell.
fn each_shell(test_name: &str, case: impl Fn(&Node)) {
    let workdir = WorkDir::new(test_name).unwrap();
    let gate = rendered_gate(&workdir);
    for shell in shells(&workdir, test_name) {
        eprintln!("{test_name}: under {}", shell.name);
        case(&Node::new(&gate, &workdir, &shell, test_name));
    }
}

#[test]
fn a_healthy_first_boot_records_its_deployment_as_good_and_says_so() {
    each_shell("healthy-first-boot", |node| {
        let boot = node.boot(&[booted(A, "42.1")]);
        assert!(boot.check.status.success(), "{boot:#?}");
        let line = boot.line();
        assert_eq!(line["state"], "healthy", "{line}");
        assert_eq!(line["booted"], deployment(A, "42.1"));
        assert_eq!(line["rolled_back_from"], Value::Null);
        assert_eq!(line["failed_check"], Value::Null);
        assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
        assert_eq!(node.state("last-good").as_deref(), Some(A));
        assert_eq!(boot.rollbacks(), 0);
        // The command ran as the fleet file wrote it, quotes and dollar signs untouched.
        assert!(
            boot.calls.contains(&"app-ready --it's $HOME".to_owned()),
            "{:?}",
            boot.calls
        );
        assert!(
            boot.calls
                .contains(&"systemctl is-active --quiet -- app.service".to_owned())
        );
    });
}

#[test]
fn an_unhealthy_first_boot_is_reported_and_neither_rolled_back_nor_rebooted() {
    each_shell("unhealthy-first-boot", |node| {
        node.set_timing(1, 1);
        node.set_active_units(&[]);
        let boot = node.boot(&[booted(A, "42.1")]);
        assert!(!boot.check.status.success());
        let line = boot.line();
        assert_eq!(line["state"], "rollback-skipped", "{line}");
        let failed = line["failed_check"].as_str().unwrap();
        assert!(
            failed.contains("unit app.service is not active"),
            "{failed}"
        );
        assert!(failed.contains("first boot"), "{failed}");
        assert_eq!(boot.rollbacks(), 0, "{:?}", boot.calls);
        assert!(
            !boot.calls.iter().any(|call| call.contains("reboot")),
            "{:?}",
            boot.calls
        );
        assert_eq!(node.state("last-good"), None);
    });
}

#[test]
fn a_healthy_update_becomes_the_last_good_deployment() {
    each_shell("healthy-update", |node| {
        assert!(node.boot(&[booted(A, "42.1")]).check.status.success());
        let boot = node.boot(&[booted(B, "42.2"), other(A, "42.1")]);
        assert_eq!(boot.line()["state"], "healthy");
        assert_eq!(boot.line()["booted"], deployment(B, "42.2"));
        assert_eq!(node.state("last-good").as_deref(), Some(B));
        assert_eq!(boot.rollbacks(), 0);
    });
}

#[test]
fn an_unhealthy_update_is_rolled_back_once_and_the_good_deployment_says_from_what() {
    each_shell("unhealthy-update", |node| {
        node.set_timing(1, 1);
        assert!(node.boot(&[booted(A, "42.1")]).check.status.success());
        node.set_app_failures("always");
        let boot = node.boot(&[booted(B, "42.2"), other(A, "42.1")]);
        let line = boot.line();
        assert_eq!(line["state"], "rolled-back", "{line}");
        assert_eq!(line["booted"], deployment(B, "42.2"));
        assert_eq!(line["rolled_back_from"], deployment(B, "42.2"));
        assert!(
            line["failed_check"]
                .as_str()
                .unwrap()
                .starts_with("command app-ready --it's $HOME exited 1"),
            "{line}"
        );
        assert_eq!(boot.rollbacks(), 1, "{:?}", boot.calls);
        assert_eq!(boot.calls.last().unwrap(), "rpm-ostree rollback --reboot");
        // The reboot: rpm-ostree made A the default again.
        node.set_app_failures("0");
        let after = node.boot(&[booted(A, "42.1"), other(B, "42.2")]);
        // What `fleet status` makes of the console: from what to what.
        let report = last_health_report(&after.check.stdout).expect("fleet reads the line");
        assert_eq!(
            report.health_label(),
            format!(
                "healthy (rolled back from 42.2 ({}) to 42.1 ({}))",
                &B[..10],
                &A[..10]
            )
        );
        assert_eq!(report.os_label(), format!("42.1 ({})", &A[..10]));
        let line = after.line();
        assert_eq!(line["state"], "healthy", "{line}");
        assert_eq!(line["booted"], deployment(A, "42.1"));
        assert_eq!(line["rolled_back_from"], deployment(B, "42.2"));
        assert_eq!(after.rollbacks(), 0);
    });
}

#[test]
fn a_node_still_unhealthy_after_its_rollback_is_not_rolled_back_again() {
    each_shell("still-unhealthy", |node| {
        node.set_timing(1, 1);
        assert!(node.boot(&[booted(A, "42.1")]).check.status.success());
        node.set_app_failures("always");
        assert_eq!(
            node.boot(&[booted(B, "42.2"), other(A, "42.1")])
                .rollbacks(),
            1
        );
        let after = node.boot(&[booted(A, "42.1"), other(B, "42.2")]);
        let line = after.line();
        assert_eq!(line["state"], "rollback-skipped", "{line}");
        assert!(
            line["failed_check"]
                .as_str()
                .unwrap()
                .contains("the booted deployment is the last one that passed"),
            "{line}"
        );
        assert_eq!(line["rolled_back_from"], deployment(B, "42.2"));
        assert_eq!(after.rollbacks(), 0, "{:?}", after.calls);
        // Booted into B once more (by hand): it was rolled back from before, so no second time.
        let again = node.boot(&[booted(B, "42.2"), other(A, "42.1")]);
        assert_eq!(again.rollbacks(), 0, "{:?}", again.calls);
        assert!(
            again.line()["failed_check"]
                .as_str()
                .unwrap()
                .contains("rolled back from before"),
            "{}",
            again.line()
        );
        assert_eq!(node.state("rollback-count").as_deref(), Some("1"));
    });
}

#[test]
fn a_transient_failure_is_healed_by_a_retry() {
    each_shell("transient", |node| {
        node.set_app_failures("2");
        let boot = node.boot(&[booted(A, "42.1")]);
        assert_eq!(boot.line()["state"], "healthy", "{boot:#?}");
        let tries = boot
            .calls
            .iter()
            .filter(|call| call.starts_with("app-ready"))
            .count();
        assert_eq!(tries, 3, "two failures, then the pass: {:?}", boot.calls);
    });
}

#[test]
fn the_timeout_is_honoured_even_by_a_check_that_hangs() {
    each_shell("timeout", |node| {
        node.set_timing(2, 1);
        node.set_app_failures("hang");
        let boot = node.boot(&[booted(A, "42.1")]);
        assert!(!boot.check.status.success());
        assert!(
            boot.elapsed >= Duration::from_secs(1) && boot.elapsed < Duration::from_secs(20),
            "the check took {:?} with a 2 s timeout",
            boot.elapsed
        );
        let line = boot.line();
        assert!(
            line["failed_check"]
                .as_str()
                .unwrap()
                .contains("command app-ready --it's $HOME did not finish within"),
            "{line}"
        );
    });
}

/// The calls of a boot that asked podman about `container`.
fn podman_calls<'a>(boot: &'a Boot, container: &str) -> Vec<&'a str> {
    boot.calls
        .iter()
        .filter(|call| call.starts_with("podman[") && call.ends_with(&format!(" {container}")))
        .map(String::as_str)
        .collect()
}

#[test]
fn a_rootless_container_is_checked_as_its_user_and_a_rootful_one_as_root() {
    each_shell("containers-as-owners", |node| {
        let boot = node.boot(&[booted(A, "42.1")]);
        assert_eq!(boot.line()["state"], "healthy", "{boot:#?}");
        // site has a health check and runs rootless as web (uid 2345 in the fleet file).
        assert!(
            boot.calls.contains(
                &"runuser -u web -- env XDG_RUNTIME_DIR=/run/user/2345 podman inspect --format \
                  {{.State.Status}} {{.State.Health.Status}} site"
                    .to_owned()
            ),
            "{:?}",
            boot.calls
        );
        assert_eq!(
            podman_calls(&boot, "site"),
            [
                "podman[user=web XDG_RUNTIME_DIR=/run/user/2345] inspect --format \
              {{.State.Status}} {{.State.Health.Status}} site"
            ]
        );
        // cache has none and is root's: it must be running, asked of the system's podman.
        assert_eq!(
            podman_calls(&boot, "cache"),
            ["podman[user=root XDG_RUNTIME_DIR=] inspect --format {{.State.Status}} cache"]
        );
        assert_eq!(
            boot.calls
                .iter()
                .filter(|call| call.starts_with("runuser"))
                .count(),
            1,
            "{:?}",
            boot.calls
        );
    });
}

#[test]
fn an_unhealthy_container_fails_the_gate_and_its_update_is_rolled_back() {
    each_shell("unhealthy-container", |node| {
        node.set_timing(1, 1);
        assert!(node.boot(&[booted(A, "42.1")]).check.status.success());
        node.set_container("site", &["running unhealthy"]);
        let boot = node.boot(&[booted(B, "42.2"), other(A, "42.1")]);
        let line = boot.line();
        assert_eq!(line["state"], "rolled-back", "{line}");
        assert_eq!(
            line["failed_check"], "container site (user web) is unhealthy, not healthy",
            "{line}"
        );
        assert_eq!(boot.rollbacks(), 1, "{:?}", boot.calls);
    });
}

#[test]
fn a_stopped_or_missing_container_fails_the_gate_with_its_name() {
    each_shell("stopped-container", |node| {
        node.set_timing(1, 1);
        node.set_container("cache", &["exited"]);
        let boot = node.boot(&[booted(A, "42.1")]);
        assert!(!boot.check.status.success());
        let failed = boot.line()["failed_check"].as_str().unwrap().to_owned();
        assert!(
            failed.starts_with("container cache is exited, not running"),
            "{failed}"
        );
        fs::remove_file(node.scenario.join("container-cache")).unwrap();
        let boot = node.boot(&[booted(A, "42.1")]);
        let failed = boot.line()["failed_check"].as_str().unwrap().to_owned();
        assert!(
            failed.starts_with("container cache: podman inspect exited 125"),
            "{failed}"
        );
    });
}

#[test]
fn a_container_that_becomes_healthy_after_a_retry_passes() {
    each_shell("container-retry", |node| {
        node.set_container(
            "site",
            &["running starting", "running starting", "running healthy"],
        );
        let boot = node.boot(&[booted(A, "42.1")]);
        assert_eq!(boot.line()["state"], "healthy", "{boot:#?}");
        assert_eq!(
            podman_calls(&boot, "site").len(),
            3,
            "starting twice, then healthy: {:?}",
            boot.calls
        );
    });
}

#[test]
fn shellcheck_accepts_the_scripts_as_posix_sh() {
    let test_name = "shellcheck_accepts_the_scripts";
    let Some(shellcheck) = health_tool("FLEET_SHELLCHECK_BIN", "shellcheck", test_name) else {
        return;
    };
    let workdir = WorkDir::new("shellcheck").unwrap();
    let gate = rendered_gate(&workdir);
    let directory = workdir.join("health");
    fs::create_dir_all(&directory).unwrap();
    let mut scripts = Vec::new();
    for (path, (_, bytes)) in &gate.files {
        if path.ends_with(".conf") {
            continue;
        }
        let name = path.rsplit('/').next().unwrap();
        fs::write(directory.join(name), bytes).unwrap();
        scripts.push(name.to_owned());
    }
    assert_eq!(scripts, ["common.sh", "health-check", "rollback"]);
    let output = Command::new(&shellcheck)
        .current_dir(&directory)
        .args([
            "--shell=sh",
            "--external-sources",
            "--source-path=SCRIPTDIR",
            "--severity=style",
        ])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "shellcheck: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Debian 12's systemd-analyze (systemd 252) runs without a running systemd: every generated unit
/// and drop-in loads with no warning (an unknown key is only a warning, so the test wants none)
/// and every unit they name exists. Zincati's own unit is Fedora CoreOS's, so a stand-in carries
/// the drop-in here. The health unit is also ordered after the containers it checks.
#[test]
fn systemd_analyze_verify_accepts_every_unit_and_drop_in() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.is_file() {
        let reason = "needs /usr/bin/systemd-analyze (Debian's systemd package)";
        assert!(
            std::env::var("CI").is_err(),
            "cannot be skipped in CI: it {reason}"
        );
        eprintln!("SKIPPED systemd_analyze_verify_accepts_every_unit_and_drop_in: it {reason}");
        return;
    }
    let workdir = WorkDir::new("systemd-analyze").unwrap();
    let gate = rendered_gate(&workdir);
    let units = workdir.join("system");
    fs::create_dir_all(units.join("zincati.service.d")).unwrap();
    fs::write(
        units.join("zincati.service"),
        "[Unit]\nDescription=stand-in for Fedora CoreOS's zincati.service\n[Service]\nExecStart=/bin/true\n",
    )
    .unwrap();
    let mut names = Vec::new();
    for (name, contents) in &gate.units {
        fs::write(units.join(name), contents).unwrap();
        if !name.contains(".d/") {
            names.push(format!("./{name}"));
        }
    }
    assert_eq!(
        gate.units.keys().collect::<Vec<_>>(),
        [
            "fleet-health.service",
            "fleet-rollback.service",
            "zincati.service.d/50-fleet-health.conf"
        ]
    );
    // Ordered after what it checks: the unit, root's container service, and the rootless
    // container's user manager (`user@UID.service`, which is ready once the user's units started).
    let health_unit = &gate.units["fleet-health.service"];
    for after in [
        "After=app.service\n",
        "After=cache.service\n",
        "After=user@2345.service\n",
    ] {
        assert!(health_unit.contains(after), "{after} in\n{health_unit}");
    }
    names.push("./zincati.service".to_owned());
    let output = Command::new(analyze)
        .current_dir(&units)
        .args(["verify", "--man=no"])
        .args(&names)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify {names:?}: {}\n{stderr}",
        output.status
    );
}
