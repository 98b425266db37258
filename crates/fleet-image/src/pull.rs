//! One pull, start to end: stream metadata, the signature, the resumable download, verification,
//! decompression and the atomic placement of image and record.

use std::path::PathBuf;

use crate::destination::{Destination, Existing, artefact_file_name, existing};
use crate::download::{Partial, download};
use crate::error::{ImageError, SignatureProblem};
use crate::events::PullEvent;
use crate::files::{Placement, file_name, parent_directory, persist};
use crate::http::{ProxySetting, Timeouts, agent, get_small};
use crate::record::{ImageRecord, RECORD_FORMAT};
use crate::signature::{MAX_SIGNATURE_BYTES, TrustedKeys};
use crate::stream::{DEFAULT_STREAM_BASE_URL, check_name, qemu_image, stream_url};
use crate::unpack::{MAX_IMAGE_BYTES, decompress, verify_download};

/// Fedora's stream files are about 50 KiB; this leaves room for any mirror's.
const MAX_STREAM_BYTES: u64 = 16 << 20;

/// The architecture pulled when none is named: the one fleet's domains use.
pub const DEFAULT_ARCHITECTURE: &str = "x86_64";

/// What to pull and where to put it.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// `stable`, `testing` or `next` (a mirror may serve others).
    pub stream: String,
    pub architecture: String,
    /// The directory that holds `STREAM.json`; [`DEFAULT_STREAM_BASE_URL`] unless a mirror.
    pub stream_base_url: String,
    pub destination: Destination,
    /// The keys a signature must come from: Fedora's, or a mirror's.
    pub trusted_keys: TrustedKeys,
    /// Replace a file at the destination that fleet cannot show it wrote.
    pub overwrite: bool,
    pub timeouts: Timeouts,
    pub proxy: ProxySetting,
}

impl PullOptions {
    /// Pull `stream` for x86_64 from Fedora into `destination`, trusting `trusted_keys`.
    pub fn new(stream: &str, destination: Destination, trusted_keys: TrustedKeys) -> Self {
        Self {
            stream: stream.to_owned(),
            architecture: DEFAULT_ARCHITECTURE.to_owned(),
            stream_base_url: DEFAULT_STREAM_BASE_URL.to_owned(),
            destination,
            trusted_keys,
            overwrite: false,
            timeouts: Timeouts::default(),
            proxy: ProxySetting::default(),
        }
    }
}

/// The image a pull left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    pub path: PathBuf,
    /// The record beside it (`IMAGE.fleet-image.json`).
    pub record_path: PathBuf,
    /// Stream, release, sources and checksums; `record.release` is the release fetched.
    pub record: ImageRecord,
    /// False when the destination already held this release and nothing was downloaded.
    pub downloaded: bool,
}

/// Pulls the newest image of a stream: reads the stream metadata, downloads (resuming a
/// `.partial` left by an earlier pull), checks the signature and both checksums, and writes the
/// image and its record atomically. On failure nothing new is left at the destination; only an
/// incomplete download stays, as `ARTEFACT.partial` beside it, for the next pull to resume.
pub fn pull(
    options: &PullOptions,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<PulledImage, ImageError> {
    let stream_url = stream_url(&options.stream_base_url, &options.stream)?;
    check_name("architecture", &options.architecture)?;
    let agent = agent(options.timeouts, options.proxy);

    let metadata = match get_small(&agent, &stream_url, MAX_STREAM_BYTES, "stream metadata")? {
        Ok(metadata) => metadata,
        Err(status @ (403 | 404 | 410)) => {
            return Err(ImageError::UnknownStream {
                stream: options.stream.clone(),
                url: stream_url,
                status,
            });
        }
        Err(status) => {
            return Err(ImageError::HttpStatus {
                url: stream_url,
                status,
            });
        }
    };
    let image = qemu_image(
        &metadata,
        &stream_url,
        &options.stream,
        &options.architecture,
    )?;
    on_event(PullEvent::StreamRead {
        url: stream_url.clone(),
        release: image.release.clone(),
    });

    let artefact = artefact_file_name(&image.location)?;
    let image_path = options.destination.image_path(artefact);
    let directory = parent_directory(&image_path).to_owned();
    let final_name = file_name(&image_path)?.to_owned();
    let replacing = match existing(&image_path, on_event)? {
        Existing::Fleets(record) if record.uncompressed_sha256 == image.uncompressed_sha256 => {
            on_event(PullEvent::AlreadyCurrent {
                path: image_path.clone(),
            });
            return Ok(PulledImage {
                record_path: ImageRecord::path_for(&image_path),
                path: image_path,
                record: *record,
                downloaded: false,
            });
        }
        Existing::Fleets(_) => true,
        Existing::Foreign(_) if options.overwrite => true,
        Existing::Foreign(path) => {
            return Err(ImageError::NotWrittenByFleet {
                record: ImageRecord::path_for(&image_path),
                path,
            });
        }
        Existing::Nothing => false,
    };

    let signature = match get_small(&agent, &image.signature, MAX_SIGNATURE_BYTES, "signature")? {
        Ok(signature) => signature,
        Err(status) => {
            return Err(ImageError::HttpStatus {
                url: image.signature.clone(),
                status,
            });
        }
    };
    let signature_error = |problem: SignatureProblem| ImageError::Signature {
        url: image.signature.clone(),
        problem,
    };
    let prepared = options
        .trusted_keys
        .prepare(&signature)
        .map_err(signature_error)?;

    let mut partial = Partial::open(&directory.join(format!("{artefact}.partial")))?;
    download(
        &agent,
        &image.location,
        &mut partial,
        MAX_IMAGE_BYTES,
        on_event,
    )?;
    let signer = match verify_download(
        &partial,
        &prepared,
        &image.signature,
        &image.sha256,
        on_event,
    ) {
        Ok(signer) => signer,
        Err(error) => return Err(discard(partial, error)),
    };
    on_event(PullEvent::Verified {
        signer: signer.clone(),
    });
    let temporary = match decompress(
        &partial,
        &directory,
        &final_name,
        &image.uncompressed_sha256,
        on_event,
    ) {
        Ok(temporary) => temporary,
        // Bad data is gone for good; a full disk is no reason to download again.
        Err(error @ (ImageError::Decompress { .. } | ImageError::ChecksumMismatch { .. })) => {
            return Err(discard(partial, error));
        }
        Err(error) => return Err(error),
    };

    let record = ImageRecord {
        format: RECORD_FORMAT.to_owned(),
        stream: image.stream,
        architecture: image.architecture,
        release: image.release,
        stream_url,
        location: image.location,
        signature: image.signature,
        signer,
        sha256: image.sha256,
        uncompressed_sha256: image.uncompressed_sha256,
    };
    let placement = if replacing {
        Placement::Replace
    } else {
        Placement::New
    };
    persist(temporary, &image_path, placement)?;
    let record_path = record.write_beside(&image_path)?;
    partial.remove()?;
    on_event(PullEvent::Written {
        path: image_path.clone(),
        record: record_path.clone(),
    });
    Ok(PulledImage {
        path: image_path,
        record_path,
        record,
        downloaded: true,
    })
}

/// Removes a download found bad, and returns the error that condemned it.
fn discard(partial: Partial, error: ImageError) -> ImageError {
    match partial.remove() {
        Ok(()) => error,
        Err(removal) => removal,
    }
}
