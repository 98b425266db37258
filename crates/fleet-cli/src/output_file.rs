//! Writing a file the user names (`fleet butane -o`, `fleet plan --airlock-config`): a missing path
//! or a regular file is replaced atomically; a symlink is written through to its target; a device
//! or FIFO is opened and written in place, as upstream butane does, and never replaced.
//!
//! `atomic_write` is also the one place that knows how a file fleet writes gets its mode.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Why a file the user named was not written.
#[derive(Debug, thiserror::Error)]
pub enum OutputFileError {
    /// `named` is the path as given, with where its symlinks lead.
    #[error("cannot write {named}")]
    Write {
        named: String,
        #[source]
        source: WriteFailure,
    },
    #[error("cannot write {named}: it is a directory")]
    IsDirectory { named: String },
    #[error("cannot read the symlink {}", .link.display())]
    ReadLink {
        link: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: more than {MAX_SYMLINKS} symlinks in a row (a loop?)", .path.display())]
    SymlinkLoop { path: PathBuf },
}

/// What failed while writing.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailure {
    #[error(transparent)]
    Examine(io::Error),
    #[error(transparent)]
    Replace(#[from] AtomicWriteError),
    #[error("cannot open it")]
    OpenInPlace(#[source] io::Error),
    #[error(transparent)]
    WriteInPlace(io::Error),
}

/// Which step of an atomic replacement failed (callers say which file).
#[derive(Debug, thiserror::Error)]
pub enum AtomicWriteError {
    #[error("cannot create a file in {}", .directory.display())]
    CreateTemporary {
        directory: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot set the new file's mode")]
    SetMode(#[source] io::Error),
    #[error("cannot write the new file")]
    Write(#[source] io::Error),
    #[error("cannot rename the new file into place")]
    Rename(#[source] io::Error),
}

/// Who may read a file fleet writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner alone (0600), whatever the umask and whatever mode the file had before: Ignition
    /// carries password hashes and keys.
    OwnerOnly,
    /// What `open(path, O_CREAT, 0644)` gives: a new file 0644 less the umask, and a file that is
    /// replaced keeps its mode, as it would if it were truncated and rewritten.
    Default,
}

impl Access {
    /// The mode a new file is created with (the kernel then applies the umask).
    fn creation_mode(self) -> u32 {
        match self {
            Access::OwnerOnly => 0o600,
            Access::Default => 0o644,
        }
    }
}

/// The kernel's own limit on symlinks followed while resolving one path (ELOOP after 40).
const MAX_SYMLINKS: usize = 40;

/// Write `bytes` to the file the user named. A missing path or a regular file is replaced
/// atomically (a temporary file beside it, then a rename), so a reader never sees half a file; a
/// symlink is followed to its target, which is then written by the same rule (the link stays); a
/// character or block device, a FIFO or a socket is opened `O_WRONLY|O_CREAT|O_TRUNC` and written
/// in place, as `butane -o` does: `-o /dev/null` must leave /dev/null a device. A FIFO without a
/// reader blocks until one comes, as it does for upstream.
pub fn write_output_file(path: &Path, bytes: &[u8], access: Access) -> Result<(), OutputFileError> {
    let target = resolve_symlinks(path)?;
    let named = || {
        if target == path {
            path.display().to_string()
        } else {
            format!("{} (a symlink to {})", path.display(), target.display())
        }
    };
    let written = match fs::symlink_metadata(&target) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            atomic_write(&target, bytes, access).map_err(WriteFailure::from)
        }
        Err(error) => Err(WriteFailure::Examine(error)),
        Ok(metadata) if metadata.is_file() => {
            atomic_write(&target, bytes, access).map_err(WriteFailure::from)
        }
        Ok(metadata) if metadata.is_dir() => {
            return Err(OutputFileError::IsDirectory { named: named() });
        }
        Ok(_) => write_in_place(&target, bytes),
    };
    written.map_err(|source| OutputFileError::Write {
        named: named(),
        source,
    })
}

/// Replace `path` with a file holding `bytes`: written as a temporary file in the same directory,
/// then renamed over `path`, so that `path` holds either its old contents or all of the new ones.
/// The caller has decided that `path` is missing or a regular file (a rename would replace a
/// device or a symlink itself). Errors say what failed, not which file: callers add that.
pub fn atomic_write(path: &Path, bytes: &[u8], access: Access) -> Result<(), AtomicWriteError> {
    let directory = parent_directory(path);
    // A replaced file keeps its mode under `Default`; the kernel never applies the umask to chmod.
    let exact_mode = match access {
        Access::OwnerOnly => Some(0o600),
        Access::Default => fs::metadata(path)
            .ok()
            .filter(fs::Metadata::is_file)
            .map(|metadata| metadata.permissions().mode() & 0o7777),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".fleet-")
        .permissions(Permissions::from_mode(access.creation_mode()))
        .tempfile_in(directory)
        .map_err(|source| AtomicWriteError::CreateTemporary {
            directory: directory.to_path_buf(),
            source,
        })?;
    if let Some(mode) = exact_mode {
        file.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(AtomicWriteError::SetMode)?;
    }
    file.write_all(bytes).map_err(AtomicWriteError::Write)?;
    file.persist(path)
        .map_err(|error| AtomicWriteError::Rename(error.error))?;
    Ok(())
}

/// Write a new file that must not exist yet (`O_EXCL`), with exactly the mode `access` asks for.
pub fn create_new_file(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(access.creation_mode())
        .open(path)?;
    if access == Access::OwnerOnly {
        // The umask may have taken more than group and other bits away (umask 0277 gives 0400).
        file.set_permissions(Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

/// Devices, FIFOs and sockets: written through, as `open(O_WRONLY|O_CREAT|O_TRUNC)` does.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), WriteFailure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(WriteFailure::OpenInPlace)?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(WriteFailure::WriteInPlace)
}

/// Follow symlinks at the last component of `path` to what they finally name (which may not
/// exist: writing then creates it, as `open(O_CREAT)` through a dangling link does).
fn resolve_symlinks(path: &Path) -> Result<PathBuf, OutputFileError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        let is_link =
            fs::symlink_metadata(&current).is_ok_and(|metadata| metadata.file_type().is_symlink());
        if !is_link {
            return Ok(current);
        }
        let target = fs::read_link(&current).map_err(|source| OutputFileError::ReadLink {
            link: current.clone(),
            source,
        })?;
        current = if target.is_absolute() {
            target
        } else {
            parent_directory(&current).join(target)
        };
    }
    Err(OutputFileError::SymlinkLoop {
        path: path.to_path_buf(),
    })
}

/// The directory a path's last component lives in (`.` for a bare file name).
fn parent_directory(path: &Path) -> &Path {
    path.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_regular_file_is_replaced_and_keeps_its_mode() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("out.ign");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        write_output_file(&path, b"new", Access::Default).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode_of(&path), 0o640);
    }

    #[test]
    fn owner_only_files_are_0600_whatever_they_were() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("node.ign");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        write_output_file(&path, b"secret", Access::OwnerOnly).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let fresh = directory.path().join("fresh.ign");
        create_new_file(&fresh, b"secret", Access::OwnerOnly).unwrap();
        assert_eq!(mode_of(&fresh), 0o600);
        assert!(create_new_file(&fresh, b"again", Access::OwnerOnly).is_err());
    }

