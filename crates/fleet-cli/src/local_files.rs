//! Reading from disk what a fleet (or `fleet butane -d DIR`) names: the one `FileSource` of the CLI,
//! with the rules that keep those reads confined and bounded (docs/fleet-toml.md, "What fleet reads").
//!
//! Every file whose contents fleet reads must be a regular file, and no larger than the
//! `ReadLimit` its caller names. The type is checked before opening (so that opening a device has no
//! side effect) and again, with `fstat`, on what was opened (so that a path swapped meanwhile cannot
//! slip through); the open is non-blocking, so a FIFO never stalls a command.

use std::fs::File;
use std::io::{self, Read as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, MetadataExt as _, OpenOptionsExt as _};
use fleet_spec::{FileError, FileKind, FileMetadata, FileSource, ReadLimit};

/// Where symlinks under the root may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymlinkRule {
    /// Only to somewhere inside the root: the rule of a fleet directory. The kernel resolves every
    /// path beneath the root (`openat2` with `RESOLVE_BENEATH`, through cap-std), so neither a
    /// symlink nor a `..` inside one can reach a file outside, even when the tree changes meanwhile.
    StayInside,
    /// Anywhere: upstream butane's `--files-dir` rule, which checks only the path as written
    /// (the translator refuses a `..` that climbs out) and then reads through symlinks.
    FollowAnywhere,
}

/// Files under one root directory, read from disk under a `SymlinkRule`.
#[derive(Debug)]
pub struct LocalFiles {
    root: PathBuf,
    /// The root in messages: "the fleet file's directory fleet".
    described: String,
    access: Access,
}

#[derive(Debug)]
enum Access {
    /// The root, opened once; every lookup is resolved beneath it.
    Beneath(Dir),
    /// Paths joined to the root, resolved as the system does.
    Anywhere,
}

impl LocalFiles {
    /// Files under `root`. With `StayInside` the directory is opened now (so a missing one is
    /// reported once, here); with `FollowAnywhere` nothing is touched until a file is read.
    pub fn open(root: &Path, rule: SymlinkRule) -> io::Result<LocalFiles> {
        let access = match rule {
            SymlinkRule::StayInside => {
                Access::Beneath(Dir::open_ambient_dir(root, cap_std::ambient_authority())?)
            }
            SymlinkRule::FollowAnywhere => Access::Anywhere,
        };
        Ok(LocalFiles {
            root: root.to_path_buf(),
            described: described("the directory", root),
            access,
        })
    }

    /// The files a fleet file names: relative to its directory, and staying inside it.
    pub fn fleet_directory(fleet_file: &Path) -> io::Result<LocalFiles> {
        let root = fleet_directory(fleet_file);
        Ok(LocalFiles {
            described: described("the fleet file's directory", root),
            ..LocalFiles::open(root, SymlinkRule::StayInside)?
        })
    }

    /// The directory paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Run `operation` on `path` beneath the root; when it fails because resolving `path` left the
    /// root, say where it leads. An absolute symlink that points back inside the root is allowed:
    /// the operation is retried on where it resolves, still beneath the root.
    fn beneath<T>(
        &self,
        dir: &Dir,
        path: &Path,
        follow_final_symlink: bool,
        operation: impl Fn(&Dir, &Path) -> io::Result<T>,
    ) -> Result<T, FileError> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        match operation(dir, path) {
            Err(error) if left_the_directory(&error) => {}
            result => return result.map_err(FileError::Io),
        }
        let resolved = self.resolve(path, follow_final_symlink);
        let inside = std::fs::canonicalize(&self.root).ok().and_then(|root| {
            let relative = resolved.as_deref()?.strip_prefix(root).ok()?;
            Some(if relative.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                relative.to_path_buf()
            })
        });
        if let Some(inside) = inside {
            match operation(dir, &inside) {
                Err(error) if left_the_directory(&error) => {}
                result => return result.map_err(FileError::Io),
            }
        }
        Err(FileError::OutsideDirectory {
            root: self.described.clone(),
            resolved: resolved.map(|resolved| resolved.display().to_string()),
        })
    }

    /// Where `path` leads as the system resolves it, for messages and for absolute symlinks back
    /// inside; never used to read.
    fn resolve(&self, path: &Path, follow_final_symlink: bool) -> Option<PathBuf> {
        let full = self.root.join(path);
        if follow_final_symlink {
            return std::fs::canonicalize(full).ok();
        }
        let name = full.file_name()?;
        Some(std::fs::canonicalize(full.parent()?).ok()?.join(name))
    }

    /// The file at `path`, opened for reading once it is known to be a regular file.
    fn open_regular(&self, path: &Path) -> Result<File, FileError> {
        match &self.access {
            Access::Beneath(dir) => {
                let metadata = self.beneath(dir, path, true, |dir, path| dir.metadata(path))?;
                refuse_special(metadata.mode())?;
                let mut options = cap_std::fs::OpenOptions::new();
                options.read(true).custom_flags(read_flags());
                let file =
                    self.beneath(dir, path, true, |dir, path| dir.open_with(path, &options))?;
                Ok(file.into_std())
            }
            Access::Anywhere => {
                let full = self.root.join(path);
                refuse_special(std::fs::metadata(&full)?.mode())?;
                Ok(std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(read_flags())
                    .open(full)?)
            }
        }
    }
}

