//! Loading a fleet file from disk, for every command: the one place that turns a path into a `LoadedFleet`.

use std::fmt;
use std::io::{self, Write as _};
use std::path::Path;

use anyhow::Context as _;
use fleet_spec::{LoadedFleet, ReadLimit};

use crate::local_files::{self, LocalFiles};

/// The fleet file commands read when none is named.
pub const DEFAULT_FLEET_FILE: &str = "fleet.toml";

/// The fleet file has problems; they were already printed, one per line, on stderr.
#[derive(Debug)]
pub struct InvalidFleet {
    file: String,
    problems: usize,
}

impl fmt::Display for InvalidFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.problems == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {} problem{plural} found; nothing was done",
            self.file, self.problems
        )
    }
}

impl std::error::Error for InvalidFleet {}

/// Read, validate and expand the fleet file at `path` with the snippets and key files it names.
///
/// On problems, prints every one of them to stderr as `FILE:LINE:COL: error: MESSAGE` and returns
/// `InvalidFleet` (exit status 1).
pub fn load_fleet(path: &Path) -> anyhow::Result<LoadedFleet> {
    let bytes = local_files::read_regular_file(path, ReadLimit::FLEET_FILE)
        .with_context(|| format!("cannot read the fleet file {}", path.display()))?;
    let files = open_fleet_directory(path)?;
    let source_name = path.display().to_string();
    tracing::debug!(file = %source_name, root = %files.root().display(), "loading fleet");
    fleet_spec::load(&source_name, &bytes, &files)
        .map_err(|diagnostics| refuse(&source_name, diagnostics.iter().map(ToString::to_string)))
}

/// The files `fleet_file` names, confined to its directory.
pub fn open_fleet_directory(fleet_file: &Path) -> anyhow::Result<LocalFiles> {
    LocalFiles::fleet_directory(fleet_file).with_context(|| {
        format!(
            "cannot open the fleet directory {}",
            local_files::fleet_directory(fleet_file).display()
        )
    })
}

/// Print every problem of a fleet on stderr, one line each (`FILE:LINE:COL: error: MESSAGE`), and return
/// the error that stops the command with exit status 1.
pub fn refuse(file: &str, problems: impl IntoIterator<Item = String>) -> anyhow::Error {
    InvalidFleet {
        file: file.to_owned(),
        problems: print_problems(problems),
    }
    .into()
}

/// Print problems on stderr, one line each; returns how many.
pub fn print_problems(problems: impl IntoIterator<Item = String>) -> usize {
    let mut stderr = io::stderr().lock();
    let mut count = 0;
    for problem in problems {
        count += 1;
        // Nothing sensible is left to do when stderr itself is gone.
        let _ = writeln!(stderr, "{problem}");
    }
    count
}
