//! What a pull reports while it works, for the caller to draw (the library draws nothing).

use std::io::{self, Read};
use std::path::PathBuf;

/// The long phases of a pull, each with its own progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Receiving the `.qcow2.xz` into its `.partial` file.
    Download,
    /// Checking the OpenPGP signature and sha256 of the download.
    Verify,
    /// Decompressing while checking uncompressed-sha256; progress counts compressed bytes.
    Decompress,
    /// Hashing an image already at the destination, to see whether fleet's record still
    /// describes it.
    CheckExisting,
}

/// One step of a pull, in the order they happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullEvent {
    /// Stream metadata was read: the release the stream offers now.
    StreamRead { url: String, release: String },
    /// The destination already holds that release (its sha256 checked): nothing is downloaded.
    AlreadyCurrent { path: PathBuf },
    /// A phase begins, `done` of `total` bytes already behind it (a resumed download).
    PhaseStarted {
        phase: Phase,
        done: u64,
        total: Option<u64>,
    },
    /// A phase advanced (reported about once per MiB, and at its end).
    Progress {
        phase: Phase,
        done: u64,
        total: Option<u64>,
    },
    /// The server ignored the request to resume and sent the whole file: the partial download
    /// was discarded and the download started again from the first byte.
    DownloadRestarted { discarded: u64 },
    /// The signature was made by this trusted key (uppercase hex fingerprint).
    Verified { signer: String },
    /// The image and its record are in place.
    Written { path: PathBuf, record: PathBuf },
}

/// Counts a phase's bytes and reports them about once per MiB, so a callback that draws stays
/// cheap whatever the chunk size.
pub(crate) struct Meter<'callback> {
    phase: Phase,
    done: u64,
    total: Option<u64>,
    reported: u64,
    on_event: &'callback mut dyn FnMut(PullEvent),
}

const REPORT_EVERY: u64 = 1 << 20;

impl<'callback> Meter<'callback> {
    pub(crate) fn start(
        phase: Phase,
        done: u64,
        total: Option<u64>,
        on_event: &'callback mut dyn FnMut(PullEvent),
    ) -> Self {
        on_event(PullEvent::PhaseStarted { phase, done, total });
        Self {
            phase,
            done,
            total,
            reported: done,
            on_event,
        }
    }

    pub(crate) fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if self.done - self.reported >= REPORT_EVERY || Some(self.done) == self.total {
            self.report();
        }
    }

    pub(crate) fn done(&self) -> u64 {
        self.done
    }

    /// Reports the final count, unless it was just reported.
    pub(crate) fn finish(mut self) -> u64 {
        if self.reported != self.done {
            self.report();
        }
        self.done
    }

    fn report(&mut self) {
        self.reported = self.done;
        (self.on_event)(PullEvent::Progress {
            phase: self.phase,
            done: self.done,
            total: self.total,
        });
    }
}

impl std::fmt::Debug for Meter<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Meter")
            .field("phase", &self.phase)
            .field("done", &self.done)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Reports to a meter how much of its input has been read.
pub(crate) struct MeteredReader<'callback, R> {
    pub(crate) inner: R,
    pub(crate) meter: Meter<'callback>,
}

impl<R: Read> Read for MeteredReader<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.meter.advance(read as u64);
        Ok(read)
    }
}
