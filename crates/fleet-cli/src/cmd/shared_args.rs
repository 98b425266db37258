//! Arguments several commands share, so that each means the same wherever it appears.

use std::path::PathBuf;

/// Which fleet nodes, on which connection: the commands that reach libvirt (deploy, status,
/// destroy).
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Use another libvirt URI: `URI` for a fleet without [[host]] (instead of its `connect`),
    /// `HOST=URI` for one of its hosts (repeat for several), e.g. qemu:///system,
    /// qemu+ssh://root@hv1/system, hv1=qemu+tcp://10.0.0.5/system, test:///default.
    #[arg(long, value_name = "[HOST=]URI")]
    pub connect: Vec<String>,

    /// Use this base image file instead of fleet.toml's [fleet.image] (e.g. to try a newer
    /// Fedora CoreOS build, or a placeholder on the test driver).
    #[arg(long, value_name = "QCOW2")]
    pub image: Option<PathBuf>,

    /// Only these nodes (repeat the option); default: every node of the fleet.
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
}

/// `--format` of the commands whose output is one report: a table for people, or the same report
/// as JSON (`fleet plan` has its own, with CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableOrJson {
    /// An aligned table for people.
    Table,
    /// The same content as JSON.
    Json,
}
