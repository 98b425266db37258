//! What a libvirt connection URI tells fleet: whether the driver lives on this machine, and whether it is the in-library test driver.
//!
//! The parsing is `fleet_spec::libvirt_uri`'s (pure, shared with the fleet file's checks). fleet
//! needs two answers from a URI here:
//!
//! - **Local**: the hypervisor sees this machine's file system, so when a driver cannot upload a
//!   volume through a stream, fleet may write the volume's file at the path libvirt gives it.
//!   That holds only without a host part and with no transport or the `unix` transport
//!   (`qemu:///system`, `qemu+unix:///system`, `test:///default`). `qemu://host/system` is TLS to
//!   another machine; `qemu+ssh://localhost/system` may well be this machine, but fleet cannot know,
//!   so it counts as remote.
//! - **Test driver**: `test:///default` keeps its state in this process, shared by every
//!   connection while one is open; `test:///abs/path.xml` gives *each connection* its own copy of
//!   the file's state. A session therefore opens exactly one connection to a test URI.

use fleet_spec::libvirt_uri::LibvirtUri;

/// Whether fleet may write pool files itself on this connection (see the module docs).
pub(crate) fn is_local(uri: &str) -> bool {
    LibvirtUri::parse(uri).is_some_and(|parsed| parsed.is_local())
}

/// Whether the URI names libvirt's in-library test driver.
pub(crate) fn is_test_driver(uri: &str) -> bool {
    LibvirtUri::parse(uri).is_some_and(|parsed| parsed.is_test_driver())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_test_uris_are_recognised() {
        assert!(is_local("qemu+unix:///system") && is_local("test:///default"));
        assert!(!is_local("qemu+ssh://localhost/system") && !is_local("not a uri"));
        assert!(is_test_driver("test:///default") && is_test_driver("test+unix:///x.xml"));
        assert!(!is_test_driver("qemu:///system"));
    }
}
