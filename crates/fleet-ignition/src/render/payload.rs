//! What a node receives besides its Butane snippets, as the renderer's one input: files,
//! directories, links and systemd units (system-wide or one user's), each saying where it goes,
//! with what mode and owner. The CLI assembles a node's payload from the planner's output (its
//! Zincati fragments today); the renderer adds what it generates from the fleet file itself
//! (hostname, time zone, network keyfile) to the same payload, and `placement` turns all of it into
//! Ignition, so there is one way for anything fleet makes to reach a node.
//!
//! Precedence over snippets (see `compose_node`): a payload path replaces a snippet's file,
//! directory or link at the same path, and a payload unit's contents or drop-in replace a snippet's
//! of the same name, each with a warning naming both.

/// Who owns a file, directory or link: names, as Ignition resolves them on the node after it has
/// created the fleet's users. `None` is root, Ignition's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub user: Option<String>,
    pub group: Option<String>,
}

impl Owner {
    /// root:root.
    pub const ROOT: Owner = Owner {
        user: None,
        group: None,
    };

    /// A user and the group of the same name (every user Ignition creates gets one).
    pub fn user(name: &str) -> Owner {
        Owner {
            user: Some(name.to_owned()),
            group: Some(name.to_owned()),
        }
    }
}

/// A file written whole, replacing whatever is at its path on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Absolute path on the node.
    pub path: String,
    /// Permission bits, e.g. `0o644`; `0o755` for scripts.
    pub mode: u32,
    pub owner: Owner,
    pub contents: Vec<u8>,
}

impl PayloadFile {
    /// A root-owned file.
    pub fn new(path: impl Into<String>, mode: u32, contents: impl Into<Vec<u8>>) -> PayloadFile {
        PayloadFile {
            path: path.into(),
            mode,
            owner: Owner::ROOT,
            contents: contents.into(),
        }
    }
}

/// A directory, created when missing; one that exists gets this mode and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadDirectory {
    pub path: String,
    pub mode: u32,
    pub owner: Owner,
}

/// A symbolic link, replacing whatever is at its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadLink {
    pub path: String,
    /// What the link holds: absolute, or relative to the link's directory.
    pub target: String,
    pub owner: Owner,
}

/// A systemd unit: its own file (or one the OS ships, when `contents` is `None`), drop-ins, and
/// whether it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadUnit {
    /// E.g. `fleet-health.service`, `podman-auto-update.timer`.
    pub name: String,
    pub scope: UnitScope,
    /// The unit file; `None` keeps the one the OS ships (drop-ins and enablement still apply).
    pub contents: Option<String>,
    pub dropins: Vec<UnitDropin>,
}

/// Whose systemd runs a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// The system manager: Ignition's `systemd.units`, written under `/etc/systemd/system/`.
    /// `enabled` is Ignition's field (a preset, so the unit's `[Install]` section says where it
    /// hooks in); `None` leaves it to presets and snippets.
    System { enabled: Option<bool> },
    /// One user's manager: files under `HOME/.config/systemd/user/`, owned by the user (Ignition
    /// knows only system units). Enabled by a link in each target's `.wants/` directory, as
    /// `systemctl --user enable` makes it; the manager runs at boot only for a lingering user.
    User {
        user: String,
        /// The user's home directory on the node, e.g. `/home/core`.
        home: String,
        /// Targets whose `.wants/` get a link, e.g. `default.target`, `timers.target`; empty:
        /// installed but not enabled.
        wanted_by: Vec<String>,
    },
}

/// A drop-in of a unit: `NAME.d/FILE`, read after the unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDropin {
    /// E.g. `10-fleet-schedule.conf`.
    pub name: String,
    pub contents: String,
}

/// A directory whose contents the payload speaks for: a snippet writing a file there that the
/// payload does not write is warned about, as `{snippet} writes {what} {path}, {why}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDirectory {
    /// With a trailing `/`, e.g. `/etc/zincati/config.d/`.
    pub path: String,
    /// What such a file is, e.g. `the Zincati fragment`.
    pub what: String,
    /// Why that matters and what to do instead.
    pub why: String,
}

/// Everything a node receives besides its snippets, in the order it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodePayload {
    pub files: Vec<PayloadFile>,
    pub directories: Vec<PayloadDirectory>,
    pub links: Vec<PayloadLink>,
    pub units: Vec<PayloadUnit>,
    pub claimed_directories: Vec<ClaimedDirectory>,
}
