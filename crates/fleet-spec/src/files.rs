//! Access to the files a fleet names (snippets, keys, Butane `local` files), through a source the caller provides so that the cores do no I/O.
//!
//! The limits on what may be read live here too ([`ReadLimit`]), so that every source enforces the
//! same numbers and every message names them; docs/fleet-toml.md says why each is what it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What a path names, as `lstat` sees it (a symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
}

impl FileKind {
    /// The kind from the file-type bits of a Unix `st_mode` (`S_IFMT`); None for bits no Unix uses.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        // The S_IF* values are the same on every Unix fleet runs on (POSIX names them, Linux fixes them).
        match mode & 0o170_000 {
            0o100_000 => Some(FileKind::File),
            0o040_000 => Some(FileKind::Directory),
            0o120_000 => Some(FileKind::Symlink),
            0o010_000 => Some(FileKind::Fifo),
            0o020_000 => Some(FileKind::CharacterDevice),
            0o060_000 => Some(FileKind::BlockDevice),
            0o140_000 => Some(FileKind::Socket),
            _ => None,
        }
    }

    /// Sockets, devices and FIFOs: nothing a Butane tree can hold, nothing fleet reads as a file.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            FileKind::Fifo | FileKind::CharacterDevice | FileKind::BlockDevice | FileKind::Socket
        )
    }

    /// The kind in a sentence: "a FIFO", "a character device".
    pub fn described(self) -> &'static str {
        match self {
            FileKind::File => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Symlink => "a symlink",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::CharacterDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
        }
    }
}

/// The little a translator needs to know about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMetadata {
    pub kind: FileKind,
    /// Any of the owner, group or other execute bits is set.
    pub executable: bool,
}

impl FileMetadata {
    /// From a Unix `st_mode` (type and permission bits), as `lstat` or `fstat` returns it.
    pub fn from_mode(mode: u32) -> Option<FileMetadata> {
        Some(FileMetadata {
            kind: FileKind::from_mode(mode)?,
            executable: mode & 0o111 != 0,
        })
    }
}

const MIB: u64 = 1024 * 1024;

/// The most bytes fleet reads for one kind of file, and that kind's name for messages. A file that
/// is larger is refused before it is read whole, so memory stays bounded whatever a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit {
    pub bytes: u64,
    /// What is being read, for "the limit for ...": "a fleet file".
    pub what: &'static str,
}

impl ReadLimit {
    /// A fleet file: a million nodes each spelled out as a `[[group.node]]` with its address, MAC and
    /// host take about 100 MB.
    pub const FLEET_FILE: ReadLimit = ReadLimit {
        bytes: 256 * MIB,
        what: "a fleet file",
    };
    /// A Butane config: a fleet's snippet, or the input of `fleet butane`.
    pub const BUTANE_CONFIG: ReadLimit = ReadLimit {
        bytes: 32 * MIB,
        what: "a Butane config",
    };
    /// One file a Butane config embeds (`local`, `contents_local`, `ssh_authorized_keys_local`, a
    /// file of a `tree`).
    pub const BUTANE_LOCAL_FILE: ReadLimit = ReadLimit {
        bytes: 64 * MIB,
        what: "a file a Butane config embeds",
    };
    /// Everything one Butane config embeds, together.
    pub const BUTANE_LOCAL_TOTAL: ReadLimit = ReadLimit {
        bytes: 256 * MIB,
        what: "all the files one Butane config embeds together",
    };
    /// An SSH key file of `ssh_key_files`.
    pub const SSH_KEY_FILE: ReadLimit = ReadLimit {
        bytes: MIB,
        what: "an SSH key file",
    };
}

impl fmt::Display for ReadLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bytes >= MIB && self.bytes.is_multiple_of(MIB) {
            write!(f, "{} MiB, the limit for {}", self.bytes / MIB, self.what)
        } else {
            write!(f, "{} bytes, the limit for {}", self.bytes, self.what)
        }
    }
}

/// Why a file a fleet names could not be used. The variants beyond `Io` are the refusals that keep
/// reads confined and bounded, so that messages can say exactly what was refused and why.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The operating system's own error: not found, permission denied, ...
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Something other than a regular file where a file's contents are expected.
    #[error("is {}, not a regular file", kind.described())]
    NotRegular { kind: FileKind },
    #[error("is larger than {limit}")]
    TooLarge { limit: ReadLimit },
    /// Resolving the path (its symlinks, or `..` inside them) leaves the directory files are read from.
    #[error("leads outside {root}{}; only symlinks that stay inside it are followed", match resolved {
        Some(resolved) => format!(" (to {resolved})"),
        None => String::new(),
    })]
    OutsideDirectory {
        /// The directory, as messages name it.
        root: String,
        /// Where the path resolves to, when it does.
        resolved: Option<String>,
    },
}

