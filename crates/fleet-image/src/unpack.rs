//! From a finished download to an image file: the signature and sha256 checked in one read, then
//! xz decompressed into a temporary file beside the destination while uncompressed-sha256 is
//! computed. Nothing is decompressed before its signature is good.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use liblzma::read::XzDecoder;
use tempfile::NamedTempFile;

use crate::checksum::{HashingReader, HashingWriter, Sha256Digest};
use crate::download::Partial;
use crate::error::{ChecksumKind, ImageError};
use crate::events::{Meter, MeteredReader, Phase, PullEvent};
use crate::files::temporary_beside;
use crate::signature::PreparedSignature;

/// No Fedora CoreOS qemu image comes near this (they are about 2 GiB); a signed file that unpacks
/// past it is refused before it fills the disk.
pub(crate) const MAX_IMAGE_BYTES: u64 = 64 << 30;

/// Checks the signature and `sha256` of the download. Returns the signer's fingerprint.
pub(crate) fn verify_download(
    partial: &Partial,
    signature: &PreparedSignature<'_>,
    signature_url: &str,
    expected: &Sha256Digest,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<String, ImageError> {
    let length = partial.len()?;
    let file = partial.reader()?;
    let meter = Meter::start(Phase::Verify, 0, Some(length), on_event);
    let mut hashing = HashingReader::new(MeteredReader {
        inner: BufReader::with_capacity(1 << 20, file),
        meter,
    });
    let checked = signature.verify(&mut hashing);
    let (actual, metered) = hashing
        .finish()
        .map_err(|error| ImageError::io("read", partial.path(), error))?;
    metered.meter.finish();
    // A corrupt download is reported as such, whatever the signature says about it.
    if actual != *expected {
        return Err(ImageError::ChecksumMismatch {
            what: ChecksumKind::Compressed,
            expected: expected.clone(),
            actual,
        });
    }
    checked.map_err(|problem| ImageError::Signature {
        url: signature_url.to_owned(),
        problem,
    })
}

/// Decompresses the verified download into a new temporary file in `directory`, named after
/// `final_name`. The file is removed again unless it matches `uncompressed_sha256`.
pub(crate) fn decompress(
    partial: &Partial,
    directory: &Path,
    final_name: &str,
    expected: &Sha256Digest,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<NamedTempFile, ImageError> {
    let length = partial.len()?;
    let compressed = MeteredReader {
        inner: BufReader::with_capacity(1 << 20, partial.reader()?),
        meter: Meter::start(Phase::Decompress, 0, Some(length), on_event),
    };
    let temporary = temporary_beside(directory, final_name)?;
    let write_error = |error| ImageError::io("write", temporary.path(), error);
    let mut output = HashingWriter::new(BufWriter::with_capacity(1 << 20, temporary.as_file()));
    let mut decoder = XzDecoder::new_multi_decoder(compressed);
    let mut buffer = vec![0; 1 << 20];
    loop {
        // Reading can fail only on the xz data (the download is a local file already read
        // once); writing fails on the file system.
        let read = match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ImageError::Decompress {
                    path: partial.path().to_owned(),
                    source: error,
                });
            }
        };
        if output.bytes() + read as u64 > MAX_IMAGE_BYTES {
            return Err(ImageError::DecompressedTooLarge {
                limit: MAX_IMAGE_BYTES,
            });
        }
        output.write_all(&buffer[..read]).map_err(write_error)?;
    }
    let (mut buffered, actual) = output.finish();
    buffered.flush().map_err(write_error)?;
    drop(buffered);
    decoder.into_inner().meter.finish();
    if actual != *expected {
        return Err(ImageError::ChecksumMismatch {
            what: ChecksumKind::Uncompressed,
            expected: expected.clone(),
            actual,
        });
    }
    Ok(temporary)
}
