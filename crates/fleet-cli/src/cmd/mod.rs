//! One module per subcommand; each exposes `Args` (clap) and, unless it talks to libvirt, `run(Args) -> anyhow::Result<ExitCode>`.

pub mod butane;
pub mod check;
pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod nodes;
pub mod plan;
pub mod render;
pub mod schema;
pub mod status;
