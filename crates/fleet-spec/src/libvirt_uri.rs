//! libvirt connection URIs, without I/O: their parts, whether they name this machine, and the normal form that tells when two spellings reach one hypervisor.
//!
//! libvirt URIs look like `driver[+transport]://[user@][host][:port]/path[?query]`
//! (<https://libvirt.org/uri.html>). Two `[[host]]` entries (or `--connect` flags) that reach the
//! same hypervisor would count its capacity twice and make placement's anti-affinity meaningless,
//! so fleet compares URIs in a normal form ([`normal_form`]) that folds only the spellings libvirt
//! itself treats as one endpoint (checked against libvirt 9.0 with `virsh -c URI`):
//!
//! - the transport's case and its defaults: no transport is `unix` without a host and `tls` with
//!   one; `libssh` and `libssh2` reach the same sshd as `ssh`. The exception is the in-library test
//!   driver: `test:///default` lives in the calling process, `test+unix:///default` in a daemon;
//! - the host's case, a trailing dot, and IPv6 literals written differently;
//! - a transport's default port (tcp 16509, tls 16514, ssh 22) written or left out;
//! - the user, except for `/session` paths, where each user has their own daemon;
//! - query parameters that only authenticate (`keyfile`, `no_verify`, `pkipath`, …), and their order;
//! - for the test driver's files, repeated slashes and `.` segments.
//!
//! The driver name stays as written (`QEMU:///system` finds no driver), and so does the path of
//! daemon drivers (`qemu:///system/` is refused by libvirt). `test:///default` is libvirt's built-in
//! test hypervisor but `test:////default` is the *file* `/default`: they stay apart. Names that
//! may resolve to one machine (`localhost` and `127.0.0.1`, two DNS names) cannot be told apart
//! without resolving them, which this crate does not do.

use std::net::Ipv6Addr;

/// The parts of a connection URI, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtUri<'a> {
    pub driver: &'a str,
    pub transport: Option<&'a str>,
    pub user: Option<&'a str>,
    /// Empty for a local URI; IPv6 literals keep their brackets.
    pub host: &'a str,
    pub port: Option<&'a str>,
    pub path: &'a str,
    /// After `?`, without it (a `#fragment` included, as written).
    pub query: Option<&'a str>,
}

/// Query parameters of libvirt's remote driver that say how to authenticate, not where to go.
const AUTHENTICATION_PARAMETERS: &[&str] = &[
    "auth",
    "keyfile",
    "known_hosts",
    "known_hosts_verify",
    "no_tty",
    "no_verify",
    "pkipath",
    "sshauth",
    "tls_priority",
];

impl<'a> LibvirtUri<'a> {
    /// Split a URI; `None` when it has no `scheme://` (libvirt would then pick a default driver).
    pub fn parse(uri: &'a str) -> Option<Self> {
        let (scheme, rest) = uri.split_once("://")?;
        if scheme.is_empty() {
            return None;
        }
        let (driver, transport) = match scheme.split_once('+') {
            Some((driver, transport)) => (driver, Some(transport)),
            None => (scheme, None),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(authority_end);
        let (path, query) = match after.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (after, None),
        };
        let (user, host_and_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (host, port) = if let Some(bracketed) = host_and_port.strip_prefix('[') {
            match bracketed.split_once(']') {
                Some((inside, tail)) => {
                    (&host_and_port[..inside.len() + 2], tail.strip_prefix(':'))
                }
                None => (host_and_port, None),
            }
        } else {
            match host_and_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_and_port, None),
            }
        };
        Some(LibvirtUri {
            driver,
            transport,
            user,
            host,
            port,
            path,
            query,
        })
    }

    /// Whether the driver sees this machine's file system: no host part, and no transport or the
    /// `unix` one (`qemu:///system`, `qemu+unix:///system`, `test:///default`).
    /// `qemu+ssh://localhost/system` may well be this machine, but that cannot be known.
    pub fn is_local(&self) -> bool {
        self.host.is_empty()
            && self
                .transport
                .is_none_or(|transport| transport.eq_ignore_ascii_case("unix"))
    }

    /// Whether this is libvirt's test driver (in this process, or in a daemon).
    pub fn is_test_driver(&self) -> bool {
        self.driver == "test"
    }

    /// The normal form (see the module docs): equal for two URIs exactly when they are spellings
    /// of one hypervisor endpoint. It is itself a URI libvirt reads the same way.
    pub fn normal_form(&self) -> String {
        let host = normal_host(self.host);
        let in_process_test_driver =
            self.is_test_driver() && host.is_empty() && self.transport.is_none();
        let transport = match self.transport.map(str::to_ascii_lowercase) {
            Some(transport) if transport == "libssh" || transport == "libssh2" => "ssh".to_owned(),
            Some(transport) => transport,
            None if host.is_empty() => "unix".to_owned(),
            None => "tls".to_owned(),
        };
        let port = self
            .port
            .filter(|port| !port.is_empty())
            .map(|port| {
                port.parse::<u16>()
                    .map_or(port.to_owned(), |number| number.to_string())
            })
            .filter(|port| Some(port.as_str()) != default_port(&transport));
        let path = if self.is_test_driver() {
            test_driver_path(self.path)
        } else {
            self.path.to_owned()
        };
        let user = self.user.filter(|_| path == "/session");
        let query = self
            .query
            .map(normal_query)
            .filter(|query| !query.is_empty());

        let mut normal = String::with_capacity(self.driver.len() + host.len() + path.len() + 16);
        normal.push_str(self.driver);
        // `unix` without a host is written as no transport, except for the test driver, where no
        // transport means the in-process one.
        let implicit_transport = if self.is_test_driver() {
            in_process_test_driver
        } else {
            transport == "unix" && host.is_empty()
        };
        if !implicit_transport {
            normal.push('+');
            normal.push_str(&transport);
        }
        normal.push_str("://");
        if let Some(user) = user {
            normal.push_str(user);
            normal.push('@');
        }
        normal.push_str(&host);
        if let Some(port) = port {
            normal.push(':');
            normal.push_str(&port);
        }
        normal.push_str(&path);
        if let Some(query) = query {
            normal.push('?');
            normal.push_str(&query);
        }
        normal
    }
}

