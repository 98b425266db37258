//! Where the base image's digest is remembered between runs, so that an unchanged image is not
//! hashed again.

use fleet_libvirt::ImageDigestCache;

/// Where the base image's digest is remembered between runs: `$XDG_CACHE_HOME/fleet/image-digests`,
/// else `~/.cache/fleet/image-digests`; no cache without either (the image is then hashed on every
/// run).
pub(crate) fn image_digest_cache() -> Option<ImageDigestCache> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(std::path::PathBuf::from)
                .filter(|path| path.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
    Some(ImageDigestCache::new(
        base.join("fleet").join("image-digests"),
        std::time::SystemTime::now(),
    ))
}
