//! Loading a fleet file from disk, for every command: the one place that turns a path into a `LoadedFleet`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use fleet_spec::{FileError, LoadedFleet, ReadLimit};

use crate::local_files::{self, LocalFiles};

/// The fleet file commands read when none is named.
pub const DEFAULT_FLEET_FILE: &str = "fleet.toml";

/// Why a fleet file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FleetFileError {
    #[error("cannot read the fleet file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: FileError,
    },
    #[error("cannot open the fleet directory {}", .directory.display())]
    OpenDirectory {
        directory: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] InvalidFleet),
}

/// The fleet file has problems; they were already printed, one per line, on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problems} problem{} found; nothing was done", if *.problems == 1 { "" } else { "s" })]
pub struct InvalidFleet {
    pub file: String,
    /// How many lines were printed.
    pub problems: usize,
}

/// Read, validate and expand the fleet file at `path` with the snippets and key files it names.
///
/// On problems, prints every one of them to stderr as `FILE:LINE:COL: error: MESSAGE` and returns
/// `InvalidFleet` (exit status 1).
pub fn load_fleet(path: &Path) -> Result<LoadedFleet, FleetFileError> {
    let bytes = local_files::read_regular_file(path, ReadLimit::FLEET_FILE).map_err(|source| {
        FleetFileError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let files = open_fleet_directory(path)?;
    let source_name = path.display().to_string();
    tracing::debug!(file = %source_name, root = %files.root().display(), "loading fleet");
    Ok(fleet_spec::load(&source_name, &bytes, &files)
        .map_err(|diagnostics| refuse(&source_name, diagnostics.iter().map(ToString::to_string)))?)
}

/// The files `fleet_file` names, confined to its directory.
pub fn open_fleet_directory(fleet_file: &Path) -> Result<LocalFiles, FleetFileError> {
    LocalFiles::fleet_directory(fleet_file).map_err(|source| FleetFileError::OpenDirectory {
        directory: local_files::fleet_directory(fleet_file).to_path_buf(),
        source,
    })
}

/// Print every problem of a fleet on stderr, one line each (`FILE:LINE:COL: error: MESSAGE`), and return
/// the error that stops the command with exit status 1.
pub fn refuse(file: &str, problems: impl IntoIterator<Item = String>) -> InvalidFleet {
    InvalidFleet {
        file: file.to_owned(),
        problems: print_problems(problems),
    }
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