/// The normal form of a URI (see the module docs); text that is not a URI is its own normal form.
pub fn normal_form(uri: &str) -> String {
    LibvirtUri::parse(uri).map_or_else(|| uri.to_owned(), |parsed| parsed.normal_form())
}

fn default_port(transport: &str) -> Option<&'static str> {
    match transport {
        "tcp" => Some("16509"),
        "tls" => Some("16514"),
        "ssh" => Some("22"),
        _ => None,
    }
}

fn normal_host(host: &str) -> String {
    if let Some(inside) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        && let Ok(address) = inside.parse::<Ipv6Addr>()
    {
        return format!("[{address}]");
    }
    // One trailing dot is the DNS root (`hv1.` is `hv1`); anything odder is kept as written.
    let host = match host.strip_suffix('.') {
        Some(name) if !name.is_empty() && !name.ends_with('.') => name,
        _ => host,
    };
    host.to_ascii_lowercase()
}

/// `/default` is the built-in hypervisor; any other path is a file, compared as the kernel
/// resolves it lexically. A file path that comes out as `/default` is written `//default`, the
/// spelling that still names the file.
fn test_driver_path(path: &str) -> String {
    if path == "/default" {
        return path.to_owned();
    }
    let mut normal = String::with_capacity(path.len());
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        normal.push('/');
        normal.push_str(segment);
    }
    if path.ends_with('/') || normal.is_empty() {
        normal.push('/');
    }
    if normal == "/default" {
        normal.insert(0, '/');
    }
    normal
}

