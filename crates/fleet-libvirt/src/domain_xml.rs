//! The domain XML fleet defines (a typed description turned into elements) and the parts of libvirt's domain XML fleet reads back.

use fleet_spec::{DirectKernelBoot, MacAddress, Uuid};

use crate::xml::Element;

/// fleet's XML namespace for the `<metadata>` element of the domains it owns.
pub const METADATA_NAMESPACE: &str = "https://example.invalid/fleet/xmlns/domain/1";
/// The prefix fleet writes for its namespace (readers match the namespace, not the prefix).
pub(crate) const METADATA_PREFIX: &str = "fleet";
/// The fw_cfg entry Fedora CoreOS's Ignition reads its config from on x86_64 and aarch64.
pub(crate) const IGNITION_FW_CFG_NAME: &str = "opt/com.coreos/config";

/// The hypervisor a domain runs on, once `auto` has been resolved for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hypervisor {
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
    /// qemu's TCG emulation: slow, but boots anywhere.
    Qemu,
}

impl Hypervisor {
    pub fn as_str(self) -> &'static str {
        match self {
            Hypervisor::Kvm => "kvm",
            Hypervisor::Qemu => "qemu",
        }
    }
}

/// What fleet writes into `<metadata>`: the ownership mark and the hashes that detect change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FleetMetadata {
    pub(crate) fleet: String,
    pub(crate) node: String,
    /// sha256 (hex) of the rendered Ignition the domain was created with.
    pub(crate) ignition_sha256: String,
    /// sha256 (hex) of the node's domain settings (see `settings_sha256`).
    pub(crate) settings_sha256: String,
    /// The Fedora CoreOS release of the base image the domain was created from, when the image
    /// had a record of it (`fleet image pull`). Not a setting: it never makes a node differ.
    pub(crate) release: Option<String>,
}

impl FleetMetadata {
    /// The element with its namespace declaration, as it goes inside `<metadata>` of a full definition.
    pub(crate) fn element(&self) -> Element {
        self.with_attributes(
            Element::new(format!("{METADATA_PREFIX}:node"))
                .attr(format!("xmlns:{METADATA_PREFIX}"), METADATA_NAMESPACE),
        )
    }

    /// The element for `virDomainSetMetadata`, which adds the namespace itself from its key and URI.
    pub(crate) fn element_without_namespace(&self) -> Element {
        self.with_attributes(Element::new(format!("{METADATA_PREFIX}:node")))
    }

    fn with_attributes(&self, element: Element) -> Element {
        let element = element
            .attr("fleet", &self.fleet)
            .attr("node", &self.node)
            .attr("ignition-sha256", &self.ignition_sha256)
            .attr("settings-sha256", &self.settings_sha256);
        match &self.release {
            Some(release) => element.attr("release", release),
            None => element,
        }
    }

    /// fleet's element as read back, whatever reads it (a definition, `virDomainGetMetadata`).
    pub(crate) fn from_element(element: &Element) -> Option<FleetMetadata> {
        Some(FleetMetadata {
            fleet: element.attribute("fleet")?.to_owned(),
            node: element.attribute("node")?.to_owned(),
            ignition_sha256: element
                .attribute("ignition-sha256")
                .unwrap_or_default()
                .to_owned(),
            settings_sha256: element
                .attribute("settings-sha256")
                .unwrap_or_default()
                .to_owned(),
            release: element.attribute("release").map(str::to_owned),
        })
    }

    /// Read fleet's element from anything under `<metadata>`, matched by namespace, whatever its prefix.
    fn from_metadata(metadata: &Element) -> Option<FleetMetadata> {
        let element = metadata.elements().find(|element| {
            let prefix = element.name.split_once(':').map(|(prefix, _)| prefix);
            let declaration = match prefix {
                Some(prefix) => format!("xmlns:{prefix}"),
                None => "xmlns".to_owned(),
            };
            element.attribute(&declaration) == Some(METADATA_NAMESPACE)
        })?;
        FleetMetadata::from_element(element)
    }
}

