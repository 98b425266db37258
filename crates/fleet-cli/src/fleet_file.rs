//! Loading a fleet file from disk, for every command: the one place that turns a path into a `LoadedFleet`.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fleet_spec::{FileKind, FileMetadata, FileSource, LoadedFleet};

/// The fleet file commands read when none is named.
pub const DEFAULT_FLEET_FILE: &str = "fleet.toml";

/// Files under the fleet file's directory, read from disk.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files relative to the directory that holds `fleet_file`.
    pub fn beside(fleet_file: &Path) -> Self {
        let root = fleet_file
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        LocalFiles {
            root: root.to_path_buf(),
        }
    }

    /// The directory paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl FileSource for LocalFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(self.root.join(path))
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::symlink_metadata(self.root.join(path))?;
        let file_type = metadata.file_type();
        let kind = if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_dir() {
            FileKind::Directory
        } else if file_type.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        Ok(FileMetadata {
            kind,
            executable: metadata.permissions().mode() & 0o111 != 0,
        })
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        std::fs::read_dir(self.root.join(path))?
            .map(|entry| {
                let name = entry?.file_name();
                name.into_string().map_err(|name| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the file name {name:?} is not UTF-8"),
                    )
                })
            })
            .collect()
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        let target = std::fs::read_link(self.root.join(path))?;
        target.into_os_string().into_string().map_err(|target| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the symlink target {target:?} is not UTF-8"),
            )
        })
    }

    fn display_path(&self, path: &Path) -> String {
        if self.root == Path::new(".") {
            path.display().to_string()
        } else {
            self.root.join(path).display().to_string()
        }
    }
}

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
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the fleet file {}", path.display()))?;
    let files = LocalFiles::beside(path);
    let source_name = path.display().to_string();
    tracing::debug!(file = %source_name, root = %files.root().display(), "loading fleet");
    fleet_spec::load(&source_name, &bytes, &files)
        .map_err(|diagnostics| refuse(&source_name, diagnostics.iter().map(ToString::to_string)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_can_be_walked_on_disk() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let root = directory.path();
        std::fs::create_dir_all(root.join("tree/bin")).expect("mkdir");
        std::fs::write(root.join("tree/bin/run"), "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            root.join("tree/bin/run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        std::os::unix::fs::symlink("bin/run", root.join("tree/link")).expect("symlink");
        let files = LocalFiles::beside(&root.join("fleet.toml"));
        let mut entries = files.read_dir(Path::new("tree")).expect("read_dir");
        entries.sort();
        assert_eq!(entries, ["bin", "link"]);
        assert_eq!(
            files.metadata(Path::new("tree/bin/run")).expect("metadata"),
            FileMetadata {
                kind: FileKind::File,
                executable: true
            }
        );
        assert_eq!(
            files
                .metadata(Path::new("tree/link"))
                .expect("metadata")
                .kind,
            FileKind::Symlink
        );
        assert_eq!(
            files.read_link(Path::new("tree/link")).expect("link"),
            "bin/run"
        );
        assert_eq!(
            files.read(Path::new("tree/bin/run")).expect("read"),
            b"#!/bin/sh\n"
        );
    }

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
