//! One module per subcommand; each exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub(crate) mod butane;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod deploy;
pub(crate) mod destroy;
pub(crate) mod nodes;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod schema;
pub(crate) mod status;

/// Writing to a closed pipe (`fleet plan | head`) is not an error.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