/// Everything that goes into one node's domain.
#[derive(Debug, Clone)]
pub(crate) struct DomainDefinition<'a> {
    pub(crate) name: &'a str,
    pub(crate) uuid: Uuid,
    pub(crate) hypervisor: Hypervisor,
    pub(crate) memory_mib: u64,
    pub(crate) vcpus: u32,
    /// Path of the node's qcow2 overlay on the host.
    pub(crate) disk_path: &'a str,
    /// Path of the node's Ignition volume on the host, handed to the guest through fw_cfg.
    pub(crate) ignition_path: &'a str,
    pub(crate) mac: MacAddress,
    pub(crate) network: &'a str,
    /// File the serial console is logged to on the host.
    pub(crate) console_log_path: &'a str,
    pub(crate) direct_kernel_boot: Option<&'a DirectKernelBoot>,
    pub(crate) metadata: &'a FleetMetadata,
}

impl DomainDefinition<'_> {
    pub(crate) fn to_element(&self) -> Element {
        let mut os = Element::new("os").child(
            Element::new("type")
                .attr("arch", "x86_64")
                .attr("machine", "q35")
                .text("hvm"),
        );
        if let Some(boot) = self.direct_kernel_boot {
            os = os
                .text_child("kernel", boot.kernel.to_string_lossy())
                .text_child("initrd", boot.initrd.to_string_lossy())
                .text_child("cmdline", &boot.cmdline);
        }
        os = os.child(Element::new("boot").attr("dev", "hd"));

        // host-model gives a kvm guest the host's CPU features without host-passthrough's
        // migration and crash risks; TCG keeps qemu's default model, which every host emulates.
        let cpu = match self.hypervisor {
            Hypervisor::Kvm => Some(Element::new("cpu").attr("mode", "host-model")),
            Hypervisor::Qemu => None,
        };

        let devices = Element::new("devices")
            .child(
                Element::new("disk")
                    .attr("type", "file")
                    .attr("device", "disk")
                    .child(
                        Element::new("driver")
                            .attr("name", "qemu")
                            .attr("type", "qcow2")
                            .attr("discard", "unmap"),
                    )
                    .child(Element::new("source").attr("file", self.disk_path))
                    .child(
                        Element::new("target")
                            .attr("dev", "vda")
                            .attr("bus", "virtio"),
                    ),
            )
            .child(
                Element::new("interface")
                    .attr("type", "network")
                    .child(Element::new("mac").attr("address", self.mac.to_string()))
                    .child(Element::new("source").attr("network", self.network))
                    .child(Element::new("model").attr("type", "virtio")),
            )
            .child(
                Element::new("serial")
                    .attr("type", "file")
                    .child(Element::new("source").attr("path", self.console_log_path))
                    .child(Element::new("target").attr("port", "0")),
            )
            // No USB: a server boots from virtio and needs none, and the xHCI controller libvirt
            // adds otherwise costs every start its firmware's USB scan (0.1 s of CPU under TCG).
            .child(
                Element::new("controller")
                    .attr("type", "usb")
                    .attr("model", "none"),
            )
            .child(
                Element::new("rng").attr("model", "virtio").child(
                    Element::new("backend")
                        .attr("model", "random")
                        .text("/dev/urandom"),
                ),
            );

        Element::new("domain")
            .attr("type", self.hypervisor.as_str())
            .text_child("name", self.name)
            .text_child("uuid", self.uuid.to_string())
            .child(Element::new("metadata").child(self.metadata.element()))
            .child(
                Element::new("memory")
                    .attr("unit", "MiB")
                    .text(self.memory_mib.to_string()),
            )
            .text_child("vcpu", self.vcpus.to_string())
            .child(
                Element::new("sysinfo").attr("type", "fwcfg").child(
                    Element::new("entry")
                        .attr("name", IGNITION_FW_CFG_NAME)
                        .attr("file", self.ignition_path),
                ),
            )
            .child(os)
            .child(
                Element::new("features")
                    .child(Element::new("acpi"))
                    .child(Element::new("apic")),
            )
            .child_if(cpu)
            .child(Element::new("clock").attr("offset", "utc"))
            .text_child("on_poweroff", "destroy")
            .text_child("on_reboot", "restart")
            .text_child("on_crash", "destroy")
            .child(devices)
    }

    pub(crate) fn to_xml(&self) -> String {
        self.to_element().to_xml()
    }
}