impl FileError {
    /// Whether the file is not there, so that messages can say where it was looked for.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

fn unsupported() -> FileError {
    FileError::Io(io::Error::new(
        io::ErrorKind::Unsupported,
        "not supported by this file source",
    ))
}

/// Files under one root directory. Paths are relative to that root and never escape it lexically
/// (callers check for `..` before asking); the empty path is the root itself. Whether symlinks may
/// lead out of the root is the source's own rule.
///
/// Only `read` is required; the others serve Butane `storage.trees` and default to
/// "unsupported".
pub trait FileSource: Sync {
    /// The whole content of a regular file, refused when it is larger than `limit`.
    fn read(&self, path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError>;

    /// What `path` is, without following a final symlink.
    fn metadata(&self, _path: &Path) -> Result<FileMetadata, FileError> {
        Err(unsupported())
    }

    /// The names of the entries of a directory, in any order.
    fn read_dir(&self, _path: &Path) -> Result<Vec<String>, FileError> {
        Err(unsupported())
    }

    /// The target of a symlink, as it is written.
    fn read_link(&self, _path: &Path) -> Result<String, FileError> {
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

fn not_found() -> FileError {
    FileError::Io(io::Error::new(io::ErrorKind::NotFound, "no such file"))
}

impl FileSource for MemoryFiles {
    fn read(&self, path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
        match self.files.get(path) {
            Some(contents) if contents.len() as u64 > limit.bytes => {
                Err(FileError::TooLarge { limit })
            }
            Some(contents) => Ok(contents.clone()),
            None if self.links.contains_key(path) => Err(FileError::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                "memory files do not follow symlinks",
            ))),
            None if self.is_directory(path) => Err(FileError::NotRegular {
                kind: FileKind::Directory,
            }),
            None => Err(not_found()),
        }
    }

    fn metadata(&self, path: &Path) -> Result<FileMetadata, FileError> {
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

    fn read_dir(&self, path: &Path) -> Result<Vec<String>, FileError> {
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

    fn read_link(&self, path: &Path) -> Result<String, FileError> {
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
        assert!(matches!(
            files.read(Path::new("tree"), ReadLimit::BUTANE_LOCAL_FILE),
            Err(FileError::NotRegular {
                kind: FileKind::Directory
            })
        ));
        assert!(files.metadata(Path::new("nope")).is_err());
    }

    #[test]
    fn reads_are_refused_above_their_limit() {
        let mut files = MemoryFiles::new();
        files.insert("four", "1234");
        let limit = |bytes| ReadLimit {
            bytes,
            what: "a test file",
        };
        assert_eq!(files.read(Path::new("four"), limit(4)).unwrap(), b"1234");
        let error = files.read(Path::new("four"), limit(3)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "is larger than 3 bytes, the limit for a test file"
        );
        assert_eq!(
            FileError::TooLarge {
                limit: ReadLimit::BUTANE_LOCAL_FILE
            }
            .to_string(),
            "is larger than 64 MiB, the limit for a file a Butane config embeds"
        );
    }

    #[test]
    fn kinds_come_from_the_mode_bits() {
        assert_eq!(
            FileMetadata::from_mode(0o100_755),
            Some(FileMetadata {
                kind: FileKind::File,
                executable: true
            })
        );
        assert_eq!(
            FileKind::from_mode(0o020_666),
            Some(FileKind::CharacterDevice)
        );
        assert_eq!(FileKind::from_mode(0o010_644), Some(FileKind::Fifo));
        assert_eq!(FileKind::from_mode(0o140_755), Some(FileKind::Socket));
        assert_eq!(FileKind::from_mode(0o060_660), Some(FileKind::BlockDevice));
        assert_eq!(FileKind::from_mode(0o120_777), Some(FileKind::Symlink));
        assert_eq!(FileKind::from_mode(0o040_755), Some(FileKind::Directory));
        assert_eq!(FileKind::from_mode(0o644), None);
        assert!(FileKind::Fifo.is_special() && !FileKind::Directory.is_special());
    }
}
