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

/// Writing to a closed pipe (`fleet plan | head`) is not an error.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
