//! `fleet status`'s HEALTH and OS columns: each node's last health report (docs/health.md), read
//! from the end of its console log, which the status report carries.

use fleet_cli::health_report::{HealthReport, last_health_report};
use fleet_libvirt::NodeStatus;
use serde::Serialize;

/// A node's health as `fleet status --format json` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct NodeHealthView {
    /// The last `FLEET-HEALTH` line of its console log; `null` without one (no checks, no log yet,
    /// or not booted that far).
    pub(crate) report: Option<HealthReport>,
    /// Why the console log could not be read.
    pub(crate) console_error: Option<String>,
}

impl NodeHealthView {
    pub(crate) fn new(node: &NodeStatus) -> NodeHealthView {
        match &node.console_line {
            Ok(line) => NodeHealthView {
                report: line
                    .as_deref()
                    .and_then(|line| last_health_report(line.as_bytes())),
                console_error: None,
            },
            Err(error) => NodeHealthView {
                report: None,
                console_error: Some(error.to_string()),
            },
        }
    }

    pub(crate) fn health_column(&self) -> String {
        match (&self.report, &self.console_error) {
            (Some(report), _) => report.health_label(),
            (None, Some(_)) => "unknown".to_owned(),
            (None, None) => "-".to_owned(),
        }
    }

    pub(crate) fn os_column(&self) -> String {
        self.report
            .as_ref()
            .map_or_else(|| "-".to_owned(), HealthReport::os_label)
    }
}
