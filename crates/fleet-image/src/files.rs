//! The few file operations a pull needs, each refusing what is not a regular file: bounded reads,
//! and atomic writes (a temporary file in the same directory, then a rename).

use std::fs::{self, File, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::ImageError;

/// Images and records are readable by everyone, as downloaded images usually are: they hold
/// nothing secret, and libvirt's qemu user may need to read the image.
pub(crate) const PUBLIC_FILE_MODE: u32 = 0o644;

/// What kind of file `metadata` describes, for messages about files that are not regular.
pub(crate) fn kind_of(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Reads all of `path` (following symbolic links: the caller named it) if it is a regular file
/// of at most `limit` bytes. FIFOs and devices are refused before they are opened, so a file that
/// never ends cannot hang a pull.
pub(crate) fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ImageError> {
    let not_regular = |file_type: fs::FileType| ImageError::NotARegularFile {
        path: path.to_owned(),
        kind: kind_of(file_type),
    };
    let metadata = fs::metadata(path).map_err(|error| ImageError::io("read", path, error))?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let file = File::open(path).map_err(|error| ImageError::io("open", path, error))?;
    let metadata = file
        .metadata()
        .map_err(|error| ImageError::io("read", path, error))?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| ImageError::io("read", path, error))?;
    if bytes.len() as u64 > limit {
        return Err(ImageError::TooLarge {
            url: path.display().to_string(),
            what: "file of this kind",
            limit,
        });
    }
    Ok(bytes)
}

/// The kind of what is at `path` when it exists and is not a regular file (a symbolic link
/// counts as not regular: fleet replaces files, never what links point to).
pub(crate) fn irregular_kind(path: &Path) -> Result<Option<&'static str>, ImageError> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() => Ok(None),
        Ok(metadata) => Ok(Some(kind_of(metadata.file_type()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ImageError::io("inspect", path, error)),
    }
}

/// A new temporary file in `directory`, hidden and named after `final_name`, removed on drop.
pub(crate) fn temporary_beside(
    directory: &Path,
    final_name: &str,
) -> Result<NamedTempFile, ImageError> {
    tempfile::Builder::new()
        .prefix(&format!(".{final_name}."))
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(|error| ImageError::io("create a temporary file in", directory, error))
}

/// Whether a finished file may replace what is at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Replace the file there (one fleet wrote, or one it was told to replace).
    Replace,
    /// Nothing was there when the pull looked: refuse a file that appeared since.
    New,
}

/// Makes a finished temporary file durable and public, then renames it to `path`.
pub(crate) fn persist(
    temporary: NamedTempFile,
    path: &Path,
    placement: Placement,
) -> Result<(), ImageError> {
    temporary
        .as_file()
        .set_permissions(Permissions::from_mode(PUBLIC_FILE_MODE))
        .map_err(|error| ImageError::io("set the mode of", temporary.path(), error))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(|error| ImageError::io("write", temporary.path(), error))?;
    let placed = match placement {
        Placement::Replace => temporary.persist(path),
        Placement::New => temporary.persist_noclobber(path),
    };
    placed.map_err(|error| ImageError::io("rename a temporary file to", path, error.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically, mode 0644.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let directory = parent_directory(path);
    let name = file_name(path)?;
    let mut temporary = temporary_beside(directory, name)?;
    temporary
        .write_all(bytes)
        .map_err(|error| ImageError::io("write", temporary.path(), error))?;
    persist(temporary, path, Placement::Replace)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The final component of `path` as UTF-8.
pub(crate) fn file_name(path: &Path) -> Result<&str, ImageError> {
    path.file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| ImageError::InvalidName {
            what: "destination",
            value: path.display().to_string(),
            reason: "it must end in a file name in UTF-8",
        })
}
