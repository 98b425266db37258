//! The fleet file as written: one raw table per TOML table, every key optional, unknown keys refused.
//!
//! This is the single source of truth for key names: the reader, the "did you mean" suggestions,
//! the JSON Schema of `fleet schema` and the docs test all come from these declarations.

use std::collections::BTreeMap;

use crate::read::{Items, Located, raw_table};
use crate::values::{
    AnyPath, CanariesValue, Cidr, CommandLine, ConcurrentReboots, ConnectUri, Day, DiskGib,
    DomainTypeName, HealthRetries, HealthRetrySeconds, HealthTimeoutMinutes, HostDiskGib,
    HostMemoryMib, HostVcpus, HttpStatus, HttpTimeoutSeconds, HttpUrl, IgnitionVersion, IpAny,
    Ipv4, KernelArgumentsValue, Mac, MaxUnavailableValue, MemoryMib, NetworkMode, NodeCount,
    Overcommit, PasswordHash, PeriodMinutes, RebootAllowanceMinutes, RelativeFile, RoleName,
    RollbackCount, SoakMinutes, SshPublicKey, StrategyName, StreamName, TimeOfDay, TimeZone,
    UnitInterval, UnitName, UpdateSlotMinutes, UserId, Vcpus, WindowMinutes,
};
use crate::values::{
    AutoUpdateName, CpuLimit, HealthFailureName, ImageReference, MemoryLimit, PodmanDuration,
    PortValue, RestartName, VolumeValue,
};
use crate::values::{NetworkDriverName, PodmanSubnet};

raw_table! {
    /// A fleet of Fedora CoreOS nodes on libvirt, as described by fleet.toml.
    struct RawDocument, schema FleetFile {
        /// The fleet itself: name, libvirt connection, image, pool, network.
        #[schemars(required)]
        fleet: RawFleet,
        /// Settings every group and node inherits unless it overrides them.
        defaults: RawDefaults,
        /// When nodes may reboot for updates and how Zincati decides to.
        maintenance: RawMaintenance,
        /// When nodes update their auto-updated containers, apart from their reboots.
        container_updates: RawContainerUpdates,
        /// Groups of nodes that share settings and a rollout policy, in order.
        group: Vec<RawGroup>,
        /// Hypervisors to place nodes on; without any, every node runs on `fleet.connect`.
        host: Vec<RawHost>,
    }
}

raw_table! {
    /// The fleet's identity and where it runs.
    struct RawFleet, schema FleetTable {
        /// The fleet's name: letters, digits, `-`, `_`; names the pool and derives every node's MAC and UUID.
        #[schemars(required)]
        name: String,
        /// libvirt connection URI used when no [[host]] is listed. Default `qemu:///system`.
        connect: ConnectUri,
        /// How domains run: `auto` (kvm where it really boots, else qemu), `kvm` or `qemu`. Default `auto`.
        domain_type: DomainTypeName,
        /// The libvirt network every node joins. Default `default`.
        network: String,
        /// The Ignition spec version to emit (3.N.0). Default: the newest the translator supports.
        ignition_version: IgnitionVersion,
        /// DNS domain appended to every hostname: nodes are called NAME.DOMAIN.
        domain: String,
        /// The Fedora CoreOS image every node's disk is an overlay of.
        #[schemars(required)]
        image: RawImage,
        /// The storage pool for images, overlays and Ignition configs.
        pool: RawPool,
    }
}

raw_table! {
    /// The base image: a qcow2 file or an existing pool volume.
    struct RawImage, schema ImageTable {
        /// A Fedora CoreOS `qemu` qcow2 image, absolute or relative to the fleet file's directory.
        path: AnyPath,
        /// An existing volume in the fleet's pool (instead of `path`).
        volume: String,
        /// The Fedora CoreOS stream the image follows: `stable`, `testing` or `next`. Default `stable`.
        stream: StreamName,
        /// Direct kernel boot: a kernel image (absolute or relative path). Needs `initrd`.
        kernel: AnyPath,
        /// Direct kernel boot: the initramfs (absolute or relative path). Needs `kernel`.
        initrd: AnyPath,
        /// Direct kernel boot: the kernel command line. Default empty.
        cmdline: String,
    }
}

