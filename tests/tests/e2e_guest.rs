//! End-to-end proof of the harness: one tiny guest on a real libvirtd receives a config through fw_cfg
//! (the way fleet hands over Ignition) and reports its sha256 on the serial console.

use std::time::{Duration, Instant};

use fleet_tests::console::{GuestReport, wait_for_report};
use fleet_tests::e2e;
use fleet_tests::virsh::TinyGuestDomain;
use fleet_tests::workdir::WorkDir;

/// TCG boots the guest in ~8 s on 2 cores; the margin covers a loaded CI machine.
const REPORT_LIMIT: Duration = Duration::from_secs(180);

#[test]
fn tiny_guest_reports_the_sha256_of_exactly_its_fw_cfg_config() {
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
    let config = format!(r#"{{"ignition":{{"version":"3.4.0"}},"fleetE2eNonce":"{nonce}"}}"#);
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
    let report = wait_for_report(&console_log, REPORT_LIMIT, || virsh.is_running(&name)).unwrap();
    eprintln!(
        "guest reported after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    assert_eq!(report, GuestReport::expected_for(config.as_bytes()));

    guard.remove().unwrap();
    assert_eq!(
        virsh.domain_state(&name).unwrap(),
        None,
        "the domain is gone"
    );
}
