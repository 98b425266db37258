//! A node's health checks: what must hold after every boot before Zincati may look for the next
//! update, and whether a deployment that fails them is rolled back (docs/health.md).

use super::Location;

/// The checks of one node, accumulated fleet → group → node, and the settings around them (the
/// most specific level's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChecks {
    /// systemd units that must be active, in the order written, each once.
    pub units: Vec<String>,
    /// URLs that must answer with a status.
    pub http: Vec<HttpCheck>,
    /// Commands that must exit 0, each the list of its arguments (run without a shell).
    pub commands: Vec<CommandCheck>,
    /// Containers of the node that must be running, and healthy when they have a health check.
    pub containers: Vec<ContainerCheck>,
    /// How long the checks may take to pass, retries included.
    pub timeout_minutes: u32,
    /// Seconds between two tries while a check fails.
    pub retry_seconds: u32,
    /// Whether a deployment that fails its checks is rolled back to the last one that passed.
    pub rollback: bool,
    /// Automatic rollbacks a node makes at most in its life.
    pub max_rollbacks: u32,
}

/// Defaults, documented in docs/fleet-toml.md.
pub const DEFAULT_HEALTH_TIMEOUT_MINUTES: u32 = 5;
pub const DEFAULT_HEALTH_RETRY_SECONDS: u32 = 10;
pub const DEFAULT_MAX_ROLLBACKS: u32 = 1;
pub const DEFAULT_HTTP_STATUS: u16 = 200;
pub const DEFAULT_HTTP_TIMEOUT_SECONDS: u32 = 5;

impl Default for HealthChecks {
    fn default() -> Self {
        HealthChecks {
            units: Vec::new(),
            http: Vec::new(),
            commands: Vec::new(),
            containers: Vec::new(),
            timeout_minutes: DEFAULT_HEALTH_TIMEOUT_MINUTES,
            retry_seconds: DEFAULT_HEALTH_RETRY_SECONDS,
            rollback: true,
            max_rollbacks: DEFAULT_MAX_ROLLBACKS,
        }
    }
}

impl HealthChecks {
    /// Whether the node has any check: only then is its boot gated (and anything generated).
    pub fn gates_boot(&self) -> bool {
        !(self.units.is_empty()
            && self.http.is_empty()
            && self.commands.is_empty()
            && self.containers.is_empty())
    }

    /// How many checks there are.
    pub fn check_count(&self) -> usize {
        self.units.len() + self.http.len() + self.commands.len() + self.containers.len()
    }
}

/// A URL that must answer with `status` within `timeout_seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub url: String,
    pub status: u16,
    pub timeout_seconds: u32,
    pub declared_at: Location,
}

/// A command that must exit 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCheck {
    /// The program, then its arguments.
    pub arguments: Vec<String>,
    pub declared_at: Location,
}

/// A container of the node (by its `name`) that must be running, and report healthy when it has a
/// podman health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCheck {
    pub name: String,
    pub declared_at: Location,
}
