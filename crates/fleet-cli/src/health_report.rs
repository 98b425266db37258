//! The health gate's console line (docs/health.md, "The console line"), read back: the last
//! `FLEET-HEALTH {...}` line of a node's console log, for `fleet status`'s HEALTH and OS columns.

use serde::{Deserialize, Serialize};

/// What every line starts with.
pub const HEALTH_LINE_PREFIX: &str = "FLEET-HEALTH ";

/// One line, as the scripts write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `healthy`, `unhealthy`, `rolled-back` or `rollback-skipped`.
    pub state: String,
    pub booted: Option<Deployment>,
    pub rolled_back_from: Option<Deployment>,
    pub failed_check: Option<String>,
    /// RFC 3339, UTC, as the node's clock had it.
    pub time: String,
}

/// A deployment as rpm-ostree names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub version: String,
    pub checksum: String,
}

impl Deployment {
    /// `VERSION (CHECKSUM10)`: the version people read, and enough of the checksum to tell two
    /// builds of one version apart.
    pub fn label(&self) -> String {
        let short: String = self.checksum.chars().take(10).collect();
        if self.version.is_empty() || self.version == "-" {
            short
        } else {
            format!("{} ({short})", self.version)
        }
    }
}

/// The last well-formed line of `console` (a line cut by the start of the tail, or garbled by
/// other output on the console, is skipped).
pub fn last_health_report(console: &[u8]) -> Option<HealthReport> {
    let text = String::from_utf8_lossy(console);
    text.lines().rev().find_map(|line| {
        let start = line.find(HEALTH_LINE_PREFIX)?;
        serde_json::from_str(line[start + HEALTH_LINE_PREFIX.len()..].trim_end()).ok()
    })
}

impl HealthReport {
    /// The HEALTH column: the state, with where a rollback went or why the node is sick.
    pub fn health_label(&self) -> String {
        let mut label = self.state.clone();
        if let Some(from) = &self.rolled_back_from {
            let to = match (self.state.as_str(), &self.booted) {
                ("rolled-back", _) => "the previous deployment".to_owned(),
                (_, Some(booted)) => booted.label(),
                (_, None) => "?".to_owned(),
            };
            label.push_str(&format!(" (rolled back from {} to {to})", from.label()));
        }
        if let Some(failed) = &self.failed_check {
            label.push_str(&format!(": {failed}"));
        }
        label
    }

    /// The OS column: the booted deployment.
    pub fn os_label(&self) -> String {
        self.booted
            .as_ref()
            .map_or_else(|| "-".to_owned(), Deployment::label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY_AFTER_ROLLBACK: &str = r#"FLEET-HEALTH {"state":"healthy","booted":{"version":"42.1","checksum":"aaaa1111aaaa1111"},"rolled_back_from":{"version":"42.2","checksum":"bbbb2222bbbb2222"},"failed_check":null,"time":"2026-12-02T01:00:00Z"}"#;

    #[test]
    fn the_last_whole_line_wins_and_noise_is_skipped() {
        let console = format!(
            "[  OK  ] Started sshd.service\r\nFLEET-HEALTH {{\"state\":\"rolled-back\",\"booted\":null,\"rolled_back_from\":null,\"failed_check\":\"x\",\"time\":\"t\"}}\r\n\
             {HEALTHY_AFTER_ROLLBACK}\r\nFLEET-HEALTH {{\"state\":\"heal\r\nlogin: "
        );
        let report = last_health_report(console.as_bytes()).unwrap();
        assert_eq!(report.state, "healthy");
        assert_eq!(report.os_label(), "42.1 (aaaa1111aa)");
        assert_eq!(
            report.health_label(),
            "healthy (rolled back from 42.2 (bbbb2222bb) to 42.1 (aaaa1111aa))"
        );
        assert_eq!(last_health_report(b"no report here\n"), None);
    }

    #[test]
    fn a_sick_node_says_what_failed() {
        let line = r#"FLEET-HEALTH {"state":"rollback-skipped","booted":{"version":"42.1","checksum":"aaaa"},"rolled_back_from":null,"failed_check":"unit web.service is not active (first boot)","time":"t"}"#;
        let report = last_health_report(line.as_bytes()).unwrap();
        assert_eq!(
            report.health_label(),
            "rollback-skipped: unit web.service is not active (first boot)"
        );
    }
}
