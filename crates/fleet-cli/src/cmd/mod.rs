//! One module per subcommand, each with its `Args` (clap), and the arguments several share.
//!
//! A command that runs in this process also has `run(Args) -> anyhow::Result<ExitCode>` here. A
//! connected command (one of [`crate::ConnectedCommand`]: deploy, status, destroy) has only its
//! `Args` here; its run is in the companion binary `fleet-connected` (docs/ARCHITECTURE.md,
//! "Adding a command").

pub mod butane;
pub mod check;
pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod image;
pub mod inventory;
pub mod nodes;
pub mod plan;
pub mod render;
pub mod schema;
pub mod shared_args;
pub mod status;
