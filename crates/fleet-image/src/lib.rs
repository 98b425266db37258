//! Fedora CoreOS images by stream: read stream metadata, download the qemu `.qcow2.xz` with
//! resume, check its OpenPGP signature and both checksums, and write the image atomically with a
//! record of the release beside it. The library draws nothing: progress goes to a callback.
//!
//! [`pull`] does it all; docs/images.md says what it checks and why.

// A library reports through return values and event callbacks; only the binaries print
// (docs/ARCHITECTURE.md; tests/tests/architecture.rs runs clippy with these lints denied).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod checksum;
mod destination;
mod download;
mod error;
mod events;
mod files;
mod http;
mod pull;
mod record;
mod signature;
mod stream;
mod unpack;

pub use checksum::Sha256Digest;
pub use destination::Destination;
pub use error::{ChecksumKind, ImageError, SignatureProblem};
pub use events::{Phase, PullEvent};
pub use http::{ProxySetting, Timeouts};
pub use pull::{DEFAULT_ARCHITECTURE, PullOptions, PulledImage, pull};
pub use record::{ImageRecord, RECORD_FORMAT, RECORD_SUFFIX};
pub use signature::TrustedKeys;
pub use stream::{DEFAULT_STREAM_BASE_URL, FORMAT, PLATFORM, QemuImage, qemu_image, stream_url};
