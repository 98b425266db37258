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
    Addressing, BaseImage, Canaries, ContainerUpdateSchedule, DomainType, Fleet, FleetLocations,
    Group, HealthChecks, Host, HostCapacity, ImageSource, KernelArguments, Location, MacAddress,
    MaintenancePeriod, MaintenancePolicy, MaxUnavailable, Node, NodeSettings, Role, RolloutPolicy,
    StoragePool, Tz, UpdateStrategy, Uuid, WallTime, Weekday,
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

/// The days of the week, Monday first (bit N of a random day mask is `DAYS[N]`).
pub const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Periods from random draws: a day mask (bit 0 Monday), a start in five-minute steps, a length.
pub fn random_periods(draws: &[(u8, u16, u32)]) -> Vec<MaintenancePeriod> {
    draws
        .iter()
        .map(|&(day_mask, five_minutes, length)| random_period(day_mask, five_minutes * 5, length))
        .collect()
}

/// A period from a day mask (bit 0 Monday), its start in minutes after midnight and its length.
pub fn random_period(day_mask: u8, start_minute: u16, length: u32) -> MaintenancePeriod {
    let days: Vec<Weekday> = DAYS
        .iter()
        .enumerate()
        .filter(|(bit, _)| day_mask & (1 << bit) != 0)
        .map(|(_, day)| *day)
        .collect();
    period(
        &days,
        &format!("{}:{}", start_minute / 60, start_minute % 60),
        length,
    )
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
    pub container_updates: Option<ContainerUpdateSchedule>,
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
            container_updates: None,
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

    pub fn container_updates(mut self, schedule: ContainerUpdateSchedule) -> Self {
        self.container_updates = Some(schedule);
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

/// Where the builder says the fleet sets `max_concurrent_reboots`.
pub const CAP_LOCATION: Location = Location {
    line: 2,
    column: 26,
};

/// Where the builder says group number `index` (from 0) is declared: on line 10 + index, so that tests can
/// tell which group an error points at.
pub fn group_location(index: usize) -> Location {
    Location {
        line: 10 + index as u32,
        column: 8,
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
                declared_at: FleetLocations::default(),
            },
        }
    }

    pub fn cap(mut self, max_concurrent_reboots: u32) -> Self {
        self.fleet.max_concurrent_reboots = Some(max_concurrent_reboots);
        self.fleet.declared_at.max_concurrent_reboots = Some(CAP_LOCATION);
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
            health: HealthChecks::default(),
            containers: Vec::new(),
            podman: Default::default(),
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
            container_updates: spec.container_updates,
            addressing: Addressing::Dhcp,
            spread_over: spec.spread_over,
            nodes: first..self.fleet.nodes.len(),
            declared_at: group_location(group_index),
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

/// The benchmark fleet: `groups` groups of `nodes_per_group` nodes in four time zones, each group with
/// 10 % max_unavailable, two canaries and its own pair of maintenance periods, and `hosts` hypervisors
/// in four zones (groups spread over them).
pub fn large_fleet(groups: usize, nodes_per_group: usize, hosts: usize) -> Fleet {
    const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"];
    let mut builder = FleetBuilder::new();
    for host in 0..hosts {
        let zone = format!("z{}", host % 4);
        builder = builder.host(
            &format!("hv-{host:04}"),
            256,
            1_048_576,
            20_000,
            &[("zone", zone.as_str())],
        );
    }
    for group in 0..groups {
        let policy = maintenance(
            ZONES[group % ZONES.len()],
            vec![
                period(&[Weekday::Tue, Weekday::Wed, Weekday::Thu], "01:00", 240),
                period(&[Weekday::Sat], "22:00", 480),
            ],
            30,
        );
        let mut spec = GroupSpec::new(&format!("g{group:03}"), nodes_per_group, policy)
            .max_unavailable(MaxUnavailable::Percent(10))
            .canaries(Canaries::Count(2));
        if hosts > 0 {
            spec = spec
                .spread_over("zone")
                .max_unavailable(MaxUnavailable::Percent(25));
        }
        builder = builder.group(spec);
    }
    builder.build()
}