/// The parts of a domain's XML that fleet compares with what it wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObservedDomain {
    pub(crate) domain_type: String,
    pub(crate) memory_kib: Option<u64>,
    pub(crate) vcpus: Option<u32>,
    /// Source files of the disks, in order.
    pub(crate) disk_files: Vec<String>,
    pub(crate) interfaces: Vec<ObservedInterface>,
    /// The file behind the Ignition fw_cfg entry.
    pub(crate) ignition_file: Option<String>,
    pub(crate) kernel: Option<String>,
    pub(crate) initrd: Option<String>,
    pub(crate) cmdline: Option<String>,
    pub(crate) metadata: Option<FleetMetadata>,
    /// Every file the definition names (disk sources and their backing chains, the fw_cfg
    /// file, console logs, kernel, firmware), and every pool volume it names as `(pool, volume)`:
    /// what a volume must not be deleted under (see `volume_ownership`).
    pub(crate) references: DomainReferences,
}

/// The files and pool volumes a domain definition refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DomainReferences {
    pub(crate) files: Vec<String>,
    pub(crate) pool_volumes: Vec<(String, String)>,
}

impl DomainReferences {
    /// Walk the whole definition: `file`, `path`, `template` and absolute `dev` attributes anywhere
    /// (disk sources, backing stores, fw_cfg entries, serial and console logs, NVRAM templates,
    /// block devices), the text of elements
    /// that hold a path, and `<source pool volume>` pairs of volume disks.
    fn of(domain: &Element) -> DomainReferences {
        let mut references = DomainReferences::default();
        let mut pending = vec![domain];
        while let Some(element) = pending.pop() {
            for (name, value) in &element.attributes {
                let names_a_file = match name.as_str() {
                    "file" | "path" | "template" => !value.is_empty(),
                    // Block disks (`<source dev='/dev/vg/x'/>`), not `<target dev='vda'/>`.
                    "dev" => value.starts_with('/'),
                    _ => false,
                };
                if names_a_file {
                    references.files.push(value.clone());
                }
            }
            if matches!(
                element.name.as_str(),
                "kernel" | "initrd" | "dtb" | "loader" | "nvram"
            ) {
                let text = element.text_content();
                if !text.is_empty() {
                    references.files.push(text);
                }
            }
            if let (Some(pool), Some(volume)) =
                (element.attribute("pool"), element.attribute("volume"))
            {
                references
                    .pool_volumes
                    .push((pool.to_owned(), volume.to_owned()));
            }
            pending.extend(element.elements());
        }
        references.files.sort();
        references.files.dedup();
        references.pool_volumes.sort();
        references.pool_volumes.dedup();
        references
    }