fn normal_query(query: &str) -> String {
    let mut parameters: Vec<&str> = query
        .split('&')
        .filter(|parameter| !parameter.is_empty())
        .filter(|parameter| {
            let key = parameter.split_once('=').map_or(*parameter, |(key, _)| key);
            !AUTHENTICATION_PARAMETERS.contains(&key)
        })
        .collect();
    parameters.sort_unstable();
    parameters.join("&")
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
            ("qemu+tcp://[::1]:16509/system", false),
        ];
        for (uri, local) in cases {
            assert_eq!(LibvirtUri::parse(uri).unwrap().is_local(), local, "{uri}");
        }
        for text in ["not a uri", "", "://x"] {
            assert_eq!(LibvirtUri::parse(text), None, "{text}");
        }
    }

    #[test]
    fn parts_are_split() {
        let parsed = LibvirtUri::parse("qemu+ssh://user@hv1:2222/system?keyfile=/k").unwrap();
        assert_eq!(
            parsed,
            LibvirtUri {
                driver: "qemu",
                transport: Some("ssh"),
                user: Some("user"),
                host: "hv1",
                port: Some("2222"),
                path: "/system",
                query: Some("keyfile=/k"),
            }
        );
        let ipv6 = LibvirtUri::parse("qemu+tcp://[fd00::1]:16600/system").unwrap();
        assert_eq!((ipv6.host, ipv6.port), ("[fd00::1]", Some("16600")));
        assert!(
            LibvirtUri::parse("test+unix:///x.xml")
                .unwrap()
                .is_test_driver()
        );
        assert!(
            !LibvirtUri::parse("qemu:///system")
                .unwrap()
                .is_test_driver()
        );
    }

    /// Spellings libvirt treats as one endpoint share a normal form.
    #[test]
    fn spellings_of_one_hypervisor_share_a_normal_form() {
        let groups: &[&[&str]] = &[
            &[
                "qemu:///system",
                "qemu+unix:///system",
                "qemu+UNIX:///system",
            ],
            &[
                "qemu+tcp://hv1/system",
                "qemu+tcp://HV1/system",
                "qemu+tcp://hv1.:16509/system",
                "qemu+TCP://root@hv1:16509/system",
            ],
            &[
                "qemu://hv1/system",
                "qemu+tls://hv1:16514/system",
                "qemu+tls://admin@hv1/system?no_verify=1&pkipath=/etc/pki",
            ],
            &[
                "qemu+ssh://root@hv1/system",
                "qemu+libssh2://hv1:22/system?keyfile=/root/.ssh/id",
                "qemu+libssh://hv1/system",
            ],
            &[
                "qemu+tcp://[fd00::1]/system",
                "qemu+tcp://[FD00:0::1]:16509/system",
            ],
            &[
                "test:///tmp/fleet/host-a.xml",
                "test:///tmp//fleet/./host-a.xml",
            ],
            &[
                "qemu+ssh://hv1/system?socket=/run/b&netcat=nc",
                "qemu+ssh://hv1/system?netcat=nc&socket=/run/b",
            ],
        ];
        for group in groups {
            let first = normal_form(group[0]);
            for uri in &group[1..] {
                assert_eq!(normal_form(uri), first, "{uri} and {}", group[0]);
            }
        }
        assert_eq!(normal_form("qemu+unix:///system"), "qemu:///system");
        assert_eq!(
            normal_form("QEMU+TCP://Root@HV1:16509/system"),
            "QEMU+tcp://hv1/system"
        );
    }

    /// Spellings that reach different daemons (or fail in libvirt) keep different normal forms.
    #[test]
    fn different_hypervisors_keep_different_normal_forms() {
        let distinct = [
            "test:///default",
            "test:////default",
            "test+unix:///default",
            "test:///default/",
            "qemu:///system",
            "qemu:///session",
            "qemu:///system/",
            "QEMU:///system",
            "qemu+tcp://127.0.0.1/system",
            "qemu+tcp://127.0.0.1:16510/system",
            "qemu+tls://127.0.0.1/system",
            "qemu+ssh://hv1:2222/system",
            "qemu+ssh://hv1/system",
            "qemu+ssh://hv2/system",
            "qemu+ssh://alice@hv1/session",
            "qemu+ssh://bob@hv1/session",
            "qemu+ssh://hv1/system?socket=/run/other-sock",
            "qemu+unix:///system?socket=/run/second/libvirt-sock",
            "test:///tmp/host-a.xml",
            "test:///tmp/host-b.xml",
        ];
        let forms: std::collections::BTreeSet<String> =
            distinct.iter().map(|uri| normal_form(uri)).collect();
        assert_eq!(forms.len(), distinct.len(), "{forms:#?}");
        assert_eq!(normal_form("test:////default"), "test:////default");
        assert_eq!(normal_form("not a uri"), "not a uri");
    }

    proptest::proptest! {
        /// Any text: no panic, and the normal form is a fixed point (normalising twice changes nothing).
        #[test]
        fn normal_forms_are_stable(text in ".{0,80}") {
            let once = normal_form(&text);
            proptest::prop_assert_eq!(normal_form(&once), once);
        }

        #[test]
        fn normal_forms_of_uri_like_text_are_stable(
            driver in "(qemu|test|QEMU)",
            transport in "(|\\+tcp|\\+TLS|\\+ssh|\\+libssh2|\\+unix)",
            user in "(|root@|alice@)",
            host in "(|hv1|HV1\\.|\\[::1\\]|127\\.0\\.0\\.1)",
            port in "(|:|:22|:16509|:016514|:2222)",
            path in "(/system|/session|/default|//default|/a//b/./c\\.xml|/)",
            query in "(|\\?keyfile=/k|\\?socket=/s&no_tty=1|\\?b=2&a=1)",
        ) {
            let uri = format!("{driver}{transport}://{user}{host}{port}{path}{query}");
            let once = normal_form(&uri);
            proptest::prop_assert_eq!(normal_form(&once), once);
        }
    }
}
