//! A small builder of validated `Fleet` values for planner tests, independent of the fleet.toml parser.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of the builder"
)]

pub mod check;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_spec::{
    Addressing, BaseImage, Canaries, DomainType, Fleet, Group, Host, HostCapacity, ImageSource,
    KernelArguments, MacAddress, MaintenancePeriod, MaintenancePolicy, MaxUnavailable, Node,
    NodeSettings, Role, RolloutPolicy, StoragePool, Tz, UpdateStrategy, Uuid, WallTime, Weekday,
};

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test times are valid RFC 3339")
        .with_timezone(&Utc)
}

pub fn period(days: &[Weekday], start: &str, length_minutes: u32) -> MaintenancePeriod {
    let (hour, minute) = start.split_once(':').expect("H:M");
    MaintenancePeriod {
        days: days.to_vec(),
        start: WallTime {
            hour: hour.parse().expect("hour"),
            minute: minute.parse().expect("minute"),
        },
        length_minutes,
    }
}

pub fn maintenance(
    zone: &str,
    periods: Vec<MaintenancePeriod>,
    window_minutes: u32,
) -> MaintenancePolicy {
    MaintenancePolicy {
        time_zone: zone.parse::<Tz>().expect("known zone"),
        periods,
        window_minutes,
        reboot_allowance_minutes: 10,
        strategy: UpdateStrategy::Periodic,
    }
}

/// One group to add: its name, size and policies; node pins are set afterwards through `FleetBuilder`.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub count: usize,
    pub max_unavailable: MaxUnavailable,
    pub canaries: Canaries,
    pub soak_minutes: u32,
    pub maintenance: MaintenancePolicy,
    pub spread_over: Option<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
}

impl GroupSpec {
    pub fn new(name: &str, count: usize, maintenance: MaintenancePolicy) -> Self {
        GroupSpec {
            name: name.to_owned(),
            count,
            max_unavailable: MaxUnavailable::Count(1),
            canaries: Canaries::Count(1),
            soak_minutes: 60,
            maintenance,
            spread_over: None,
            vcpus: 2,
            memory_mib: 2048,
            disk_gib: 10,
        }
    }

    pub fn max_unavailable(mut self, bound: MaxUnavailable) -> Self {
        self.max_unavailable = bound;
        self
    }

    pub fn canaries(mut self, canaries: Canaries) -> Self {
        self.canaries = canaries;
        self
    }

    pub fn soak(mut self, minutes: u32) -> Self {
        self.soak_minutes = minutes;
        self
    }

    pub fn spread_over(mut self, label: &str) -> Self {
        self.spread_over = Some(label.to_owned());
        self
    }

    pub fn resources(mut self, vcpus: u32, memory_mib: u64, disk_gib: u64) -> Self {
        self.vcpus = vcpus;
        self.memory_mib = memory_mib;
        self.disk_gib = disk_gib;
        self
    }
}

pub struct FleetBuilder {
    fleet: Fleet,
}

impl FleetBuilder {
    pub fn new() -> Self {
        FleetBuilder {
            fleet: Fleet {
                name: "test".to_owned(),
                connection: "qemu:///system".to_owned(),
                domain_type: DomainType::Auto,
                image: BaseImage {
                    source: ImageSource::Volume("fcos.qcow2".to_owned()),
                    stream: "stable".to_owned(),
                },
                direct_kernel_boot: None,
                pool: StoragePool {
                    name: "fleet-test".to_owned(),
                    path: PathBuf::from("/var/lib/libvirt/fleet-test"),
                },
                network: "default".to_owned(),
                ignition_version: None,
                max_concurrent_reboots: None,
                hosts: Vec::new(),
                groups: Vec::new(),
                nodes: Vec::new(),
            },
        }
    }

    pub fn cap(mut self, max_concurrent_reboots: u32) -> Self {
        self.fleet.max_concurrent_reboots = Some(max_concurrent_reboots);
        self
    }

    pub fn group(mut self, spec: GroupSpec) -> Self {
        let group_index = self.fleet.groups.len();
        let first = self.fleet.nodes.len();
        let settings = Arc::new(NodeSettings {
            vcpus: spec.vcpus,
            memory_mib: spec.memory_mib,
            disk_gib: spec.disk_gib,
            butane: Vec::new(),
            users: Vec::new(),
            time_zone: None,
            kernel_arguments: KernelArguments::default(),
        });
        for index in 1..=spec.count {
            let name = format!("{}-{index:02}", spec.name);
            let number = self.fleet.nodes.len() as u32;
            self.fleet.nodes.push(Node {
                hostname: name.clone(),
                name,
                group: group_index,
                index: index as u32,
                mac: MacAddress([0x52, 0x54, 0, 0, (number >> 8) as u8, number as u8]),
                uuid: Uuid::nil(),
                address: None,
                pinned_role: None,
                pinned_wariness: None,
                pinned_host: None,
                settings: Arc::clone(&settings),
            });
        }
        self.fleet.groups.push(Group {
            name: spec.name,
            rollout: RolloutPolicy {
                max_unavailable: spec.max_unavailable,
                canaries: spec.canaries,
                soak_minutes: spec.soak_minutes,
            },
            maintenance: spec.maintenance,
            addressing: Addressing::Dhcp,
            spread_over: spec.spread_over,
            nodes: first..self.fleet.nodes.len(),
        });
        self
    }

    pub fn host(
        mut self,
        name: &str,
        vcpus: u32,
        memory_mib: u64,
        disk_gib: u64,
        labels: &[(&str, &str)],
    ) -> Self {
        self.fleet.hosts.push(Host {
            name: name.to_owned(),
            connection: format!("test:///{name}"),
            capacity: HostCapacity {
                vcpus: Some(vcpus),
                memory_mib: Some(memory_mib),
                disk_gib: Some(disk_gib),
            },
            vcpu_overcommit: 1.0,
            labels: labels
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        });
        self
    }

    fn node_mut(&mut self, name: &str) -> &mut Node {
        self.fleet
            .nodes
            .iter_mut()
            .find(|node| node.name == name)
            .expect("the node exists")
    }

    pub fn pin_role(mut self, node: &str, role: Role) -> Self {
        self.node_mut(node).pinned_role = Some(role);
        self
    }

    pub fn pin_wariness(mut self, node: &str, wariness: f64) -> Self {
        self.node_mut(node).pinned_wariness = Some(wariness);
        self
    }

    pub fn pin_host(mut self, node: &str, host: &str) -> Self {
        self.node_mut(node).pinned_host = Some(host.to_owned());
        self
    }

    pub fn build(self) -> Fleet {
        self.fleet
    }
}