    /// Whether the definition refers to this volume, by path or by pool and name.
    pub(crate) fn names_volume(&self, path: &str, pool: &str, volume: &str) -> bool {
        self.files.iter().any(|file| file == path)
            || self
                .pool_volumes
                .iter()
                .any(|(named_pool, named_volume)| named_pool == pool && named_volume == volume)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObservedInterface {
    pub(crate) mac: Option<String>,
    pub(crate) network: Option<String>,
}

impl ObservedDomain {
    pub(crate) fn parse(xml: &str) -> Result<ObservedDomain, String> {
        let domain = Element::parse(xml)?;
        if domain.name != "domain" {
            return Err(format!("expected <domain>, found <{}>", domain.name));
        }
        let text_of = |path: &[&str]| {
            domain
                .path(path)
                .map(|element| element.text_content())
                .filter(|text| !text.is_empty())
        };
        let memory_kib = domain.first("memory").and_then(|memory| {
            let amount: u64 = memory.text_content().parse().ok()?;
            kib_from(amount, memory.attribute("unit").unwrap_or("KiB"))
        });
        let devices = domain.first("devices");
        let disk_files = devices
            .into_iter()
            .flat_map(|devices| devices.all("disk"))
            .filter(|disk| disk.attribute("device").unwrap_or("disk") == "disk")
            .filter_map(|disk| disk.first("source")?.attribute("file"))
            .map(str::to_owned)
            .collect();
        let interfaces = devices
            .into_iter()
            .flat_map(|devices| devices.all("interface"))
            .map(|interface| ObservedInterface {
                mac: interface
                    .first("mac")
                    .and_then(|mac| mac.attribute("address"))
                    .map(str::to_ascii_lowercase),
                network: interface
                    .first("source")
                    .and_then(|source| source.attribute("network"))
                    .map(str::to_owned),
            })
            .collect();
        let ignition_file = domain
            .all("sysinfo")
            .filter(|sysinfo| sysinfo.attribute("type") == Some("fwcfg"))
            .flat_map(|sysinfo| sysinfo.all("entry"))
            .find(|entry| entry.attribute("name") == Some(IGNITION_FW_CFG_NAME))
            .and_then(|entry| entry.attribute("file"))
            .map(str::to_owned);
        Ok(ObservedDomain {
            domain_type: domain.attribute("type").unwrap_or_default().to_owned(),
            memory_kib,
            vcpus: text_of(&["vcpu"]).and_then(|vcpus| vcpus.parse().ok()),
            disk_files,
            interfaces,
            ignition_file,
            kernel: text_of(&["os", "kernel"]),
            initrd: text_of(&["os", "initrd"]),
            cmdline: text_of(&["os", "cmdline"]),
            metadata: domain
                .first("metadata")
                .and_then(FleetMetadata::from_metadata),
            references: DomainReferences::of(&domain),
        })
    }
}

/// Convert a libvirt memory amount to KiB (libvirt writes KiB, but accepts other units).
fn kib_from(amount: u64, unit: &str) -> Option<u64> {
    let bytes_per_unit: u64 = match unit {
        "b" | "bytes" => 1,
        "k" | "KiB" => 1 << 10,
        "KB" => 1000,
        "M" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "G" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        "T" | "TiB" => 1 << 40,
        "TB" => 1_000_000_000_000,
        _ => return None,
    };
    amount.checked_mul(bytes_per_unit).map(|bytes| bytes / 1024)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn metadata() -> FleetMetadata {
        FleetMetadata {
            fleet: "demo".to_owned(),
            node: "web-01".to_owned(),
            ignition_sha256: "ab".repeat(32),
            settings_sha256: "cd".repeat(32),
            release: None,
        }
    }

    fn definition<'a>(
        metadata: &'a FleetMetadata,
        boot: Option<&'a DirectKernelBoot>,
    ) -> DomainDefinition<'a> {
        DomainDefinition {
            name: "web-01",
            uuid: Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
            hypervisor: Hypervisor::Qemu,
            memory_mib: 2048,
            vcpus: 2,
            disk_path: "/var/lib/libvirt/fleet-demo/demo.web-01.qcow2",
            ignition_path: "/var/lib/libvirt/fleet-demo/demo.web-01.ign",
            mac: MacAddress([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]),
            network: "default",
            console_log_path: "/var/lib/libvirt/fleet-demo/demo.web-01.console.log",
            direct_kernel_boot: boot,
            metadata,
        }
    }

    #[test]
    fn domain_xml_matches_snapshot() {
        let metadata = metadata();
        let boot = DirectKernelBoot {
            kernel: PathBuf::from("/boot/vmlinuz"),
            initrd: PathBuf::from("/boot/initrd.img"),
            cmdline: "console=ttyS0 panic=-1 quiet".to_owned(),
        };
        expect_test::expect_file!["../tests/data/domain-xml/web-01.xml"]
            .assert_eq(&definition(&metadata, None).to_xml());
        let mut kvm = definition(&metadata, Some(&boot));
        kvm.hypervisor = Hypervisor::Kvm;
        expect_test::expect_file!["../tests/data/domain-xml/web-01-kvm-kernel-boot.xml"]
            .assert_eq(&kvm.to_xml());
    }

