//! The record fleet writes beside each image it pulls (`IMAGE.fleet-image.json`): which stream and
//! release the image is, where it came from and its checksums, so `deploy` and `status` can tell
//! which release a node was created from, and a later pull can tell the image is fleet's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checksum::Sha256Digest;
use crate::error::ImageError;
use crate::files::{read_regular_file, write_atomically};

/// What a record's `format` field says, so a reader can tell a record of a later layout.
pub const RECORD_FORMAT: &str = "fleet-image-record/1";

/// The suffix appended to an image's file name to name its record.
pub const RECORD_SUFFIX: &str = ".fleet-image.json";

/// A record is a few hundred bytes; anything much larger is not one.
const MAX_RECORD_BYTES: u64 = 64 << 10;

/// Where and what an image was pulled from. Trust it for a file only when the file's sha256 is
/// `uncompressed_sha256` (deploy hashes the image anyway): a record says what fleet wrote, and
/// the file may have been replaced since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    /// Always [`RECORD_FORMAT`].
    pub format: String,
    pub stream: String,
    pub architecture: String,
    /// The Fedora CoreOS release, e.g. `43.20251110.3.1`.
    pub release: String,
    /// The stream metadata the release was read from.
    pub stream_url: String,
    /// The `.qcow2.xz` downloaded.
    pub location: String,
    /// Its detached signature.
    pub signature: String,
    /// The fingerprint of the trusted key that signed it.
    pub signer: String,
    /// sha256 of the `.qcow2.xz`.
    pub sha256: Sha256Digest,
    /// sha256 of the image file itself.
    pub uncompressed_sha256: Sha256Digest,
}

impl ImageRecord {
    /// The record's path for the image at `image`: `IMAGE.fleet-image.json` beside it.
    pub fn path_for(image: &Path) -> PathBuf {
        let mut name = image.file_name().unwrap_or_default().to_os_string();
        name.push(RECORD_SUFFIX);
        image.with_file_name(name)
    }

    /// The record beside `image`, `None` when there is none.
    pub fn read_beside(image: &Path) -> Result<Option<Self>, ImageError> {
        let path = Self::path_for(image);
        match std::fs::symlink_metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ImageError::io("inspect", &path, error)),
            Ok(_) => {}
        }
        let bytes = read_regular_file(&path, MAX_RECORD_BYTES)?;
        let record: Self = serde_json::from_slice(&bytes).map_err(|error| ImageError::Record {
            path: path.clone(),
            problem: format!(
                "line {}, column {}: {error}; it is not a record fleet wrote",
                error.line(),
                error.column()
            ),
        })?;
        if record.format != RECORD_FORMAT {
            return Err(ImageError::Record {
                path,
                problem: format!(
                    "its format is {:?}; this fleet reads {RECORD_FORMAT:?}",
                    record.format
                ),
            });
        }
        Ok(Some(record))
    }

    /// Writes the record beside `image`, atomically, as pretty JSON ending in a newline.
    pub(crate) fn write_beside(&self, image: &Path) -> Result<PathBuf, ImageError> {
        let path = Self::path_for(image);
        let mut json = serde_json::to_vec_pretty(self).map_err(|error| ImageError::Record {
            path: path.clone(),
            problem: error.to_string(),
        })?;
        json.push(b'\n');
        write_atomically(&path, &json)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ImageRecord {
        ImageRecord {
            format: RECORD_FORMAT.to_owned(),
            stream: "stable".to_owned(),
            architecture: "x86_64".to_owned(),
            release: "43.20261115.3.0".to_owned(),
            stream_url: "https://mirror.invalid/streams/stable.json".to_owned(),
            location: "https://mirror.invalid/a.qcow2.xz".to_owned(),
            signature: "https://mirror.invalid/a.qcow2.xz.sig".to_owned(),
            signer: "4F50A6114CD5C6976A7F1179655A4B02F577861E".to_owned(),
            sha256: Sha256Digest::from_hex(&"a".repeat(64)).unwrap(),
            uncompressed_sha256: Sha256Digest::from_hex(&"b".repeat(64)).unwrap(),
        }
    }

    #[test]
    fn a_record_reads_back_as_written_and_names_its_image() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("fcos.qcow2");
        let path = record().write_beside(&image).unwrap();
        assert_eq!(path, directory.path().join("fcos.qcow2.fleet-image.json"));
        assert_eq!(ImageRecord::read_beside(&image).unwrap(), Some(record()));
        assert_eq!(
            ImageRecord::read_beside(&directory.path().join("other.qcow2")).unwrap(),
            None
        );
    }

    #[test]
    fn what_is_not_a_record_is_said_so() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("fcos.qcow2");
        std::fs::write(ImageRecord::path_for(&image), "{\"format\": 1}").unwrap();
        let error = ImageRecord::read_beside(&image).unwrap_err().to_string();
        assert!(error.contains("line 1, column 12"), "{error}");
        std::os::unix::fs::symlink(
            "/dev/zero",
            ImageRecord::path_for(&directory.path().join("z")),
        )
        .unwrap();
        let error = ImageRecord::read_beside(&directory.path().join("z"))
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(
                "is a device, not a regular file; fleet reads and writes only regular files there"
            ),
            "{error}"
        );
    }
}
