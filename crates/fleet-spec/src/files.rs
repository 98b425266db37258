//! Access to the files a fleet names (snippets, keys, Butane `local` files), through a source the caller provides so that the cores do no I/O.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Files under one root directory. Paths are relative to that root and never escape it
/// (callers check for `..` before asking).
pub trait FileSource: Sync {
    /// The whole content of a regular file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// Files held in memory: for tests, and for callers that already hold the bytes.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, Vec<u8>>,
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
}

impl FileSource for MemoryFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}