    #[test]
    fn what_fleet_writes_it_reads_back() {
        let metadata = metadata();
        let boot = DirectKernelBoot {
            kernel: PathBuf::from("/k"),
            initrd: PathBuf::from("/i"),
            cmdline: "console=ttyS0".to_owned(),
        };
        let definition = definition(&metadata, Some(&boot));
        let observed = ObservedDomain::parse(&definition.to_xml()).unwrap();
        assert_eq!(
            observed,
            ObservedDomain {
                domain_type: "qemu".to_owned(),
                memory_kib: Some(2048 * 1024),
                vcpus: Some(2),
                disk_files: vec![definition.disk_path.to_owned()],
                interfaces: vec![ObservedInterface {
                    mac: Some("52:54:00:ab:cd:ef".to_owned()),
                    network: Some("default".to_owned()),
                }],
                ignition_file: Some(definition.ignition_path.to_owned()),
                kernel: Some("/k".to_owned()),
                initrd: Some("/i".to_owned()),
                cmdline: Some("console=ttyS0".to_owned()),
                metadata: Some(metadata.clone()),
                references: DomainReferences {
                    files: vec![
                        "/i".to_owned(),
                        "/k".to_owned(),
                        definition.console_log_path.to_owned(),
                        definition.ignition_path.to_owned(),
                        definition.disk_path.to_owned(),
                    ],
                    pool_volumes: Vec::new(),
                },
            }
        );
    }

    /// A hand-made domain can name a volume in many places: each one counts.
    #[test]
    fn every_file_and_volume_a_domain_names_is_a_reference() {
        let xml = "<domain type='kvm'><name>web-01</name>\
            <os><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>\
            <nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/var/lib/libvirt/nvram/web.fd</nvram></os>\
            <devices>\
            <disk type='file' device='disk'><source file='/pool/FLEET.web-01.qcow2'/>\
              <backingStore type='file'><source file='/pool/fleet-base-1.qcow2'/></backingStore></disk>\
            <disk type='volume' device='cdrom'><source pool='isos' volume='seed.iso'/></disk>\
            <disk type='block' device='disk'><source dev='/dev/vg/web'/></disk>\
            <console type='file'><source path='/pool/FLEET.web-01.console.log'/></console>\
            <serial type='pty'><log file='/var/log/web.log'/></serial>\
            </devices></domain>";
        let references = ObservedDomain::parse(xml).unwrap().references;
        assert_eq!(
            references.files,
            [
                "/dev/vg/web",
                "/pool/FLEET.web-01.console.log",
                "/pool/FLEET.web-01.qcow2",
                "/pool/fleet-base-1.qcow2",
                "/usr/share/OVMF/OVMF_CODE.fd",
                "/usr/share/OVMF/OVMF_VARS.fd",
                "/var/lib/libvirt/nvram/web.fd",
                "/var/log/web.log",
            ]
        );
        assert_eq!(
            references.pool_volumes,
            [("isos".to_owned(), "seed.iso".to_owned())]
        );
        assert!(references.names_volume("/pool/FLEET.web-01.qcow2", "fleet-x", "other"));
        assert!(references.names_volume("/elsewhere", "isos", "seed.iso"));
        assert!(!references.names_volume("/pool/FLEET.web-01.ign", "fleet-x", "FLEET.web-01.ign"));
    }

    #[test]
    fn metadata_is_found_by_namespace_whatever_the_prefix() {
        let xml = format!(
            "<domain type='kvm'><metadata><other:x xmlns:other='urn:x'/>\
             <f:node xmlns:f='{METADATA_NAMESPACE}' fleet='a' node='b'/></metadata></domain>"
        );
        let observed = ObservedDomain::parse(&xml).unwrap();
        let metadata = observed.metadata.unwrap();
        assert_eq!(
            (metadata.fleet.as_str(), metadata.node.as_str()),
            ("a", "b")
        );

        let foreign = ObservedDomain::parse(
            "<domain type='kvm'><metadata><f:node xmlns:f='urn:other' fleet='a' node='b'/></metadata></domain>",
        )
        .unwrap();
        assert_eq!(foreign.metadata, None);
    }

    #[test]
    fn memory_units_are_converted() {
        assert_eq!(kib_from(2, "GiB"), Some(2 * 1024 * 1024));
        assert_eq!(kib_from(2048, "KiB"), Some(2048));
        assert_eq!(kib_from(1, "parsecs"), None);
        assert_eq!(kib_from(u64::MAX, "TiB"), None);
    }
}
