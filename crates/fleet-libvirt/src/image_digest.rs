//! A small on-disk cache of base image digests, keyed by file identity (device, inode, size, modification and change times), so that an unchanged image is not hashed again on every deploy.
//!
//! Any write to a file changes its modification time, and even restoring that (`touch -d`,
//! `cp -p`) changes its change time, which no user can set; replacing it changes the inode. So an
//! entry whose identity matches describes the file's current content. The one gap is a write in
//! the same clock tick as the identity was taken: an entry is therefore only made for a file whose
//! change time lies at least [`SETTLED`] before the command started (`now`, given by the caller),
//! as git does for its index. A cache that cannot be read or written costs a hash, nothing else.

use std::fs::Metadata;
use std::io::{Read as _, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::base_image::open_regular_file;
use crate::desired::hex;

/// How long a file must have been left alone before its digest is remembered.
const SETTLED: Duration = Duration::from_secs(2);

/// Entries kept: one per image file path, most recent first.
const MAX_ENTRIES: usize = 64;

/// The cache file is fleet's own, but read defensively all the same.
const MAX_CACHE_BYTES: u64 = 64 * 1024;

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
    pub(crate) size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    pub(crate) fn of(metadata: &Metadata) -> FileIdentity {
        FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    fn to_line(&self, sha256: &str, path: &Path) -> String {
        format!(
            "{} {} {} {}.{} {}.{} {sha256} {}\n",
            self.device,
            self.inode,
            self.size,
            self.modified.0,
            self.modified.1,
            self.changed.0,
            self.changed.1,
            hex(path.as_os_str().as_bytes())
        )
    }

    /// `(identity, sha256, path in hex)` of a line, `None` for anything malformed.
    fn from_line(line: &str) -> Option<(FileIdentity, &str, &str)> {
        let mut fields = line.split(' ');
        let mut number = || fields.next()?.parse::<u64>().ok();
        let (device, inode, size) = (number()?, number()?, number()?);
        let mut time = || {
            let (seconds, nanoseconds) = fields.next()?.split_once('.')?;
            Some((seconds.parse().ok()?, nanoseconds.parse().ok()?))
        };
        let (modified, changed) = (time()?, time()?);
        let sha256 = fields.next().filter(|digest| {
            digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit())
        })?;
        let path = fields.next()?;
        if fields.next().is_some() {
            return None;
        }
        let identity = FileIdentity {
            device,
            inode,
            size,
            modified,
            changed,
        };
        Some((identity, sha256, path))
    }
}

/// Where digests are remembered, and when the command started.
#[derive(Debug, Clone)]
pub struct ImageDigestCache {
    file: PathBuf,
    now: SystemTime,
}

impl ImageDigestCache {
    /// A cache kept in `file` (created with its directory, both private to the user, on first
    /// use); `now` is when the command started.
    pub fn new(file: PathBuf, now: SystemTime) -> ImageDigestCache {
        ImageDigestCache { file, now }
    }

    /// The digest remembered for `path`, when its identity is still `identity`.
    pub(crate) fn lookup(&self, path: &Path, identity: &FileIdentity) -> Option<String> {
        let wanted = hex(path.as_os_str().as_bytes());
        self.read()
            .lines()
            .filter_map(FileIdentity::from_line)
            .find(|(_, _, entry_path)| *entry_path == wanted)
            .filter(|(remembered, _, _)| remembered == identity)
            .map(|(_, sha256, _)| sha256.to_owned())
    }

    /// Remember a digest for a file that has settled; failures are logged and otherwise ignored.
    pub(crate) fn remember(&self, path: &Path, identity: &FileIdentity, sha256: &str) {
        let changed = SystemTime::UNIX_EPOCH
            .checked_add(Duration::new(
                u64::try_from(identity.changed.0).unwrap_or(0),
                u32::try_from(identity.changed.1).unwrap_or(0),
            ))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if changed + SETTLED > self.now {
            tracing::debug!(image = %path.display(), "image changed just now; its digest is not remembered");
            return;
        }
        if let Err(error) = self.write_with(path, identity, sha256) {
            tracing::info!(cache = %self.file.display(), %error, "cannot remember the image digest");
        }
    }

