//! Connections to every host of a fleet: a small pool of libvirt connections per host, opened in parallel, closed deliberately.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use virt::connect::Connect;

use crate::desired::HostTarget;
use crate::error::{Error, libvirt_message};
use crate::uri;

/// How a session connects.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Connections per host. libvirtd serves at most 5 requests in flight per client
    /// connection (`max_client_requests`), so many parallel slow calls want a few connections.
    /// Test-driver URIs always get one (see `uri`).
    pub connections_per_host: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            connections_per_host: 2,
        }
    }
}

impl SessionOptions {
    /// Enough connections for `jobs` parallel nodes with at most 4 requests in flight on each.
    pub fn for_jobs(jobs: usize) -> SessionOptions {
        SessionOptions {
            connections_per_host: jobs.div_ceil(4).clamp(1, 8),
        }
    }
}

/// The connections of one host, handed out round-robin (a `Connect` may be shared by threads).
#[derive(Debug)]
pub(crate) struct HostConnections {
    pub(crate) target: HostTarget,
    connections: Vec<Connect>,
    next: AtomicUsize,
}

impl HostConnections {
    fn open(target: &HostTarget, count: usize) -> Result<HostConnections, Error> {
        let count = if uri::is_test_driver(&target.uri) {
            1
        } else {
            count.max(1)
        };
        let mut connections = Vec::with_capacity(count);
        for _ in 0..count {
            match Connect::open(Some(&target.uri)) {
                Ok(connect) => connections.push(connect),
                Err(error) => {
                    close_all(connections);
                    return Err(Error::Connect {
                        uri: target.uri.clone(),
                        message: libvirt_message(&error),
                    });
                }
            }
        }
        Ok(HostConnections {
            target: target.clone(),
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// A connection for the next piece of work.
    pub(crate) fn get(&self) -> &Connect {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        &self.connections[index]
    }

    fn close(self) {
        close_all(self.connections);
    }
}

/// Close connections one by one. `Connect`'s `Drop` panics when `virConnectClose` fails, which
/// libvirt does only for an invalid handle; closing here, in one known place, keeps that
/// (unreachable) panic out of arbitrary drop sites and lets every handle go before the next.
fn close_all(connections: Vec<Connect>) {
    for connect in connections {
        drop(connect);
    }
}

/// A host as the session sees it.
#[derive(Debug)]
pub(crate) enum HostSlot {
    Connected(HostConnections),
    Unreachable { target: HostTarget, error: Error },
}

/// Open connections to a fleet's hosts. Unreachable hosts do not make the session fail: their
/// nodes fail with the connection error and the other hosts proceed.
///
/// Keep one session for a sequence of operations on `test:///default`: the in-library driver
/// forgets everything when its last connection closes.
#[derive(Debug)]
pub struct Session {
    pub(crate) hosts: BTreeMap<String, HostSlot>,
}

impl Session {
    /// Connect to every host, in parallel.
    pub fn open(hosts: &[HostTarget], options: &SessionOptions) -> Session {
        // Without this libvirt prints every error (including "domain not found" from routine
        // lookups) on stderr.
        virt::error::clear_error_callback();
        let slots: Vec<HostSlot> = std::thread::scope(|scope| {
            let handles: Vec<_> = hosts
                .iter()
                .map(|target| {
                    scope.spawn(move || {
                        match HostConnections::open(target, options.connections_per_host) {
                            Ok(connections) => HostSlot::Connected(connections),
                            Err(error) => HostSlot::Unreachable {
                                target: target.clone(),
                                error,
                            },
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(hosts)
                .map(|(handle, target)| {
                    handle.join().unwrap_or_else(|_| HostSlot::Unreachable {
                        target: target.clone(),
                        error: Error::Connect {
                            uri: target.uri.clone(),
                            message: "the connecting thread panicked".to_owned(),
                        },
                    })
                })
                .collect()
        });
        let hosts = hosts
            .iter()
            .map(|target| target.name.clone())
            .zip(slots)
            .collect();
        Session { hosts }
    }

    /// Hosts that could not be reached, with the reason.
    pub fn unreachable_hosts(&self) -> Vec<(&str, &Error)> {
        self.hosts
            .iter()
            .filter_map(|(name, slot)| match slot {
                HostSlot::Unreachable { error, .. } => Some((name.as_str(), error)),
                HostSlot::Connected(_) => None,
            })
            .collect()
    }

    /// The session's first connection to a host: for tests and benchmarks that must look at
    /// libvirt through the very connection the session uses (each connection to a
    /// `test:///path.xml` URI has its own state). Not part of the supported API.
    #[doc(hidden)]
    pub fn raw_connection(&self, host: &str) -> Option<&Connect> {
        match self.hosts.get(host)? {
            HostSlot::Connected(connections) => connections.connections.first(),
            HostSlot::Unreachable { .. } => None,
        }
    }

    /// Close every connection.
    pub fn close(self) {
        for slot in self.hosts.into_values() {
            if let HostSlot::Connected(connections) = slot {
                connections.close();
            }
        }
    }
}
