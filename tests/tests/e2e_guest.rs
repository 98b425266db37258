//! End-to-end proof of the harness: one tiny guest on a real libvirtd receives a config through fw_cfg
//! (the way fleet hands over Ignition), reports its sha256 on the serial console, and applies it with
//! the real Ignition, whose manifest shows exactly the one file the config asks for.

use std::time::{Duration, Instant};

use fleet_tests::console::{GuestReport, parse_report, wait_for_console};
use fleet_tests::e2e;
use fleet_tests::ignition_manifest::{Owner, check_node, find_manifest};
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
    let config = format!(
        r#"{{"ignition":{{"version":"3.3.0"}},"storage":{{"files":[{{"path":"{nonce_file}","mode":384,"contents":{{"source":"data:,{nonce}"}}}}]}}}}"#
    );
    let config_path = workdir.write("config.ign", &config).unwrap();
    let console_log = workdir.join("console.log");

    let name = format!("fleet-e2e-guest-{}", std::process::id());
    let domain = TinyGuestDomain {
        name: name.clone(),
        memory_mib: 256,
        kernel: environment.guest.kernel.clone(),
        initrd: environment.guest.initrd.clone(),
        cmdline: e2e::TinyGuest::CMDLINE.to_owned(),
        fw_cfg_config: config_path,
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

    guard.remove().unwrap();
    assert_eq!(
        virsh.domain_state(&name).unwrap(),
        None,
        "the domain is gone"
    );
}
