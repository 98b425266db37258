//! Standard output for every command of both binaries: a reader that goes away (`fleet plan
//! --format json | head -1`) ends the output, not the command, whatever is writing (tables,
//! serde_json, csv, clap_complete), and the command's own exit status stands.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe`; serde_json and csv
//! wrap that error in their own types, where an `io::Error` search of the error chain no longer
//! sees it (`error: Broken pipe`, exit 1). Catching it here, beneath every serializer, is the one
//! place that works for all of them.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to standard output found its reader gone; later output is dropped.
static READER_GONE: AtomicBool = AtomicBool::new(false);

/// Buffered standard output that discards what a closed pipe can no longer take. Call
/// [`Stdout::finish`] at the end: dropping it flushes too, but cannot report an error (such as a
/// full disk behind `> file`).
#[derive(Debug)]
pub struct Stdout {
    buffered: BufWriter<UntilReaderGone>,
}

/// Standard output of this process (locked while the value lives).
pub fn stdout() -> Stdout {
    Stdout {
        buffered: BufWriter::with_capacity(64 * 1024, UntilReaderGone(io::stdout().lock())),
    }
}

impl Stdout {
    /// Flush what is buffered; an error other than a closed pipe is the command's error.
    pub fn finish(mut self) -> io::Result<()> {
        self.buffered.flush()
    }
}

impl Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffered.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffered.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.buffered.flush()
    }
}

/// The raw stream: `BrokenPipe` becomes "written" and every later write is dropped; any other
/// error says that it was standard output that failed (through serde_json and csv too, which
/// print the I/O error they carry).
#[derive(Debug)]
struct UntilReaderGone(StdoutLock<'static>);

impl UntilReaderGone {
    fn absorb_closed_pipe<T>(&self, result: io::Result<T>, written: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                READER_GONE.store(true, Ordering::Relaxed);
                Ok(written)
            }
            Err(error) => Err(io::Error::new(
                error.kind(),
                format!("cannot write to standard output: {error}"),
            )),
            Ok(value) => Ok(value),
        }
    }
}

impl Write for UntilReaderGone {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if READER_GONE.load(Ordering::Relaxed) {
            return Ok(bytes.len());
        }
        let result = self.0.write(bytes);
        self.absorb_closed_pipe(result, bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if READER_GONE.load(Ordering::Relaxed) {
            return Ok(());
        }
        let result = self.0.flush();
        self.absorb_closed_pipe(result, ())
    }
}

/// Whether `error` comes from writing to a closed pipe somewhere it was not caught (a command
/// writing to `std::io::stdout()` directly): that, too, is success.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
