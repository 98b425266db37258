//! End-to-end proof of the harness: one tiny guest on a real libvirtd receives a config through fw_cfg
//! (the way fleet hands over Ignition), reports its sha256 on the serial console, and applies it with
//! the real Ignition. The config is `tests/data/ignition/everything.ign` (every rule of the manifest
//! checker) plus a file only this run has: the guest writes exactly what it asks for, and exactly
//! what the host-side twin writes for the same config.

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_tests::console::{GuestReport, parse_report, wait_for_console};
use fleet_tests::e2e;
use fleet_tests::ignition_apply::{apply_on_host, host_ignition};
use fleet_tests::ignition_manifest::expected::{PRESET_FILE, RESULT_FILE};
use fleet_tests::ignition_manifest::{Manifest, Owner, check_node, find_manifest};
use fleet_tests::virsh::TinyGuestDomain;
use fleet_tests::workdir::WorkDir;

/// TCG boots the guest in ~8 s on 2 cores; the margin covers a loaded CI machine.
const REPORT_LIMIT: Duration = Duration::from_secs(180);

#[test]
fn tiny_guest_reports_the_sha256_of_exactly_its_fw_cfg_config_and_applies_it_with_ignition() {
    let Some(environment) =
        e2e::environment("tiny_guest_reports_the_sha256_of_exactly_its_fw_cfg_config")
    else {
        return;
    };
    let virsh = environment.virsh();
    let workdir = WorkDir::new("guest").unwrap();

    // A config no other run has: the hash cannot match by accident or from a stale log.
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let nonce_file = "/etc/fleet-e2e-nonce";
    let everything = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ignition/everything.ign");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(everything).unwrap()).unwrap();
    config["storage"]["files"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "path": nonce_file,
            "mode": 0o600,
            "contents": {"source": format!("data:,{nonce}")}
        }));
    let config = serde_json::to_string(&config).unwrap();
    let config_path = workdir.write("config.ign", &config).unwrap();
    let console_log = workdir.join("console.log");

    let name = format!("fleet-e2e-guest-{}", std::process::id());
    let domain = TinyGuestDomain {
        name: name.clone(),
        memory_mib: 256,
        kernel: environment.guest.kernel.clone(),
        initrd: environment.guest.initrd.clone(),
        cmdline: e2e::TinyGuest::CMDLINE.to_owned(),
        fw_cfg_config: config_path.clone(),
        console_log: console_log.clone(),
    };
    let definition = workdir.write("domain.xml", domain.to_xml()).unwrap();

    let started = Instant::now();
    let guard = virsh.define_and_start(&name, &definition).unwrap();
    let console = wait_for_console(
        &console_log,
        REPORT_LIMIT,
        || virsh.is_running(&name),
        "the manifest of what Ignition wrote",
        |console| find_manifest(console).is_some(),
    )
    .unwrap();
    eprintln!(
        "guest reported and applied its config after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let report = parse_report(&console).unwrap().unwrap();
    assert_eq!(report, GuestReport::expected_for(config.as_bytes()));
    let checked = check_node(&console, config.as_bytes(), None).unwrap();
    eprintln!("{checked}");
    assert_eq!(
        checked
            .checked
            .file(nonce_file, 0o600, Owner::ROOT)
            .unwrap(),
        nonce.as_bytes()
    );

    // The twin writes the same for the same config: one producer, one checker, two platforms.
    if let Some(ignition) = host_ignition("tiny_guest_writes_what_the_host_side_twin_writes") {
        let output = apply_on_host(&ignition, &config_path, &workdir.join("twin")).unwrap();
        let twin = find_manifest(&output).unwrap().unwrap();
        assert_eq!(
            without_ignitions_record(checked.checked.manifest.clone()),
            without_ignitions_record(twin),
            "the guest (left) and the host-side twin (right) wrote different things"
        );
    }

    guard.remove().unwrap();
    assert_eq!(
        virsh.domain_state(&name).unwrap(),
        None,
        "the domain is gone"
    );
}

/// The manifest without what differs between two runs of Ignition on one config: its result file,
/// whose bytes name the boot and the date, and the order of the presets (it writes them from a Go
/// map, so their file's bytes vary too).
fn without_ignitions_record(mut manifest: Manifest) -> Manifest {
    manifest.wrote.remove(RESULT_FILE);
    manifest.wrote.remove(PRESET_FILE);
    manifest.presets.sort();
    manifest
}
