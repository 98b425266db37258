//! Where a pulled image goes, and whether fleet may put it there: a new file, a file fleet wrote
//! before (its record's sha256 matches it), or, only when told, someone else's file.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::checksum::{HashingReader, Sha256Digest};
use crate::error::ImageError;
use crate::events::{Meter, MeteredReader, Phase, PullEvent};
use crate::files::irregular_kind;
use crate::record::ImageRecord;
use crate::stream::check_name;

/// Where to write the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// This file (e.g. what `[fleet.image] path` names).
    File(PathBuf),
    /// This directory, under the artefact's own name without `.xz`
    /// (`fedora-coreos-RELEASE-qemu.ARCH.qcow2`).
    Directory(PathBuf),
}

/// What is at the destination now.
#[derive(Debug)]
pub(crate) enum Existing {
    Nothing,
    /// An image fleet wrote, with the record that proves it.
    Fleets(Box<ImageRecord>),
    /// A file fleet cannot show it wrote: the image, or a record that is not fleet's.
    Foreign(PathBuf),
}

/// The last segment of the artefact's URL, which names the partial download and, for a
/// directory destination, the image. It comes from a file fleet did not write, so it must be a
/// plain file name ending in `.xz`.
pub(crate) fn artefact_file_name(location: &str) -> Result<&str, ImageError> {
    let path = location.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    check_name("artefact file name", name)?;
    if name.len() <= 3 || !name.ends_with(".xz") {
        return Err(ImageError::InvalidName {
            what: "artefact file name",
            value: name.to_owned(),
            reason: "it must end in .xz",
        });
    }
    Ok(name)
}

impl Destination {
    /// The image's path, given the artefact's file name.
    pub(crate) fn image_path(&self, artefact_file_name: &str) -> PathBuf {
        match self {
            Self::File(path) => path.clone(),
            Self::Directory(directory) => directory.join(
                artefact_file_name
                    .strip_suffix(".xz")
                    .unwrap_or(artefact_file_name),
            ),
        }
    }
}

/// Looks at the destination (and its record): refuses what is not a regular file, and hashes an
/// existing image that has a record to see whether the record still describes it.
pub(crate) fn existing(
    image: &Path,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<Existing, ImageError> {
    let record_path = ImageRecord::path_for(image);
    for path in [image, record_path.as_path()] {
        if let Some(kind) = irregular_kind(path)? {
            return Err(ImageError::NotARegularFile {
                path: path.to_owned(),
                kind,
            });
        }
    }
    if !image.exists() {
        // A record without its image is fleet's only if it reads as one.
        return match ImageRecord::read_beside(image) {
            Ok(_) => Ok(Existing::Nothing),
            Err(_) => Ok(Existing::Foreign(record_path)),
        };
    }
    let Ok(Some(record)) = ImageRecord::read_beside(image) else {
        return Ok(Existing::Foreign(image.to_owned()));
    };
    if sha256_of(image, on_event)? == record.uncompressed_sha256 {
        Ok(Existing::Fleets(Box::new(record)))
    } else {
        Ok(Existing::Foreign(image.to_owned()))
    }
}

fn sha256_of(path: &Path, on_event: &mut dyn FnMut(PullEvent)) -> Result<Sha256Digest, ImageError> {
    let read_error = |error| ImageError::io("read", path, error);
    let file = File::open(path).map_err(read_error)?;
    let length = file.metadata().map_err(read_error)?.len();
    let hashing = HashingReader::new(MeteredReader {
        inner: BufReader::with_capacity(1 << 20, file),
        meter: Meter::start(Phase::CheckExisting, 0, Some(length), on_event),
    });
    let (digest, reader) = hashing.finish().map_err(read_error)?;
    reader.meter.finish();
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artefact_names_are_plain_xz_file_names() {
        assert_eq!(
            artefact_file_name("https://m.invalid/a/fedora-coreos-43.1-qemu.x86_64.qcow2.xz?x=1")
                .unwrap(),
            "fedora-coreos-43.1-qemu.x86_64.qcow2.xz"
        );
        for bad in [
            "https://m.invalid/",
            "https://m.invalid/..",
            "https://m.invalid/a.qcow2",
            "https://m.invalid/.xz",
            "https://m.invalid/%2e%2e.xz",
        ] {
            assert!(artefact_file_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Destination::Directory(PathBuf::from("/images")).image_path("f.qcow2.xz"),
            Path::new("/images/f.qcow2")
        );
    }
}