raw_table! {
    /// The directory storage pool fleet creates when missing.
    struct RawPool, schema PoolTable {
        /// Pool name. Default `fleet-NAME`.
        name: String,
        /// The pool's directory on the host, absolute. Default `/var/lib/libvirt/fleet-NAME`.
        path: String,
    }
}

raw_table! {
    /// Settings inherited by every group and node.
    struct RawDefaults, schema DefaultsTable {
        /// Virtual CPUs per node (1..512). Default 2.
        vcpus: Vcpus,
        /// Memory per node in MiB (256..16777216). Default 2048.
        memory_mib: MemoryMib,
        /// Disk size per node in GiB (10..65536; FCOS needs 10). Default 10.
        disk_gib: DiskGib,
        /// Butane snippets (.bu), relative to the fleet file's directory; they accumulate fleet → group → node.
        butane: Items<Located<RelativeFile>>,
        /// User accounts; merged by name (a group's or node's entry replaces the inherited one).
        users: Vec<RawUser>,
        /// The node's system time zone (IANA). Default: the image's (UTC).
        time_zone: TimeZone,
        /// Kernel arguments: a list (should exist) or a table with should_exist / should_not_exist.
        kernel_arguments: KernelArgumentsValue,
        /// Health checks that gate every boot and roll a bad update back; checks accumulate.
        health: RawHealth,
        /// Containers run by podman under systemd; merged by name (a group's or node's entry replaces the inherited one).
        container: Vec<RawContainer>,
        /// Pods declared with their own options (`NAME.pod`); merged by name.
        pod: Vec<RawPod>,
        /// Named volumes declared with their own options (`NAME.volume`); merged by name.
        volume: Vec<RawVolume>,
        /// Podman networks declared with their own options (`NAME.network`); merged by name.
        container_network: Vec<RawContainerNetwork>,
    }
}

raw_table! {
    /// A user account.
    struct RawUser, schema UserTable {
        /// The user name (`core` is FCOS's default user).
        #[schemars(required)]
        name: String,
        /// SSH public keys written inline.
        ssh_authorized_keys: Items<SshPublicKey>,
        /// Files of SSH public keys (one per line), relative to the fleet file's directory.
        ssh_key_files: Items<Located<RelativeFile>>,
        /// A crypt(3) hash of the password, e.g. from `mkpasswd --method=yescrypt`. Plain passwords are refused.
        password_hash: PasswordHash,
        /// Supplementary groups, e.g. `wheel`, `sudo`, `docker`.
        groups: Vec<String>,
        /// A fixed user ID (1000..60000). Default: none, or derived from the name for a user who runs containers.
        uid: UserId,
    }
}

raw_table! {
    /// A container podman runs under systemd, written as a quadlet (`NAME.container`).
    struct RawContainer, schema ContainerTable {
        /// The container's name: its quadlet `NAME.container` and its service `NAME.service`.
        #[schemars(required)]
        name: String,
        /// The image, fully qualified when auto-updated from a registry: `docker.io/library/nginx:1.27`.
        #[schemars(required)]
        image: ImageReference,
        /// Who runs it: a fleet user of the node (rootless) or `root` (rootful).
        #[schemars(required)]
        user: String,
        /// Published ports `[IP:]HOST:CONTAINER[/tcp|udp]`, e.g. `8080:80`.
        ports: Items<Located<PortValue>>,
        /// Volumes `SOURCE:PATH[:OPTIONS]`: a named volume or an absolute host path.
        volumes: Items<VolumeValue>,
        /// Environment variables.
        environment: BTreeMap<String, String>,
        /// Files of environment variables on the node, absolute paths.
        environment_files: Vec<String>,
        /// The command and arguments, after the image's entrypoint.
        exec: String,
        /// A health check; the service is ready only once it passes.
        health: RawContainerHealth,
        /// `registry`, `local` or `off`: how `podman auto-update` updates the container. Default `off`.
        auto_update: AutoUpdateName,
        /// A pod the container joins (containers of one user naming the same pod share it).
        pod: String,
        /// `host`, `none`, `pasta`, `slirp4netns`, `bridge`, or a network name fleet creates.
        network: String,
        /// A memory limit: `512m`, `2g`.
        memory: MemoryLimit,
        /// A CPU limit in CPUs, e.g. 1.5.
        cpus: CpuLimit,
        /// systemd's `Restart=`. Default `always`.
        restart: RestartName,
        /// Other quadlet keys by section, passed through: `[...container.quadlet.Container] Key = "value"`.
        quadlet: RawQuadlet,
    }
}

