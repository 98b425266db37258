//! Thin wrappers over the `virt` calls fleet makes: lookups that tell "missing" from "failed", uploads with a local fallback, teardown.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::network::Network;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;

use crate::base_image::open_regular_file;
use crate::error::{
    Error, is_not_found, is_not_running, is_pool_busy, is_unsupported, is_unsupported_flag,
};
use crate::uri;

/// Bytes per stream message; libvirt's own limit is 256 KiB.
const STREAM_CHUNK: usize = 256 * 1024;

pub(crate) fn lookup_domain(connect: &Connect, name: &str) -> Result<Option<Domain>, Error> {
    match connect.lookup_domain_by_name(name) {
        Ok(domain) => Ok(Some(domain)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(Error::libvirt(format!("looking up domain {name}"), &error)),
    }
}

pub(crate) fn lookup_pool(connect: &Connect, name: &str) -> Result<Option<StoragePool>, Error> {
    match connect.lookup_storage_pool_by_name(name) {
        Ok(pool) => Ok(Some(pool)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(Error::libvirt(
            format!("looking up storage pool {name}"),
            &error,
        )),
    }
}

pub(crate) fn lookup_network(connect: &Connect, name: &str) -> Result<Option<Network>, Error> {
    match connect.lookup_network_by_name(name) {
        Ok(network) => Ok(Some(network)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(Error::libvirt(format!("looking up network {name}"), &error)),
    }
}

pub(crate) fn lookup_volume(pool: &StoragePool, name: &str) -> Result<Option<StorageVol>, Error> {
    match pool.lookup_storage_vol_by_name(name) {
        Ok(volume) => Ok(Some(volume)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(Error::libvirt(format!("looking up volume {name}"), &error)),
    }
}

pub(crate) fn volume_path(volume: &StorageVol, name: &str) -> Result<String, Error> {
    volume
        .path()
        .map_err(|error| Error::libvirt(format!("reading the path of volume {name}"), &error))
}

/// Delete a volume when it exists; `Ok(true)` when one was deleted.
pub(crate) fn delete_volume_if_present(
    pool: &StoragePool,
    name: &str,
    connection_uri: &str,
) -> Result<bool, Error> {
    let Some(volume) = lookup_volume(pool, name)? else {
        return Ok(false);
    };
    delete_volume(&volume, name, connection_uri)?;
    Ok(true)
}

/// Delete a volume. On a local connection a file libvirt leaves behind is removed too: the test
/// driver keeps volumes in memory only, so the files fleet wrote there itself are fleet's to remove.
pub(crate) fn delete_volume(
    volume: &StorageVol,
    name: &str,
    connection_uri: &str,
) -> Result<(), Error> {
    let path = volume.path().ok();
    match volume.delete(0) {
        Ok(()) => {}
        Err(error) if is_not_found(&error) => {}
        Err(error) => return Err(Error::libvirt(format!("deleting volume {name}"), &error)),
    }
    match path {
        Some(path) if uri::is_local(connection_uri) => {
            remove_local_file(Path::new(&path)).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Remove a file if it exists; `Ok(true)` when one was removed.
pub(crate) fn remove_local_file(path: &Path) -> Result<bool, Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(Error::io("removing", path, error)),
    }
}

/// Create a volume from XML. Nothing of the name may exist: fleet never replaces a volume it has
/// not first shown to be its own and unused (see `volume_ownership`).
pub(crate) fn create_volume(
    pool: &StoragePool,
    name: &str,
    xml: &str,
) -> Result<StorageVol, Error> {
    StorageVol::create_xml(pool, xml, 0)
        .map_err(|error| Error::libvirt(format!("creating volume {name}"), &error))
}

/// Stop, delete (its directory, when empty) and undefine a pool.
pub(crate) fn remove_pool(pool: &StoragePool, name: &str) -> Result<(), Error> {
    let failed =
        |error: virt::error::Error| Error::libvirt(format!("removing storage pool {name}"), &error);
    if pool.is_active().map_err(failed)? {
        pool.destroy().map_err(failed)?;
    }
    // Deleting needs a stopped pool; for a directory pool it removes the (empty) directory.
    pool.delete(0).map_err(failed)?;
    pool.undefine().map_err(failed)
}

/// Refresh a pool so that files libvirt did not create (console logs) show up as volumes.
/// Holds the pool's gate exclusively: a refresh while an upload runs fails in libvirt, so
/// uploads hold the gate shared. Other clients' uploads can still collide; those are retried.
pub(crate) fn refresh_pool(
    pool: &StoragePool,
    pool_name: &str,
    gate: &RwLock<()>,
) -> Result<(), Error> {
    let _exclusive = gate
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut attempts = 0;
    loop {
        match pool.refresh(0) {
            Ok(()) => return Ok(()),
            Err(error) if is_pool_busy(&error) && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => {
                return Err(Error::libvirt(
                    format!("refreshing storage pool {pool_name}"),
                    &error,
                ));
            }
        }
    }
}

/// Where a volume's bytes come from.
pub(crate) enum Payload<'a> {
    Bytes(&'a [u8]),
    /// A local file of `length` bytes; its first `head` bytes are written last, so that a volume
    /// whose head matches the file's is known to be complete (see `ensure_base_image`).
    FileHeadLast {
        path: &'a Path,
        length: u64,
        head: u64,
    },
}

/// How the bytes reached the volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Through a libvirt stream: works on every transport.
    Uploaded,
    /// The driver has no upload and the host is this machine: fleet wrote the file at the volume's path.
    WrittenLocally,
    /// The in-library test driver keeps volumes in memory and the pool directory does not exist
    /// here: there is no file to write, the volume alone records the node's state.
    RecordedOnly,
}

/// How fleet reaches a host's pool for writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolAccess<'a> {
    pub(crate) connection_uri: &'a str,
    /// Uploads hold it shared, pool refreshes exclusively (see `refresh_pool`).
    pub(crate) gate: &'a RwLock<()>,
    /// Set once the driver said it cannot upload: later volumes skip the attempt.
    pub(crate) upload_unsupported: &'a AtomicBool,
}

/// Put `payload` into `volume`: a libvirt stream upload, or, when the driver says "not supported"
/// and the connection is local, a direct write of the volume's file.
pub(crate) fn put_volume(
    connect: &Connect,
    access: PoolAccess<'_>,
    volume: &StorageVol,
    volume_name: &str,
    payload: &Payload<'_>,
    private: bool,
) -> Result<Delivery, Error> {
    let connection_uri = access.connection_uri;
    let _shared = access
        .gate
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let uploaded = if access.upload_unsupported.load(Ordering::Relaxed) {
        false
    } else {
        let uploaded = match payload {
            Payload::Bytes(bytes) => upload(
                connect,
                volume,
                volume_name,
                0,
                &mut &bytes[..],
                bytes.len() as u64,
            ),
            Payload::FileHeadLast { path, length, head } => {
                let head = (*head).min(*length);
                let (mut file, _) =
                    open_regular_file(path).map_err(|error| Error::io("reading", *path, error))?;
                file.seek(SeekFrom::Start(head))
                    .map_err(|error| Error::io("reading", *path, error))?;
                match upload(connect, volume, volume_name, head, &mut file, length - head) {
                    Ok(true) => {
                        file.seek(SeekFrom::Start(0))
                            .map_err(|error| Error::io("reading", *path, error))?;
                        upload(connect, volume, volume_name, 0, &mut file, head)
                    }
                    other => other,
                }
            }
        }?;
        if !uploaded {
            access.upload_unsupported.store(true, Ordering::Relaxed);
        }
        uploaded
    };
    if uploaded {
        return Ok(Delivery::Uploaded);
    }
    if !uri::is_local(connection_uri) {
        return Err(Error::UploadUnsupported {
            volume: volume_name.to_owned(),
            uri: connection_uri.to_owned(),
        });
    }
    let target = volume_path(volume, volume_name)?;
    let target = Path::new(&target);
    let directory_exists = target.parent().is_some_and(Path::is_dir);
    if !directory_exists && uri::is_test_driver(connection_uri) {
        return Ok(Delivery::RecordedOnly);
    }
    write_locally(target, payload, private)?;
    Ok(Delivery::WrittenLocally)
}

/// Stream `length` bytes from `source` into the volume at `offset`. `Ok(false)` when the driver
/// does not support upload (nothing was sent).
fn upload(
    connect: &Connect,
    volume: &StorageVol,
    volume_name: &str,
    offset: u64,
    source: &mut dyn Read,
    length: u64,
) -> Result<bool, Error> {
    let operation = || format!("uploading to volume {volume_name}");
    if length == 0 {
        // libvirt reads a length of 0 as "everything": there is nothing to send.
        return Ok(true);
    }
    let stream = Stream::new(connect, 0).map_err(|error| Error::libvirt(operation(), &error))?;
    match volume.upload(&stream, offset, length, 0) {
        Ok(()) => {}
        Err(error) if is_unsupported(&error) => return Ok(false),
        Err(error) => return Err(Error::libvirt(operation(), &error)),
    }
    let mut buffer = vec![0_u8; STREAM_CHUNK];
    let mut remaining = length;
    while remaining > 0 {
        let wanted = usize::try_from(remaining).map_or(buffer.len(), |left| left.min(buffer.len()));
        let read = match source.read(&mut buffer[..wanted]) {
            Ok(0) => {
                let _ = stream.abort();
                return Err(Error::Libvirt {
                    operation: operation(),
                    message: "the source ended before all bytes were sent".to_owned(),
                });
            }
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                let _ = stream.abort();
                return Err(Error::Libvirt {
                    operation: operation(),
                    message: error.to_string(),
                });
            }
        };
        let mut sent = 0;
        while sent < read {
            match stream.send(&buffer[sent..read]) {
                Ok(count) if count > 0 => sent += count as usize,
                Ok(_) => {
                    let _ = stream.abort();
                    return Err(Error::Libvirt {
                        operation: operation(),
                        message: "the stream accepted no bytes".to_owned(),
                    });
                }
                Err(error) => {
                    let _ = stream.abort();
                    return Err(Error::libvirt(operation(), &error));
                }
            }
        }
        remaining -= read as u64;
    }
    stream
        .finish()
        .map_err(|error| Error::libvirt(operation(), &error))?;
    Ok(true)
}

fn write_locally(target: &Path, payload: &Payload<'_>, private: bool) -> Result<(), Error> {
    let mode = if private { 0o600 } else { 0o644 };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(target)
        .map_err(|error| Error::io("writing", target, error))?;
    let write_error = |error| Error::io("writing", target, error);
    // The file may predate us (mode from an earlier run): make the mode what we want.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(write_error)?;
    match payload {
        Payload::Bytes(bytes) => {
            // No fsync: like a libvirt upload, the bytes are durable when the kernel writes them.
            // A node whose Ignition a power cut lost is repaired by the next deploy (the volume's
            // size no longer matches), and syncing every small file costs milliseconds per node.
            // Overwrite, then cut to length: truncating to zero first makes ext4 flush the file
            // on close (its replace-by-truncate heuristic), a disk write per node.
            file.write_all(bytes).map_err(write_error)?;
            file.set_len(bytes.len() as u64).map_err(write_error)?;
            return Ok(());
        }
        Payload::FileHeadLast { path, length, head } => {
            let head = (*head).min(*length);
            let (mut source, _) =
                open_regular_file(path).map_err(|error| Error::io("reading", *path, error))?;
            file.set_len(*length).map_err(write_error)?;
            source
                .seek(SeekFrom::Start(head))
                .map_err(|error| Error::io("reading", *path, error))?;
            file.seek(SeekFrom::Start(head)).map_err(write_error)?;
            std::io::copy(&mut (&mut source).take(length - head), &mut file)
                .map_err(write_error)?;
            file.sync_data().map_err(write_error)?;
            source
                .seek(SeekFrom::Start(0))
                .map_err(|error| Error::io("reading", *path, error))?;
            file.seek(SeekFrom::Start(0)).map_err(write_error)?;
            std::io::copy(&mut (&mut source).take(head), &mut file).map_err(write_error)?;
        }
    }
    file.sync_all().map_err(write_error)
}

/// The first `length` bytes of a volume: a stream download, or a local read when the driver has
/// no download. `Ok(None)` when neither is possible (remote without download, or a test-driver
/// volume with no file).
pub(crate) fn read_volume_head(
    connect: &Connect,
    connection_uri: &str,
    volume: &StorageVol,
    volume_name: &str,
    length: u64,
) -> Result<Option<Vec<u8>>, Error> {
    if let Some(head) = download_range(connect, volume, volume_name, 0, length)? {
        return Ok(Some(head));
    }
    if !uri::is_local(connection_uri) {
        return Ok(None);
    }
    let path = volume_path(volume, volume_name)?;
    let mut file = match open_regular_file(Path::new(&path)) {
        Ok((file, _)) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io("reading", path, error)),
    };
    let mut head = Vec::new();
    Read::by_ref(&mut file)
        .take(length)
        .read_to_end(&mut head)
        .map_err(|error| Error::io("reading", &path, error))?;
    Ok(Some(head))
}

/// `length` bytes of a volume from `offset` over a libvirt stream; `Ok(None)` when the driver does
/// not support download (nothing was read).
pub(crate) fn download_range(
    connect: &Connect,
    volume: &StorageVol,
    volume_name: &str,
    offset: u64,
    length: u64,
) -> Result<Option<Vec<u8>>, Error> {
    let operation = || format!("downloading from volume {volume_name}");
    let stream = Stream::new(connect, 0).map_err(|error| Error::libvirt(operation(), &error))?;
    match volume.download(&stream, offset, length, 0) {
        Ok(()) => {}
        Err(error) if is_unsupported(&error) => return Ok(None),
        Err(error) => return Err(Error::libvirt(operation(), &error)),
    }
    let mut bytes = Vec::new();
    let mut buffer = vec![0_u8; STREAM_CHUNK];
    loop {
        match stream.recv(&mut buffer) {
            Ok(0) => break,
            Ok(count) if count > 0 => bytes.extend_from_slice(&buffer[..count as usize]),
            Ok(_) => break,
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

/// Stop a domain if it runs (a transient one disappears with it).
pub(crate) fn stop(domain: &Domain, name: &str) -> Result<(), Error> {
    let active = match domain.is_active() {
        Ok(active) => active,
        Err(error) if is_not_found(&error) => return Ok(()),
        Err(error) => {
            return Err(Error::libvirt(
                format!("reading the state of domain {name}"),
                &error,
            ));
        }
    };
    if active {
        match domain.destroy() {
            Ok(()) => {}
            Err(error) if is_not_running(&error) || is_not_found(&error) => {}
            Err(error) => return Err(Error::libvirt(format!("stopping domain {name}"), &error)),
        }
    }
    Ok(())
}

/// Undefine a stopped domain, with its NVRAM when the driver knows that flag.
pub(crate) fn undefine(domain: &Domain, name: &str) -> Result<(), Error> {
    let persistent = match domain.is_persistent() {
        Ok(persistent) => persistent,
        Err(error) if is_not_found(&error) => return Ok(()),
        Err(error) => {
            return Err(Error::libvirt(
                format!("reading the state of domain {name}"),
                &error,
            ));
        }
    };
    if !persistent {
        // A transient domain disappears once stopped.
        return Ok(());
    }
    match domain.undefine_flags(sys::VIR_DOMAIN_UNDEFINE_NVRAM) {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) if is_unsupported_flag(&error) => domain
            .undefine()
            .or_else(|error| {
                if is_not_found(&error) {
                    Ok(())
                } else {
                    Err(error)
                }
            })
            .map_err(|error| Error::libvirt(format!("undefining domain {name}"), &error)),
        Err(error) => Err(Error::libvirt(format!("undefining domain {name}"), &error)),
    }
}
