//! A node's serial console log, read back through libvirt for `fleet status` (docs/health.md):
//! deploy points the domain's serial port at a file in the fleet's pool (`FLEET.NODE.console.log`,
//! `names::console_log_volume`), and the pool refresh at the start of every session makes it a
//! volume. So a remote host hands the log over by a storage-volume download; a local connection
//! whose driver cannot download (libvirt's test driver) reads the file itself, as uploads write it.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};

use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use crate::error::{Error, is_unsupported};
use crate::ops::{lookup_volume, volume_path};
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
    match download(connect, &volume, volume_name, offset, size - offset)? {
        Some(bytes) => Ok(Some(bytes)),
        None if local => read_locally(&volume, volume_name),
        None => Err(Error::DownloadUnsupported {
            volume: volume_name.to_owned(),
            uri: connection_uri.to_owned(),
        }),
    }
}

/// `length` bytes of the volume from `offset` over a libvirt stream; `None` when the driver does
/// not support download.
fn download(
    connect: &Connect,
    volume: &StorageVol,
    volume_name: &str,
    offset: u64,
    length: u64,
) -> Result<Option<Vec<u8>>, Error> {
    let operation = || format!("downloading volume {volume_name}");
    let stream = Stream::new(connect, 0).map_err(|error| Error::libvirt(operation(), &error))?;
    match volume.download(&stream, offset, length, 0) {
        Ok(()) => {}
        Err(error) if is_unsupported(&error) => return Ok(None),
        Err(error) => return Err(Error::libvirt(operation(), &error)),
    }
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        match stream.recv(&mut buffer) {
            Ok(0) => break,
            Ok(received) => {
                let received = usize::try_from(received).unwrap_or(0).min(buffer.len());
                bytes.extend_from_slice(&buffer[..received]);
            }
            Err(error) => {
                let _ = stream.abort();
                return Err(Error::libvirt(operation(), &error));
            }
        }
    }
    stream
        .finish()
        .map_err(|error| Error::libvirt(operation(), &error))?;
    Ok(Some(bytes))
}

/// The end of the volume's file on this machine.
fn read_locally(volume: &StorageVol, volume_name: &str) -> Result<Option<Vec<u8>>, Error> {
    let path = volume_path(volume, volume_name)?;
    let mut file = match File::open(&path) {
        Ok(file) => file,
        // The test driver knows volumes whose files do not exist.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io("reading", &path, error)),
    };
    let length = file
        .metadata()
        .map_err(|error| Error::io("reading", &path, error))?
        .len();
    file.seek(SeekFrom::Start(length.saturating_sub(CONSOLE_TAIL_BYTES)))
        .map_err(|error| Error::io("reading", &path, error))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|error| Error::io("reading", &path, error))?;
    Ok(Some(bytes))
}
