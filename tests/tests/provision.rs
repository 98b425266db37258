//! `fleet deploy`, `status` and `destroy` as processes against libvirt's in-library test driver (no daemon): what the command line refuses before it changes anything.
//!
//! The example fleet's hypervisors are replaced by their test-driver twins in `fleet/test-hosts/`,
//! as `cargo xtask demo` does.

use std::path::{Path, PathBuf};

use fleet_tests::binary::run_fleet;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace")
        .to_path_buf()
}

fn example_fleet() -> PathBuf {
    workspace().join("fleet/fleet.toml")
}

/// `test:///…/fleet/test-hosts/HOST.xml`, spelled with `extra` between the directory and the file.
fn twin(host: &str, extra: &str) -> String {
    format!(
        "test://{}/{extra}{host}.xml",
        workspace().join("fleet/test-hosts").display()
    )
}

/// `fleet deploy` of the example fleet with this image and these `--connect` flags.
fn deploy_args(extra: &[&str], image: &Path, connect: &[String]) -> Vec<String> {
    let mut arguments: Vec<String> = vec!["deploy".into(), example_fleet().display().to_string()];
    arguments.extend(extra.iter().map(|argument| (*argument).to_owned()));
    arguments.extend(["--image".to_owned(), image.display().to_string()]);
    for flag in connect {
        arguments.extend(["--connect".to_owned(), flag.clone()]);
    }
    arguments
}

/// `--connect HOST=TWIN` for each of the example fleet's three hosts.
fn every_twin() -> Vec<String> {
    ["hv1", "hv2", "hv3"]
        .iter()
        .map(|host| format!("{host}={}", twin(host, "")))
        .collect()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Issue 11, item 8: the fleet file refuses two hosts on one URI, and the flags may not bring that
/// back, however the URI is spelled.
#[test]
fn connect_flags_may_not_put_two_hosts_on_one_hypervisor() {
    let image = tempfile::NamedTempFile::new().unwrap();
    let shared = [
        // The same twin twice.
        vec![
            format!("hv1={}", twin("hv1", "")),
            format!("hv2={}", twin("hv1", "")),
            format!("hv3={}", twin("hv3", "")),
        ],
        // The same file, spelled with `./` and a doubled slash.
        vec![
            format!("hv1={}", twin("hv1", "")),
            format!("hv2={}", twin("hv2", "")),
            format!("hv3={}", twin("hv1", ".//")),
        ],
        // A flag that lands on another host's URI from the fleet file (qemu+tls://hv3.demo.internal/system).
        vec!["hv1=qemu://HV3.demo.internal:16514/system".to_owned()],
    ];
    for flags in &shared {
        let output = run_fleet(deploy_args(&["--dry-run"], image.path(), flags)).unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(
            stderr.contains("would reach the same hypervisor")
                && stderr.contains("give each host its own URI"),
            "{flags:?}: {stderr}"
        );
    }

    // Three distinct twins are fine.
    let arguments = deploy_args(&["--dry-run"], image.path(), &every_twin());
    let output = run_fleet(&arguments).unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

/// Run `fleet ARGS`, killing it when it has not finished within `limit`: `None` when it hung.
fn run_fleet_within(
    arguments: &[String],
    limit: std::time::Duration,
) -> Option<std::process::Output> {
    let mut child = fleet_tests::binary::spawn_fleet(arguments).unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Issue 11, item 6: `--image /dev/zero` hashed forever. A base image that is not a regular file
/// (a device, a FIFO, a directory) is refused at once, naming the path and what it is.
#[test]
fn a_base_image_that_is_not_a_regular_file_is_refused_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let fifo = directory.path().join("image.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let cases = [
        (PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
        (directory.path().to_path_buf(), "a directory"),
    ];
    for (image, kind) in cases {
        let arguments = deploy_args(&[], &image, &every_twin());
        let output = run_fleet_within(&arguments, std::time::Duration::from_secs(60))
            .unwrap_or_else(|| panic!("fleet deploy --image {} hung", image.display()));
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: cannot read base image {}: it is {kind}, not a regular file; [fleet.image] path (or --image) must name a qcow2 image file",
                image.display()
            )
        );
    }
}