raw_table! {
    /// A container's health check.
    struct RawContainerHealth, schema ContainerHealthTable {
        /// The command, run in the container by a shell (`curl -fs http://localhost/ || exit 1`).
        #[schemars(required)]
        command: String,
        /// Time between checks: `30s`, `1m`. Default podman's (30s).
        interval: PodmanDuration,
        /// Failures in a row before the container is unhealthy (1..1000). Default podman's (3).
        retries: HealthRetries,
        /// Time after start in which failures do not count: `1m`.
        start_period: PodmanDuration,
        /// Time one check may take: `10s`.
        timeout: PodmanDuration,
        /// `kill` (default: systemd sees the failure), `restart`, `stop` or `none`.
        on_failure: HealthFailureName,
    }
}

raw_table! {
    /// A pod declared with its own options, written as `NAME.pod`; containers join it with `pod = "NAME"`.
    struct RawPod, schema PodTable {
        /// The pod's name: its quadlet `NAME.pod`, its service `NAME-pod.service` and podman's pod name.
        #[schemars(required)]
        name: String,
        /// Whose podman runs it: a fleet user of the node (rootless) or `root`; its containers run as the same user.
        #[schemars(required)]
        user: String,
        /// Ports the pod publishes `[IP:]HOST:CONTAINER[/tcp|udp]`, for all its containers (which then publish none).
        ports: Items<Located<PortValue>>,
        /// `host`, `none`, `pasta`, `slirp4netns`, `bridge`, or a declared `[[...container_network]]`.
        network: String,
        /// The pod's user namespace, as podman's `--userns` reads it: `auto`, `keep-id`, `host`, ...
        userns: String,
        /// Other quadlet keys by section, passed through: `[...pod.quadlet.Pod] Key = "value"`.
        quadlet: RawPodQuadlet,
    }
}

raw_table! {
    /// A named volume declared with its own options, written as `NAME.volume`; containers mount it as `NAME:/path`.
    struct RawVolume, schema VolumeTable {
        /// The volume's name: its quadlet `NAME.volume`, its service `NAME-volume.service` and podman's volume name.
        #[schemars(required)]
        name: String,
        /// Whose podman holds it: a fleet user of the node (rootless) or `root`; its containers run as the same user.
        #[schemars(required)]
        user: String,
        /// The volume driver: `local` (podman's default) or `image`, or a plugin's name.
        driver: String,
        /// A device (or `tmpfs`) the local driver mounts for the volume, e.g. `/dev/vdb1`.
        device: String,
        /// The file system type of `device`, as mount's `-t` reads it: `ext4`, `tmpfs`, `xfs`.
        filesystem: String,
        /// Mount options of `device`, as mount's `-o` reads them: `size=64m,noexec`.
        options: String,
        /// Copy the image's files at the mount point into the volume when it is first used. Default podman's (true).
        copy: bool,
        /// Labels on the volume.
        labels: BTreeMap<String, String>,
        /// Other quadlet keys by section, passed through: `[...volume.quadlet.Volume] Key = "value"`.
        quadlet: RawVolumeQuadlet,
    }
}

