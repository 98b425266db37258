//! The resumable download: bytes go into a `.partial` file beside the destination; a later pull
//! asks only for the rest (HTTP `Range`), and starts over cleanly when the server ignores that.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ureq::Agent;

use crate::error::ImageError;
use crate::events::{Meter, Phase, PullEvent};
use crate::files::{PUBLIC_FILE_MODE, irregular_kind, kind_of};
use crate::http::http_error;

/// A download in progress, locked against a second pull writing the same file.
#[derive(Debug)]
pub(crate) struct Partial {
    path: PathBuf,
    file: File,
}

impl Partial {
    /// Opens (or creates) the partial file at `path`; refuses links, devices and FIFOs, and a file
    /// another pull holds.
    pub(crate) fn open(path: &Path) -> Result<Self, ImageError> {
        let not_regular = |kind| ImageError::NotARegularFile {
            path: path.to_owned(),
            kind,
        };
        if let Some(kind) = irregular_kind(path)? {
            return Err(not_regular(kind));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PUBLIC_FILE_MODE)
            .open(path)
            .map_err(|error| ImageError::io("open", path, error))?;
        let metadata = file
            .metadata()
            .map_err(|error| ImageError::io("inspect", path, error))?;
        if !metadata.is_file() {
            return Err(not_regular(kind_of(metadata.file_type())));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(ImageError::Busy {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(error)) => return Err(ImageError::io("lock", path, error)),
        }
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn len(&self) -> Result<u64, ImageError> {
        self.file
            .metadata()
            .map(|metadata| metadata.len())
            .map_err(|error| ImageError::io("inspect", &self.path, error))
    }

    /// A reader from the first byte, sharing the lock.
    pub(crate) fn reader(&self) -> Result<File, ImageError> {
        let mut reader = self
            .file
            .try_clone()
            .map_err(|error| ImageError::io("read", &self.path, error))?;
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|error| ImageError::io("read", &self.path, error))?;
        Ok(reader)
    }

    /// Removes the file: its download is finished (placed, or found bad).
    pub(crate) fn remove(self) -> Result<(), ImageError> {
        std::fs::remove_file(&self.path)
            .map_err(|error| ImageError::io("remove", &self.path, error))
    }

    fn truncate(&mut self) -> Result<(), ImageError> {
        self.file
            .set_len(0)
            .map_err(|error| ImageError::io("truncate", &self.path, error))
    }
}

/// Downloads `url` into `partial`, resuming after what it holds. Returns the file's length.
/// On a connection that breaks or ends early the bytes received stay in `partial`.
pub(crate) fn download(
    agent: &Agent,
    url: &str,
    partial: &mut Partial,
    limit: u64,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<u64, ImageError> {
    // A partial longer than the file can only be from something else: one fresh start.
    let mut may_restart = true;
    loop {
        let have = partial.len()?;
        let mut request = agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request.call().map_err(|source| http_error(url, source))?;
        let status = response.status().as_u16();
        let content_range = response
            .headers()
            .get("content-range")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let bad_range = |answer: Option<String>| ImageError::BadContentRange {
            url: url.to_owned(),
            requested_from: have,
            answer: answer.unwrap_or_else(|| format!("HTTP {status} without Content-Range")),
        };
        let content_length = response.body().content_length();
        let (start, total) = match status {
            206 if have > 0 => {
                let Some(range) = content_range.as_deref().and_then(parse_content_range) else {
                    return Err(bad_range(content_range));
                };
                if range.first != have {
                    return Err(bad_range(content_range));
                }
                (
                    have,
                    range.total.or(content_length.map(|length| have + length)),
                )
            }
            200 => {
                if have > 0 {
                    on_event(PullEvent::DownloadRestarted { discarded: have });
                    partial.truncate()?;
                }
                (0, content_length)
            }
            416 if have > 0 => {
                let total = content_range.as_deref().and_then(unsatisfied_range_total);
                if total == Some(have) {
                    // The whole file arrived before; an earlier pull stopped after that.
                    return Ok(have);
                }
                if !may_restart {
                    return Err(bad_range(content_range));
                }
                may_restart = false;
                partial.truncate()?;
                continue;
            }
            _ => {
                return Err(ImageError::HttpStatus {
                    url: url.to_owned(),
                    status,
                });
            }
        };
        if total.is_some_and(|total| total > limit) {
            return Err(ImageError::TooLarge {
                url: url.to_owned(),
                what: "Fedora CoreOS image",
                limit,
            });
        }
        let body = response.into_body().into_reader();
        return receive(body, url, partial, start, total, limit, on_event);
    }
}

/// Appends the body to `partial` from `start`, reporting progress.
fn receive(
    mut body: impl Read,
    url: &str,
    partial: &mut Partial,
    start: u64,
    total: Option<u64>,
    limit: u64,
    on_event: &mut dyn FnMut(PullEvent),
) -> Result<u64, ImageError> {
    let path = partial.path.clone();
    partial
        .file
        .seek(SeekFrom::Start(start))
        .map_err(|error| ImageError::io("write", &path, error))?;
    let mut meter = Meter::start(Phase::Download, start, total, on_event);
    let mut buffer = vec![0; 256 << 10];
    let stopped = |received, cause: String| ImageError::Truncated {
        url: url.to_owned(),
        received,
        expected: total,
        partial: path.clone(),
        cause,
    };
    loop {
        let read = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(stopped(meter.done(), error.to_string())),
        };
        if meter.done() + read as u64 > limit {
            return Err(ImageError::TooLarge {
                url: url.to_owned(),
                what: "Fedora CoreOS image",
                limit,
            });
        }
        partial
            .file
            .write_all(&buffer[..read])
            .map_err(|error| ImageError::io("write", &path, error))?;
        meter.advance(read as u64);
    }
    let received = meter.finish();
    match total {
        Some(total) if received < total => {
            Err(stopped(received, "the connection closed early".to_owned()))
        }
        Some(total) if received > total => Err(stopped(
            received,
            "the server sent more than it announced".to_owned(),
        )),
        _ => Ok(received),
    }
}

/// The parts of `Content-Range: bytes FIRST-LAST/TOTAL` a resume needs.
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    first: u64,
    total: Option<u64>,
}

fn parse_content_range(value: &str) -> Option<ContentRange> {
    let range = value.trim().strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        total => Some(total.parse::<u64>().ok()?),
    };
    let consistent = first <= last && total.is_none_or(|total| last < total);
    consistent.then_some(ContentRange { first, total })
}

/// The length in `Content-Range: bytes */TOTAL`, the answer to a range past the end.
fn unsatisfied_range_total(value: &str) -> Option<u64> {
    value.trim().strip_prefix("bytes */")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse_only_when_consistent() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some(ContentRange {
                first: 100,
                total: Some(200)
            })
        );
        assert_eq!(
            parse_content_range("bytes 5-9/*"),
            Some(ContentRange {
                first: 5,
                total: None
            })
        );
        for bad in [
            "bytes 10-5/20",
            "bytes 0-20/20",
            "items 0-1/2",
            "bytes 0-1",
            "bytes a-1/2",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
        assert_eq!(unsatisfied_range_total("bytes */4096"), Some(4096));
        assert_eq!(unsatisfied_range_total("bytes 0-1/2"), None);
    }
}
