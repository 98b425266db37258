//! The run of each connected command, one module per command; its arguments are in `fleet_cli::cmd`.

pub(crate) mod deploy;
pub(crate) mod destroy;
pub(crate) mod diff;
pub(crate) mod image;
pub(crate) mod inventory;
pub(crate) mod status;
