//! Storage pool and volume XML: what fleet defines (directory pool, qcow2 overlays, raw files) and what it reads back.

use std::path::Path;

use crate::xml::Element;

/// A directory pool at `path`.
pub(crate) fn directory_pool(name: &str, path: &Path) -> String {
    Element::new("pool")
        .attr("type", "dir")
        .text_child("name", name)
        .child(Element::new("target").text_child("path", path.to_string_lossy()))
        .to_xml()
}

/// A raw file volume of exactly `bytes` (Ignition configs, the imported base image).
/// `private` files (Ignition holds password hashes) get mode 0600; libvirt hands them to qemu itself.
pub(crate) fn raw_volume(name: &str, bytes: u64, private: bool) -> String {
    let mut target = Element::new("target").child(Element::new("format").attr("type", "raw"));
    if private {
        target = target.child(Element::new("permissions").text_child("mode", "0600"));
    }
    Element::new("volume")
        .text_child("name", name)
        .child(
            Element::new("capacity")
                .attr("unit", "bytes")
                .text(bytes.to_string()),
        )
        .child(Element::new("allocation").attr("unit", "bytes").text("0"))
        .child(target)
        .to_xml()
}

/// A qcow2 overlay of `backing_path` with a virtual size of `disk_gib`, allocated as it fills.
/// Compat 1.1 with lazy refcounts: libvirt would otherwise create the old 0.10 format.
pub(crate) fn overlay_volume(name: &str, disk_gib: u64, backing_path: &str) -> String {
    Element::new("volume")
        .text_child("name", name)
        .child(
            Element::new("capacity")
                .attr("unit", "GiB")
                .text(disk_gib.to_string()),
        )
        .child(Element::new("allocation").attr("unit", "bytes").text("0"))
        .child(
            Element::new("target")
                .child(Element::new("format").attr("type", "qcow2"))
                .text_child("compat", "1.1")
                .child(Element::new("features").child(Element::new("lazy_refcounts"))),
        )
        .child(
            Element::new("backingStore")
                .text_child("path", backing_path)
                .child(Element::new("format").attr("type", "qcow2")),
        )
        .to_xml()
}

/// What fleet reads from a pool's XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObservedPool {
    pub(crate) kind: String,
    pub(crate) path: String,
}

impl ObservedPool {
    pub(crate) fn parse(xml: &str) -> Result<ObservedPool, String> {
        let pool = Element::parse(xml)?;
        Ok(ObservedPool {
            kind: pool.attribute("type").unwrap_or_default().to_owned(),
            path: pool
                .path(&["target", "path"])
                .map(|path| path.text_content())
                .ok_or("pool has no target path")?,
        })
    }
}

/// What fleet reads from a volume's XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObservedVolume {
    pub(crate) capacity_bytes: Option<u64>,
    pub(crate) backing_path: Option<String>,
}

impl ObservedVolume {
    pub(crate) fn parse(xml: &str) -> Result<ObservedVolume, String> {
        let volume = Element::parse(xml)?;
        let capacity_bytes = volume.first("capacity").and_then(|capacity| {
            let amount: u64 = capacity.text_content().parse().ok()?;
            bytes_from(amount, capacity.attribute("unit").unwrap_or("bytes"))
        });
        Ok(ObservedVolume {
            capacity_bytes,
            backing_path: volume
                .path(&["backingStore", "path"])
                .map(|path| path.text_content())
                .filter(|path| !path.is_empty()),
        })
    }
}

fn bytes_from(amount: u64, unit: &str) -> Option<u64> {
    let factor: u64 = match unit {
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
    amount.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_reads_back() {
        let xml = overlay_volume("demo.web-01.qcow2", 10, "/pool/base & co.qcow2");
        assert!(xml.contains("<compat>1.1</compat>"), "{xml}");
        assert!(xml.contains("<lazy_refcounts/>"), "{xml}");
        let observed = ObservedVolume::parse(&xml).unwrap();
        assert_eq!(
            observed,
            ObservedVolume {
                capacity_bytes: Some(10 << 30),
                backing_path: Some("/pool/base & co.qcow2".to_owned()),
            }
        );
    }

    #[test]
    fn raw_volume_is_private_when_asked() {
        assert!(raw_volume("a.ign", 10, true).contains("<mode>0600</mode>"));
        assert!(!raw_volume("base", 10, false).contains("<mode>"));
        let observed = ObservedVolume::parse(&raw_volume("a.ign", 1234, true)).unwrap();
        assert_eq!(observed.capacity_bytes, Some(1234));
        assert_eq!(observed.backing_path, None);
    }

    #[test]
    fn pool_reads_back() {
        let xml = directory_pool("fleet-demo", Path::new("/var/lib/libvirt/fleet-demo"));
        assert_eq!(
            ObservedPool::parse(&xml).unwrap(),
            ObservedPool {
                kind: "dir".to_owned(),
                path: "/var/lib/libvirt/fleet-demo".to_owned(),
            }
        );
    }
}
