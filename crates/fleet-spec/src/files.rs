//! Access to the files a fleet names (snippets, keys, Butane `local` files), through a source the caller provides so that the cores do no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// What a path names, as `lstat` sees it (a symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    /// Sockets, devices, pipes: nothing Butane trees can hold.
    Other,
}

/// The little a translator needs to know about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMetadata {
    pub kind: FileKind,
    /// Any of the owner, group or other execute bits is set.
    pub executable: bool,
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "not supported by this file source",
    )
}

/// Files under one root directory. Paths are relative to that root and never escape it
/// (callers check for `..` before asking); the empty path is the root itself.
///
/// Only `read` is required; the others serve Butane `storage.trees` and default to
/// "unsupported".
pub trait FileSource: Sync {
    /// The whole content of a regular file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// What `path` is, without following a final symlink.
    fn metadata(&self, _path: &Path) -> io::Result<FileMetadata> {
        Err(unsupported())
    }

    /// The names of the entries of a directory, in any order.
    fn read_dir(&self, _path: &Path) -> io::Result<Vec<String>> {
        Err(unsupported())
    }

    /// The target of a symlink, as it is written.
    fn read_link(&self, _path: &Path) -> io::Result<String> {
        Err(unsupported())
    }

    /// How messages name `path` (for example prefixed with the root directory).
    fn display_path(&self, path: &Path) -> String {
        path.display().to_string()
    }
}

/// Files held in memory: for tests, and for callers that already hold the bytes.
/// Directories exist implicitly above every file and symlink.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, Vec<u8>>,
    executables: BTreeSet<PathBuf>,
    links: BTreeMap<PathBuf, String>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a file.
    pub fn insert(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), contents.into());
        self
    }

    /// Add or replace a file with an execute bit set.
    pub fn insert_executable(
        &mut self,
        path: impl Into<PathBuf>,
        contents: impl Into<Vec<u8>>,
    ) -> &mut Self {
        let path = path.into();
        self.executables.insert(path.clone());
        self.files.insert(path, contents.into());
        self
    }

    /// Add or replace a symlink pointing at `target`.
    pub fn insert_symlink(
        &mut self,
        path: impl Into<PathBuf>,
        target: impl Into<String>,
    ) -> &mut Self {
        self.links.insert(path.into(), target.into());
        self
    }

    fn is_directory(&self, path: &Path) -> bool {
        let under = |p: &PathBuf| p.starts_with(path) && p.as_path() != path;
        path.as_os_str().is_empty() || self.files.keys().any(under) || self.links.keys().any(under)
    }
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such file")
}

impl FileSource for MemoryFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.files.get(path) {
            Some(contents) => Ok(contents.clone()),
            None if self.is_directory(path) => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            None => Err(not_found()),
        }
    }

    fn metadata(&self, path: &Path) -> io::Result<FileMetadata> {
        let kind = if self.files.contains_key(path) {
            FileKind::File
        } else if self.links.contains_key(path) {
            FileKind::Symlink
        } else if self.is_directory(path) {
            FileKind::Directory
        } else {
            return Err(not_found());
        };
        Ok(FileMetadata {
            kind,
            executable: kind == FileKind::Directory || self.executables.contains(path),
        })
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        if !self.is_directory(path) {
            return Err(not_found());
        }
        let mut names = BTreeSet::new();
        for p in self.files.keys().chain(self.links.keys()) {
            if let Ok(rest) = p.strip_prefix(path)
                && let Some(first) = rest.components().next()
            {
                names.insert(first.as_os_str().to_string_lossy().into_owned());
            }
        }
        Ok(names.into_iter().collect())
    }

    fn read_link(&self, path: &Path) -> io::Result<String> {
        self.links.get(path).cloned().ok_or_else(not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_files_have_implicit_directories() {
        let mut files = MemoryFiles::new();
        files
            .insert("tree/etc/a.conf", "a")
            .insert_executable("tree/bin/run", "#!/bin/sh\n")
            .insert_symlink("tree/bin/r", "run");
        assert_eq!(
            files.read_dir(Path::new("tree")).unwrap(),
            vec!["bin", "etc"]
        );
        assert_eq!(files.read_dir(Path::new("")).unwrap(), vec!["tree"]);
        let meta = |p: &str| files.metadata(Path::new(p)).unwrap();
        assert_eq!(meta("tree").kind, FileKind::Directory);
        assert!(meta("tree/bin/run").executable);
        assert!(!meta("tree/etc/a.conf").executable);
        assert_eq!(meta("tree/bin/r").kind, FileKind::Symlink);
        assert_eq!(files.read_link(Path::new("tree/bin/r")).unwrap(), "run");
        assert!(files.read(Path::new("tree")).is_err());
        assert!(files.metadata(Path::new("nope")).is_err());
    }
}