raw_table! {
    /// A podman network declared with its own options, written as `NAME.network`; containers and pods join it with `network = "NAME"`.
    struct RawContainerNetwork, schema ContainerNetworkTable {
        /// The network's name: its quadlet `NAME.network`, its service `NAME-network.service` and podman's network name.
        #[schemars(required)]
        name: String,
        /// Whose podman holds it: a fleet user of the node (rootless) or `root`; its containers run as the same user.
        #[schemars(required)]
        user: String,
        /// `bridge` (podman's default), `macvlan` or `ipvlan`.
        driver: NetworkDriverName,
        /// The subnet, IPv4 or IPv6, written with its network address: `10.89.1.0/24`.
        subnet: PodmanSubnet,
        /// The gateway, an address of `subnet`. Default podman's (the subnet's first address).
        gateway: IpAny,
        /// The part of `subnet` podman gives containers addresses from: `10.89.1.128/25`.
        ip_range: PodmanSubnet,
        /// No route out of the network: its containers reach only each other.
        internal: bool,
        /// Dual-stack: podman adds an IPv6 subnet of its own when none is given.
        ipv6: bool,
        /// DNS servers the network's containers use.
        dns: Vec<IpAny>,
        /// Labels on the network.
        labels: BTreeMap<String, String>,
        /// Other quadlet keys by section, passed through: `[...container_network.quadlet.Network] Key = "value"`.
        quadlet: RawNetworkQuadlet,
    }
}

pub(crate) use quadlet_sections::{RawNetworkQuadlet, RawPodQuadlet, RawQuadlet, RawVolumeQuadlet};

#[expect(
    non_snake_case,
    reason = "the keys are quadlet's section names, capitalised as in the file"
)]
mod quadlet_sections {
    use std::collections::BTreeMap;

    use crate::read::raw_table;
    use crate::values::QuadletValue;