impl FileSource for LocalFiles {
    fn read(&self, path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
        read_opened(self.open_regular(path)?, limit)
    }

    fn metadata(&self, path: &Path) -> Result<FileMetadata, FileError> {
        let mode = match &self.access {
            Access::Beneath(dir) => self
                .beneath(dir, path, false, |dir, path| dir.symlink_metadata(path))?
                .mode(),
            Access::Anywhere => std::fs::symlink_metadata(self.root.join(path))?.mode(),
        };
        FileMetadata::from_mode(mode).ok_or_else(|| unknown_file_type(mode))
    }

    fn read_dir(&self, path: &Path) -> Result<Vec<String>, FileError> {
        let names: Vec<std::ffi::OsString> = match &self.access {
            Access::Beneath(dir) => self.beneath(dir, path, true, |dir, path| {
                dir.read_dir(path)?
                    .map(|entry| Ok(entry?.file_name()))
                    .collect()
            })?,
            Access::Anywhere => std::fs::read_dir(self.root.join(path))?
                .map(|entry| Ok(entry?.file_name()))
                .collect::<io::Result<_>>()?,
        };
        names
            .into_iter()
            .map(|name| {
                name.into_string().map_err(|name| {
                    FileError::Io(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the file name {name:?} is not UTF-8"),
                    ))
                })
            })
            .collect()
    }

    fn read_link(&self, path: &Path) -> Result<String, FileError> {
        // The link's own text, absolute or not: a tree copies links, it never follows them.
        let target = match &self.access {
            Access::Beneath(dir) => {
                self.beneath(dir, path, false, |dir, path| dir.read_link_contents(path))?
            }
            Access::Anywhere => std::fs::read_link(self.root.join(path))?,
        };
        target.into_os_string().into_string().map_err(|target| {
            FileError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the symlink target {target:?} is not UTF-8"),
            ))
        })
    }

    fn display_path(&self, path: &Path) -> String {
        if path.as_os_str().is_empty() {
            self.root.display().to_string()
        } else if self.root == Path::new(".") {
            path.display().to_string()
        } else {
            self.root.join(path).display().to_string()
        }
    }
}

/// The directory the files a fleet file names are relative to: the one that holds it.
pub fn fleet_directory(fleet_file: &Path) -> &Path {
    fleet_file
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// "the directory fleet", or just "the directory" for the current one (which messages name as `.`).
fn described(what: &str, root: &Path) -> String {
    if root == Path::new(".") {
        what.to_owned()
    } else {
        format!("{what} {}", root.display())
    }
}

/// Read a file the user named that must be a regular file (the fleet file), within `limit`.
pub fn read_regular_file(path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
    refuse_special(std::fs::metadata(path)?.mode())?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(read_flags())
        .open(path)?;
    read_opened(file, limit)
}

/// Read whatever `path` names, a regular file, a pipe (`<(...)`) or a terminal (`/dev/stdin`), up
/// to `limit`: for `fleet butane INPUT`, which upstream reads whatever it is. A directory is refused.
pub fn read_input(path: &Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(FileError::NotRegular {
            kind: FileKind::Directory,
        });
    }
    read_capped(file, metadata.len(), limit)
}