    #[test]
    fn symlinks_are_written_through_and_stay_links() {
        let directory = tempfile::tempdir().unwrap();
        let real = directory.path().join("sub").join("real.ign");
        fs::create_dir(directory.path().join("sub")).unwrap();
        fs::write(&real, b"old").unwrap();
        // A relative link, resolved from the link's own directory; then a link to that link.
        let link = directory.path().join("link.ign");
        symlink("sub/real.ign", &link).unwrap();
        let second = directory.path().join("second.ign");
        symlink(&link, &second).unwrap();
        write_output_file(&second, b"new", Access::Default).unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::symlink_metadata(&second)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A dangling link creates its target.
        let dangling = directory.path().join("dangling.ign");
        symlink("created.ign", &dangling).unwrap();
        write_output_file(&dangling, b"made", Access::Default).unwrap();
        assert_eq!(
            fs::read(directory.path().join("created.ign")).unwrap(),
            b"made"
        );
    }

    #[test]
    fn a_symlink_loop_and_a_directory_are_refused_with_the_reason() {
        let directory = tempfile::tempdir().unwrap();
        let loop_a = directory.path().join("a");
        symlink("b", &loop_a).unwrap();
        symlink("a", directory.path().join("b")).unwrap();
        let error = write_output_file(&loop_a, b"x", Access::Default).unwrap_err();
        assert!(error.to_string().contains("symlinks in a row"), "{error}");
        let error = write_output_file(directory.path(), b"x", Access::Default).unwrap_err();
        assert!(error.to_string().ends_with("it is a directory"), "{error}");
    }
}
