//! The one error type of fleet-image: each variant says what happened, to which URL or file, and
//! what to do about it when that is known.

use std::io;
use std::path::PathBuf;

use crate::checksum::Sha256Digest;

/// Everything a pull can fail on.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("stream base URL {url:?} is not usable: {reason}")]
    InvalidBaseUrl { url: String, reason: &'static str },

    #[error(
        "{what} {value:?} is not usable: {reason} (Fedora CoreOS streams are stable, testing and next; architectures are x86_64, aarch64, ppc64le and s390x)"
    )]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error(
        "unknown stream {stream:?}: {url} answered HTTP {status}; Fedora CoreOS streams are stable, testing and next (a mirror serves what its base URL holds)"
    )]
    UnknownStream {
        stream: String,
        url: String,
        status: u16,
    },

    #[error("cannot fetch {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },

    #[error("{url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },

    #[error("{url} sends more than {limit} bytes, more than any {what} should be; refusing it")]
    TooLarge {
        url: String,
        what: &'static str,
        limit: u64,
    },

    #[error("stream metadata from {url} is not JSON: line {line}, column {column}: {message}")]
    StreamSyntax {
        url: String,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("stream metadata from {url}: {field} {problem}")]
    StreamField {
        url: String,
        /// The JSON path, e.g. `architectures.x86_64.artifacts.qemu.release`.
        field: String,
        problem: String,
    },

    #[error("stream metadata from {url} describes stream {found:?}, not {requested:?}")]
    StreamMismatch {
        url: String,
        requested: String,
        found: String,
    },

    #[error(
        "stream {stream} has no architecture {architecture:?}; it has {}",
        list(available)
    )]
    UnknownArchitecture {
        stream: String,
        architecture: String,
        available: Vec<String>,
    },

    #[error(
        "stream {stream} has no {what} for {architecture}; it has {}",
        list(available)
    )]
    MissingArtifact {
        stream: String,
        architecture: String,
        /// What is missing, e.g. `platform "qemu"` or `format "qcow2.xz"`.
        what: String,
        available: Vec<String>,
    },

    #[error(
        "download of {url} stopped after {received}{} bytes ({cause}); they are kept in {} and the next pull resumes from there",
        expected.map(|expected| format!(" of {expected}")).unwrap_or_default(),
        partial.display()
    )]
    Truncated {
        url: String,
        received: u64,
        expected: Option<u64>,
        partial: PathBuf,
        cause: String,
    },

    #[error(
        "{url} answered a request for bytes {requested_from}- with {answer:?}; not resuming from it"
    )]
    BadContentRange {
        url: String,
        requested_from: u64,
        answer: String,
    },

    #[error(
        "sha256 of the {what} is {actual}, but the stream metadata's {} is {expected}; the file was removed, pull again (if it fails again, the mirror or the metadata is wrong)",
        what.field()
    )]
    ChecksumMismatch {
        what: ChecksumKind,
        expected: Sha256Digest,
        actual: Sha256Digest,
    },

    #[error("signature {url}: {problem}")]
    Signature {
        url: String,
        problem: SignatureProblem,
    },

    #[error("trusted keys {origin}: {problem}")]
    TrustedKeys { origin: String, problem: String },

    #[error(
        "{} exists and fleet did not write it (no {} recording its sha256); move it away, or pull with overwrite to replace it",
        path.display(),
        record.display()
    )]
    NotWrittenByFleet { path: PathBuf, record: PathBuf },

    #[error("{} is {kind}, not a regular file; fleet reads and writes only regular files there", path.display())]
    NotARegularFile { path: PathBuf, kind: &'static str },

    #[error("another pull is writing {}; wait for it to finish", path.display())]
    Busy { path: PathBuf },

    #[error("{} is not valid xz data: {source}; it was removed, pull again", path.display())]
    Decompress {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "the image unpacks to more than {limit} bytes, more than any Fedora CoreOS image; refusing it"
    )]
    DecompressedTooLarge { limit: u64 },

    #[error("image record {}: {problem}", path.display())]
    Record { path: PathBuf, problem: String },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Which of the two checksums stream metadata gives did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    /// `sha256`: the `.qcow2.xz` as downloaded.
    Compressed,
    /// `uncompressed-sha256`: the `.qcow2` after decompressing.
    Uncompressed,
}

impl ChecksumKind {
    /// The stream metadata field that gives this checksum.
    pub fn field(self) -> &'static str {
        match self {
            Self::Compressed => "sha256",
            Self::Uncompressed => "uncompressed-sha256",
        }
    }
}

impl std::fmt::Display for ChecksumKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Compressed => "download",
            Self::Uncompressed => "decompressed image",
        })
    }
}

/// Why an OpenPGP detached signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("not an OpenPGP detached signature: {0}")]
    Malformed(String),

    #[error(
        "made by key {}, which is not trusted (trusted: {}); pass trusted keys for a mirror that signs with its own key",
        list(issuers),
        list(trusted)
    )]
    UntrustedSigner {
        issuers: Vec<String>,
        trusted: Vec<String>,
    },

    #[error("made by key {signer}, which its owner has revoked; it is trusted no longer")]
    RevokedSigner { signer: String },

    #[error(
        "does not match the download (checked with trusted key {signer}: {reason}); the download was removed, pull again"
    )]
    Invalid { signer: String, reason: String },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

impl ImageError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
