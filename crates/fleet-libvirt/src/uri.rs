//! What a libvirt connection URI tells fleet: whether the driver lives on this machine, and whether it is the in-library test driver.
//!
//! libvirt URIs look like `driver[+transport]://[user@][host][:port]/path[?query]`
//! (<https://libvirt.org/uri.html>). fleet needs two answers from them:
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

/// The parts of a connection URI fleet cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectionUri<'a> {
    pub(crate) driver: &'a str,
    pub(crate) transport: Option<&'a str>,
    pub(crate) host: &'a str,
}

impl<'a> ConnectionUri<'a> {
    /// Split a URI; `None` when it has no `scheme://` (libvirt would then pick a default driver).
    pub(crate) fn parse(uri: &'a str) -> Option<Self> {
        let (scheme, rest) = uri.split_once("://")?;
        let (driver, transport) = match scheme.split_once('+') {
            Some((driver, transport)) => (driver, Some(transport)),
            None => (scheme, None),
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_and_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_user, host)| host);
        let host = host_and_port
            .split_once(':')
            .map_or(host_and_port, |(host, _port)| host);
        Some(ConnectionUri {
            driver,
            transport,
            host,
        })
    }

    pub(crate) fn is_local(&self) -> bool {
        self.host.is_empty() && matches!(self.transport, None | Some("unix"))
    }

    pub(crate) fn is_test_driver(&self) -> bool {
        self.driver == "test"
    }
}

/// Whether fleet may write pool files itself on this connection (see the module docs).
pub(crate) fn is_local(uri: &str) -> bool {
    ConnectionUri::parse(uri).is_some_and(|parsed| parsed.is_local())
}

/// Whether the URI names libvirt's in-library test driver.
pub(crate) fn is_test_driver(uri: &str) -> bool {
    ConnectionUri::parse(uri).is_some_and(|parsed| parsed.is_test_driver())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_remote_uris_are_told_apart() {
        let cases = [
            ("qemu:///system", true),
            ("qemu:///session", true),
            ("qemu+unix:///system", true),
            ("test:///default", true),
            ("test:///tmp/host-a.xml", true),
            ("qemu+ssh://root@hv1.example/system", false),
            ("qemu+ssh://localhost/system", false),
            ("qemu+tcp://127.0.0.1/system", false),
            ("qemu+tls://hv1:16514/system", false),
            ("qemu://hv1/system", false),
            ("qemu+ssh://user@hv1:2222/system?keyfile=/k", false),
            ("not a uri", false),
            ("", false),
        ];
        for (uri, local) in cases {
            assert_eq!(is_local(uri), local, "{uri}");
        }
    }

    #[test]
    fn parts_are_split() {
        let parsed = ConnectionUri::parse("qemu+ssh://user@hv1:2222/system?keyfile=/k").unwrap();
        assert_eq!(
            parsed,
            ConnectionUri {
                driver: "qemu",
                transport: Some("ssh"),
                host: "hv1",
            }
        );
        assert!(is_test_driver("test:///default"));
        assert!(is_test_driver("test+unix:///x.xml"));
        assert!(!is_test_driver("qemu:///system"));
    }
}
