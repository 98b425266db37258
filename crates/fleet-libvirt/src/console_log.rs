//! A node's serial console log, read back through libvirt for `fleet status` (docs/health.md):
//! deploy points the domain's serial port at a file in the fleet's pool (`FLEET.NODE.console.log`,
//! `names::console_log_volume`), and the pool refresh at the start of every session makes it a
//! volume. So a remote host hands the log over by a storage-volume download; a local connection
//! whose driver cannot download (libvirt's test driver) reads the file itself, as uploads write it.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use crate::base_image::open_regular_file;
use crate::error::Error;
use crate::ops::{download_range, lookup_volume, volume_path};
use crate::uri;

/// How much of the end of a console log is read: far more than the last lines a report needs,
/// little enough for a million nodes.
pub const CONSOLE_TAIL_BYTES: u64 = 64 * 1024;

/// The last `CONSOLE_TAIL_BYTES` of the node's console log; `None` when it has none yet.
pub(crate) fn console_tail(
    connect: &Connect,
    connection_uri: &str,
    pool: &StoragePool,
    volume_name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(volume) = lookup_volume(pool, volume_name)? else {
        return Ok(None);
    };
    let size = volume
        .info()
        .map_err(|error| Error::libvirt(format!("reading volume {volume_name}"), &error))?
        .capacity;
    let local = uri::is_local(connection_uri);
    if size == 0 {
        // What libvirt saw at the pool refresh; a local file may have grown since.
        return if local {
            read_locally(&volume, volume_name)
        } else {
            Ok(Some(Vec::new()))
        };
    }
    let offset = size.saturating_sub(CONSOLE_TAIL_BYTES);
    match download_range(connect, &volume, volume_name, offset, size - offset)? {
        Some(bytes) => Ok(Some(bytes)),
        None if local => read_locally(&volume, volume_name),
        None => Err(Error::DownloadUnsupported {
            volume: volume_name.to_owned(),
            uri: connection_uri.to_owned(),
        }),
    }
}

/// The end of the volume's file on this machine.
fn read_locally(volume: &StorageVol, volume_name: &str) -> Result<Option<Vec<u8>>, Error> {
    let path = volume_path(volume, volume_name)?;
    // Never a FIFO or a device: reading one could block status for ever.
    let (mut file, metadata) = match open_regular_file(Path::new(&path)) {
        Ok(opened) => opened,
        // The test driver knows volumes whose files do not exist.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io("reading", &path, error)),
    };
    let length = metadata.len();
    file.seek(SeekFrom::Start(length.saturating_sub(CONSOLE_TAIL_BYTES)))
        .map_err(|error| Error::io("reading", &path, error))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|error| Error::io("reading", &path, error))?;
    Ok(Some(bytes))
}

/// The last line of `tail` that holds `marker`, from the marker on (what came before it on the
/// line, such as a kernel message the line interrupted, is left out).
pub(crate) fn last_line_with(tail: &[u8], marker: &str) -> Option<String> {
    let text = String::from_utf8_lossy(tail);
    text.lines().rev().find_map(|line| {
        let start = line.find(marker)?;
        Some(line[start..].trim_end().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_marked_line_is_kept_from_its_marker() {
        let tail = b"boot\r\nMARK one\r\n[ 1.0] kernel: MARK two \r\nlogin:";
        assert_eq!(last_line_with(tail, "MARK").as_deref(), Some("MARK two"));
        assert_eq!(last_line_with(b"nothing", "MARK"), None);
    }
}