/// Read `reader` to its end, refusing it as soon as it holds more than `limit`: a stream that never
/// ends costs at most `limit` bytes of memory. `expected` sizes the buffer (0 when unknown).
pub fn read_capped(
    reader: impl io::Read,
    expected: u64,
    limit: ReadLimit,
) -> Result<Vec<u8>, FileError> {
    let capacity = usize::try_from(expected.min(limit.bytes)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    reader.take(limit.bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Read an opened file that must be regular: its type and size come from `fstat` on the open file,
/// so a path replaced after it was checked cannot bring in a device or a FIFO.
fn read_opened(file: File, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
    let metadata = file.metadata()?;
    refuse_special(metadata.mode())?;
    if metadata.len() > limit.bytes {
        return Err(FileError::TooLarge { limit });
    }
    read_capped(file, metadata.len(), limit)
}

/// Anything but a regular file, where one is expected, as a `NotRegular` refusal.
fn refuse_special(mode: u32) -> Result<(), FileError> {
    match FileKind::from_mode(mode) {
        Some(FileKind::File) => Ok(()),
        Some(kind) => Err(FileError::NotRegular { kind }),
        None => Err(unknown_file_type(mode)),
    }
}

fn unknown_file_type(mode: u32) -> FileError {
    FileError::Io(io::Error::other(format!(
        "has an unknown file type (mode {mode:o})"
    )))
}

/// `O_NONBLOCK` so that opening a FIFO returns at once (fleet then refuses it), `O_NOCTTY` so that a
/// terminal never becomes the process's controlling one.
fn read_flags() -> i32 {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    i32::try_from(flags.bits()).unwrap_or(0)
}

/// cap-std's refusal of a path that resolves outside its directory: a permission error of its own,
/// with no operating-system error number.
fn left_the_directory(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error().is_none()
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
        std::os::unix::fs::symlink("/etc/passwd", root.join("tree/absolute")).expect("symlink");
        for rule in [SymlinkRule::StayInside, SymlinkRule::FollowAnywhere] {
            let files = LocalFiles::open(root, rule).expect("open");
            let mut entries = files.read_dir(Path::new("tree")).expect("read_dir");
            entries.sort();
            assert_eq!(entries, ["absolute", "bin", "link"]);
            assert_eq!(
                files.metadata(Path::new("tree/bin/run")).expect("metadata"),
                FileMetadata {
                    kind: FileKind::File,
                    executable: true
                }
            );
            for link in ["tree/link", "tree/absolute"] {
                assert_eq!(
                    files.metadata(Path::new(link)).expect("metadata").kind,
                    FileKind::Symlink
                );
            }
            assert_eq!(
                files.read_link(Path::new("tree/link")).expect("link"),
                "bin/run"
            );
            // A link is copied as it is written, even one that points outside.
            assert_eq!(
                files.read_link(Path::new("tree/absolute")).expect("link"),
                "/etc/passwd"
            );
            assert_eq!(
                files
                    .read(Path::new("tree/bin/run"), ReadLimit::BUTANE_LOCAL_FILE)
                    .expect("read"),
                b"#!/bin/sh\n"
            );
            assert_eq!(
                files.metadata(Path::new("")).expect("root").kind,
                FileKind::Directory
            );
        }
    }

    #[test]
    fn files_are_read_beside_the_fleet_file() {
        assert_eq!(
            fleet_directory(Path::new("fleet/fleet.toml")),
            Path::new("fleet")
        );
        assert_eq!(fleet_directory(Path::new("fleet.toml")), Path::new("."));
    }

    #[test]
    fn reads_stop_at_their_limit() {
        let limit = ReadLimit {
            bytes: 4,
            what: "a test stream",
        };
        assert_eq!(read_capped(&b"1234"[..], 0, limit).expect("fits"), b"1234");
        assert!(matches!(
            read_capped(io::repeat(0), 0, limit),
            Err(FileError::TooLarge { .. })
        ));
    }
}
