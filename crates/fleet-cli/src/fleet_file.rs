//! Loading a fleet file from disk, for every command: the one place that turns a path into a `LoadedFleet`.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fleet_spec::{Diagnostics, FileSource, LoadedFleet};

/// The fleet file commands read when none is named.
pub(crate) const DEFAULT_FLEET_FILE: &str = "fleet.toml";

/// Files under the fleet file's directory, read from disk.
#[derive(Debug, Clone)]
pub(crate) struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files relative to the directory that holds `fleet_file`.
    pub(crate) fn beside(fleet_file: &Path) -> Self {
        let root = fleet_file
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        LocalFiles {
            root: root.to_path_buf(),
        }
    }

    /// The directory paths are relative to.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
}

impl FileSource for LocalFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(self.root.join(path))
    }
}

/// The fleet file has problems; they were already printed, one per line, on stderr.
#[derive(Debug)]
pub(crate) struct InvalidFleet {
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
pub(crate) fn load_fleet(path: &Path) -> anyhow::Result<LoadedFleet> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the fleet file {}", path.display()))?;
    let files = LocalFiles::beside(path);
    let source_name = path.display().to_string();
    tracing::debug!(file = %source_name, root = %files.root().display(), "loading fleet");
    fleet_spec::load(&source_name, &bytes, &files).map_err(|diagnostics| {
        print_diagnostics(&diagnostics);
        InvalidFleet {
            file: source_name,
            problems: diagnostics.len(),
        }
        .into()
    })
}

fn print_diagnostics(diagnostics: &Diagnostics) {
    let mut stderr = io::stderr().lock();
    for diagnostic in diagnostics {
        // Nothing sensible is left to do when stderr itself is gone.
        let _ = writeln!(stderr, "{diagnostic}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_beside_the_fleet_file() {
        assert_eq!(
            LocalFiles::beside(Path::new("fleet/fleet.toml")).root(),
            Path::new("fleet")
        );
        assert_eq!(
            LocalFiles::beside(Path::new("fleet.toml")).root(),
            Path::new(".")
        );
    }
}
