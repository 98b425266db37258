//! The base image file on this machine: refused unless it is a regular file, and hashed (streamed) to name its volume, the digest remembered per file identity so that an unchanged image is hashed once.
//!
//! Why the digest: the imported volume is named `fleet-base-<sha256 prefix>.qcow2`, so an identical
//! image is never uploaded twice, a changed file becomes a new volume, and fleets and hosts that
//! share a pool share the image by content. The digest names the volume only; node drift is
//! judged from each domain's metadata, never from the base image. Hashing costs about a second per
//! GiB here (a 20 GB image: 20 s per deploy), so [`ImageDigestCache`] keeps it per file identity.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::desired::{BackingImage, hex, names};
use crate::error::Error;
use crate::image_digest::{FileIdentity, ImageDigestCache};

/// The base image as the engine uses it, hashed once per run.
#[derive(Debug, Clone)]
pub(crate) enum ImageInfo {
    File {
        path: PathBuf,
        sha256: String,
        length: u64,
    },
    Volume(String),
}

impl ImageInfo {
    /// Hash a local image file (streamed; a Fedora CoreOS image is about 1.5 GiB), or take the
    /// digest the cache holds for exactly this file as it is now.
    pub(crate) fn read(
        image: &BackingImage,
        cache: Option<&ImageDigestCache>,
    ) -> Result<ImageInfo, Error> {
        let path = match image {
            BackingImage::Volume(volume) => return Ok(ImageInfo::Volume(volume.clone())),
            BackingImage::File(path) => path,
        };
        let unreadable = |error: std::io::Error| Error::BaseImageUnreadable {
            path: path.clone(),
            message: error.to_string(),
        };
        let (mut file, metadata) = open_regular_file(path).map_err(unreadable)?;
        let identity = FileIdentity::of(&metadata);
        if let Some(sha256) = cache.and_then(|cache| cache.lookup(path, &identity)) {
            return Ok(ImageInfo::File {
                path: path.clone(),
                sha256,
                length: metadata.len(),
            });
        }
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 1 << 20];
        let mut length = 0_u64;
        loop {
            let read = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(unreadable(error)),
            };
            hasher.update(&buffer[..read]);
            length += read as u64;
        }
        let sha256 = hex(&hasher.finalize());
        if let Some(cache) = cache {
            // Only a file that did not change while it was read is remembered.
            let after = file.metadata().map(|metadata| FileIdentity::of(&metadata));
            if after
                .as_ref()
                .is_ok_and(|after| *after == identity && identity.size == length)
            {
                cache.remember(path, &identity, &sha256);
            }
        }
        Ok(ImageInfo::File {
            path: path.clone(),
            sha256,
            length,
        })
    }

    pub(crate) fn volume_name(&self) -> String {
        match self {
            ImageInfo::File { sha256, .. } => names::base_image_volume(sha256),
            ImageInfo::Volume(volume) => volume.clone(),
        }
    }
}

impl BackingImage {
    /// Whether the image can be used before anything is done with it: a volume always (the host
    /// is asked later), a file when it is a regular file this process can open. For a clear
    /// error up front instead of one per node.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            BackingImage::Volume(_) => Ok(()),
            BackingImage::File(path) => {
                open_regular_file(path)
                    .map(|_| ())
                    .map_err(|error| Error::BaseImageUnreadable {
                        path: path.clone(),
                        message: error.to_string(),
                    })
            }
        }
    }
}

/// Open a file for reading only if it is a regular file. A FIFO, a device or a directory as a
/// base image would block the open, never end (`/dev/zero`), or fail obscurely: refused with what
/// it is. The open does not block (`O_NONBLOCK`, which regular files ignore), and the check is
/// made on the opened file, so swapping the path between a check and the open changes nothing.
pub(crate) fn open_regular_file(path: &Path) -> std::io::Result<(File, Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok((file, metadata));
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is {kind}, not a regular file; [fleet.image] path (or --image) must name a qcow2 image file"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_images() {
        let directory = tempfile::tempdir().unwrap();
        let regular = directory.path().join("image.qcow2");
        std::fs::write(&regular, b"QFI\xfb").unwrap();
        assert!(BackingImage::File(regular).check().is_ok());

        let fifo = directory.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let cases = [
            (PathBuf::from("/dev/zero"), "it is a character device"),
            (directory.path().to_path_buf(), "it is a directory"),
            // Opening a FIFO without a writer would block forever without O_NONBLOCK.
            (fifo, "it is a FIFO"),
        ];
        for (path, expected) in cases {
            let error = ImageInfo::read(&BackingImage::File(path.clone()), None).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "cannot read base image {}: {expected}",
                    path.display()
                )) && message.ends_with("must name a qcow2 image file"),
                "{message}"
            );
        }
    }
}