    raw_table! {
        /// Quadlet keys fleet does not model, by section; a list writes the key once per value.
        struct RawQuadlet, schema QuadletTable {
            /// Keys of the `[Container]` section.
            Container: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Service]` section.
            Service: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Unit]` section.
            Unit: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Install]` section.
            Install: BTreeMap<String, QuadletValue>,
        }
    }

    raw_table! {
        /// A pod's quadlet keys fleet does not model, by section.
        struct RawPodQuadlet, schema PodQuadletTable {
            /// Keys of the `[Pod]` section.
            Pod: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Service]` section.
            Service: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Unit]` section.
            Unit: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Install]` section.
            Install: BTreeMap<String, QuadletValue>,
        }
    }

    raw_table! {
        /// A volume's quadlet keys fleet does not model, by section.
        struct RawVolumeQuadlet, schema VolumeQuadletTable {
            /// Keys of the `[Volume]` section.
            Volume: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Service]` section.
            Service: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Unit]` section.
            Unit: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Install]` section.
            Install: BTreeMap<String, QuadletValue>,
        }
    }

    raw_table! {
        /// A network's quadlet keys fleet does not model, by section.
        struct RawNetworkQuadlet, schema NetworkQuadletTable {
            /// Keys of the `[Network]` section.
            Network: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Service]` section.
            Service: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Unit]` section.
            Unit: BTreeMap<String, QuadletValue>,
            /// Keys of the `[Install]` section.
            Install: BTreeMap<String, QuadletValue>,
        }
    }
}

raw_table! {
    /// The table form of kernel arguments.
    struct RawKernelArguments, schema KernelArgumentsTable {
        /// Arguments that must be present.
        should_exist: Vec<String>,
        /// Arguments that must be absent.
        should_not_exist: Vec<String>,
    }
}

raw_table! {
    /// The fleet's maintenance policy: when nodes may reboot for an update.
    struct RawMaintenance, schema MaintenanceTable {
        /// Zone the periods are written in and Zincati evaluates them in (IANA). Default `UTC`.
        time_zone: TimeZone,
        /// `periodic` (reboot in the node's own window), `fleet_lock` (ask a FleetLock server) or `immediate`. Default `periodic`.
        strategy: StrategyName,
        /// The FleetLock server (e.g. airlock) for `strategy = "fleet_lock"`.
        fleet_lock_url: HttpUrl,
        /// Length of each node's own reboot window in minutes (1..10080). Default 60.
        window_minutes: WindowMinutes,
        /// Minutes a node counts as down after its window closes (0..10080). Default 10.
        reboot_allowance_minutes: RebootAllowanceMinutes,
        /// Fleet-wide cap on nodes rebooting at the same time, across all groups.
        max_concurrent_reboots: ConcurrentReboots,
        /// The allowed maintenance periods of the week.
        period: Vec<RawPeriod>,
    }
}

raw_table! {
    /// A group's changes to the fleet's maintenance policy; unset keys are inherited.
    struct RawGroupMaintenance, schema GroupMaintenanceTable {
        /// Zone the periods are written in (IANA).
        time_zone: TimeZone,
        /// `periodic`, `fleet_lock` or `immediate`.
        strategy: StrategyName,
        /// The FleetLock server for `strategy = "fleet_lock"`.
        fleet_lock_url: HttpUrl,
        /// Length of each node's own reboot window in minutes (1..10080).
        window_minutes: WindowMinutes,
        /// Minutes a node counts as down after its window closes (0..10080).
        reboot_allowance_minutes: RebootAllowanceMinutes,
        /// Periods for this group; when given they replace the fleet's periods.
        period: Vec<RawPeriod>,
    }
}

raw_table! {
    /// A schedule for container updates of its own: each node with an auto-updated container gets one
    /// slot a week inside its periods, at most `max_unavailable` of a group at once, canaries first. A
    /// group's table changes single keys of the fleet's; unset keys are inherited.
    struct RawContainerUpdates, schema ContainerUpdatesTable {
        /// Zone the periods are written in (IANA). Default: the group's maintenance time zone.
        time_zone: TimeZone,
        /// Minutes one node's container update is given (5..1440). Default 15.
        window_minutes: UpdateSlotMinutes,
        /// The weekly periods in which containers may update; when given they replace the inherited ones.
        period: Vec<RawPeriod>,
    }
}

raw_table! {
    /// A weekly period in which reboots (or, under `container_updates`, container updates) are allowed.
    struct RawPeriod, schema PeriodTable {
        /// Days the period starts on: Mon, Tue, Wed, Thu, Fri, Sat, Sun.
        #[schemars(required)]
        days: Vec<Day>,
        /// Start time H:MM in the maintenance time zone.
        #[schemars(required)]
        start: TimeOfDay,
        /// Length in minutes (1..10080). Give this or `end`.
        length_minutes: PeriodMinutes,
        /// End time H:MM (may cross midnight). Give this or `length_minutes`.
        end: TimeOfDay,
    }
}

raw_table! {
    /// A group of nodes sharing settings and a rollout policy.
    struct RawGroup, schema GroupTable {
        /// Group name: letters, digits, `.` and `-` (it is also Zincati's identity group).
        #[schemars(required)]
        name: String,
        /// Number of nodes to generate from the `hostname` pattern (1..1000000).
        count: NodeCount,
        /// Pattern naming the group's nodes: `{index}` (from 1), `{index:02}` (zero-padded), `{group}`. Default `{group}-{index}`.
        hostname: String,
        /// Spread the group's nodes over hosts with distinct values of this host label (e.g. `zone`).
        spread_over: String,
        /// Addressing of the group's nodes. Default DHCP.
        network: RawNetwork,
        /// How many nodes may be down at once and how canaries lead.
        rollout: RawRollout,
        /// Changes to the fleet's maintenance policy for this group.
        maintenance: RawGroupMaintenance,
        /// Changes to the fleet's container update schedule for this group.
        container_updates: RawContainerUpdates,
        /// Explicit nodes, or overrides of generated nodes (matched by name).
        node: Vec<RawNode>,
        /// Virtual CPUs per node (1..512).
        vcpus: Vcpus,
        /// Memory per node in MiB (256..16777216).
        memory_mib: MemoryMib,
        /// Disk size per node in GiB (10..65536).
        disk_gib: DiskGib,
        /// Butane snippets added after the fleet's.
        butane: Items<Located<RelativeFile>>,
        /// Users; an entry replaces the inherited user of the same name.
        users: Vec<RawUser>,
        /// The nodes' system time zone (IANA).
        time_zone: TimeZone,
        /// Kernel arguments added to (or, with should_not_exist, removed from) the inherited ones.
        kernel_arguments: KernelArgumentsValue,
        /// Health checks added to the inherited ones; settings written here replace the inherited.
        health: RawHealth,
        /// Containers; an entry replaces the inherited container of the same name.
        container: Vec<RawContainer>,
        /// Pods; an entry replaces the inherited pod of the same name.
        pod: Vec<RawPod>,
        /// Named volumes; an entry replaces the inherited volume of the same name.
        volume: Vec<RawVolume>,
        /// Podman networks; an entry replaces the inherited network of the same name.
        container_network: Vec<RawContainerNetwork>,
    }
}

raw_table! {
    /// How a group's nodes get their addresses.
    struct RawNetwork, schema NetworkTable {
        /// `dhcp` (default), `reserved` (DHCP reservations in the libvirt network) or `static` (NetworkManager keyfile).
        mode: NetworkMode,
        /// The subnet addresses come from, e.g. `192.168.122.0/24`. Required for reserved and static.
        cidr: Cidr,
        /// Address of the group's first node; the others follow in index order. Default: the address after the gateway.
        first_address: Ipv4,
        /// The default gateway. Default: the first address of the CIDR.
        gateway: Ipv4,
        /// DNS servers. Default: the gateway.
        dns: Vec<IpAny>,
    }
}

raw_table! {
    /// A group's rollout policy.
    struct RawRollout, schema RolloutTable {
        /// Most nodes down at once: a count (>= 1) or a percentage "1%".."100%". Default 1.
        max_unavailable: MaxUnavailableValue,
        /// Canary nodes: a count (0 = none), a fraction 0.0..1.0 or a percentage. Default 1.
        canaries: CanariesValue,
        /// Time between the last canary's reboot and the first cautious node's: minutes or "2h". Default 60.
        soak_minutes: SoakMinutes,
    }
}

raw_table! {
    /// One node: an explicit member of a group, or an override of a generated one.
    struct RawNode, schema NodeTable {
        /// The node's name (its libvirt domain name). Optional in groups without `count`: then named by the pattern.
        name: String,
        /// The hostname, short (the fleet domain is appended) or fully qualified. Default: the node's name.
        hostname: String,
        /// The node's IPv4 address (reserved and static addressing).
        address: Ipv4,
        /// The node's MAC address. Default: derived from fleet and node name.
        mac: Mac,
        /// Pin the node's rollout role: `canary` or `cautious`.
        role: RoleName,
        /// Pin Zincati's rollout wariness, 0.0 (eager) .. 1.0 (cautious).
        rollout_wariness: UnitInterval,
        /// Place the node on this [[host]].
        host: String,
        /// Virtual CPUs (1..512).
        vcpus: Vcpus,
        /// Memory in MiB (256..16777216).
        memory_mib: MemoryMib,
        /// Disk size in GiB (10..65536).
        disk_gib: DiskGib,
        /// Butane snippets added after the group's.
        butane: Items<Located<RelativeFile>>,
        /// Users; an entry replaces the inherited user of the same name.
        users: Vec<RawUser>,
        /// The node's system time zone (IANA).
        time_zone: TimeZone,
        /// Kernel arguments added to (or removed from) the inherited ones.
        kernel_arguments: KernelArgumentsValue,
        /// Health checks added to the inherited ones; settings written here replace the inherited.
        health: RawHealth,
        /// Containers; an entry replaces the inherited container of the same name.
        container: Vec<RawContainer>,
        /// Pods; an entry replaces the inherited pod of the same name.
        pod: Vec<RawPod>,
        /// Named volumes; an entry replaces the inherited volume of the same name.
        volume: Vec<RawVolume>,
        /// Podman networks; an entry replaces the inherited network of the same name.
        container_network: Vec<RawContainerNetwork>,
    }
}

raw_table! {
    /// Health checks that gate every boot (docs/health.md): units, HTTP checks, commands and
    /// containers, retried until `timeout_minutes`; a failed update is rolled back once.
    struct RawHealth, schema HealthTable {
        /// systemd units that must be active, e.g. `sshd.service`; they accumulate.
        units: Items<Located<UnitName>>,
        /// HTTP checks: a URL that must answer with a status; they accumulate.
        http: Vec<RawHttpCheck>,
        /// Commands that must exit 0, each a list of its arguments (no shell), e.g. `["/usr/bin/test", "-e", "/run/app.ready"]`; they accumulate.
        commands: Items<Located<CommandLine>>,
        /// Containers of the node, by `name`, that must be running, and healthy when they have a `health` check; they accumulate.
        containers: Items<Located<String>>,
        /// How long the checks may take to pass, retries included, in minutes (1..1440). Default 5.
        timeout_minutes: HealthTimeoutMinutes,
        /// Seconds between two tries of the failing checks (1..3600). Default 10.
        retry_seconds: HealthRetrySeconds,
        /// Roll a deployment that fails its checks back to the last one that passed. Default true.
        rollback: bool,
        /// Automatic rollbacks a node makes at most in its life (0..100). Default 1.
        max_rollbacks: RollbackCount,
    }
}

raw_table! {
    /// An HTTP check: the URL must answer with `status` within `timeout_seconds`.
    struct RawHttpCheck, schema HttpCheckTable {
        /// The URL the node requests, e.g. `http://127.0.0.1:8080/healthz`.
        #[schemars(required)]
        url: HttpUrl,
        /// The HTTP status it must answer with (100..599). Default 200.
        status: HttpStatus,
        /// Seconds one request may take (1..300). Default 5.
        timeout_seconds: HttpTimeoutSeconds,
    }
}

