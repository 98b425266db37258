//! Reading the tiny guest's console log: the size and sha256 of the fw_cfg Ignition config it
//! received, printed between marker lines by the guest's `/init` (xtask/src/guest.rs), the DHCP
//! lease it took when asked to, and waiting for what comes after it (the manifest of what Ignition
//! wrote, `ignition_manifest`).

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

pub const BEGIN_MARKER: &str = "FLEET-E2E-BEGIN";
pub const END_MARKER: &str = "FLEET-E2E-END";
/// The guest's line about its DHCP lease: `FLEET-E2E-LEASE nic=eth0 mac=52:54:00:.. ip=192.168.122.9`
/// (`ip=none` when no server answered).
pub const LEASE_MARKER: &str = "FLEET-E2E-LEASE ";

/// What the guest saw at `/sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestReport {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

impl GuestReport {
    /// The report a guest should give for these exact bytes.
    pub fn expected_for(bytes: &[u8]) -> GuestReport {
        GuestReport {
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The report in a console log: `None` while the end marker has not been written yet.
///
/// An `error=` line from the guest (no fw_cfg entry) or a malformed block is an error.
pub fn parse_report(console: &str) -> Option<Result<GuestReport>> {
    let lines: Vec<&str> = console.lines().map(str::trim).collect();
    let begin = lines.iter().position(|line| line.ends_with(BEGIN_MARKER))?;
    let length = lines[begin + 1..]
        .iter()
        .position(|line| line.ends_with(END_MARKER))?;
    Some(parse_block(&lines[begin + 1..begin + 1 + length]))
}

fn parse_block(block: &[&str]) -> Result<GuestReport> {
    let mut size = None;
    let mut sha256 = None;
    for line in block {
        if let Some(error) = line.strip_prefix("error=") {
            bail!("the guest reported: {error}");
        } else if let Some(value) = line.strip_prefix("size=") {
            size = value.trim().parse::<u64>().ok();
        } else if let Some(value) = line.strip_prefix("sha256=") {
            let value = value.trim();
            if value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                sha256 = Some(value.to_ascii_lowercase());
            }
        }
    }
    match (size, sha256) {
        (Some(size), Some(sha256)) => Ok(GuestReport { size, sha256 }),
        _ => bail!("incomplete report between the markers: {block:?}"),
    }
}

/// The DHCP lease a guest took, as its own network stack saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLease {
    /// The interface's MAC address, lowercase.
    pub mac: String,
    pub address: Ipv4Addr,
}

/// The lease line in a console log: `None` while the guest has not written it; an error when the
/// guest got no lease or the line is malformed.
pub fn parse_lease(console: &str) -> Option<Result<GuestLease>> {
    let line = console.lines().find_map(|line| {
        line.split_once(LEASE_MARKER)
            .map(|(_, fields)| fields.trim())
    })?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|field| field.strip_prefix(name)?.strip_prefix('='))
    };
    let parsed = match (field("mac"), field("ip")) {
        (_, Some("none")) => Err(anyhow::anyhow!("the guest got no DHCP lease: {line:?}")),
        (Some(mac), Some(ip)) if !mac.is_empty() => ip
            .parse::<Ipv4Addr>()
            .map(|address| GuestLease {
                mac: mac.to_ascii_lowercase(),
                address,
            })
            .map_err(|_| anyhow::anyhow!("the guest's lease line has no IPv4 address: {line:?}")),
        _ => Err(anyhow::anyhow!("malformed lease line: {line:?}")),
    };
    Some(parsed)
}

/// Poll `console_log` until the guest's report appears or `limit` passes.
///
/// `guest_running` is asked about once a second; once it says the guest is gone, the log is read one
/// last time, so a guest that died without reporting fails fast instead of at the deadline.
pub fn wait_for_report(
    console_log: &Path,
    limit: Duration,
    guest_running: impl FnMut() -> bool,
) -> Result<GuestReport> {
    let console = wait_for_console(console_log, limit, guest_running, "a report", |console| {
        parse_report(console).is_some()
    })?;
    match parse_report(&console) {
        Some(report) => report,
        None => bail!("the report vanished from {}", console_log.display()),
    }
}

/// Poll `console_log` until `ready` holds for its text (say, an end marker is there) or `limit`
/// passes, and return the text; `guest_running` as for `wait_for_report`. `what` names what is waited
/// for in the error.
pub fn wait_for_console(
    console_log: &Path,
    limit: Duration,
    mut guest_running: impl FnMut() -> bool,
    what: &str,
    ready: impl Fn(&str) -> bool,
) -> Result<String> {
    let start = Instant::now();
    let mut last_liveness_check = start;
    loop {
        let console = read_lossy(console_log);
        if ready(&console) {
            return Ok(console);
        }
        if last_liveness_check.elapsed() >= Duration::from_secs(1) {
            last_liveness_check = Instant::now();
            if !guest_running() {
                let console = read_lossy(console_log);
                if ready(&console) {
                    return Ok(console);
                }
                bail!(
                    "the guest stopped without {what}; console {}:\n{}",
                    console_log.display(),
                    tail(&console, 30)
                );
            }
        }
        if start.elapsed() > limit {
            bail!(
                "no {what} within {limit:?}; console {}:\n{}",
                console_log.display(),
                tail(&console, 30)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_report_parses_among_kernel_noise() {
        let hash = sha256_hex(b"{}");
        let console = format!(
            "[    0.812] Run /init as init process\r\nFLEET-E2E-BEGIN\r\nsize=2\r\nsha256={hash}\r\nFLEET-E2E-END\r\n[    1.2] reboot: Power down\r\n"
        );
        let report = parse_report(&console).unwrap().unwrap();
        assert_eq!(report, GuestReport::expected_for(b"{}"));
    }

    #[test]
    fn a_report_without_its_end_marker_is_not_ready() {
        assert!(parse_report("FLEET-E2E-BEGIN\nsize=2\n").is_none());
        assert!(parse_report("booting\n").is_none());
    }

    #[test]
    fn the_guests_error_line_fails() {
        let error = parse_report("FLEET-E2E-BEGIN\nerror=no fw_cfg entry\nFLEET-E2E-END\n")
            .unwrap()
            .unwrap_err();
        assert!(error.to_string().contains("no fw_cfg entry"), "{error}");
    }

    #[test]
    fn a_truncated_hash_fails() {
        let result = parse_report("FLEET-E2E-BEGIN\nsize=2\nsha256=abc\nFLEET-E2E-END\n").unwrap();
        assert!(result.is_err());
    }

    #[test]
    fn a_lease_line_parses_and_a_guest_without_a_lease_fails() {
        let console = "FLEET-HEALTH {}\r\nFLEET-E2E-LEASE nic=eth0 mac=52:54:00:AB:cd:01 ip=192.168.122.9\r\n";
        assert_eq!(
            parse_lease(console).unwrap().unwrap(),
            GuestLease {
                mac: "52:54:00:ab:cd:01".to_owned(),
                address: Ipv4Addr::new(192, 168, 122, 9),
            }
        );
        assert!(parse_lease("FLEET-HEALTH {}\n").is_none());
        let error = parse_lease("FLEET-E2E-LEASE nic=eth0 mac=52:54:00:ab:cd:01 ip=none\n")
            .unwrap()
            .unwrap_err();
        assert!(error.to_string().contains("no DHCP lease"), "{error}");
        assert!(
            parse_lease("FLEET-E2E-LEASE nic=none mac= ip=10.0.0.1\n")
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn sha256_matches_the_known_digest_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