    fn read(&self) -> String {
        let Ok((file, _)) = open_regular_file(&self.file) else {
            return String::new();
        };
        let mut text = String::new();
        // Not UTF-8, or cut at the limit: whatever parses is used, the rest is ignored.
        let mut bytes = Vec::new();
        if file.take(MAX_CACHE_BYTES).read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }

    fn write_with(
        &self,
        path: &Path,
        identity: &FileIdentity,
        sha256: &str,
    ) -> std::io::Result<()> {
        let directory = self
            .file
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(directory)?;
        let this_path = hex(path.as_os_str().as_bytes());
        let existing = self.read();
        let mut text = identity.to_line(sha256, path);
        for line in existing
            .lines()
            .filter(|line| {
                FileIdentity::from_line(line).is_some_and(|(_, _, entry)| entry != this_path)
            })
            .take(MAX_ENTRIES - 1)
        {
            text.push_str(line);
            text.push('\n');
        }
        // A private temporary file beside the cache, renamed over it: readers see the old or the
        // new cache, never half of one.
        let temporary = directory.join(format!(
            ".{}.{}.tmp",
            self.file
                .file_name()
                .map_or("image-digests".into(), |name| name.to_string_lossy()),
            std::process::id()
        ));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&temporary, &self.file));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base_image::ImageInfo;
    use crate::desired::BackingImage;

    fn digest_of(image: &Path, cache: &ImageDigestCache) -> String {
        match ImageInfo::read(&BackingImage::File(image.to_path_buf()), Some(cache)).unwrap() {
            ImageInfo::File { sha256, .. } => sha256,
            ImageInfo::Volume(_) => unreachable!(),
        }
    }

    fn settled(path: &Path) {
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }

    #[test]
    fn an_unchanged_image_is_hashed_once_and_any_change_is_seen() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("image.qcow2");
        std::fs::write(&image, b"first image").unwrap();
        // The change time cannot be set back: the cache must think the command started later.
        let later = SystemTime::now() + Duration::from_secs(10);
        let cache = ImageDigestCache::new(directory.path().join("cache/digests"), later);
        let first = digest_of(&image, &cache);
        assert_eq!(first, crate::desired::sha256_hex(b"first image"));
        let text = std::fs::read_to_string(directory.path().join("cache/digests")).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&directory.path().join("cache/digests")), 0o600);
        assert_eq!(mode(&directory.path().join("cache")), 0o700);

        // The remembered digest is used as it is: a forged one shows that no hashing happened.
        let forged = text.replace(&first, &"a".repeat(64));
        std::fs::write(directory.path().join("cache/digests"), forged).unwrap();
        assert_eq!(digest_of(&image, &cache), "a".repeat(64));

        // The same size, the modification time put back: the change time still tells.
        let before = std::fs::metadata(&image).unwrap().modified().unwrap();
        std::fs::write(&image, b"other image").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&image)
            .unwrap()
            .set_modified(before)
            .unwrap();
        assert_eq!(
            digest_of(&image, &cache),
            crate::desired::sha256_hex(b"other image")
        );
        settled(&image);
        assert_eq!(
            digest_of(&image, &cache),
            crate::desired::sha256_hex(b"other image")
        );
    }

    #[test]
    fn a_file_changed_just_now_is_not_remembered_and_a_broken_cache_is_ignored() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("image.qcow2");
        std::fs::write(&image, b"fresh").unwrap();
        let cache_file = directory.path().join("digests");
        let cache = ImageDigestCache::new(cache_file.clone(), SystemTime::now());
        assert_eq!(
            digest_of(&image, &cache),
            crate::desired::sha256_hex(b"fresh")
        );
        assert!(!cache_file.exists());

        std::fs::write(&cache_file, b"\xff\xfe garbage\n1 2 3 4.5 6.7 zz 00\n").unwrap();
        let later = ImageDigestCache::new(cache_file.clone(), SystemTime::now() + SETTLED * 5);
        assert_eq!(
            digest_of(&image, &later),
            crate::desired::sha256_hex(b"fresh")
        );
        let text = std::fs::read_to_string(&cache_file).unwrap();
        assert_eq!(
            text.lines().count(),
            1,
            "only the good entry is kept: {text}"
        );
    }
}
