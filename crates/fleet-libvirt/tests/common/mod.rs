//! Shared helpers for the libvirt tests: desired fleets built in code, test-driver hosts from files, and direct looks at libvirt's state.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fleet_libvirt::{
    BackingImage, DeployOptions, DeployReport, DesiredFleet, DesiredNode, Event, FleetTarget,
    HostTarget, Session, SessionOptions,
};
use fleet_spec::{DomainType, MacAddress, Uuid};
use virt::connect::Connect;
use virt::sys;

/// A test-driver host defined by a file in tests/data/hosts.
pub fn host(name: &str) -> HostTarget {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hosts")
        .join(format!("{name}.xml"));
    HostTarget {
        name: name.to_owned(),
        uri: format!("test://{}", path.display()),
    }
}

/// A host whose file does not exist: opening it fails like an unreachable hypervisor.
pub fn unreachable_host(name: &str) -> HostTarget {
    HostTarget {
        name: name.to_owned(),
        uri: format!("test:///nonexistent/fleet-tests/{name}.xml"),
    }
}

/// A scratch directory for the pool and the base image, removed when dropped.
pub struct Scratch {
    pub directory: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            directory: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn pool(&self) -> PathBuf {
        self.directory.path().join("pool")
    }

    /// A fake qcow2 image: the magic, then a pattern, so that heads and tails differ.
    pub fn image(&self) -> PathBuf {
        let path = self.directory.path().join("base.qcow2");
        if !path.exists() {
            let mut bytes = b"QFI\xfb".to_vec();
            bytes.extend((0..300_000_u32).map(|index| (index % 251) as u8));
            std::fs::write(&path, bytes).expect("write image");
        }
        path
    }

    /// The fleet's shared settings; the pool directory is created so that fleet writes files there.
    pub fn target(&self, fleet: &str) -> FleetTarget {
        std::fs::create_dir_all(self.pool()).expect("pool directory");
        FleetTarget {
            name: fleet.to_owned(),
            domain_type: DomainType::Auto,
            image: BackingImage::File(self.image()),
            direct_kernel_boot: None,
            pool_name: format!("fleet-{fleet}"),
            pool_path: self.pool(),
            network: "default".to_owned(),
            image_release: None,
        }
    }

    /// Files in the pool directory, sorted.
    pub fn pool_files(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.pool())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }
}

/// A desired fleet of these nodes with the scratch directory's pool and image.
pub fn fleet_of(scratch: &Scratch, fleet: &str, nodes: Vec<DesiredNode>) -> DesiredFleet {
    DesiredFleet {
        target: scratch.target(fleet),
        nodes,
    }
}

/// A node with values derived from its name and index, as the spec would derive them.
pub fn node(fleet: &str, name: &str, host: &str, index: u8, wave: u32) -> DesiredNode {
    DesiredNode {
        name: name.to_owned(),
        hostname: name.to_owned(),
        uuid: Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{fleet}/{name}").as_bytes()),
        mac: MacAddress([0x52, 0x54, 0x00, 0x10, wave as u8, index]),
        vcpus: 2,
        memory_mib: 2048,
        disk_gib: 10,
        host: host.to_owned(),
        wave,
        reserved_address: None,
        ignition: ignition(name, "v1"),
    }
}

/// A small Ignition config that names its node and a version.
pub fn ignition(name: &str, version: &str) -> Vec<u8> {
    format!(
        "{{\"ignition\":{{\"version\":\"3.5.0\"}},\"storage\":{{\"files\":[{{\"path\":\"/etc/hostname\",\"contents\":{{\"source\":\"data:,{name}-{version}\"}}}}]}}}}"
    )
    .into_bytes()
}

pub fn with_reservation(mut node: DesiredNode, address: Ipv4Addr) -> DesiredNode {
    node.reserved_address = Some(address);
    node
}

pub fn open(hosts: &[HostTarget]) -> Session {
    Session::open(hosts, &SessionOptions::default())
}

/// Events as lines, for order checks.
#[derive(Default)]
pub struct Recorder {
    pub lines: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn record(&self, event: Event<'_>) {
        let line = match event {
            Event::HostStep { host, step } => format!("host {host} {step:?}"),
            Event::HostReady { host, error } => format!("host {host} ready {}", error.is_none()),
            Event::NodeStarted { node, action, .. } => {
                format!(
                    "start {node} {}",
                    action.map_or("unknown", |action| action.as_str())
                )
            }
            Event::NodeStep { node, step, .. } => format!("step {node} {step}"),
            Event::NodeFinished { node, .. } => format!("finish {node}"),
            Event::NodeFailed { node, step, .. } => format!("fail {node} {step}"),
        };
        self.lines.lock().unwrap().push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

pub fn deploy(session: &Session, desired: &DesiredFleet, options: &DeployOptions) -> DeployReport {
    session.deploy(desired, options, &|_| {})
}

/// `(node, action, outcome)` per node, for whole-report comparisons.
pub fn summary(report: &DeployReport) -> Vec<(String, String, String)> {
    report
        .nodes
        .iter()
        .map(|node| {
            let outcome = match &node.outcome {
                fleet_libvirt::DeployOutcome::Planned => "planned".to_owned(),
                fleet_libvirt::DeployOutcome::Done => "done".to_owned(),
                fleet_libvirt::DeployOutcome::Failed { step, error } => {
                    format!("failed at {step}: {error}")
                }
            };
            (
                node.node.clone(),
                node.action
                    .as_ref()
                    .map_or("none", |action| action.as_str())
                    .to_owned(),
                outcome,
            )
        })
        .collect()
}

/// Names of all domains on the session's connection to a host.
pub fn domains(session: &Session, host: &str) -> BTreeSet<String> {
    connection(session, host)
        .list_all_domains(0)
        .expect("list domains")
        .iter()
        .map(|domain| domain.name().expect("name"))
        .collect()
}

pub fn connection<'s>(session: &'s Session, host: &str) -> &'s Connect {
    session.raw_connection(host).expect("host is connected")
}

/// Volume names in the fleet's pool on a host (empty when the pool does not exist).
pub fn volumes(session: &Session, host: &str, pool: &str) -> BTreeSet<String> {
    let Ok(pool) = connection(session, host).lookup_storage_pool_by_name(pool) else {
        return BTreeSet::new();
    };
    pool.list_volumes()
        .expect("list volumes")
        .into_iter()
        .collect()
}

/// The `(mac, ip, name)` DHCP host entries of the `default` network on a host.
pub fn reservations(session: &Session, host: &str) -> Vec<String> {
    let network = connection(session, host)
        .lookup_network_by_name("default")
        .expect("network");
    let xml = network.xml_desc(0).expect("network xml");
    xml.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("<host "))
        .map(str::to_owned)
        .collect()
}

/// A domain's inactive XML.
pub fn domain_xml(session: &Session, host: &str, name: &str) -> String {
    connection(session, host)
        .lookup_domain_by_name(name)
        .expect("domain")
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        .expect("xml")
}