raw_table! {
    /// A hypervisor reachable through libvirt.
    struct RawHost, schema HostTable {
        /// Host name, unique in the fleet.
        #[schemars(required)]
        name: String,
        /// libvirt URI, e.g. `qemu+ssh://root@hv1/system`.
        #[schemars(required)]
        connect: ConnectUri,
        /// vCPUs the fleet may use here. Default: read from the host.
        vcpus: HostVcpus,
        /// Memory in MiB the fleet may use here. Default: read from the host.
        memory_mib: HostMemoryMib,
        /// Disk in GiB the fleet may use here. Default: read from the host.
        disk_gib: HostDiskGib,
        /// Virtual CPUs per physical one (more than 0, at most 64). Default 1.0.
        vcpu_overcommit: Overcommit,
        /// Free-form labels such as `zone` or `rack`, for `spread_over`.
        labels: BTreeMap<String, String>,
    }
}

/// Declares the settings a node inherits and each level may write again, once: `SettingsLevel`, which
/// borrows them from a level's raw table, and `settings()` on each table that has them. A new inherited
/// setting is a key of each of those tables and one line here.
macro_rules! settings_level {
    (levels: $($raw:ident),*; keys: $keys:tt) => {
        settings_level!(@level $keys);
        $(settings_level!(@borrow $raw $keys);)*
    };
    (@level [$($key:ident: $ty:ty),* $(,)?]) => {
        /// The overridable node settings of one level (defaults, group or node), borrowed from its raw table.
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct SettingsLevel<'a> {
            $(pub(crate) $key: &'a crate::read::Field<$ty>,)*
        }

        impl SettingsLevel<'_> {
            /// Whether this level changes anything (a node without overrides shares its group's settings).
            pub(crate) fn is_empty(&self) -> bool {
                true $(&& self.$key.is_missing())*
            }
        }
    };
    (@borrow $raw:ident [$($key:ident: $ty:ty),* $(,)?]) => {
        impl $raw {
            pub(crate) fn settings(&self) -> SettingsLevel<'_> {
                SettingsLevel { $($key: &self.$key,)* }
            }
        }
    };
}

settings_level! {
    levels: RawDefaults, RawGroup, RawNode;
    keys: [
        vcpus: Vcpus,
        memory_mib: MemoryMib,
        disk_gib: DiskGib,
        butane: Items<Located<RelativeFile>>,
        users: Vec<RawUser>,
        time_zone: TimeZone,
        kernel_arguments: KernelArgumentsValue,
        health: RawHealth,
        container: Vec<RawContainer>,
        pod: Vec<RawPod>,
        volume: Vec<RawVolume>,
        container_network: Vec<RawContainerNetwork>,
    ]
}
